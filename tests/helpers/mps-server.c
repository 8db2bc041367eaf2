/*
 * mps-server.c - a server for the shim's listen/accept tests.  Run it
 * under LD_PRELOAD; it uses the calls servers rely on and reports what it
 * saw, one line per event on stdout:
 *
 *   mps-server [options] PORT
 *     -m MODE    blocking (default) | epoll-et (non-blocking listener and
 *                connections, edge-triggered) | prefork:N (N children
 *                accept from one listener the parent opened)
 *     -n COUNT   exit after COUNT connections (default 1; per child)
 *     -6         listen on [::] (dual stack) instead of 127.0.0.1
 *     -b         server speaks first: send "220 hello\r\n" on accept
 *     -r         after the first connection, close the listener and
 *                listen again on the same port (SO_REUSEADDR)
 *     -x         inetd style: each connection is served by a child that
 *                exec's this program with -I and the connection as its
 *                stdin and stdout
 *     -X         a child exec's this program with -L and the listener
 *                (the parent, whose engine serves it, waits)
 *     -E         exec this program with -L and the listener at once
 *     -L FD      use the inherited listener FD instead of opening one
 *     -I         serve the connection on stdin/stdout, then exit
 *     -w MS      epoll-et: give up after MS without an event (default
 *                20000; 0 never: connections held idle on purpose)
 *
 * Per connection: read "ping", answer "pong", then echo until EOF.
 *
 * Lines:
 *   listener acceptconn=1 domain=D type=T protocol=P port=P eagain=E
 *   conn pid=PID state=S peer=ADDR:PORT local_port=P nonblock=N cloexec=C
 *   done
 * where state is mpshim_fd_state() of the accepted descriptor (0: not the
 * shim's, i.e. the client's own TCP socket; 2: multipath) and eagain says
 * whether accept4 on the idle non-blocking listener failed with EAGAIN.
 * Exit: 0 ok, 2 usage, 3 listener setup, 4 accept, 5 exchange.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "mpshim/mpshim.h"

#pragma weak mpshim_fd_state

static bool opt_v6, opt_banner;
static int opt_wait_ms = 20000;

static int open_listener(int port, int nonblock)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	int one = 1, zero = 0;
	int fd = socket(opt_v6 ? AF_INET6 : AF_INET, SOCK_STREAM | nonblock, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (opt_v6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		s6.sin6_port = htons((uint16_t)port);
		if (bind(fd, (struct sockaddr *)&s6, sizeof(s6)))
			return -1;
	} else {
		s4.sin_port = htons((uint16_t)port);
		s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&s4, sizeof(s4)))
			return -1;
	}
	if (listen(fd, 64))
		return -1;
	return fd;
}

static int sockopt_int(int fd, int level, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, level, opt, &v, &len))
		return -1;
	return v;
}

static void report_listener(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int port = -1, eagain, fl = fcntl(fd, F_GETFL);

	if (!getsockname(fd, (struct sockaddr *)&ss, &len))
		port = ntohs(ss.ss_family == AF_INET6 ?
			     ((struct sockaddr_in6 *)&ss)->sin6_port :
			     ((struct sockaddr_in *)&ss)->sin_port);
	/* an idle non-blocking listener must say EAGAIN, not block */
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	eagain = accept4(fd, NULL, NULL, 0) < 0 && errno == EAGAIN;
	fcntl(fd, F_SETFL, fl);
	printf("listener acceptconn=%d domain=%d type=%d protocol=%d port=%d eagain=%d\n",
	       sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN),
	       sockopt_int(fd, SOL_SOCKET, SO_DOMAIN),
	       sockopt_int(fd, SOL_SOCKET, SO_TYPE),
	       sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL), port, eagain);
	fflush(stdout);
}

