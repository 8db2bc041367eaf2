/*
 * mps-stream.c - a byte-stream server and client for the fault tests
 * (tests/net/test_faults.c).  The client is the application: run it with
 * the shim preloaded; the server is the plain backend behind proxyd.
 *
 *   mps-stream serve [-b ADDR] PORT
 *       For each connection (one thread each): read the request line
 *       "SIZE SEED RESET\n", send SIZE bytes of the pattern of SEED, then
 *       close; with RESET >= 0, send RESET bytes and abort with a reset
 *       instead.
 *   mps-stream fetch [-n COUNT] [-j THREADS] [-s SIZE] [-S SEED] [-R N]
 *                    [-P AFTER:MS] [-g MS] [-t IDLE_MS] [-q] ADDR PORT
 *       COUNT connections (default 1), THREADS at a time, each asking for
 *       SIZE bytes and checking every byte against the pattern.  -R: ask
 *       the server to reset after N bytes.  -P: after AFTER bytes, stop
 *       reading for MS milliseconds (a slow reader).  -g: a worker waits
 *       MS milliseconds between its connections.
 *       -t: a connection that shows nothing (data, EOF or an error) for
 *       IDLE_MS (default 20000) is a hang.  -q: only failures and the end.
 *   mps-stream sink [-b ADDR] [-d DIR] [-S SEED] [-p FILE] PORT
 *       For each connection: read until EOF, then answer "N OK\n" (N bytes
 *       read, OK 1 when they are the pattern of SEED from its start, else
 *       0) and close.  -d: also keep each connection's bytes, in arrival
 *       order, in DIR/conn-K (K from 1, in the order of their first byte;
 *       a connection that sends nothing, a probe of the port, has none).  -p: a plugged backend: listen
 *       with a backlog of 0 and fill it with a connection of its own, so
 *       the kernel drops every SYN (connects to it hang, retrying), until
 *       FILE exists; then serve.
 *   mps-stream push [-k] [-s SIZE] [-S SEED] [-t IDLE_MS] ADDR PORT
 *       One connection: say "connected" once connect() returned, send
 *       SIZE bytes of the pattern of SEED at once, shut down writing
 *       (not with -k), read the answer to EOF and print "reply: ANSWER",
 *       then "state=S", S being mpshim_fd_state() of the descriptor then
 *       (2 multipath, 4 plain after a fallback; 0 without the shim).
 *       Exit 0 when the answer is "SIZE 1", 13 for another answer, else
 *       as fetch.
 *
 * The bytes are tests/apps/pattern.h's stream of SEED, so a lost,
 * repeated, reordered or corrupted byte is caught where it happens, not
 * only at the end.
 *
 * fetch prints "started" once a connection has 64 KiB, "paused" when a
 * -P pause begins, "result 0: WHAT bytes=N ms=T" for the first
 * connection's outcome, "conn I: WHAT ..." for any other that did not
 * get its whole stream, and last "summary ok=N failed=N partial=N": the
 * connections that got every byte, those that did not, and those of
 * them that had got some bytes first (a stream cut short or corrupted,
 * not a refusal).  Exit status, the first failure's (by outcome):
 *   0 every byte of every stream, then EOF
 *   10 connect: ECONNREFUSED     11 ECONNRESET (connect or read)
 *   12 EOF before SIZE bytes     13 a byte differs from the pattern
 *   14 hang (nothing for IDLE_MS) 15 EMFILE or ENFILE (socket or connect)
 *   16 another error             2 usage
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include "mpshim/mpshim.h"
#include "pattern.h"

#pragma weak mpshim_fd_state

enum {
	OUT_OK = 0, OUT_REFUSED = 10, OUT_RESET = 11, OUT_SHORT = 12, OUT_CORRUPT = 13,
	OUT_HANG = 14, OUT_NOFILE = 15, OUT_OTHER = 16,
};

static const char *result_name(int r)
{
	switch (r) {
	case OUT_OK: return "ok";
	case OUT_REFUSED: return "refused";
	case OUT_RESET: return "reset";
	case OUT_SHORT: return "eof";
	case OUT_CORRUPT: return "corrupt";
	case OUT_HANG: return "hang";
	case OUT_NOFILE: return "nofile";
	default: return "error";
	}
}

static int errno_result(int err)
{
	switch (err) {
	case ECONNREFUSED: return OUT_REFUSED;
	case ECONNRESET: case EPIPE: return OUT_RESET;
	case EMFILE: case ENFILE: return OUT_NOFILE;
	default: return OUT_OTHER;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- serve ----------------------------------------------------------- */

