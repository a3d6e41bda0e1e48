/* DESIGN: the result of `fsynclab crash --target` (target_crash_run) as
 * the JSON body and as a text table.  The body holds the fields issue 12
 * lists, in that order, then what the recorder could not see and its own
 * costs.  A verdict the trials could not have contradicted is null, not
 * true; a promise with no number has promised_window_ms null.  Times are
 * floats rounded to 0.001 ms (report_json_float prints them as Python does).
 */
#include "report/report.h"

#include <math.h>
#include <string.h>

static const char *held_name(int held)
{
    return held < 0 ? "null" : held ? "true" : "false";
}

static void add_ms(cJSON *o, const char *name, double ms)
{
    cJSON *v = report_json_float(round(ms * 1000.0) / 1000.0);
    if (v)
        cJSON_AddItemToObject(o, name, v);
    else
        cJSON_AddNullToObject(o, name);
}

cJSON *report_recorder_body(const struct recorder_crash_config *cfg, const struct recorder_crash_result *r)
{
    cJSON *o = cJSON_CreateObject(), *settings = cJSON_CreateObject();
    if (!o || !settings) {
        cJSON_Delete(o);
        cJSON_Delete(settings);
        return NULL;
    }
    cJSON_AddStringToObject(o, "target", r->target);
    for (unsigned i = 0; i < cfg->nsettings; i++)
        cJSON_AddStringToObject(settings, cfg->settings[i].key, cfg->settings[i].value);
    if (cfg->run_cmd)
        cJSON_AddStringToObject(settings, "run", cfg->run_cmd);
    if (cfg->check_cmd)
        cJSON_AddStringToObject(settings, "check", cfg->check_cmd);
    cJSON_AddItemToObject(o, "settings", settings);
    cJSON_AddStringToObject(o, "model", recorder_model_name(r->model));
    cJSON_AddNumberToObject(o, "trials", r->trials);
    cJSON_AddNumberToObject(o, "trials_valid", r->trials_valid);
    cJSON_AddNumberToObject(o, "images", r->images);
    cJSON_AddNumberToObject(o, "recovered_ok", r->recovered_ok);
    cJSON_AddNumberToObject(o, "acked_total", (double)r->acked_total);
    cJSON_AddNumberToObject(o, "acked_lost_max", (double)r->acked_lost_max);
    cJSON_AddNumberToObject(o, "acked_lost_total", (double)r->acked_lost_total);
    add_ms(o, "loss_window_ms_p50", r->loss_window_ms_p50);
    add_ms(o, "loss_window_ms_max", r->loss_window_ms_max);
    cJSON_AddStringToObject(o, "promised", r->promised ? r->promised : "");
    if (r->promised_window_ms >= 0)
        add_ms(o, "promised_window_ms", r->promised_window_ms);
    else
        cJSON_AddNullToObject(o, "promised_window_ms");
    if (r->held < 0)
        cJSON_AddNullToObject(o, "held");
    else
        cJSON_AddBoolToObject(o, "held", r->held);
    add_ms(o, "sync_ms_max", r->sync_ms_max);
    cJSON_AddNumberToObject(o, "unseen_flags", (double)r->unseen_flags);
    if (r->unseen_flags)
        cJSON_AddStringToObject(o, "unseen", r->unseen);
    else
        cJSON_AddNullToObject(o, "unseen");
    cJSON_AddNumberToObject(o, "unknown_opens", (double)r->unknown_opens);
    cJSON_AddNumberToObject(o, "journal_bytes", (double)r->journal_bytes);
    cJSON_AddNumberToObject(o, "journal_ops", (double)r->journal_ops);
    add_ms(o, "image_ms_max", r->image_ms_max);
    cJSON_AddNumberToObject(o, "seed", (double)cfg->seed);
    if (r->note[0])
        cJSON_AddStringToObject(o, "note", r->note);
    else
        cJSON_AddNullToObject(o, "note");
    return o;
}

void report_print_recorder_table(FILE *to, const struct recorder_crash_config *cfg,
                                 const struct recorder_crash_result *r)
{
    char settings[128] = "";
    size_t at = 0;
    for (unsigned i = 0; i < cfg->nsettings && at < sizeof settings; i++) {
        int n = snprintf(settings + at, sizeof settings - at, "%s%s=%s", i ? "," : "", cfg->settings[i].key,
                         cfg->settings[i].value);
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
            at ? settings : "-", recorder_model_name(r->model), r->trials_valid, r->trials, r->images,
            r->recovered_ok, (unsigned long long)r->acked_total, (unsigned long long)r->acked_lost_max,
            r->loss_window_ms_p50, r->loss_window_ms_max, promised, held_name(r->held),
            r->promised ? r->promised : "");
    fprintf(to, "seed %llu replays this run's kill instants, cut points and model choices.\n",
            (unsigned long long)cfg->seed);
    if (r->unseen_flags)
        fprintf(to, "unseen        %llu call%s the recorder could not follow, first: %s\n",
                (unsigned long long)r->unseen_flags, r->unseen_flags == 1 ? "" : "s", r->unseen);
    if (r->note[0])
        fprintf(to, "note          %s\n", r->note);
}
