/* DESIGN: the result of `fsynclab crash --target` (target_crash_run) as
 * the JSON body and as a text table.  The body holds the fields issue 12
 * lists, in that order, then what the recorder could not see and its own
 * costs, then (added later, at the end) the allowance and its calibration,
 * why trials were invalid, why held is null, the check's stray lines, the
 * acks' arrival and the environment.  Settings are the program's own
 * report of them (CONFIG GET, SHOW, PRAGMA).  A verdict the trials could
 * not have contradicted is null, not true, with held_reason; a promise
 * with no number has promised_window_ms null.  Figures share their names
 * with `crash` (max_sync_ms, allowance_ms, invalid_reasons).  Times are
 * floats rounded to 0.001 ms (report_json_float prints them as Python does).
 */
#include "report/report.h"
#include "report/internal.h"

#include <string.h>

static const char *held_name(int held)
{
    return held < 0 ? "null" : held ? "true" : "false";
}

/* "fault": null without --fault; else when it fired, what the program did,
 * what it lost, and its classification (null with the reason when no
 * trial's fault fired). */
static int add_fault(cJSON *o, const struct recorder_crash_config *cfg, const struct recorder_crash_result *r)
{
    const struct recorder_fault_result *f = &r->fault;
    if (!cfg->faults.n)
        return cJSON_AddNullToObject(o, "fault") != NULL;
    cJSON *x = cJSON_AddObjectToObject(o, "fault"), *specs = x ? cJSON_AddArrayToObject(x, "faults") : NULL;
    cJSON *classes = x ? cJSON_CreateObject() : NULL;
    if (!specs || !classes) {
        cJSON_Delete(classes);
        return 0;
    }
    for (unsigned i = 0; i < cfg->faults.n; i++)
        cJSON_AddItemToArray(specs, cJSON_CreateString(recorder_fault_spec(&cfg->faults.f[i])));
    cJSON_AddNumberToObject(x, "trials_fired", f->fired);
    cJSON_AddNumberToObject(x, "trials_not_fired", f->not_fired);
    report_add_str_or_null(x, "call", f->call);
    if (f->fired) {
        report_add_rounded(x, "fired_ms_min", f->fired_ms_min);
        report_add_rounded(x, "fired_ms_max", f->fired_ms_max);
    } else {
        cJSON_AddNullToObject(x, "fired_ms_min");
        cJSON_AddNullToObject(x, "fired_ms_max");
    }
    cJSON_AddNumberToObject(x, "reported", f->reported);
    cJSON_AddNumberToObject(x, "crashed", f->crashed);
    cJSON_AddNumberToObject(x, "refused", f->refused);
    cJSON_AddNumberToObject(x, "went_on", f->went_on);
    cJSON_AddNumberToObject(x, "retried", f->retried);
    cJSON_AddNumberToObject(x, "acked_after_fault", (double)f->acked_after);
    static const char *const lost[] = {"acked_lost_power_cut_max", "acked_lost_restart_max",
                                       "acked_lost_restart_total"};
    const uint64_t v[] = {f->lost_power_max, f->lost_restart_max, f->lost_restart_total};
    for (int i = 0; i < 3; i++) {
        if (f->fired)
            cJSON_AddNumberToObject(x, lost[i], (double)v[i]);
        else
            cJSON_AddNullToObject(x, lost[i]);
    }
    cJSON_AddNumberToObject(x, "trials_lost_within_promise", f->within_promise);
    cJSON_AddNumberToObject(x, "pages_rewritten", (double)f->pages_rewritten);
    cJSON_AddNumberToObject(x, "images", f->images);
    cJSON_AddNumberToObject(x, "images_recovered", f->images_ok);
    for (unsigned c = 0; c < RECORDER_FAULT_NCLASSES; c++)
        cJSON_AddNumberToObject(classes, recorder_fault_class_name(c), f->classes[c]);
    cJSON_AddItemToObject(x, "classes", classes);
    if (f->classification >= 0)
        cJSON_AddStringToObject(x, "classification", recorder_fault_class_name((unsigned)f->classification));
    else
        cJSON_AddNullToObject(x, "classification");
    report_add_str_or_null(x, "classification_reason", f->null_reason);
    report_add_str_or_null(x, "documented", f->documented);
    return 1;
}

