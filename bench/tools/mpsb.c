/*
 * mpsb.c - load generator and meter of the mpshim benchmark (bench/run).
 *
 * One binary, four roles; every client prints one JSON object on stdout.
 *
 *   mpsb serve --bind ADDR --port P [--mptcp]
 *	epoll server.  Each connection sends a 32-byte request, then gets
 *	a bulk stream (N bytes or T ms of it, then FIN) or an echo service.
 *	One JSON line per finished connection on stdout ("sent" = bytes
 *	the server handed to its socket; "lost" is computed against it).
 *	A connection that starts with "ping" instead (tests/helpers/mps-idle,
 *	S8) gets "pong" and then the echo service.
 *   mpsb bulk --connect ADDR:PORT (--bytes N | --time MS) [--series FILE]
 *	[--bin-ms 100] [--deadline MS] [--no-verify] [--bind ADDR] [--mptcp]
 *	Download; times every read: connect/first/last byte, the longest
 *	gap between two reads that delivered bytes (the stall), bytes per
 *	bin, and checks every byte against the server's pattern.
 *   mpsb pingpong --connect ADDR:PORT --size N --count K [--warmup W]
 *	Request/response of N bytes each way over one connection; RTT
 *	percentiles in microseconds.
 *   mpsb many --connect ADDR:PORT --conns C --bytes N [--deadline MS]
 *	C concurrent downloads of N bytes each (non-blocking connects, one
 *	epoll loop): completions, wall time, completion-time percentiles.
 *
 * --mptcp opens IPPROTO_MPTCP (262) sockets: the kernel MPTCP arm.
 * The stream pattern is a function of the stream offset, so a lost,
 * duplicated or misplaced byte is detected at its offset.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define REQ_MAGIC	0x4d505342u	/* "MPSB" */
#define REQ_LEN		32
#define OP_BULK_BYTES	1
#define OP_BULK_TIME	2
#define OP_ECHO		3
#define FLAG_NOPATTERN	1u
#define IOBUF		(256 * 1024)

struct req {
	uint32_t magic, op, flags, ms;
	uint64_t bytes;
	uint8_t pad[REQ_LEN - 24];
};

