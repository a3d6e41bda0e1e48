/* report/'s own: what its files share and no other module uses. */
#ifndef FSYNCLAB_REPORT_INTERNAL_H
#define FSYNCLAB_REPORT_INTERNAL_H

#include "report/report.h"

/* {"type": type, "results": [item(ctx, 0), ..., item(ctx, n - 1)]}; NULL when
 * out of memory (body.c). */
cJSON *report_results_body(const char *type, size_t n,
                           cJSON *(*item)(const void *ctx, size_t i), const void *ctx);
/* Adds "environment": {"fs_type", "device", "warning"} to body and returns
 * it for more keys; NULL when out of memory. */
cJSON *report_add_environment(cJSON *body, const struct bench_env *env);
/* One strategy's object of a crash_test_ok body, from the verifier's
 * summary: model names what decided the losses, trials counts what the
 * run counts as one (a crash trial; an image of crash --vm), and
 * optimistic (taken over, freed on failure) is "model_optimistic": a bool
 * for crash, a count of images for crash --vm.  NULL when out of memory. */
cJSON *report_crash_object(const char *model, uint32_t trials, uint32_t trials_requested,
                           cJSON *optimistic, const struct verifier_summary *v);
/* The fields explore.c and recorder.c share (fields.c).  name: v rounded
 * to 0.001 (null when out of memory); name: s, null when s is NULL or empty;
 * "promised": promised ("" when NULL), "promised_window_ms": window_ms (null
 * when negative: a promise with no number), "held": held (null when -1). */
void report_add_rounded(cJSON *o, const char *name, double v);
void report_add_str_or_null(cJSON *o, const char *name, const char *s);
void report_add_promise(cJSON *o, const char *promised, double window_ms, int held);

#endif