static void print_fault(FILE *to, const struct recorder_crash_config *cfg, const struct recorder_crash_result *r)
{
    const struct recorder_fault_result *f = &r->fault;
    char specs[256] = "";
    for (unsigned i = 0, at = 0; i < cfg->faults.n && at < sizeof specs; i++) {
        int n = snprintf(specs + at, sizeof specs - at, "%s%s", i ? " " : "", recorder_fault_spec(&cfg->faults.f[i]));
        at += n > 0 ? (unsigned)n : 0;
    }
    fprintf(to, "fault         %s: fired in %u of %u trials", specs, f->fired, f->fired + f->not_fired);
    if (f->fired)
        fprintf(to, " (%s, %.1f..%.1f ms into the run)", f->call, f->fired_ms_min, f->fired_ms_max);
    fprintf(to, "\n");
    if (f->fired) {
        fprintf(to, "after it      trials: reported %u, crashed %u, refused %u, went on %u (retried %u); "
                    "%llu acks after the fault\n", f->reported, f->crashed, f->refused, f->went_on, f->retried,
                (unsigned long long)f->acked_after);
        fprintf(to, "fault lost    acked keys after a restart: max %llu, total %llu; after a power cut: max "
                    "%llu; %u of %u states recovered\n", (unsigned long long)f->lost_restart_max,
                (unsigned long long)f->lost_restart_total, (unsigned long long)f->lost_power_max, f->images_ok,
                f->images);
    }
    if (f->within_promise)
        fprintf(to, "within        %u trial%s lost only keys acknowledged within the promised window (%.1f ms "
                    "allowance) before the fault: not counted against it\n", f->within_promise,
                f->within_promise == 1 ? "" : "s", r->allowance_ms);
    if (f->pages_rewritten)
        fprintf(to, "rewritten     %llu page%s the failed sync dropped were written into again before the "
                    "kill: their old bytes go back to the disk with that write, as on Linux\n",
                (unsigned long long)f->pages_rewritten, f->pages_rewritten == 1 ? "" : "s");
    if (f->classification >= 0)
        fprintf(to, "classified    %s\n", recorder_fault_class_name((unsigned)f->classification));
    else
        fprintf(to, "classified    null: %s\n", f->null_reason);
    if (f->documented)
        fprintf(to, "documented    %s\n", f->documented);
}

/* What was added after issue 12's list. */
static int add_later(cJSON *o, const struct bench_env *env, const struct recorder_crash_config *cfg,
                     const struct recorder_crash_result *r)
{
    if (r->promised_window_ms >= 0)
        report_add_rounded(o, "allowance_ms", r->allowance_ms);
    else
        cJSON_AddNullToObject(o, "allowance_ms");
    report_add_rounded(o, "calibration_sync_p50_us", r->calibration_sync_p50_us);
    report_add_rounded(o, "calibration_sync_p99_us", r->calibration_sync_p99_us);
    cJSON_AddNumberToObject(o, "trials_invalid", r->trials - r->trials_valid);
    cJSON *why = cJSON_AddObjectToObject(o, "invalid_reasons");
    if (!why)
        return 0;
    cJSON_AddNumberToObject(why, "no_ack", r->invalid_no_ack);
    cJSON_AddNumberToObject(why, "exited", r->invalid_exited);
    report_add_str_or_null(o, "invalid_example", r->invalid_example);
    report_add_str_or_null(o, "held_reason", r->held_null_reason);
    cJSON_AddNumberToObject(o, "journal_torn_bytes", (double)r->journal_torn_bytes);
    cJSON_AddNumberToObject(o, "runs_without_writes", r->runs_without_writes);
    cJSON_AddNumberToObject(o, "check_foreign_max", (double)r->check_foreign_max);
    report_add_str_or_null(o, "check_foreign", r->check_foreign);
    cJSON_AddNumberToObject(o, "ack_reads", (double)r->ack_reads);
    cJSON_AddNumberToObject(o, "ack_reads_partial", (double)r->ack_reads_partial);
    cJSON_AddBoolToObject(o, "acks_bursty", r->acks_bursty);
    cJSON_AddNumberToObject(o, "check_timeout_ms", cfg->check_timeout_ms ? cfg->check_timeout_ms : 60000);
    return report_add_environment(o, env) && add_fault(o, cfg, r);
}

