/* target_settings: --set KEY=VALUE for every target, and what the program
 * made of it.
 *
 * DESIGN.  A target lists the keys it can apply (target_ops.keys); a key
 * outside the list, or given twice, is refused before anything starts, so
 * that a typo is never printed as if it had been applied (the nearest key
 * is suggested).  What the table and JSON print is what the program
 * reports (target_applied: CONFIG GET, SHOW, PRAGMA), not what was asked.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder/targets/internal.h"
#include "powerloss/powerloss.h"
#include "report/report.h"


const char *target_setting(const struct recorder_crash_config *cfg, const char *key, const char *dflt)
{
    for (unsigned i = 0; i < cfg->nsettings; i++)
        if (strcmp(cfg->settings[i].key, key) == 0)
            return cfg->settings[i].value;
    return dflt;
}

void target_applied(struct recorder_crash_result *out, const char *key, const char *value)
{
    if (!out)
        return;
    unsigned i = 0;
    while (i < out->napplied && strcmp(out->applied[i].key, key) != 0)
        i++;
    if (i == RECORDER_MAX_SETTINGS)
        return;
    snprintf(out->applied[i].key, sizeof out->applied[i].key, "%s", key);
    snprintf(out->applied[i].value, sizeof out->applied[i].value, "%s", value);
    if (i == out->napplied)
        out->napplied++;
}

int target_number(const char *s, double lo, double hi, double *x)
{
    char *end = NULL;
    errno = 0;
    double v = s && *s ? strtod(s, &end) : NAN;
    if (!end || *end || errno || !isfinite(v) || v < lo || v > hi)
        return -EINVAL;
    *x = v;
    return 0;
}

/* The key of keys nearest to key (a typo's fix), or NULL when none is close:
 * a third of the key's letters at most (appendfsyn, synchronus). */
static const char *nearest_key(const char *key, const char *const *keys)
{
    size_t len = strlen(key);
    return report_nearest(key, keys, len < 6 ? 1 : len / 3);
}

/* "appendfsync, fresh" */
static void settings_list(const char *const *keys, char *out, size_t outlen)
{
    size_t at = 0;
    out[0] = '\0';
    for (; keys && *keys && at < outlen; keys++) {
        int n = snprintf(out + at, outlen - at, "%s%s", at ? ", " : "", *keys);
        if (n < 0)
            break;
        at += (size_t)n;
    }
}

/* Called by target_crash_run for every target, before its setup. */
int target_check_keys(const struct target_ops *ops, const struct recorder_crash_config *cfg, char *err,
                      size_t errlen)
{
    char allowed[512];
    settings_list(ops->keys, allowed, sizeof allowed);
    for (unsigned i = 0; i < cfg->nsettings; i++) {
        const char *key = cfg->settings[i].key;
        int known = 0;
        for (const char *const *k = ops->keys; k && *k && !known; k++)
            known = strcmp(*k, key) == 0;
        if (!known) {
            const char *near = nearest_key(key, ops->keys);
            char hint[128] = "";
            if (near)
                snprintf(hint, sizeof hint, " (did you mean %s?)", near);
            (void)PL_ERR(err, errlen, 0, "--set %s: %s has no such setting%s; allowed: %s", key, ops->name, hint,
                    *allowed ? allowed : "none");
            return -EINVAL;
        }
        for (unsigned j = 0; j < i; j++)
            if (strcmp(cfg->settings[j].key, key) == 0) {
                (void)PL_ERR(err, errlen, 0, "--set %s: given twice (%s and %s); give each setting once", key,
                        cfg->settings[j].value, cfg->settings[i].value);
                return -EINVAL;
            }
    }
    return 0;
}

int target_settings_check(const struct recorder_crash_config *cfg, struct recorder_crash_result *out,
                          char *err, size_t errlen)
{
    const struct target_ops *ops = cfg->target ? target_find(cfg->target) : NULL;
    if (!ops) {
        (void)PL_ERR(err, errlen, 0, "no target \"%s\"", cfg->target ? cfg->target : "(none)");
        return -EINVAL;
    }
    int rc = target_check_keys(ops, cfg, err, errlen);
    return rc ? rc : ops->setup(cfg, out, err, errlen);
}

int target_known(const char *name)
{
    return name && target_find(name) != NULL;
}
