/*
 * harness.h - helpers for end-to-end tests: spawn and reap helper
 * processes (with or without the shim), find free loopback ports, wait
 * for listeners, hash files, read stats lines.
 *
 * Criterion runs tests in worker processes over its own sockets, so the
 * shim is never preloaded here: only into the programs spawned.
 */
#ifndef MPS_TEST_HARNESS_H
#define MPS_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define H_MAX_PROCS 16

/* Paths into the build and source trees (MPS_TOP_BUILDDIR/SRCDIR). */
const char *h_builddir(void);
/* The suite's stream application, tests/helpers/mps-stream. */
const char *h_stream_bin(void);
/* TMPDIR/NAME.out, in one of 8 static buffers used in turn. */
const char *h_out_file(const char *name);
/* Sleep for ms milliseconds. */
void h_sleep_ms(int ms);
/* A spawned application ended within ms, by exiting rather than by a
 * signal (asserted, with its output from out); returns its exit status
 * and logs the output. */
int h_app_end(pid_t pid, int ms, const char *out);
const char *h_srcdir(void);
/* Paths of the shim library, proxyd, the mpshim tool and the helpers */
const char *h_shim_lib(void);
const char *h_proxyd(void);
const char *h_mpshim(void);
const char *h_httpd(void);
/* per-test scratch dir, removed at cleanup: $MPS_TEST_TMPDIR (default
 * /tmp)/mpshim-test-XXXXXX */
const char *h_tmpdir(void);

/* Spawn argv with extra "K=V" env entries (NULL-terminated, may be NULL);
 * stdout/stderr go to the given file path (NULL: /dev/null).  Registered
 * for h_cleanup(). */
pid_t h_spawn(char *const argv[], char *const env[], const char *out_path);
/* Wait for pid with a timeout; returns exit status (0..255), 128+sig on a
 * signal, or -1 on timeout (then the process is killed). */
int h_wait(pid_t pid, int timeout_ms);
/* Kill every spawned process still running and remove the scratch dir. */
void h_cleanup(void);

/* A blocking TCP connection to addr:port (IPv4 text) with a 5 s receive
 * timeout, or -1. */
int h_tcp_connect(const char *addr, int port);
/* A loopback TCP port nobody listens on right now. */
int h_free_port(void);
/* Wait until something accepts on 127.0.0.1:port (bounded). */
bool h_wait_port(int port, int timeout_ms);

/* Create a file of `size` pseudo-random bytes (seeded), return path. */
const char *h_make_file(const char *name, size_t size, unsigned seed);
/* SHA-256 of a file as 64 hex chars in out[65]; false if unreadable. */
bool h_sha256_file(const char *path, char out[65]);
/* Read a whole small file into a malloc'ed string (NULL on error). */
char *h_slurp(const char *path);

/* Reading mpshim frames off one socket (a test speaking the protocol):
 * bytes past the frame handed out stay for the next call on that socket. */
struct mps_frame;
struct h_frames {
	uint8_t buf[1 << 17];
	size_t have;
	uint8_t frame[1 << 17];		/* the frame handed out, payload included */
};
/* Next frame into *f (its payload stays valid until the next call): its
 * length, or -1 when the peer closed, sent nothing for timeout_ms, or sent
 * bytes that do not parse. */
int h_frame_next(int fd, struct h_frames *r, struct mps_frame *f, int timeout_ms);
/* Encode f and send it whole; false when it does not fit or send fails. */
bool h_frame_send(int fd, const struct mps_frame *f);
/* The same, passing over PINGs (a server's liveness probes). */
int h_frame_next_skip_ping(int fd, struct h_frames *r, struct mps_frame *f,
			   int timeout_ms);
/* Read fd until the peer ends it; true when it did (EOF or an error),
 * false when it went silent (the socket's receive timeout).  Closes fd. */
bool h_closed_by_peer(int fd);

/* A sanitizer build (make check exports its flags as MPS_SANITIZED):
 * proxyd, the tools and the tests run instrumented. */
bool h_sanitized(void);
/* An --enable-tsan build, whose C helpers run on the instrumented shim
 * (h_spawn). */