static void report_conn(int cfd, const struct sockaddr_storage *peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char a[INET6_ADDRSTRLEN] = "?";
	int pport = 0, lport = -1;

	if (peer->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)peer;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		pport = ntohs(s6->sin6_port);
	} else if (peer->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)peer;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		pport = ntohs(s4->sin_port);
	}
	if (!getsockname(cfd, (struct sockaddr *)&ss, &len))
		lport = ntohs(ss.ss_family == AF_INET6 ?
			      ((struct sockaddr_in6 *)&ss)->sin6_port :
			      ((struct sockaddr_in *)&ss)->sin_port);
	printf("conn pid=%d state=%d peer=%s:%d local_port=%d nonblock=%d cloexec=%d\n",
	       (int)getpid(), mpshim_fd_state ? mpshim_fd_state(cfd) : -1, a, pport,
	       lport, !!(fcntl(cfd, F_GETFL) & O_NONBLOCK),
	       !!(fcntl(cfd, F_GETFD) & FD_CLOEXEC));
	fflush(stdout);
}

/* Blocking exchange: "ping" -> "pong", then echo until EOF. */
static int serve(int cfd)
{
	char buf[4096];
	size_t got = 0;
	ssize_t n;

	if (opt_banner && send(cfd, "220 hello\r\n", 11, MSG_NOSIGNAL) != 11)
		return 5;
	while (got < 4) {
		n = recv(cfd, buf + got, 4 - got, 0);
		if (n <= 0)
			return 5;
		got += (size_t)n;
	}
	if (memcmp(buf, "ping", 4) || send(cfd, "pong", 4, MSG_NOSIGNAL) != 4)
		return 5;
	while ((n = recv(cfd, buf, sizeof(buf), 0)) > 0)
		if (send(cfd, buf, (size_t)n, MSG_NOSIGNAL) != n)
			return 5;
	return n < 0 ? 5 : 0;
}

static int accept_one(int lfd, int flags)
{
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	int cfd = accept4(lfd, (struct sockaddr *)&peer, &plen, flags);

	if (cfd >= 0)
		report_conn(cfd, &peer);
	return cfd;
}

static bool opt_inetd;

/* Fork and exec ourselves with the connection as stdin and stdout. */
static int serve_exec(int cfd)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		dup2(cfd, 0);
		dup2(cfd, 1);
		execl("/proc/self/exe", "mps-server", "-I", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 4;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 9;
}

static int run_blocking(int lfd, int port, int count, bool rebind)
{
	for (int i = 0; i < count; i++) {
		int cfd = accept_one(lfd, opt_inetd ? 0 : SOCK_CLOEXEC), rc;

		if (cfd < 0) {
			perror("accept4");
			return 4;
		}
		rc = opt_inetd ? serve_exec(cfd) : serve(cfd);
		close(cfd);
		if (rc)
			return rc;
		if (rebind && i == 0) {
			close(lfd);
			lfd = open_listener(port, 0);
			if (lfd < 0) {
				perror("listen again");
				return 3;
			}
			report_listener(lfd);
		}
	}
	return 0;
}

/* Edge-triggered: every ready event is drained until EAGAIN, as nginx
 * and libuv do; a missed edge hangs the test. */
struct conn {
	int fd;
	int phase;		/* 0 want ping, 1 echo */
	char buf[4096];
	size_t have;
};

static int et_step(struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);

		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0)
			return 1;
		c->have += (size_t)n;
		if (c->phase == 0 && c->have >= 4) {
			if (memcmp(c->buf, "ping", 4) || send(c->fd, "pong", 4, MSG_NOSIGNAL) != 4)
				return -1;
			memmove(c->buf, c->buf + 4, c->have - 4);
			c->have -= 4;
			c->phase = 1;
		}
		if (c->phase == 1 && c->have) {
			/* small echoes fit the socket buffer */
			if (send(c->fd, c->buf, c->have, MSG_NOSIGNAL) != (ssize_t)c->have)
				return -1;
			c->have = 0;
		}
	}
}

