/* DESIGN: the fields more than one body writes the same way, written once
 * here so that `crash --target` and `explore` cannot drift apart: a float
 * rounded to 0.001, a string that is null when empty, and the promise with
 * its verdict (null when the trials could not have shown a failure). */
#include "report/report.h"
#include "report/internal.h"

#include <math.h>

void report_add_rounded(cJSON *o, const char *name, double v)
{
    cJSON *n = report_json_float(round(v * 1000.0) / 1000.0);
    if (n)
        cJSON_AddItemToObject(o, name, n);
    else
        cJSON_AddNullToObject(o, name);
}

void report_add_str_or_null(cJSON *o, const char *name, const char *s)
{
    if (s && *s)
        cJSON_AddStringToObject(o, name, s);
    else
        cJSON_AddNullToObject(o, name);
}

void report_add_promise(cJSON *o, const char *promised, double window_ms, int held)
{
    cJSON_AddStringToObject(o, "promised", promised ? promised : "");
    if (window_ms >= 0)
        report_add_rounded(o, "promised_window_ms", window_ms);
    else
        cJSON_AddNullToObject(o, "promised_window_ms");
    if (held < 0)
        cJSON_AddNullToObject(o, "held");
    else
        cJSON_AddBoolToObject(o, "held", held);
}
