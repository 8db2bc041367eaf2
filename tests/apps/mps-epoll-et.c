/*
 * mps-epoll-et.c - an echo server and its client, both driven by epoll in
 * edge-triggered mode on non-blocking sockets, the way event-loop servers
 * (nginx, libuv, netty) are.  Written for tests/apps, run under the shim.
 *
 *   mps-epoll-et serve ADDR PORT
 *       accept connections (accept4 until EAGAIN on each edge), echo every
 *       byte back, pass a half-close on, log each connection; until killed.
 *   mps-epoll-et echo ADDR PORT CONNS BYTES SEED
 *       CONNS connections at once, each: non-blocking connect, registered
 *       after connect() returned, SO_ERROR read on the first EPOLLOUT;
 *       send BYTES of a pattern while reading the echo, half-close, and
 *       check every echoed byte and the end-of-file after the last one.
 *       Exit 0 when all came back intact, 1 otherwise.
 *
 * Edge-triggered means an event is reported once per change, so every
 * handler runs until the kernel says EAGAIN: a byte left unread or a
 * write left unfinished would wait forever.  Nothing finishes unless the
 * descriptors behave like TCP sockets in this respect.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "pattern.h"

#define IO_CHUNK	65536
#define ECHO_BUF	(256 * 1024)
#define MAX_CONNS	64
#define STALL_MS	60000

static int parse_addr(const char *addr, const char *port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(port));
	return inet_pton(AF_INET, addr, &sin->sin_addr) == 1 ? 0 : -1;
}

static int watch(int ep, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events | EPOLLET, .data.ptr = ptr };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* ---- server ----------------------------------------------------------- */

struct echo {
	int fd;
	char peer[48];
	uint8_t buf[ECHO_BUF];
	size_t off, len;	/* bytes buf[off..len) wait to go back */
	bool eof;		/* the client half-closed */
	unsigned long long bytes;
};

/* Move bytes until both directions would block; 1 when the connection is
 * done (echoed everything after the client's end), -1 on an error. */
static int echo_pump(struct echo *c)
{
	for (;;) {
		bool progress = false;
		ssize_t n;

		if (!c->eof && c->len < ECHO_BUF) {
			n = read(c->fd, c->buf + c->len, ECHO_BUF - c->len);
			if (n > 0) {
				c->len += (size_t)n;
				c->bytes += (unsigned long long)n;
				progress = true;
			} else if (n == 0) {
				c->eof = true;
				progress = true;
			} else if (errno != EAGAIN && errno != EINTR) {
				perror("server: read");
				return -1;
			}
		}
		if (c->off < c->len) {
			n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
			if (n > 0) {
				c->off += (size_t)n;
				if (c->off == c->len)
					c->off = c->len = 0;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				perror("server: send");
				return -1;
			}
		}
		if (c->eof && c->off == c->len) {
			if (shutdown(c->fd, SHUT_WR)) {
				perror("server: shutdown");
				return -1;
			}
			return 1;
		}
		if (!progress)
			return 0;
	}
}

/* "ADDR:PORT" of the client, for the log. */
static void name_peer(int fd, char *out, size_t len)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	char a[INET_ADDRSTRLEN] = "?";

	memset(&sin, 0, sizeof(sin));
	if (!getpeername(fd, (struct sockaddr *)&sin, &slen) && sin.sin_family == AF_INET)
		inet_ntop(AF_INET, &sin.sin_addr, a, sizeof(a));
	snprintf(out, len, "%s:%u", a, ntohs(sin.sin_port));
}

static int serve(const char *addr, const char *port)
{
	struct sockaddr_in sin;
	struct epoll_event evs[16];
	int lfd, ep, one = 1;

	if (parse_addr(addr, port, &sin)) {
		fprintf(stderr, "server: bad address\n");
		return 2;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ep = epoll_create1(0);
	if (lfd < 0 || ep < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 64) ||
	    watch(ep, lfd, EPOLLIN, NULL)) {
		perror("server: listen");
		return 1;
	}
	printf("listening on %s:%s\n", addr, port);
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 16, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("server: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct echo *c = evs[i].data.ptr;
			int rc;

			if (!c) {
				/* one edge for however many are waiting */
				for (;;) {
					int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

					if (fd < 0) {
						if (errno != EAGAIN && errno != EINTR) {
							perror("server: accept4");
							return 1;
						}
						if (errno == EAGAIN)
							break;
						continue;
					}
					c = calloc(1, sizeof(*c));
					if (!c || watch(ep, fd, EPOLLIN | EPOLLOUT |
							       EPOLLRDHUP, c)) {
						perror("server: new connection");
						return 1;
					}
					c->fd = fd;
					name_peer(fd, c->peer, sizeof(c->peer));
					printf("%s: accepted\n", c->peer);
				}
				continue;
			}
			rc = echo_pump(c);
			if (rc == 0)
				continue;
			printf("%s: %s after %llu bytes\n", c->peer, rc > 0 ? "echoed" : "failed",
			       c->bytes);
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			free(c);
		}
	}
}

/* ---- client ----------------------------------------------------------- */

