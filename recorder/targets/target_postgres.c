/* target_postgres: placeholder until the PostgreSQL target lands. */
#include <errno.h>
#include <stdio.h>

#include "recorder/targets/targets.h"

static int pg_setup(const struct recorder_crash_config *cfg, struct recorder_crash_result *out, char *err,
                    size_t errlen)
{
    (void)cfg;
    (void)out;
    snprintf(err, errlen, "postgres: not built yet");
    return -ENOSYS;
}

const struct target_ops target_postgres = {.name = "postgres", .setup = pg_setup};