static int run_epoll_et(int lfd, int count)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.ptr = NULL };
	int ep = epoll_create1(EPOLL_CLOEXEC), done = 0;

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
		return 3;
	while (done < count) {
		struct epoll_event evs[16];
		int n = epoll_wait(ep, evs, 16, opt_wait_ms ? opt_wait_ms : -1);

		if (n <= 0)
			return 4;
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int rc;

			if (!c) {
				int cfd;

				while ((cfd = accept_one(lfd, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct epoll_event cev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET };

					c = calloc(1, sizeof(*c));
					c->fd = cfd;
					cev.data.ptr = c;
					if (opt_banner)
						send(cfd, "220 hello\r\n", 11, MSG_NOSIGNAL);
					epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
					/* data may have arrived before the registration */
					if (et_step(c) != 0) {
						close(c->fd);
						free(c);
						done++;
					}
				}
				if (errno != EAGAIN)
					return 4;
				continue;
			}
			rc = et_step(c);
			if (rc < 0)
				return 5;
			if (rc > 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
				free(c);
				done++;
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = "blocking";
	int count = 1, port = 0, lfd = -1, opt, children = 0;
	bool rebind = false, exec_child = false, exec_self = false, stdio = false;
	char fdarg[16], narg[16];

	while ((opt = getopt(argc, argv, "m:n:6brxXEL:Iw:")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 'n': count = atoi(optarg); break;
		case '6': opt_v6 = true; break;
		case 'b': opt_banner = true; break;
		case 'w': opt_wait_ms = atoi(optarg); break;
		case 'r': rebind = true; break;
		case 'x': opt_inetd = true; break;
		case 'X': exec_child = true; break;
		case 'E': exec_self = true; break;
		case 'L': lfd = atoi(optarg); break;
		case 'I': stdio = true; break;
		default: return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (stdio) {
		/* stdout is the connection: report on stderr */
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);

		if (getpeername(0, (struct sockaddr *)&peer, &plen))
			memset(&peer, 0, sizeof(peer));
		dup2(2, 3);
		stdout = fdopen(3, "w");
		setvbuf(stdout, NULL, _IOLBF, 0);
		report_conn(0, &peer);
		return serve(0);
	}
	if (lfd < 0) {
		if (optind + 1 != argc)
			return 2;
		port = atoi(argv[optind]);
		lfd = open_listener(port, !strcmp(mode, "epoll-et") ? SOCK_NONBLOCK : 0);
		if (lfd < 0) {
			perror("listener");
			return 3;
		}
	}
	report_listener(lfd);
	snprintf(fdarg, sizeof(fdarg), "%d", lfd);
	snprintf(narg, sizeof(narg), "%d", count);
	if (exec_self) {
		execl("/proc/self/exe", "mps-server", "-L", fdarg, "-n", narg, (char *)NULL);
		return 3;
	}
	if (exec_child) {
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			execl("/proc/self/exe", "mps-server", "-L", fdarg, "-n", narg,
			      (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid)
			return 4;
		return WIFEXITED(status) ? WEXITSTATUS(status) : 9;
	}
	if (!strcmp(mode, "blocking"))
		opt = run_blocking(lfd, port, count, rebind);
	else if (!strcmp(mode, "epoll-et"))
		opt = run_epoll_et(lfd, count);
	else if (sscanf(mode, "prefork:%d", &children) == 1 && children > 0) {
		int status, worst = 0;

		for (int i = 0; i < children; i++) {
			pid_t pid = fork();

			if (pid == 0)
				_exit(run_blocking(lfd, port, count, false));
			if (pid < 0)
				return 3;
		}
		/* the parent keeps the listener open and serves nothing: its
		 * engine carries the children's multipath connections */
		while (wait(&status) > 0)
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				worst = WIFEXITED(status) ? WEXITSTATUS(status) : 9;
		opt = worst;
	} else {
		return 2;
	}
	if (!opt)
		printf("done\n");
	return opt;
}