static int use_mptcp;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void cpu_s(double *user, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	*sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void die(const char *what)
{
	fprintf(stderr, "mpsb: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* ---- pattern ----------------------------------------------------------- */

static inline uint64_t pat_word(uint64_t w)
{
	return (w * 0x9E3779B97F4A7C15ull) ^ 0x5851F42D4C957F2Dull;
}

/* Fill buf with the pattern bytes of stream offsets [off, off + len). */
static void pat_fill(uint8_t *buf, uint64_t off, size_t len)
{
	size_t i = 0;

	while (i < len && ((off + i) & 7)) {
		uint64_t o = off + i;

		buf[i++] = (uint8_t)(pat_word(o >> 3) >> (8 * (o & 7)));
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t v = pat_word((off + i) >> 3);

		memcpy(buf + i, &v, 8);	/* little-endian hosts only */
	}
	for (; i < len; i++) {
		uint64_t o = off + i;

		buf[i] = (uint8_t)(pat_word(o >> 3) >> (8 * (o & 7)));
	}
}

/* Index of the first byte of buf that differs from the pattern, or -1. */
static long pat_check(const uint8_t *buf, uint64_t off, size_t len)
{
	static uint8_t exp[IOBUF];
	size_t i;

	pat_fill(exp, off, len);
	if (!memcmp(exp, buf, len))
		return -1;
	for (i = 0; i < len && exp[i] == buf[i]; i++)
		;
	return (long)i;
}

/* ---- sockets ----------------------------------------------------------- */

static int parse_addr(const char *s, struct sockaddr_in *sin)
{
	char host[64];
	const char *c = strrchr(s, ':');

	if (!c || (size_t)(c - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = 0;
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(c + 1));
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

static int new_socket(int nonblock)
{
	int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0),
			use_mptcp ? IPPROTO_MPTCP : 0);

	if (fd < 0)
		die(use_mptcp ? "socket(IPPROTO_MPTCP)" : "socket");
	return fd;
}

static void bind_local(int fd, const char *local)
{
	struct sockaddr_in sin;

	if (!local)
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, local, &sin.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
		die("bind");
}

static void send_req(int fd, uint32_t op, uint64_t bytes, uint32_t ms,
		     uint32_t flags)
{
	struct req r;
	size_t o = 0;

	memset(&r, 0, sizeof(r));
	r.magic = REQ_MAGIC;
	r.op = op;
	r.flags = flags;
	r.ms = ms;
	r.bytes = bytes;
	while (o < sizeof(r)) {
		ssize_t n = send(fd, (char *)&r + o, sizeof(r) - o, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("send request");
		o += (size_t)n;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return -1;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* ---- server ------------------------------------------------------------ */

struct conn {
	int fd;
	int state;		/* 0 request, 1 sending, 2 echo, 3 drain */
	struct req r;
	size_t rlen;
	uint64_t sent, recvd;
	double t_start, t_end;
	uint8_t *ebuf;		/* echo: pending bytes */
	size_t epos, elen;
};

static uint8_t zeros[IOBUF];

static void conn_close(int ep, struct conn *c)
{
	static const char *ops[] = { "?", "bulk_bytes", "bulk_time", "echo" };

	printf("{\"op\": \"%s\", \"sent\": %" PRIu64 ", \"recv\": %" PRIu64
	       ", \"dur_ms\": %.1f, \"complete\": %s}\n",
	       c->r.op <= 3 ? ops[c->r.op] : "?", c->sent, c->recvd,
	       ((c->t_end ? c->t_end : now_s()) - c->t_start) * 1e3,
	       c->state == 3 ? "true" : "false");
	fflush(stdout);
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->ebuf);
	free(c);
}

static void set_events(int ep, struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Returns -1 when the connection is finished and freed. */
static int serve_send(int ep, struct conn *c, uint8_t *buf)
{
	for (int k = 0; k < 64; k++) {
		size_t want = IOBUF;
		ssize_t n;

		if (c->r.op == OP_BULK_BYTES) {
			if (c->sent >= c->r.bytes)
				goto done;
			if (c->r.bytes - c->sent < want)
				want = (size_t)(c->r.bytes - c->sent);
		} else if (now_s() - c->t_start >= c->r.ms / 1e3) {
			goto done;
		}
		if (c->r.flags & FLAG_NOPATTERN) {
			n = send(c->fd, zeros, want, MSG_NOSIGNAL);
		} else {
			pat_fill(buf, c->sent, want);
			n = send(c->fd, buf, want, MSG_NOSIGNAL);
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			c->t_end = now_s();
			conn_close(ep, c);
			return -1;
		}
		c->sent += (uint64_t)n;
		if ((size_t)n < want)
			return 0;
	}
	return 0;
done:
	c->t_end = now_s();
	shutdown(c->fd, SHUT_WR);
	c->state = 3;
	set_events(ep, c, EPOLLIN);
	return 0;
}

static int cmd_serve(int argc, char **argv)
{
	const char *bind_addr = "0.0.0.0";
	int port = 0, lfd, ep, one = 1;
	struct sockaddr_in sin;
	struct epoll_event e;
	static uint8_t buf[IOBUF];

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--bind") && i + 1 < argc)
			bind_addr = argv[++i];
		else if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--mptcp"))
			use_mptcp = 1;
		else {
			fprintf(stderr, "serve: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = new_socket(1);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, bind_addr, &sin.sin_addr) != 1)
		die("bad --bind");
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 4096))
		die("bind/listen");
	ep = epoll_create1(0);
	e.events = EPOLLIN;
	e.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
	fprintf(stderr, "mpsb serve: listening on %s:%d%s\n", bind_addr, port,
		use_mptcp ? " (MPTCP)" : "");
	for (;;) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				for (;;) {
					int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

					if (fd < 0)
						break;
					c = calloc(1, sizeof(*c));
					c->fd = fd;
					c->t_start = now_s();
					e.events = EPOLLIN;
					e.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
				}
				continue;
			}
			if (c->state == 0) {
				ssize_t r = recv(c->fd, (char *)&c->r + c->rlen,
						 REQ_LEN - c->rlen, 0);

				if (r <= 0) {
					if (r < 0 && errno == EAGAIN)
						continue;
					conn_close(ep, c);
					continue;
				}
				c->rlen += (size_t)r;
				if (c->rlen == 4 && !memcmp(&c->r, "ping", 4)) {
					/* tests/helpers/mps-idle (S8): "ping" is
					 * answered "pong", then an echo */
					setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
						   sizeof(one));
					if (send(c->fd, "pong", 4, MSG_NOSIGNAL) != 4) {
						conn_close(ep, c);
						continue;
					}
					c->r.op = OP_ECHO;
					c->ebuf = malloc(IOBUF);
					c->state = 2;
					continue;
				}
				if (c->rlen < REQ_LEN)
					continue;
				if (c->r.magic != REQ_MAGIC || c->r.op < 1 || c->r.op > 3) {
					conn_close(ep, c);
					continue;
				}
				c->t_start = now_s();
				if (c->r.op == OP_ECHO) {
					setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
						   sizeof(one));
					c->ebuf = malloc(IOBUF);
					c->state = 2;
					continue;
				}
				c->state = 1;
				set_events(ep, c, EPOLLOUT);
				serve_send(ep, c, buf);
				continue;
			}
			if (c->state == 1) {
				serve_send(ep, c, buf);
				continue;
			}
			if (c->state == 2) {
				if (c->elen > c->epos) {
					ssize_t w = send(c->fd, c->ebuf + c->epos,
							 c->elen - c->epos, MSG_NOSIGNAL);

					if (w < 0 && errno != EAGAIN) {
						conn_close(ep, c);
						continue;
					}
					if (w > 0) {
						c->epos += (size_t)w;
						c->sent += (uint64_t)w;
					}
					if (c->epos < c->elen)
						continue;
					c->epos = c->elen = 0;
					set_events(ep, c, EPOLLIN);
					continue;
				}
				ssize_t r = recv(c->fd, c->ebuf, IOBUF, 0);

				if (r == 0) {
					c->state = 3;
					c->t_end = now_s();
					conn_close(ep, c);
					continue;
				}
				if (r < 0) {
					if (errno != EAGAIN)
						conn_close(ep, c);
					continue;
				}
				c->recvd += (uint64_t)r;
				ssize_t w = send(c->fd, c->ebuf, (size_t)r, MSG_NOSIGNAL);

				if (w < 0 && errno != EAGAIN) {
					conn_close(ep, c);
					continue;
				}
				if (w < 0)
					w = 0;
				c->sent += (uint64_t)w;
				if (w < r) {
					c->epos = (size_t)w;
					c->elen = (size_t)r;
					set_events(ep, c, EPOLLOUT);
				}
				continue;
			}
			/* state 3: wait for the client's FIN or reset */
			{
				ssize_t r = recv(c->fd, buf, IOBUF, 0);

				if (r > 0 || (r < 0 && errno == EAGAIN))
					continue;
				conn_close(ep, c);
			}
		}
	}
}

/* ---- bulk client ------------------------------------------------------- */

/* The longest gaps between two reads, longest first: the report tells a
 * stall at a failover from one at a congestion loss elsewhere in the run. */
#define TOP_GAPS 8
struct gap {
	double len, at;
};

static void gap_note(struct gap *top, double len, double at)
{
	int i = TOP_GAPS - 1;

	if (len <= top[i].len)
		return;
	while (i > 0 && top[i - 1].len < len) {
		top[i] = top[i - 1];
		i--;
	}
	top[i].len = len;
	top[i].at = at;
}

static int cmd_bulk(int argc, char **argv)
{
	const char *dst = NULL, *local = NULL, *series = NULL;
	uint64_t bytes = 0;
	long ms = 0, bin_ms = 100, deadline_ms = 0;
	int verify = 1, fd, eof = 0;
	struct sockaddr_in sin;
	static uint8_t buf[IOBUF];
	char err[128] = "";
	double t0, t0_wall, t_conn, t_first = 0, t_last = 0, max_gap = 0,
	       gap_at = 0, u0, s0, u1, s1;
	uint64_t got = 0;
	long bad = -1;
	size_t nbins;
	uint64_t *bins;
	struct gap top[TOP_GAPS] = { { 0, 0 } };

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--connect") && i + 1 < argc)
			dst = argv[++i];
		else if (!strcmp(argv[i], "--bind") && i + 1 < argc)
			local = argv[++i];
		else if (!strcmp(argv[i], "--bytes") && i + 1 < argc)
			bytes = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--time") && i + 1 < argc)
			ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--series") && i + 1 < argc)
			series = argv[++i];
		else if (!strcmp(argv[i], "--bin-ms") && i + 1 < argc)
			bin_ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--deadline") && i + 1 < argc)
			deadline_ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--no-verify"))
			verify = 0;
		else if (!strcmp(argv[i], "--mptcp"))
			use_mptcp = 1;
		else {
			fprintf(stderr, "bulk: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	if (!dst || parse_addr(dst, &sin) || (!bytes && !ms) || bin_ms <= 0) {
		fprintf(stderr, "bulk: need --connect ADDR:PORT and --bytes or --time\n");
		return 2;
	}
	if (!deadline_ms)
		deadline_ms = (ms ? ms : 0) + 60000;
	nbins = (size_t)(deadline_ms / bin_ms) + 2;
	bins = calloc(nbins, sizeof(*bins));
	signal(SIGPIPE, SIG_IGN);
	cpu_s(&u0, &s0);
	t0_wall = wall_s();
	t0 = now_s();
	fd = new_socket(0);
	bind_local(fd, local);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		snprintf(err, sizeof(err), "connect: %s", strerror(errno));
		t_conn = now_s();
		goto out;
	}
	t_conn = now_s();
	send_req(fd, ms ? OP_BULK_TIME : OP_BULK_BYTES, bytes, (uint32_t)ms,
		 verify ? 0 : FLAG_NOPATTERN);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		double t = now_s();
		ssize_t n;

		if ((t - t0) * 1e3 >= (double)deadline_ms) {
			snprintf(err, sizeof(err), "deadline %ld ms passed before EOF",
				 deadline_ms);
			if (t_first && t - t_last > max_gap) {
				max_gap = t - t_last;
				gap_at = t_last;
			}
			if (t_first)
				gap_note(top, t - t_last, t_last);
			break;
		}
		if (poll(&p, 1, 100) == 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(err, sizeof(err), "recv: %s", strerror(errno));
			break;
		}
		if (n == 0) {
			eof = 1;
			break;
		}
		t = now_s();
		if (!t_first) {
			t_first = t;
		} else {
			if (t - t_last > max_gap) {
				max_gap = t - t_last;
				gap_at = t_last;
			}
			gap_note(top, t - t_last, t_last);
		}
		t_last = t;
		if (verify && bad < 0) {
			long b = pat_check(buf, got, (size_t)n);

			if (b >= 0)
				bad = (long)got + b;
		}
		got += (uint64_t)n;
		{
			size_t k = (size_t)((t - t0) * 1e3 / (double)bin_ms);

			if (k < nbins)
				bins[k] += (uint64_t)n;
		}
	}
out:
	close(fd);
	cpu_s(&u1, &s1);
	if (series) {
		FILE *f = fopen(series, "w");
		size_t last = 0;

		for (size_t k = 0; k < nbins; k++)
			if (bins[k])
				last = k;
		if (f) {
			for (size_t k = 0; k <= last + 1 && k < nbins; k++)
				fprintf(f, "%.3f %" PRIu64 "\n",
					(double)(k * (size_t)bin_ms) / 1e3, bins[k]);
			fclose(f);
		}
	}
	printf("{\"t0_wall\": %.6f, \"connect_ms\": %.3f, \"first_ms\": %.3f, "
	       "\"last_ms\": %.3f, \"bytes\": %" PRIu64 ", \"eof\": %s, "
	       "\"verified\": %s, \"bad_offset\": %ld, \"max_gap_ms\": %.3f, "
	       "\"max_gap_at_ms\": %.3f, \"cpu_user_s\": %.4f, \"cpu_sys_s\": %.4f, "
	       "\"maxrss_kib\": %ld, \"error\": \"%s\", \"gaps\": [",
	       t0_wall, (t_conn - t0) * 1e3, t_first ? (t_first - t0) * 1e3 : -1.0,
	       t_last ? (t_last - t0) * 1e3 : -1.0, got, eof ? "true" : "false",
	       !verify ? "null" : bad < 0 ? "true" : "false", bad,
	       max_gap * 1e3, gap_at ? (gap_at - t0) * 1e3 : -1.0,
	       u1 - u0, s1 - s0, maxrss_kib(), err);
	for (int i = 0; i < TOP_GAPS && top[i].len > 0; i++)
		printf("%s[%.3f, %.3f]", i ? ", " : "", (top[i].at - t0) * 1e3,
		       top[i].len * 1e3);
	printf("]}\n");
	/* the result must survive a crash in exit handlers (a preloaded lib) */
	fflush(stdout);
	return err[0] ? 1 : 0;
}

