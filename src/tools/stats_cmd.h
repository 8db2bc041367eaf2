/*
 * stats_cmd.h - `mpshim stats [--json] [--timeout MS] [PID...]`: ask the
 * engines of running processes for their live connections.
 *
 * Owns finding stats sockets (/proc/net/unix), asking each with one
 * deadline for all (a stopped or stuck process costs the timeout, never
 * a hang), and printing the answers as tables or as JSON lines.  The
 * engine side is src/core/statsock.c; the document is described in
 * mpshim(1).
 */
#ifndef MPS_STATS_CMD_H
#define MPS_STATS_CMD_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct mps_json;

#define MPS_STATS_CMD_TIMEOUT_MS	2000

/* The whole subcommand; argv[0] is "stats".  Returns the exit status. */
int mps_stats_cmd_main(int argc, char **argv);

/* Listening stats sockets in the text of /proc/net/unix: their pids,
 * ascending and each once, at most max.  Returns how many. */
size_t mps_stats_cmd_scan(FILE *proc_net_unix, pid_t *pids, size_t max);

/* One process's snapshot as the readable table. */
void mps_stats_cmd_table(FILE *out, const struct mps_json *snap);

/* Column texts: 512B 1.5K 41.2M; 850ms 12.3s 4m05s 2h13m; 0.05ms 12.3ms
 * 1.20s ("-" for an RTT of 0: not measured). */
void mps_stats_cmd_bytes(uint64_t n, char *buf, size_t len);
void mps_stats_cmd_duration(uint64_t ms, char *buf, size_t len);
void mps_stats_cmd_rtt(uint64_t us, char *buf, size_t len);

#endif