static bool send_all(int fd, const uint8_t *buf, size_t n)
{
	while (n) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		buf += w;
		n -= (size_t)w;
	}
	return true;
}

static void *serve_one(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char req[64];
	size_t have = 0;
	unsigned long long size, seed, off = 0;
	long long reset_after;
	uint8_t buf[1 << 16];
	struct pattern pat;

	while (have < sizeof(req) - 1 && !memchr(req, '\n', have)) {
		ssize_t r = recv(fd, req + have, sizeof(req) - 1 - have, 0);

		if (r <= 0)
			goto out;
		have += (size_t)r;
	}
	req[have] = '\0';
	if (sscanf(req, "%llu %llu %lld", &size, &seed, &reset_after) != 3)
		goto out;
	if (reset_after >= 0 && (unsigned long long)reset_after < size)
		size = (unsigned long long)reset_after;
	pattern_init(&pat, (unsigned long)seed, 0);
	while (off < size) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);

		pattern_fill(&pat, buf, n);
		if (!send_all(fd, buf, n))
			goto out;
		off += n;
	}
	if (reset_after >= 0) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
out:
	close(fd);
	return NULL;
}

/* Accept connections on lfd for ever, each served by one(fd) on a
 * detached thread of the given stack size; who names the mode in errors. */
static _Noreturn void accept_forever(int lfd, void *(*one)(void *), size_t stack,
				     const char *who)
{
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, stack);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "%s: accept: %s\n", who, strerror(errno));
			usleep(10 * 1000);
			continue;
		}
		if (pthread_create(&t, &attr, one, (void *)(intptr_t)fd))
			close(fd);
	}
}

static int serve(const char *addr, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_port = htons((uint16_t)port);
	if (lfd < 0 || inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return 2;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 512)) {
		perror("serve: listen");
		return 3;
	}
	accept_forever(lfd, serve_one, 256 * 1024, "serve");
}

/* ---- sink ------------------------------------------------------------ */

static const char *sink_dir;
static unsigned long sink_seed;
static atomic_int sink_conns;

static void *sink_one(void *arg)
{
	int fd = (int)(intptr_t)arg, kfd = -1;
	uint8_t buf[1 << 16];
	unsigned long long got = 0;
	struct pattern pat;
	bool same = true;
	char line[64], path[600];
	int n;

	pattern_init(&pat, sink_seed, 0);
	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (sink_dir && !got) {
			snprintf(path, sizeof(path), "%s/conn-%d", sink_dir,
				 atomic_fetch_add(&sink_conns, 1) + 1);
			kfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		}
		if (kfd >= 0 && write(kfd, buf, (size_t)r) != r)
			same = false;
		if (same && pattern_check(&pat, buf, (size_t)r) != (size_t)r)
			same = false;
		got += (unsigned long long)r;
	}
	if (kfd >= 0)
		close(kfd);
	n = snprintf(line, sizeof(line), "%llu %d\n", got, same);
	send_all(fd, (const uint8_t *)line, (size_t)n);
	close(fd);
	return NULL;
}

/* Fill the accept queue of a listener with a backlog of 0 with one
 * connection of our own: the kernel then drops every SYN until it is
 * taken, and connects to us wait, retransmitting their SYN. */
static int plug(const struct sockaddr_in *at)
{
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (c < 0 || connect(c, (const struct sockaddr *)at, sizeof(*at))) {
		perror("sink: plug");
		return -1;
	}
	return c;
}

static int sink(const char *addr, int port, const char *unplug_file)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), pc = -1;
	struct stat st;

	sin.sin_port = htons((uint16_t)port);
	if (lfd < 0 || inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return 2;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(lfd, unplug_file ? 0 : 512)) {
		perror("sink: listen");
		return 3;
	}
	if (unplug_file) {
		pc = plug(&sin);
		if (pc < 0)
			return 3;
		printf("plugged\n");
		while (stat(unplug_file, &st))
			usleep(10 * 1000);
		/* the plug leaves the queue: room for the SYNs retried */
		close(accept4(lfd, NULL, NULL, SOCK_CLOEXEC));
		close(pc);
		printf("unplugged\n");
	}
	accept_forever(lfd, sink_one, 512 * 1024, "sink");
}

