/* DESIGN: the result of `fsynclab explore` (target_explore_run) as the JSON
 * body and as a text table: the run (target, settings as the program
 * reported them, the promise, the model), the counts of the exploration
 * (points, states generated, distinct, checked, cut), the vulnerabilities
 * one a row, and the verdict.  held is null, with held_reason, when the
 * exploration could not have shown a failure; what --max-points and
 * --max-states left out is named in both outputs, never silent.
 */
#include "report/report.h"
#include "report/internal.h"

#include <string.h>

static int add_settings(cJSON *o, const struct recorder_crash_result *r)
{
    cJSON *s = cJSON_AddObjectToObject(o, "settings");
    if (!s)
        return 0;
    for (unsigned i = 0; i < r->napplied; i++)
        cJSON_AddStringToObject(s, r->applied[i].key, r->applied[i].value);
    return 1;
}

static int add_vulns(cJSON *o, const struct recorder_explore_result *r)
{
    cJSON *a = cJSON_AddArrayToObject(o, "vulnerabilities");
    if (!a)
        return 0;
    for (unsigned i = 0; i < r->nvulns; i++) {
        const struct recorder_vuln *v = &r->vulns[i];
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddItemToArray(a, e)) {
            cJSON_Delete(e);
            return 0;
        }
        cJSON_AddStringToObject(e, "kind", v->kind);
        cJSON_AddStringToObject(e, "operation", v->op);
        cJSON_AddStringToObject(e, "path", v->path);
        cJSON_AddStringToObject(e, "call_site", v->site);
        cJSON_AddNumberToObject(e, "states", (double)v->states);
        cJSON_AddNumberToObject(e, "points", (double)v->points);
        cJSON_AddNumberToObject(e, "keys_lost_max", (double)v->keys_lost);
        cJSON_AddBoolToObject(e, "breaks_promise", v->breaks);
        cJSON_AddStringToObject(e, "fix", v->fix);
        cJSON_AddStringToObject(e, "example", v->example);
    }
    return 1;
}