bool h_tsan_build(void);
/* What a bound on a process's resident memory is multiplied by in this
 * build: 1, but 5 under ThreadSanitizer, whose shadow takes four bytes
 * for each byte of application memory touched (gcc's runtime), which
 * VmRSS counts too.  ASan's shadow (1/8) and redzones fit the bounds. */
long h_san_mem_factor(void);
/* The size of a loopback transfer that must spread over several subflows:
 * x4 in a sanitizer build, where an instrumented proxyd is slow to admit
 * the JOINs and a short transfer can end before they carry 10% of it. */
size_t h_san_spread_bytes(size_t bytes);

/* valgrind's leak checker in front of a program: exit status 99 on an
 * error or a definite leak.  h_use_valgrind: valgrind is there and this
 * is no sanitizer build (which has its own checks and cannot run under
 * it). */
#define H_VALGRIND_ARGV "valgrind", "-q", "--error-exitcode=99", \
	"--leak-check=full", "--errors-for-leak-kinds=definite"
bool h_use_valgrind(void);

/* Like h_wait without waiting: -1 while pid runs, else its status (as
 * h_wait's); the process is reaped. */
int h_exited(pid_t pid);
/* Wait until the file contains what (bounded). */
bool h_wait_file_has(const char *path, const char *what, int timeout_ms);

/* /proc figures of a process: a kB line of its status ("VmRSS",
 * "RssAnon"), CPU time (user + system) in clock ticks, open descriptors;
 * -1 when unreadable. */
long h_proc_status_kb(pid_t pid, const char *field);
long h_proc_cpu_ticks(pid_t pid);
int h_proc_fds(pid_t pid);

/* GET /metrics from 127.0.0.1:port (proxyd --metrics): the value of the
 * sample named exactly `name` (labels included), or -1. */
long h_metric(int port, const char *name);

/* A two-path topology of the test bed (testbed/mps-testbed) for one test,
 * named PREFIX + pid: its namespaces and addresses as `up` printed them. */
struct h_testbed {
	char name[32], script[512];
	char cli_ns[64], srv_ns[64], rtr_ns[64];
	char cli_addr[2][32], srv_addr[2][32], cli_if[2][32];
	bool up;			/* h_testbed_down has work to do */
};
/* Root and network namespaces available? */
bool h_netns_ok(void);
/* Make it with the path SPECs of mps-testbed (e.g. "rate=20mbit,delay=5ms");
 * false when `up` failed or printed less than expected. */
bool h_testbed_up(struct h_testbed *tb, const char *prefix, const char *spec1,
		  const char *spec2);
/* Remove it (idempotent; also after a failed up).  false if down failed. */
bool h_testbed_down(struct h_testbed *tb);
/* Pin TCP congestion control to cubic in its client and server
 * namespaces (the machine default, bbr without fq, is not what the tests
 * are about), allowing cubic on the host first; false on failure. */
bool h_testbed_cubic(const struct h_testbed *tb);
/* Run an mps-testbed event on one path ("blackhole", "reset", "down",
 * "set loss=0%" ...): its exit status. */
int h_testbed_event(const struct h_testbed *tb, int path, const char *what);
/* Wait until something listens on TCP port in namespace ns (bounded). */
bool h_netns_wait_port(const char *ns, int port, int timeout_ms);
/* Run a shell command: its exit status, -1 if it did not exit. */
int h_run(const char *cmd);

/* Stats line parsing: the subflows array of the idx-th line of a stats
 * file: counts of subflows and their byte counters. */
struct h_sf_stat {
	uint64_t sent, recv;
	char end[48];		/* why it ended ("peer closed", "receive error"...) */
	char local[64];		/* "ADDR:PORT" */
	char remote[64];	/* "ADDR:PORT" */
	bool backup;
};
struct h_stats {
	int n_sf;
	struct h_sf_stat sf[16];
	uint64_t reinjected;
	uint64_t deadline;	/* queued by deadline reinjection */
	uint64_t grows;		/* paths grown for loss (lossy_grows) */
	bool syn_data;		/* HELLO rode in the SYN (TCP Fast Open) */
	bool fallback;
	char fallback_reason[128];
};
int h_stats_read(const char *path, struct h_stats *out, int max_lines);

#endif