/* ---- fetch ----------------------------------------------------------- */

static struct sockaddr_in dest = { .sin_family = AF_INET };
static unsigned long long opt_size = 1 << 20, opt_seed = 1;
static unsigned long long opt_pause_after;
static long long opt_reset = -1;
static int opt_pause_ms, opt_idle_ms = 20000, opt_gap_ms;
static bool opt_quiet, opt_keep_open;
static atomic_int next_conn, first_fail = -1, n_ok, n_failed, n_partial;
static atomic_bool said_started;
static int opt_count = 1;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* One connection: its outcome, and the bytes it got in *got. */
static int fetch_one(int idx, unsigned long long *got)
{
	uint8_t buf[1 << 16];
	unsigned long long seed = opt_seed + (unsigned long long)idx;
	struct pattern pat;
	char req[64];
	int fd, n;
	bool paused = opt_pause_ms <= 0;

	*got = 0;
	pattern_init(&pat, (unsigned long)seed, 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return errno_result(errno);
	if (connect(fd, (struct sockaddr *)&dest, sizeof(dest))) {
		int err = errno;

		close(fd);
		return errno_result(err);
	}
	n = snprintf(req, sizeof(req), "%llu %llu %lld\n", opt_size, seed, opt_reset);
	if (!send_all(fd, (const uint8_t *)req, (size_t)n)) {
		int err = errno;

		close(fd);
		return errno_result(err);
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		size_t cap = sizeof(buf);
		ssize_t r;

		if (!paused && *got >= opt_pause_after) {
			say("paused\n");
			usleep((useconds_t)opt_pause_ms * 1000);
			paused = true;
		}
		if (!paused && opt_pause_after - *got < cap)
			cap = (size_t)(opt_pause_after - *got);
		r = poll(&p, 1, opt_idle_ms);
		if (r == 0) {
			close(fd);
			return OUT_HANG;
		}
		if (r < 0 && errno == EINTR)
			continue;
		r = recv(fd, buf, cap, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno;

			close(fd);
			return errno_result(err);
		}
		if (r == 0)
			break;
		if (*got + (unsigned long long)r > opt_size ||
		    pattern_check(&pat, buf, (size_t)r) != (size_t)r) {
			close(fd);
			return OUT_CORRUPT;
		}
		*got += (unsigned long long)r;
		if (*got >= 65536 && !atomic_exchange(&said_started, true))
			say("started\n");
	}
	close(fd);
	return *got == opt_size ? OUT_OK : OUT_SHORT;
}

static void *fetch_worker(void *arg)
{
	(void)arg;
	for (;;) {
		int idx = atomic_fetch_add(&next_conn, 1), rc, none = -1;
		unsigned long long got;
		uint64_t t0;

		if (idx >= opt_count)
			return NULL;
		if (idx && opt_gap_ms)
			usleep((useconds_t)opt_gap_ms * 1000);
		t0 = now_ms();
		rc = fetch_one(idx, &got);
		if (rc != OUT_OK) {
			atomic_compare_exchange_strong(&first_fail, &none, rc);
			atomic_fetch_add(&n_failed, 1);
			if (got)
				atomic_fetch_add(&n_partial, 1);
		} else {
			atomic_fetch_add(&n_ok, 1);
		}
		if (idx == 0 || (rc != OUT_OK && !opt_quiet))
			say("%s %d: %s bytes=%llu ms=%llu\n", idx ? "conn" : "result", idx,
			    result_name(rc), got, (unsigned long long)(now_ms() - t0));
	}
}

/* ---- push ------------------------------------------------------------ */

static int push(void)
{
	uint8_t buf[1 << 16];
	char reply[128], want[64];
	size_t have = 0;
	unsigned long long off = 0;
	struct pattern pat;
	int fd = socket(AF_INET, SOCK_STREAM, 0), err;

	if (fd < 0)
		return errno_result(errno);
	if (connect(fd, (struct sockaddr *)&dest, sizeof(dest))) {
		err = errno;
		printf("connect: %s\n", strerror(err));
		return errno_result(err);
	}
	printf("connected\n");
	pattern_init(&pat, (unsigned long)opt_seed, 0);
	while (off < opt_size) {
		size_t n = opt_size - off < sizeof(buf) ? (size_t)(opt_size - off) : sizeof(buf);

		pattern_fill(&pat, buf, n);
		if (!send_all(fd, buf, n)) {
			err = errno;
			printf("send: %s after %llu bytes\n", strerror(err), off);
			return errno_result(err);
		}
		off += n;
	}
	if (!opt_keep_open)
		shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, opt_idle_ms) == 0) {
			printf("reply: none after %d ms\n", opt_idle_ms);
			return OUT_HANG;
		}
		r = recv(fd, reply + have, sizeof(reply) - 1 - have, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			printf("recv: %s\n", strerror(err));
			return errno_result(err);
		}
		if (r == 0 || have + (size_t)r == sizeof(reply) - 1) {
			have += (size_t)(r > 0 ? r : 0);
			break;
		}
		have += (size_t)r;
	}
	reply[have] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	printf("reply: %s\n", reply);
	printf("state=%d\n", mpshim_fd_state ? mpshim_fd_state(fd) : 0);
	close(fd);
	snprintf(want, sizeof(want), "%llu 1", opt_size);
	if (!have)
		return OUT_SHORT;
	return strcmp(reply, want) ? OUT_CORRUPT : OUT_OK;
}

