/*
 * apps.h - the fixture of the real-application suite (tests/apps).
 *
 * Each test brings up its own two-path test bed (testbed/mps-testbed:
 * client, router and server namespaces), starts unmodified programs in
 * the namespaces, some under the shim (`mpshim run`, the library from the
 * build tree), checks the bytes that arrived, and takes everything down
 * in the fini, also when an assertion failed.  A report hook in the
 * Criterion runner takes the test bed down once more after every test, so
 * a test that timed out or crashed leaves no namespace or daemon behind.
 *
 * Built on tests/net/harness.[ch]: spawned processes run in their own
 * process group and are killed by group; the scratch directory is
 * per test.
 */
#ifndef MPS_TEST_APPS_H
#define MPS_TEST_APPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "harness.h"

/* Where a program runs: the client or the server namespace. */
enum app_host { APP_CLI, APP_SRV };

/* The test bed of the running test. */
struct app_bed {
	char name[32];
	char ns[2][40];			/* indexed by enum app_host */
	char cli_addr[2][16];		/* CLIENT_ADDR_1, _2 */
	char srv_addr[2][16];		/* SERVER_ADDR_1, _2 */
	char cli_if[2][16];		/* CLIENT_IF_1, _2 */
	bool up;
};
extern struct app_bed bed;

/* How a program runs: plain, or under the shim.  dest: the upgrade rule
 * of its outgoing connections (ADDR:PORT), accept: the listeners that
 * take multipath clients (*:PORT), either may be NULL; stats: the file
 * its connections append their statistics to.  In the client namespace
 * it opens one subflow per path (fullmesh over both client interfaces). */
struct app_shim {
	const char *dest;
	const char *accept;
	const char *stats;
};

/* The shim of a client in the client namespace, upgrading
 * SERVER_ADDR_1:port, stats to "client.json"; of a server, taking over
 * its listeners on port (*:port), stats to "server.json".  Static: the
 * last one of each kind stays valid. */
struct app_shim app_client_shim(int port);
struct app_shim app_server_shim(int port);

/* Bring the two-path test bed up (skips without root, namespaces or the
 * programs named in the NULL-terminated list `needs`). */
void app_bed_up(const char *const needs[]);
/* The suites' fini: kill every spawned process, take the bed down. */
void app_fini(void);

/* A started program: its pid (and process group) and its output file. */
struct app_proc {
	pid_t pid;
	char what[64];		/* argv[0] without its directory */
	char log[512];
};

/* Start argv (NULL-terminated) in a namespace, plain when shim is NULL;
 * stdout and stderr go to the scratch file "<what>.log" (or "<log>" when
 * log is not NULL).  Registered for the cleanup; asserts it started. */
struct app_proc app_start(enum app_host host, const struct app_shim *shim,
			  const char *log, char *const argv[]);
/* Wait for it up to timeout_s; assert it exited with status 0, showing
 * the tail of its output and of the shim's log when not. */
void app_wait_ok(const struct app_proc *p, int timeout_s);
/* Wait until p has written text to its output (it must keep running). */
void app_wait_output(const struct app_proc *p, const char *text);
/* Wait until something listens on TCP port in the namespace. */
void app_wait_listen(enum app_host host, int port);

/* Scratch path "<tmpdir>/<name>", in one of 16 static buffers used in turn. */
const char *app_path(const char *name);
/* Write a text file in the scratch directory (printf-style); its path. */
const char *app_write(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A file of size pseudo-random bytes in the scratch directory; its path
 * (in a static buffer of its own). */
const char *app_blob(const char *name, size_t size, unsigned seed);
/* Assert two files hold the same bytes (SHA-256). */
void app_assert_same(const char *want, const char *got);
/* Size of a file, -1 if missing. */
long long app_file_size(const char *path);

/* Start mpshim-proxyd on SERVER_ADDR_1:port in front of 127.0.0.1:backend
 * (plain TCP), and wait for it to listen. */
void app_proxyd(int port, int backend);

/* Bytes both ways through the client's interface of path 1 so far. */
uint64_t app_path1_bytes(void);
/*
 * Kill path 1 while p is moving data: wait until path 1 has carried
 * `after` more bytes than when this was called, then run the test-bed
 * event `how` ("blackhole" or "down") on it.  Asserts p was still
 * running when the path died, so the kill really was mid-transfer.
 */
void app_kill_path1(const struct app_proc *p, uint64_t after, const char *how);

/*
 * The stats lines a shimmed program wrote (one per connection): assert
 * every connection was multipath (none fell back to plain TCP), that at
 * least one carried payload on subflows of both paths, and with killed,
 * that a subflow of path 1 failed.  Returns the number of lines.
 */
int app_assert_multipath(const char *stats, bool killed);

/*
 * The servers, each its own instance in the server namespace: private
 * configuration in the scratch directory, foreground, listening on
 * addr:port; plain when shim is NULL.  Each waits until it listens.
 */
/* A file of size bytes served as /blob from the scratch dir's www/. */
const char *app_www_blob(size_t size, unsigned seed);
/* nginx (daemon off) serving www/ */
struct app_proc app_nginx(const struct app_shim *shim, const char *addr, int port);
/* python3 -m http.server serving www/ */
struct app_proc app_http_server(const struct app_shim *shim, const char *addr, int port);
/* redis-server, no persistence */
struct app_proc app_redis(const struct app_shim *shim, const char *addr, int port);
/* sshd -D -e with a host key of its own; root logs in with the key
 * app_ssh_key() names */
struct app_proc app_sshd(const struct app_shim *shim, const char *addr, int port);
const char *app_ssh_key(void);
/* iperf3 -s for one test (-1) */
struct app_proc app_iperf3_server(const struct app_shim *shim, const char *addr, int port);

/* A program of the suite's own (tests/apps/NAME in the build tree). */
const char *app_prog(const char *name);

/* HTTP downloads of url into the file out, by an unmodified client. */
enum app_http_client { APP_CURL, APP_WGET, APP_URLLIB };
const char *app_http_client_prog(enum app_http_client client);
struct app_proc app_http_get(enum app_http_client client, const struct app_shim *shim,
			     const char *url, const char *out);

/* Calls of a redis command so far, from the server's INFO commandstats
 * (asked with a plain redis-cli in the server namespace). */
long app_redis_calls(const char *addr, const char *cmd);

/*
 * redis-benchmark under `cli` against redis-server (queried on
 * redis_addr in the server namespace) through SERVER_ADDR_1:6379: SET and
 * GET of 1 KiB values, with path 1 blackholed during the GET test when
 * kill.  Asserts it reported results and no error, that the server
 * executed every request once, and that its connections were multipath.
 * Returns the number of connections it opened.
 */
int app_redis_benchmark(const struct app_shim *cli, const char *redis_addr, bool kill);

/* `redis-cli --raw GET` prints the value and a newline: assert the file
 * holds size bytes and that newline, then drop the newline. */
void app_strip_raw_newline(const char *path, long long size);

/*
 * The stats lines of a shimmed server: assert there are `want` of them
 * (its multipath connections: plain clients get their own TCP socket and
 * no line) and that none fell back to plain TCP.
 */
void app_assert_served(const char *stats, int want);

/* Run a shell command; its exit status, -1 when it did not exit. */
int app_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The first line a shell command prints (static buffer; "" if none). */
const char *app_capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