struct talk {
	int fd;
	bool connected, shut, done;
	struct pattern tx, rx;
	uint8_t out[IO_CHUNK];
	size_t out_off, out_len;	/* generated, not yet sent */
	unsigned long long sent, rcvd, want;
};

static uint8_t inbuf[IO_CHUNK];

/* 1 when the echo ended intact, 0 to wait for the next edge, -1 on error. */
static int talk_pump(struct talk *t, unsigned idx)
{
	for (;;) {
		bool progress = false;
		ssize_t n;

		if (t->out_off == t->out_len && t->sent < t->want) {
			unsigned long long left = t->want - t->sent;

			t->out_len = left < IO_CHUNK ? (size_t)left : IO_CHUNK;
			t->out_off = 0;
			pattern_fill(&t->tx, t->out, t->out_len);
		}
		if (t->out_off < t->out_len) {
			n = send(t->fd, t->out + t->out_off, t->out_len - t->out_off, MSG_NOSIGNAL);
			if (n > 0) {
				t->out_off += (size_t)n;
				t->sent += (unsigned long long)n;
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "conn %u: send: %s\n", idx, strerror(errno));
				return -1;
			}
		}
		if (t->sent == t->want && !t->shut) {
			if (shutdown(t->fd, SHUT_WR)) {
				fprintf(stderr, "conn %u: shutdown: %s\n", idx, strerror(errno));
				return -1;
			}
			t->shut = true;
		}
		n = read(t->fd, inbuf, sizeof(inbuf));
		if (n > 0) {
			size_t ok = pattern_check(&t->rx, inbuf, (size_t)n);

			if (ok != (size_t)n) {
				fprintf(stderr, "conn %u: echoed byte %llu differs\n", idx,
					t->rcvd + ok);
				return -1;
			}
			t->rcvd += (unsigned long long)n;
			if (t->rcvd > t->want) {
				fprintf(stderr, "conn %u: more echoed than sent\n", idx);
				return -1;
			}
			progress = true;
		} else if (n == 0) {
			if (t->rcvd != t->want) {
				fprintf(stderr, "conn %u: end of file after %llu of %llu bytes\n",
					idx, t->rcvd, t->want);
				return -1;
			}
			return 1;
		} else if (errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "conn %u: read: %s\n", idx, strerror(errno));
			return -1;
		}
		if (!progress)
			return 0;
	}
}

static int echo_client(const char *addr, const char *port, int conns,
		       unsigned long long bytes, unsigned long seed)
{
	static struct talk talks[MAX_CONNS];
	struct sockaddr_in sin;
	struct epoll_event evs[MAX_CONNS];
	int ep = epoll_create1(0), left = conns, opened = 0;

	if (parse_addr(addr, port, &sin) || conns < 1 || conns > MAX_CONNS || ep < 0) {
		fprintf(stderr, "client: bad arguments\n");
		return 2;
	}
	for (int i = 0; i < conns; i++) {
		struct talk *t = &talks[i];

		t->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (t->fd < 0) {
			perror("client: socket");
			return 1;
		}
		if (connect(t->fd, (struct sockaddr *)&sin, sizeof(sin)) && errno != EINPROGRESS) {
			perror("client: connect");
			return 1;
		}
		pattern_init(&t->tx, seed, (unsigned)i);
		pattern_init(&t->rx, seed, (unsigned)i);
		t->want = bytes;
		/* registered once connect() has returned: the shim may put
		 * another open file at this number inside connect() */
		if (watch(ep, t->fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, t)) {
			perror("client: epoll_ctl");
			return 1;
		}
	}
	while (left) {
		int n = epoll_wait(ep, evs, MAX_CONNS, STALL_MS);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "client: nothing happened for %d ms (%d open)\n",
				STALL_MS, left);
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct talk *t = evs[i].data.ptr;
			unsigned idx = (unsigned)(t - talks);
			int rc;

			if (t->done)
				continue;
			if (!t->connected) {
				int err = 0;
				socklen_t len = sizeof(err);

				if (!(evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
					continue;
				if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
					fprintf(stderr, "conn %u: connect: %s\n", idx,
						strerror(err));
					return 1;
				}
				t->connected = true;
				if (++opened == conns)
					printf("%d connections open\n", conns);
			}
			rc = talk_pump(t, idx);
			if (rc < 0)
				return 1;
			if (rc > 0) {
				t->done = true;
				close(t->fd);
				left--;
			}
		}
	}
	printf("%d connections, %llu bytes each, echoed intact\n", conns, bytes);
	return 0;
}

int main(int argc, char **argv)
{
	/* a log file, read even when the test kills us */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "serve"))
		return serve(argv[2], argv[3]);
	if (argc == 7 && !strcmp(argv[1], "echo"))
		return echo_client(argv[2], argv[3], atoi(argv[4]),
				   strtoull(argv[5], NULL, 10), strtoul(argv[6], NULL, 10));
	fprintf(stderr, "usage: mps-epoll-et serve ADDR PORT\n"
			"       mps-epoll-et echo ADDR PORT CONNS BYTES SEED\n");
	return 2;
}
