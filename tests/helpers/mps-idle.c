/*
 * mps-idle.c - many connections that are opened, used once and then held
 * idle: the memory-per-connection test and bench S8.  Run it under
 * LD_PRELOAD against an echo service that answers "ping" with "pong" and
 * then echoes (tests/helpers/mps-server -m epoll-et):
 *
 *   mps-idle [-n CONNS] [-s BYTES] [-c CONNECTING] [-t MS] [-H] ADDR PORT
 *     -n  connections to open (default 100)
 *     -s  bytes echoed on each after the ping, 4096 at a time (default 0)
 *     -c  connects in progress at most (default 200)
 *     -t  give up after MS (default 60000)
 *     -H  then hold every connection open until SIGTERM or SIGINT
 *
 * Each connection: non-blocking connect, "ping" -> "pong", the echo
 * rounds, then nothing.  When every connection is done (or failed, or the
 * time is up) one JSON line goes to stdout:
 *   {"conns": N, "established": E, "failed": F, "wall_s": T,
 *    "anon0_kib": A0, "anon_kib": A, "first_error": "..."}
 * where anon0_kib is this process's anonymous resident memory (RssAnon:
 * heap and mappings, not the shared code) before the first connect (the
 * shim loaded, its engine not yet started) and anon_kib after the last
 * exchange.  Raises its own RLIMIT_NOFILE to the hard limit first.
 * Exit: 0 all established, 1 some failed, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	4096

struct conn {
	int fd;
	int state;		/* 0 idle slot, 1 connecting, 2 pong, 3 echo, 4 done, 5 failed */
	size_t echoed;		/* bytes of the echo phase confirmed */
	size_t sent, got;	/* of the current piece */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_anon_kib(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "RssAnon:", 8))
			v = atol(line + 8);
	fclose(f);
	return v;
}

static uint8_t pat(size_t conn, size_t off)
{
	return (uint8_t)(off * 31 + conn * 7 + (off >> 10));
}

static char first_err[160];

static void fail(struct conn *c, int ep, const char *what, int err)
{
	if (!first_err[0])
		snprintf(first_err, sizeof(first_err), "%s: %s", what,
			 err ? strerror(err) : "unexpected bytes or end of stream");
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->state = 5;
}

/* Send what is left of the current piece (the ping, or an echo chunk). */
static int push(struct conn *c, size_t idx, size_t total)
{
	size_t len = c->state == 2 ? 4 : (total - c->echoed < CHUNK ? total - c->echoed : CHUNK);

	while (c->sent < len) {
		ssize_t n;

		if (c->state == 2) {
			n = send(c->fd, "ping" + c->sent, len - c->sent, MSG_NOSIGNAL);
		} else {
			uint8_t out[CHUNK];

			for (size_t i = c->sent; i < len; i++)
				out[i - c->sent] = pat(idx, c->echoed + i);
			n = send(c->fd, out, len - c->sent, MSG_NOSIGNAL);
		}
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->sent += (size_t)n;
	}
	return 0;
}

/* Read what arrived; 1 when the current piece is complete, 0 not yet,
 * -errno or -EPROTO. */
static int pull(struct conn *c, size_t idx, size_t total)
{
	size_t len = c->state == 2 ? 4 : (total - c->echoed < CHUNK ? total - c->echoed : CHUNK);

	/* checked as it arrives: the client's own memory per connection
	 * stays a few words, so what grows is the shim's */
	while (c->got < len) {
		uint8_t in[CHUNK];
		ssize_t n = recv(c->fd, in, len - c->got, 0);

		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0)
			return -EPROTO;
		for (ssize_t i = 0; i < n; i++) {
			uint8_t want = c->state == 2 ? (uint8_t)"pong"[c->got + (size_t)i] :
				       pat(idx, c->echoed + c->got + (size_t)i);

			if (in[i] != want)
				return -EPROTO;
		}
		c->got += (size_t)n;
	}
	return 1;
}

int main(int argc, char **argv)
{
	long n = 100, conc = 200, timeout_ms = 60000;
	size_t total = 0;
	bool hold = false;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct rlimit rl;
	struct conn *cs;
	long next = 0, connecting = 0, finished = 0, established = 0;
	long anon0;
	double t0;
	int opt, ep;

	while ((opt = getopt(argc, argv, "n:s:c:t:H")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 's': total = (size_t)atol(optarg); break;
		case 'c': conc = atol(optarg); break;
		case 't': timeout_ms = atol(optarg); break;
		case 'H': hold = true; break;
		default: return 2;
		}
	}
	if (optind + 2 != argc || n < 1 || conc < 1 ||
	    inet_pton(AF_INET, argv[optind], &sin.sin_addr) != 1)
		return 2;
	sin.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	cs = calloc((size_t)n, sizeof(*cs));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!cs || ep < 0)
		return 2;
	anon0 = rss_anon_kib();
	t0 = now_s();
	while (finished < n && now_s() - t0 < timeout_ms / 1e3) {
		struct epoll_event evs[256];
		int k;

		while (next < n && connecting < conc) {
			struct conn *c = &cs[next];
			struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET,
						  .data.u64 = (uint64_t)next };

			next++;
			c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) &&
					  errno != EINPROGRESS)) {
				int e = errno;

				if (!first_err[0])
					snprintf(first_err, sizeof(first_err), "connect: %s",
						 strerror(e));
				if (c->fd >= 0)
					close(c->fd);
				c->state = 5;
				finished++;
				continue;
			}
			c->state = 1;
			connecting++;
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
		}
		k = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < k; i++) {
			size_t idx = (size_t)evs[i].data.u64;
			struct conn *c = &cs[idx];
			int rc;

			if (c->state == 1) {
				int err = 0;
				socklen_t len = sizeof(err);

				if (!(evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
					continue;
				connecting--;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err) {
					fail(c, ep, "connect", err);
					finished++;
					continue;
				}
				c->state = 2;
			}
			/* one piece at a time: the echo never needs a large buffer */
			for (;;) {
				if (c->state != 2 && c->state != 3)
					break;
				rc = push(c, idx, total);
				if (rc == 0)
					rc = pull(c, idx, total);
				if (rc <= 0) {
					if (rc < 0) {
						fail(c, ep, c->state == 2 ? "ping" : "echo",
						     rc == -EPROTO ? 0 : -rc);
						finished++;
					}
					break;
				}
				if (c->state == 3)
					c->echoed += c->got;
				c->sent = c->got = 0;
				c->state = c->echoed < total ? 3 : 4;
				if (c->state == 4) {
					/* done: keep it open, hear nothing more */
					epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
					finished++;
					established++;
				}
			}
		}
	}
	printf("{\"conns\": %ld, \"established\": %ld, \"failed\": %ld, \"wall_s\": %.3f, "
	       "\"anon0_kib\": %ld, \"anon_kib\": %ld, \"first_error\": \"%s\"}\n",
	       n, established, n - established, now_s() - t0, anon0, rss_anon_kib(),
	       first_err[0] ? first_err : (finished < n ? "time out" : ""));
	fflush(stdout);
	if (hold) {
		sigset_t set;
		int sig;

		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigprocmask(SIG_BLOCK, &set, NULL);
		sigwait(&set, &sig);
	}
	for (long i = 0; i < n; i++)
		if (cs[i].fd > 0 && cs[i].state != 5)
			close(cs[i].fd);
	return established == n ? 0 : 1;
}