cJSON *report_recorder_body(const struct bench_env *env, const struct recorder_crash_config *cfg,
                            const struct recorder_crash_result *r)
{
    cJSON *o = cJSON_CreateObject(), *settings = cJSON_CreateObject();
    if (!o || !settings) {
        cJSON_Delete(o);
        cJSON_Delete(settings);
        return NULL;
    }
    cJSON_AddStringToObject(o, "target", r->target);
    for (unsigned i = 0; i < r->napplied; i++)
        cJSON_AddStringToObject(settings, r->applied[i].key, r->applied[i].value);
    if (cfg->run_cmd)
        cJSON_AddStringToObject(settings, "run", cfg->run_cmd);
    if (cfg->check_cmd)
        cJSON_AddStringToObject(settings, "check", cfg->check_cmd);
    cJSON_AddItemToObject(o, "settings", settings);
    cJSON_AddStringToObject(o, "model", pl_model_name(&r->model));
    cJSON_AddNumberToObject(o, "trials", r->trials);
    cJSON_AddNumberToObject(o, "trials_valid", r->trials_valid);
    cJSON_AddNumberToObject(o, "images", r->images);
    cJSON_AddNumberToObject(o, "recovered_ok", r->recovered_ok);
    cJSON_AddNumberToObject(o, "acked_total", (double)r->acked_total);
    cJSON_AddNumberToObject(o, "acked_lost_max", (double)r->acked_lost_max);
    cJSON_AddNumberToObject(o, "acked_lost_total", (double)r->acked_lost_total);
    report_add_rounded(o, "loss_window_ms_p50", r->loss_window_ms_p50);
    report_add_rounded(o, "loss_window_ms_max", r->loss_window_ms_max);
    report_add_promise(o, r->promised, r->promised_window_ms, r->held);
    report_add_rounded(o, "max_sync_ms", r->max_sync_ms);
    cJSON_AddNumberToObject(o, "unseen_flags", (double)r->unseen_flags);
    if (r->unseen_flags)
        cJSON_AddStringToObject(o, "unseen", r->unseen);
    else
        cJSON_AddNullToObject(o, "unseen");
    cJSON_AddNumberToObject(o, "unknown_opens", (double)r->unknown_opens);
    cJSON_AddNumberToObject(o, "journal_bytes", (double)r->journal_bytes);
    cJSON_AddNumberToObject(o, "journal_ops", (double)r->journal_ops);
    report_add_rounded(o, "image_ms_max", r->image_ms_max);
    cJSON_AddNumberToObject(o, "seed", (double)cfg->seed);
    cJSON_AddNumberToObject(o, "sector_size", r->model.sector);   /* where torn, reorder, lie cut */
    if (!(r->note[0] ? cJSON_AddStringToObject(o, "note", r->note)
                     : cJSON_AddNullToObject(o, "note")) ||
        !add_later(o, env, cfg, r)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* The lines under the table: what the verdict rests on, and what it could not. */
static void print_notes(FILE *to, const struct recorder_crash_result *r)
{
    if (r->promised_window_ms > 0)
        fprintf(to, "allowance     %.1f ms: the promised %.0f ms plus the p99 sync measured before the "
                    "trials (%.0f us); the longest sync in the journals was %.1f ms\n",
                r->allowance_ms, r->promised_window_ms, r->calibration_sync_p99_us, r->max_sync_ms);
    if (r->trials > r->trials_valid)
        fprintf(to, "invalid       %u of %u trials (%u ended before an ack, %u no ack): %s\n",
                r->trials - r->trials_valid, r->trials, r->invalid_exited, r->invalid_no_ack,
                r->invalid_example);
    if (r->held < 0 && r->held_null_reason[0])
        fprintf(to, "held null     %s\n", r->held_null_reason);
    if (r->check_foreign_max)
        fprintf(to, "check         printed up to %llu line%s in an image that are no key the run "
                    "acknowledged (first: %s)\n",
                (unsigned long long)r->check_foreign_max, r->check_foreign_max == 1 ? "" : "s",
                r->check_foreign);
    if (r->acks_bursty)
        fprintf(to, "WARNING       %llu of %llu reads of acks ended mid-line: the program seems to buffer "
                    "its stdout; acks are timestamped when fsynclab reads them, so windows look shorter "
                    "(flush after each ack)\n",
                (unsigned long long)r->ack_reads_partial, (unsigned long long)r->ack_reads);
}

void report_print_recorder_table(FILE *to, const struct recorder_crash_config *cfg,
                                 const struct recorder_crash_result *r)
{
    char settings[256] = "";
    size_t at = 0;
    for (unsigned i = 0; i < r->napplied && at < sizeof settings; i++) {
        int n = snprintf(settings + at, sizeof settings - at, "%s%s=%s", i ? "," : "", r->applied[i].key,
                         r->applied[i].value);
        if (n < 0)
            break;
        at += (size_t)n;
    }
    char promised[32] = "-";
    if (r->promised_window_ms >= 0)
        snprintf(promised, sizeof promised, "%.0fms", r->promised_window_ms);
    fprintf(to, "%-9s %-28s %-7s %6s %6s %8s %9s %9s %10s %10s %8s %5s  %s\n", "target", "settings",
            "model", "trials", "images", "recov_ok", "acked", "lost_max", "window_p50", "window_max",
            "promised", "held", "promise");
    fprintf(to, "%-9s %-28s %-7s %3u/%-2u %6u %8u %9llu %9llu %8.1fms %8.1fms %8s %5s  %s\n", r->target,
            at ? settings : "-", pl_model_name(&r->model), r->trials_valid, r->trials, r->images,
            r->recovered_ok, (unsigned long long)r->acked_total, (unsigned long long)r->acked_lost_max,
            r->loss_window_ms_p50, r->loss_window_ms_max, promised, held_name(r->held),
            r->promised ? r->promised : "");
    fprintf(to, "seed %llu replays " REPORT_SEED_CHOICES ",\n" REPORT_SEED_NOT ".\n",
            (unsigned long long)cfg->seed);
    if (r->unseen_flags)
        fprintf(to, "unseen        %llu call%s the recorder could not follow, first: %s\n",
                (unsigned long long)r->unseen_flags, r->unseen_flags == 1 ? "" : "s", r->unseen);
    print_notes(to, r);
    if (cfg->faults.n)
        print_fault(to, cfg, r);
    if (r->note[0])
        fprintf(to, "note          %s\n", r->note);
}
