/*
 * stats.h - what mpshim says about its connections, in JSON: the
 * end-of-connection record (one object per line in the stats file,
 * MPSHIM_STATS_FILE or proxyd --stats-file, plus one info log line) and
 * the live snapshot an engine serves on its stats socket.  Both describe a
 * connection with the same object, written by the same code, so a reader
 * of one reads the other.  Formats documented in mpshim(7) and mpshim(1);
 * tests, benchmarks and `mpshim stats` parse them.
 *
 * The engine side (records, snapshot: stats.c) is declared in
 * engine_int.h; this header is what the `mpshim` tool shares with it:
 * where a process's stats socket is (stats_addr.c).
 */
#ifndef MPS_STATS_H
#define MPS_STATS_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* Abstract AF_UNIX name "@mpshim/stats/PID": no file to clean up, no
 * directory that needs root, gone with the process. */
#define MPS_STATS_SOCKET_PREFIX	"mpshim/stats/"
/* "mpshim_stats" member of every answer: the format's version */
#define MPS_STATS_VERSION	1

/* Fill *sun with pid's stats socket address; returns its length. */
socklen_t mps_stats_socket_addr(pid_t pid, struct sockaddr_un *sun);
/* The pid in a socket path as /proc/net/unix shows an abstract name
 * ("@mpshim/stats/1234"), or -1 when path is not a stats socket. */
pid_t mps_stats_socket_pid(const char *path);

#endif
