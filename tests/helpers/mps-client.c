/*
 * mps-client.c - an application for the shim's connect tests.  Run it
 * under LD_PRELOAD; it checks what any program relies on:
 *
 *   mps-client MODE ADDR PORT EXPECT
 *     MODE   poll | select | epoll-lt | epoll-et | blocking
 *     EXPECT ok | early | refused | timedout
 *
 * Non-blocking modes: connect() must say EINPROGRESS, the descriptor must
 * not be writable during the first 150 ms (the test's server holds back
 * its HELLO_ACK longer than that), then it must become writable, and
 * SO_ERROR must tell the outcome.  With EXPECT=ok it then sends "ping",
 * waits for "pong" and checks getpeername().  EXPECT=early is ok with
 * early data: the descriptor becomes writable before HELLO_ACK (the
 * test's server sends it only once "ping" has arrived), so there is no
 * 150 ms check.
 *
 * Exit codes: 0 as expected; 2 usage; 3 writable too early; 4 never
 * writable; 5 wrong SO_ERROR or connect result; 6 data exchange failed;
 * 7 getpeername wrong.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static int mode_wait(const char *mode, int fd, int epfd, int timeout_ms)
{
	if (!strcmp(mode, "poll")) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		return poll(&p, 1, timeout_ms) > 0 && (p.revents & (POLLOUT | POLLERR | POLLHUP));
	}
	if (!strcmp(mode, "select")) {
		fd_set w;
		struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

		FD_ZERO(&w);
		FD_SET(fd, &w);
		return select(fd + 1, NULL, &w, NULL, &tv) > 0 && FD_ISSET(fd, &w);
	}
	/* epoll-lt / epoll-et */
	{
		struct epoll_event ev;

		return epoll_wait(epfd, &ev, 1, timeout_ms) > 0 &&
		       (ev.events & (EPOLLOUT | EPOLLERR | EPOLLHUP));
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET }, peer;
	socklen_t plen = sizeof(peer);
	const char *mode;
	bool expect_ok, early;
	int expect_err;
	int fd, epfd = -1, err = 0, rc;
	socklen_t elen = sizeof(err);
	char buf[16];

	if (argc != 5)
		return 2;
	mode = argv[1];
	early = !strcmp(argv[4], "early");
	expect_ok = early || !strcmp(argv[4], "ok");
	expect_err = !strcmp(argv[4], "timedout") ? ETIMEDOUT : ECONNREFUSED;
	sin.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &sin.sin_addr) != 1)
		return 2;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (!strcmp(mode, "blocking")) {
		rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		if (expect_ok ? rc != 0 : !(rc == -1 && errno == expect_err)) {
			fprintf(stderr, "blocking connect: rc %d errno %s\n", rc, strerror(errno));
			return 5;
		}
		if (!expect_ok)
			return 0;
	} else {
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		if (rc != -1 || errno != EINPROGRESS) {
			fprintf(stderr, "connect: rc %d errno %s\n", rc, strerror(errno));
			return 5;
		}
		if (!strncmp(mode, "epoll", 5)) {
			struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN };

			if (!strcmp(mode, "epoll-et"))
				ev.events |= EPOLLET;
			epfd = epoll_create1(0);
			/* registered after connect(), as libuv, libevent and curl
			 * do (a registration made before is lost: mpshim(7)) */
			epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
		}
		if (expect_ok && !early && mode_wait(mode, fd, epfd, 150)) {
			fprintf(stderr, "writable before the connection was established\n");
			return 3;
		}
		if (!mode_wait(mode, fd, epfd, 15000)) {
			fprintf(stderr, "never writable\n");
			return 4;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
		if (expect_ok ? err != 0 : err != expect_err) {
			fprintf(stderr, "SO_ERROR %d (%s)\n", err, strerror(err));
			return 5;
		}
		if (!expect_ok)
			return 0;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	}
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) || plen != sizeof(sin) ||
	    peer.sin_port != sin.sin_port || peer.sin_addr.s_addr != sin.sin_addr.s_addr) {
		fprintf(stderr, "getpeername does not name the server\n");
		return 7;
	}
	if (send(fd, "ping", 4, MSG_NOSIGNAL) != 4)
		return 6;
	for (size_t got = 0; got < 4;) {
		ssize_t n = recv(fd, buf + got, 4 - got, 0);

		if (n <= 0)
			return 6;
		got += (size_t)n;
	}
	if (memcmp(buf, "pong", 4))
		return 6;
	close(fd);
	return 0;
}