static int fetch(int threads)
{
	pthread_t tids[64];
	int rc;

	if (threads < 1 || threads > 64)
		return 2;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, fetch_worker, NULL))
			return OUT_OTHER;
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	say("summary ok=%d failed=%d partial=%d\n", atomic_load(&n_ok),
	    atomic_load(&n_failed), atomic_load(&n_partial));
	rc = atomic_load(&first_fail);
	return rc < 0 ? OUT_OK : rc;
}

int main(int argc, char **argv)
{
	const char *bind_addr = "127.0.0.1";
	int opt, threads = 1;

	if (argc < 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "serve")) {
		optind = 2;
		while ((opt = getopt(argc, argv, "b:")) != -1) {
			switch (opt) {
			case 'b': bind_addr = optarg; break;
			default: return 2;
			}
		}
		if (optind + 1 != argc)
			return 2;
		return serve(bind_addr, atoi(argv[optind]));
	}
	if (!strcmp(argv[1], "sink")) {
		const char *unplug = NULL;

		optind = 2;
		while ((opt = getopt(argc, argv, "b:d:S:p:")) != -1) {
			switch (opt) {
			case 'b': bind_addr = optarg; break;
			case 'd': sink_dir = optarg; break;
			case 'S': sink_seed = strtoul(optarg, NULL, 0); break;
			case 'p': unplug = optarg; break;
			default: return 2;
			}
		}
		if (optind + 1 != argc)
			return 2;
		return sink(bind_addr, atoi(argv[optind]), unplug);
	}
	if (strcmp(argv[1], "fetch") && strcmp(argv[1], "push"))
		return 2;
	optind = 2;
	while ((opt = getopt(argc, argv, "n:j:s:S:R:P:g:t:qk")) != -1) {
		switch (opt) {
		case 'n': opt_count = atoi(optarg); break;
		case 'j': threads = atoi(optarg); break;
		case 's': opt_size = strtoull(optarg, NULL, 0); break;
		case 'S': opt_seed = strtoull(optarg, NULL, 0); break;
		case 'R': opt_reset = atoll(optarg); break;
		case 'P':
			if (sscanf(optarg, "%llu:%d", &opt_pause_after, &opt_pause_ms) != 2)
				return 2;
			break;
		case 'g': opt_gap_ms = atoi(optarg); break;
		case 't': opt_idle_ms = atoi(optarg); break;
		case 'q': opt_quiet = true; break;
		case 'k': opt_keep_open = true; break;
		default: return 2;
		}
	}
	if (optind + 2 != argc || opt_count < 1)
		return 2;
	dest.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (inet_pton(AF_INET, argv[optind], &dest.sin_addr) != 1)
		return 2;
	if (!strcmp(argv[1], "push"))
		return push();
	return fetch(threads);
}
