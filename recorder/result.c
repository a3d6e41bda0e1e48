/* result: a crash run's result as JSON and as a table row.
 *
 * DESIGN.  The JSON body holds the fields issue 12 lists, in that order,
 * then what the recorder could not see and its own costs.  A verdict the
 * trials could not have contradicted is null, not true; a promise with no
 * number has promised_window_ms null.  Numbers are rounded to 0.001 ms so
 * that output printed with node_json_print stays short.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "recorder/recorder.h"

static double round3(double x)
{
    return round(x * 1000.0) / 1000.0;
}

static const char *held_name(int held)
{
    return held < 0 ? "null" : held ? "true" : "false";
}

cJSON *recorder_crash_json(const struct recorder_crash_config *cfg, const struct recorder_crash_result *r)
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
    cJSON_AddNumberToObject(o, "loss_window_ms_p50", round3(r->loss_window_ms_p50));
    cJSON_AddNumberToObject(o, "loss_window_ms_max", round3(r->loss_window_ms_max));
    cJSON_AddStringToObject(o, "promised", r->promised ? r->promised : "");
    if (r->promised_window_ms >= 0)
        cJSON_AddNumberToObject(o, "promised_window_ms", round3(r->promised_window_ms));
    else
        cJSON_AddNullToObject(o, "promised_window_ms");
    if (r->held < 0)
        cJSON_AddNullToObject(o, "held");
    else
        cJSON_AddBoolToObject(o, "held", r->held);
    cJSON_AddNumberToObject(o, "sync_ms_max", round3(r->sync_ms_max));
    cJSON_AddNumberToObject(o, "unseen_flags", (double)r->unseen_flags);
    if (r->unseen_flags)
        cJSON_AddStringToObject(o, "unseen", r->unseen);
    else
        cJSON_AddNullToObject(o, "unseen");
    cJSON_AddNumberToObject(o, "unknown_opens", (double)r->unknown_opens);
    cJSON_AddNumberToObject(o, "journal_bytes", (double)r->journal_bytes);
    cJSON_AddNumberToObject(o, "journal_ops", (double)r->journal_ops);
    cJSON_AddNumberToObject(o, "image_ms_max", round3(r->image_ms_max));
    return o;
}

void recorder_crash_table_head(char *out, size_t outlen)
{
    snprintf(out, outlen, "%-9s %-28s %-7s %6s %6s %8s %9s %9s %10s %10s %8s %5s  %s", "target",
             "settings", "model", "trials", "images", "recov_ok", "acked", "lost_max", "window_p50",
             "window_max", "promised", "held", "promise");
}

void recorder_crash_table_row(const struct recorder_crash_config *cfg, const struct recorder_crash_result *r,
                              char *out, size_t outlen)
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
    snprintf(out, outlen, "%-9s %-28s %-7s %3u/%-2u %6u %8u %9llu %9llu %8.1fms %8.1fms %8s %5s  %s",
             r->target, at ? settings : "-", recorder_model_name(r->model), r->trials_valid, r->trials,
             r->images, r->recovered_ok, (unsigned long long)r->acked_total,
             (unsigned long long)r->acked_lost_max, r->loss_window_ms_p50, r->loss_window_ms_max, promised,
             held_name(r->held), r->promised ? r->promised : "");
}