cJSON *report_explore_body(const struct bench_env *env, const struct recorder_explore_config *cfg,
                           const struct recorder_explore_result *r)
{
    cJSON *o = cJSON_CreateObject();
    const struct recorder_crash_result *run = &r->run;
    if (!o || !cJSON_AddStringToObject(o, "target", run->target) || !add_settings(o, run)) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddStringToObject(o, "model", r->model);
    cJSON_AddNumberToObject(o, "ops", cfg->ops);
    cJSON_AddNumberToObject(o, "acks", (double)r->acks);
    cJSON_AddNumberToObject(o, "acks_journaled", (double)r->acks_journaled);
    cJSON_AddNumberToObject(o, "journal_records", (double)r->journal_records);
    cJSON_AddNumberToObject(o, "operations", (double)r->list_ops);
    cJSON_AddNumberToObject(o, "points_total", (double)r->points_total);
    cJSON_AddNumberToObject(o, "points", (double)r->points);
    report_add_str_or_null(o, "points_choice", r->points_choice);
    cJSON_AddNumberToObject(o, "states_generated", (double)r->states_generated);
    cJSON_AddNumberToObject(o, "states_distinct", (double)r->states_distinct);
    cJSON_AddNumberToObject(o, "states_checked", (double)r->states_checked);
    cJSON_AddNumberToObject(o, "states_cut", (double)r->states_cut);
    cJSON_AddNumberToObject(o, "states_failed", (double)r->states_failed);
    cJSON_AddNumberToObject(o, "states_unrecovered", (double)r->states_unrecovered);
    cJSON_AddNumberToObject(o, "max_points", cfg->max_points);
    cJSON_AddNumberToObject(o, "max_states", cfg->max_states);
    report_add_rounded(o, "dedup_ratio",
                       r->states_distinct ? (double)r->states_generated / (double)r->states_distinct : 0);
    report_add_rounded(o, "seconds", r->explore_s);
    report_add_rounded(o, "check_seconds", r->check_s);
    report_add_rounded(o, "states_per_s", r->explore_s > 0 ? (double)r->states_generated / r->explore_s : 0);
    if (!add_vulns(o, r)) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "vulnerabilities_dropped", r->vulns_dropped);
    report_add_promise(o, run->promised, run->promised_window_ms, r->held);
    report_add_str_or_null(o, "held_reason", run->held_null_reason);
    cJSON_AddNumberToObject(o, "unseen_flags", (double)run->unseen_flags);
    report_add_str_or_null(o, "unseen", run->unseen);
    cJSON_AddNumberToObject(o, "unknown_opens", (double)run->unknown_opens);
    cJSON_AddNumberToObject(o, "journal_torn_bytes", (double)run->journal_torn_bytes);
    if (!report_add_environment(o, env)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void report_print_explore_table(FILE *to, const struct recorder_explore_config *cfg,
                                const struct recorder_explore_result *r)
{
    const struct recorder_crash_result *run = &r->run;
    fprintf(to, "target        %s", run->target);
    for (unsigned i = 0; i < run->napplied; i++)
        fprintf(to, " %s=%s", run->applied[i].key, run->applied[i].value);
    fprintf(to, "\nmodel         %s (the base rule; the unsynced operations are enumerated)\n", r->model);
    fprintf(to, "run           %llu acks (--ops %u; %llu placed where the program gave them, the rest where "
            "fsynclab read them), %llu journal records, %llu operations\n", (unsigned long long)r->acks, cfg->ops,
            (unsigned long long)r->acks_journaled, (unsigned long long)r->journal_records,
            (unsigned long long)r->list_ops);
    fprintf(to, "points        %llu of %llu%s%s\n", (unsigned long long)r->points,
            (unsigned long long)r->points_total, r->points_choice[0] ? ": " : "", r->points_choice);
    fprintf(to, "states        %llu generated, %llu distinct, %llu checked (%.1f generated a distinct one), "
            "%llu failed their point\n", (unsigned long long)r->states_generated,
            (unsigned long long)r->states_distinct, (unsigned long long)r->states_checked,
            r->states_distinct ? (double)r->states_generated / (double)r->states_distinct : 0.0,
            (unsigned long long)r->states_failed);
    if (r->states_cut)
        fprintf(to, "CUT           %llu states not generated: --max-states %u reached; what they hold was not "
                "seen\n", (unsigned long long)r->states_cut, cfg->max_states);
    fprintf(to, "time          %.1f s, of it %.1f s in the checks (%.0f states/s)\n", r->explore_s, r->check_s,
            r->explore_s > 0 ? (double)r->states_generated / r->explore_s : 0.0);
    fprintf(to, "\n%-13s %-8s %-24s %-36s %7s %5s\n", "kind", "op", "path", "call site", "states", "lost");
    for (unsigned i = 0; i < r->nvulns; i++) {
        const struct recorder_vuln *v = &r->vulns[i];
        fprintf(to, "%-13s %-8s %-24s %-36s %7llu %5llu%s\n", v->kind, v->op, v->path, v->site,
                (unsigned long long)v->states, (unsigned long long)v->keys_lost,
                v->breaks ? "" : "  (allowed by the promise)");
        fprintf(to, "  fix: %s\n  e.g. %s\n", v->fix, v->example);
    }
    if (!r->nvulns)
        fprintf(to, "(none: every state checked kept what was acknowledged before its point and recovered)\n");
    if (r->vulns_dropped)
        fprintf(to, "... and %u failing states of more kinds than the table holds\n", r->vulns_dropped);
    fprintf(to, "\npromised      %s\n", run->promised ? run->promised : "");
    if (r->held < 0)
        fprintf(to, "held          null: %s\n", run->held_null_reason);
    else
        fprintf(to, "held          %s\n", r->held ? "true" : "false");
}
