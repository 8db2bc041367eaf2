/*
 * stats.h - the end-of-connection record: one JSON object per line in the
 * stats file (MPSHIM_STATS_FILE, proxyd --stats-file) and one info log line.
 * Format documented in mpshim.conf(5); tests and benchmarks parse it.
 */
#ifndef MPS_STATS_H
#define MPS_STATS_H
#include <stddef.h>
/* JSON string escaping of src into dst (always terminated). */
void mps_stats_json_escape(char *dst, size_t len, const char *src);
#endif
