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

/* Edit distance (insert, delete, substitute) of two short strings. */
static size_t settings_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[65];
    if (la > 64 || lb > 64)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *target_nearest(const char *key, const char *const *keys)
{
    const char *best = NULL;
    size_t bestd = (size_t)-1, len = strlen(key);
    for (; keys && *keys; keys++) {
        size_t d = settings_distance(key, *keys);
        if (d < bestd)
            bestd = d, best = *keys;
    }
    /* close: a third of the key's letters at most (appendfsyn, synchronus) */
    return best && bestd <= (len < 6 ? 1 : len / 3) ? best : NULL;
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
            const char *near = target_nearest(key, ops->keys);
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