/* ---- ping-pong client -------------------------------------------------- */

static int cmd_pingpong(int argc, char **argv)
{
	const char *dst = NULL, *local = NULL;
	long size = 1, count = 1000, warmup = 20;
	int fd, one = 1;
	struct sockaddr_in sin;
	static uint8_t out[IOBUF], in[IOBUF];
	double *rtt;
	long done = 0;
	char err[128] = "";

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--connect") && i + 1 < argc)
			dst = argv[++i];
		else if (!strcmp(argv[i], "--bind") && i + 1 < argc)
			local = argv[++i];
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size = atol(argv[++i]);
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = atol(argv[++i]);
		else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
			warmup = atol(argv[++i]);
		else if (!strcmp(argv[i], "--mptcp"))
			use_mptcp = 1;
		else {
			fprintf(stderr, "pingpong: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	if (!dst || parse_addr(dst, &sin) || size < 1 || size > IOBUF || count < 1) {
		fprintf(stderr, "pingpong: need --connect ADDR:PORT, --size 1..%d\n", IOBUF);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	rtt = calloc((size_t)count, sizeof(*rtt));
	fd = new_socket(0);
	bind_local(fd, local);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	send_req(fd, OP_ECHO, 0, 0, 0);
	for (long i = 0; i < warmup + count; i++) {
		double t = now_s();
		size_t o = 0;

		memset(out, (int)(i & 0xff), (size_t)size);
		while (o < (size_t)size) {
			ssize_t n = send(fd, out + o, (size_t)size - o, MSG_NOSIGNAL);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				snprintf(err, sizeof(err), "send: %s", strerror(errno));
				goto out;
			}
			o += (size_t)n;
		}
		o = 0;
		while (o < (size_t)size) {
			ssize_t n = recv(fd, in + o, (size_t)size - o, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				snprintf(err, sizeof(err), "recv: %s",
					 n ? strerror(errno) : "EOF");
				goto out;
			}
			o += (size_t)n;
		}
		if (memcmp(in, out, (size_t)size)) {
			snprintf(err, sizeof(err), "echo mismatch at round %ld", i);
			goto out;
		}
		if (i >= warmup)
			rtt[done++] = (now_s() - t) * 1e6;
	}
out:
	close(fd);
	qsort(rtt, (size_t)done, sizeof(*rtt), cmp_double);
	{
		double sum = 0;

		for (long i = 0; i < done; i++)
			sum += rtt[i];
		printf("{\"size\": %ld, \"rounds\": %ld, \"min_us\": %.1f, "
		       "\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
		       "\"max_us\": %.1f, \"mean_us\": %.1f, \"error\": \"%s\"}\n",
		       size, done, pct(rtt, (size_t)done, 0), pct(rtt, (size_t)done, .5),
		       pct(rtt, (size_t)done, .9), pct(rtt, (size_t)done, .99),
		       pct(rtt, (size_t)done, 1), done ? sum / (double)done : -1, err);
		fflush(stdout);
	}
	return err[0] ? 1 : 0;
}

/* ---- many concurrent downloads ---------------------------------------- */

struct mconn {
	int fd;
	int state;		/* 0 connecting, 1 receiving, 2 done, 3 failed */
	uint64_t got;
	long bad;
	double t_start, t_done;
};

static int cmd_many(int argc, char **argv)
{
	const char *dst = NULL;
	long conns = 100, deadline_ms = 120000;
	uint64_t bytes = 1 << 20;
	int ep, active, verify = 1;
	struct sockaddr_in sin;
	struct mconn *mc;
	static uint8_t buf[IOBUF];
	double t0, t_end, u0, s0, u1, s1, *ct;
	long ok = 0, failed = 0, corrupt = 0, short_ = 0, nct = 0;
	uint64_t total = 0;
	char first_err[128] = "";

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--connect") && i + 1 < argc)
			dst = argv[++i];
		else if (!strcmp(argv[i], "--conns") && i + 1 < argc)
			conns = atol(argv[++i]);
		else if (!strcmp(argv[i], "--bytes") && i + 1 < argc)
			bytes = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--deadline") && i + 1 < argc)
			deadline_ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--no-verify"))
			verify = 0;
		else if (!strcmp(argv[i], "--mptcp"))
			use_mptcp = 1;
		else {
			fprintf(stderr, "many: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	if (!dst || parse_addr(dst, &sin) || conns < 1) {
		fprintf(stderr, "many: need --connect ADDR:PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	mc = calloc((size_t)conns, sizeof(*mc));
	ct = calloc((size_t)conns, sizeof(*ct));
	ep = epoll_create1(0);
	cpu_s(&u0, &s0);
	t0 = now_s();
	for (long i = 0; i < conns; i++) {
		struct epoll_event e = { .events = EPOLLOUT, .data.u64 = (uint64_t)i };

		mc[i].fd = new_socket(1);
		mc[i].bad = -1;
		mc[i].t_start = now_s();
		if (connect(mc[i].fd, (struct sockaddr *)&sin, sizeof(sin)) &&
		    errno != EINPROGRESS) {
			if (!first_err[0])
				snprintf(first_err, sizeof(first_err), "connect: %s",
					 strerror(errno));
			close(mc[i].fd);
			mc[i].state = 3;
			continue;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, mc[i].fd, &e);
	}
	active = 0;
	for (long i = 0; i < conns; i++)
		active += mc[i].state == 0;
	while (active > 0) {
		struct epoll_event evs[256];
		double left = deadline_ms / 1e3 - (now_s() - t0);
		int n;

		if (left <= 0)
			break;
		n = epoll_wait(ep, evs, 256, (int)(left * 1e3) + 1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int k = 0; k < n; k++) {
			struct mconn *c = &mc[evs[k].data.u64];

			if (c->state == 0) {
				int so = 0;
				socklen_t sl = sizeof(so);
				struct epoll_event e = { .events = EPOLLIN,
							 .data.u64 = evs[k].data.u64 };

				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so, &sl);
				if (so) {
					if (!first_err[0])
						snprintf(first_err, sizeof(first_err),
							 "connect: %s", strerror(so));
					goto fail;
				}
				/* 32 bytes always fit in a fresh socket buffer */
				send_req(c->fd, OP_BULK_BYTES, bytes, 0,
					 verify ? 0 : FLAG_NOPATTERN);
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
				c->state = 1;
				continue;
			}
			for (int rep = 0; rep < 4; rep++) {
				ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				if (r < 0) {
					if (!first_err[0])
						snprintf(first_err, sizeof(first_err),
							 "recv: %s", strerror(errno));
					goto fail;
				}
				if (r == 0) {
					c->t_done = now_s();
					c->state = 2;
					epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
					close(c->fd);
					active--;
					break;
				}
				if (verify && c->bad < 0) {
					long b = pat_check(buf, c->got, (size_t)r);

					if (b >= 0)
						c->bad = (long)c->got + b;
				}
				c->got += (uint64_t)r;
			}
			continue;
fail:
			c->state = 3;
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			active--;
		}
	}
	t_end = now_s();
	cpu_s(&u1, &s1);
	for (long i = 0; i < conns; i++) {
		total += mc[i].got;
		if (mc[i].state == 2 && mc[i].got == bytes && mc[i].bad < 0) {
			ok++;
			ct[nct++] = (mc[i].t_done - mc[i].t_start) * 1e3;
		} else if (mc[i].state == 2 && mc[i].bad >= 0) {
			corrupt++;
		} else if (mc[i].state == 2) {
			short_++;
		} else {
			failed++;
		}
	}
	qsort(ct, (size_t)nct, sizeof(*ct), cmp_double);
	printf("{\"conns\": %ld, \"completed\": %ld, \"failed\": %ld, "
	       "\"unfinished\": %ld, \"short\": %ld, \"corrupt\": %ld, "
	       "\"bytes\": %" PRIu64 ", \"wall_s\": %.3f, \"ct_p50_ms\": %.1f, "
	       "\"ct_p99_ms\": %.1f, \"ct_max_ms\": %.1f, \"cpu_user_s\": %.3f, "
	       "\"cpu_sys_s\": %.3f, \"maxrss_kib\": %ld, \"first_error\": \"%s\"}\n",
	       conns, ok, failed - active, (long)active, short_, corrupt, total,
	       t_end - t0, pct(ct, (size_t)nct, .5), pct(ct, (size_t)nct, .99),
	       pct(ct, (size_t)nct, 1), u1 - u0, s1 - s0, maxrss_kib(), first_err);
	fflush(stdout);
	return ok == conns ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: mpsb serve|bulk|pingpong|many ...\n");
		return 2;
	}
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bulk"))
		return cmd_bulk(argc - 2, argv + 2);
	if (!strcmp(argv[1], "pingpong"))
		return cmd_pingpong(argc - 2, argv + 2);
	if (!strcmp(argv[1], "many"))
		return cmd_many(argc - 2, argv + 2);
	fprintf(stderr, "mpsb: unknown role %s\n", argv[1]);
	return 2;
}
