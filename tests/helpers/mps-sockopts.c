/*
 * mps-sockopts.c - the socket-option matrix: one program that runs every
 * option and flag an application may use on a TCP connection and prints
 * what it saw, so a run as plain TCP and a run under the shim can be
 * compared line by line (tests/net/test_sockopts.c).
 *
 *   mps-sockopts serve PORT     dual-stack server on [::]:PORT, a thread
 *                               per connection, until killed
 *   mps-sockopts run PORT       the client: every case, one line each,
 *                               against 127.0.0.1, [::1] and
 *                               [::ffff:127.0.0.1]
 *   mps-sockopts threads PORT   8 threads, each 20 times: connect, echo
 *                               64 KiB, dup and close the dup, close;
 *                               prints "threads ok=N bad=N multipath=N"
 *   mps-sockopts badflags PORT  a listener on 127.0.0.1:PORT; accept4 with
 *                               unknown flags: "accept4 badflags=RC/ERRNO"
 *   mps-sockopts slowaccept PORT [N [MS]]  listener with a backlog of
 *                               2 that accepts nothing for MS (default
 *                               1000) ms, or until SIGUSR1 when MS is
 *                               -1, then serves N (default 32; 0: until
 *                               killed) connections one by one (echo 4
 *                               bytes)
 *   mps-sockopts burst PORT [N] N (default 32) threads connect at once,
 *                               each sends its number and reads it back:
 *                               "burst ok=N"
 *   mps-sockopts hold PORT      TCP_CONGESTION "reno" set before connect;
 *                               prints "held" and keeps the connection
 *                               until SIGUSR1 (the test looks at the
 *                               subflows meanwhile)
 *
 * The first byte a client sends picks what the server does:
 *   e  echo until end-of-file
 *   s  read a u64 length, then that many bytes; answer their FNV-1a hash
 *   g  read a u64 length, send that many pattern bytes, close
 *   c  close at once
 *   q  read nothing until the client hangs up (or 20 s)
 *
 * Each line prints results only (return values, errno names, values read
 * back, yes/no behaviour), never timings or addresses, so the two runs
 * print the same lines where the shim behaves as TCP.  The last line,
 * "multipath N", counts connections the shim carried over multipath
 * (mpshim_fd_state); it is 0 without the shim.
 *
 * Exit: 0 when every case ran (the comparison is the test's), 2 usage,
 * 3 setup failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "mpshim/mpshim.h"

#pragma weak mpshim_fd_state

/* struct tcp_info as the kernel has it up to tcpi_snd_wnd: glibc's
 * <netinet/tcp.h> stops at tcpi_total_retrans */
#define KTI_LEN 232
#define KTI_BYTES_ACKED 120
#define KTI_BYTES_RECEIVED 128

static int port;
static int n_conns, n_multipath;
static volatile sig_atomic_t sigpipes, usr1;

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}
#define FNV0 14695981039346656037ull

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13);
}

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EAGAIN: return "EAGAIN";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EPIPE: return "EPIPE";
	case ECONNRESET: return "ECONNRESET";
	case ENETUNREACH: return "ENETUNREACH";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EFAULT: return "EFAULT";
	case EPERM: return "EPERM";
	default: return "other";
	}
}

static bool read_full(int fd, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static bool write_full(int fd, const void *buf, size_t n)
{
	for (size_t put = 0; put < n;) {
		ssize_t r = send(fd, (const char *)buf + put, n - put, MSG_NOSIGNAL);

		if (r <= 0)
			return false;
		put += (size_t)r;
	}
	return true;
}

/* ---------------------------------------------------------------- server */

static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t buf[65536], cmd;
	uint64_t len, h = FNV0;

	if (!read_full(fd, &cmd, 1))
		goto out;
	switch (cmd) {
	case 'e':
		for (;;) {
			ssize_t n = read(fd, buf, sizeof(buf));

			if (n <= 0 || !write_full(fd, buf, (size_t)n))
				break;
		}
		break;
	case 's':
		if (!read_full(fd, &len, sizeof(len)))
			break;
		for (uint64_t got = 0; got < len;) {
			size_t want = len - got < sizeof(buf) ? (size_t)(len - got) : sizeof(buf);
			ssize_t n = read(fd, buf, want);

			if (n <= 0)
				goto out;
			h = fnv(h, buf, (size_t)n);
			got += (uint64_t)n;
		}
		write_full(fd, &h, sizeof(h));
		/* until the client has read the answer */
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		break;
	case 'g':
		if (!read_full(fd, &len, sizeof(len)))
			break;
		for (uint64_t put = 0; put < len;) {
			size_t n = len - put < sizeof(buf) ? (size_t)(len - put) : sizeof(buf);

			for (size_t i = 0; i < n; i++)
				buf[i] = pattern(put + i);
			if (!write_full(fd, buf, n))
				break;
			put += n;
		}
		break;
	case 'q': {
		struct pollfd p = { .fd = fd, .events = POLLRDHUP };

		poll(&p, 1, 20000);
		break;
	}
	default:
		break;
	}
out:
	close(fd);
	return NULL;
}

static int serve(void)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int one = 1, zero = 0, lfd = socket(AF_INET6, SOCK_STREAM, 0);

	s6.sin6_port = htons((uint16_t)port);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&s6, sizeof(s6)) || listen(lfd, 64)) {
		perror("listen");
		return 3;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd))
			close(fd);
		else
			pthread_detach(t);
	}
}

/* ---------------------------------------------------------------- client */

enum dest { D4, D6, DMAPPED };

static int sock_for(enum dest d)
{
	return socket(d == D4 ? AF_INET : AF_INET6, SOCK_STREAM, 0);
}

static int connect_to(int fd, enum dest d)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	int rc;

	if (d == D4) {
		s4.sin_port = htons((uint16_t)port);
		s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		rc = connect(fd, (struct sockaddr *)&s4, sizeof(s4));
	} else {
		s6.sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, d == D6 ? "::1" : "::ffff:127.0.0.1", &s6.sin6_addr);
		rc = connect(fd, (struct sockaddr *)&s6, sizeof(s6));
	}
	if (!rc) {
		n_conns++;
		if (mpshim_fd_state && mpshim_fd_state(fd) == MPSHIM_FD_MULTIPATH)
			n_multipath++;
	}
	return rc;
}

/* A connection to the server with command cmd sent, or exit. */
static int conn(enum dest d, char cmd)
{
	int fd = sock_for(d);

	if (fd < 0 || connect_to(fd, d) || !write_full(fd, &cmd, 1)) {
		printf("setup: connect failed: %s\n", strerror(errno));
		exit(3);
	}
	return fd;
}

static int geti(int fd, int level, int opt, int *v)
{
	socklen_t len = sizeof(*v);

	*v = -1;
	return getsockopt(fd, level, opt, v, &len);
}

static void seti_print(const char *what, int fd, int level, int opt, int val)
{
	int rc = setsockopt(fd, level, opt, &val, sizeof(val)), err = errno, v;

	geti(fd, level, opt, &v);
	printf(" %s(%d)=%d/%s/%d", what, val, rc, rc ? ename(err) : "0", v);
}

/* An echo of n bytes: sent, read back intact. */
static bool echo_ok(int fd, size_t n)
{
	uint8_t out[4096], in[4096];

	for (size_t i = 0; i < n; i++)
		out[i] = pattern(i + 7);
	return n <= sizeof(out) && write_full(fd, out, n) && read_full(fd, in, n) &&
	       !memcmp(in, out, n);
}

static uint64_t hash_reply(int fd)
{
	uint64_t h = 0;

	if (!read_full(fd, &h, sizeof(h)))
		return 0;
	return h;
}

static void case_nodelay(void)
{
	int fd = conn(D4, 'e'), v;

	geti(fd, IPPROTO_TCP, TCP_NODELAY, &v);
	printf("nodelay: default=%d", v);
	seti_print("set", fd, IPPROTO_TCP, TCP_NODELAY, 1);
	seti_print("set", fd, IPPROTO_TCP, TCP_NODELAY, 5);
	seti_print("set", fd, IPPROTO_TCP, TCP_NODELAY, 0);
	printf(" echo=%d\n", echo_ok(fd, 100));
	close(fd);
}

/* pieces written corked (TCP_CORK) or flagged MSG_MORE arrive whole */
static void case_cork(bool msg_more)
{
	int fd = conn(D4, 's');
	uint8_t buf[3000];
	uint64_t len = 3 * sizeof(buf), h = FNV0;
	bool sent = write_full(fd, &len, sizeof(len));

	printf(msg_more ? "msg_more:" : "cork:");
	if (!msg_more)
		seti_print("set", fd, IPPROTO_TCP, TCP_CORK, 1);
	for (int i = 0; i < 3; i++) {
		for (size_t j = 0; j < sizeof(buf); j++)
			buf[j] = pattern(i * sizeof(buf) + j);
		h = fnv(h, buf, sizeof(buf));
		sent = sent && send(fd, buf, sizeof(buf),
				    MSG_NOSIGNAL | (msg_more && i < 2 ? MSG_MORE : 0)) ==
			       (ssize_t)sizeof(buf);
	}
	if (!msg_more)
		seti_print("set", fd, IPPROTO_TCP, TCP_CORK, 0);
	printf(" sent=%d intact=%d\n", sent, hash_reply(fd) == h);
	close(fd);
}

static void case_keepalive(void)
{
	int fd = conn(D4, 'e'), v;

	printf("keepalive:");
	geti(fd, SOL_SOCKET, SO_KEEPALIVE, &v);
	printf(" so_default=%d", v);
	geti(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v);
	printf(" idle_default=%d", v);
	geti(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v);
	printf(" intvl_default=%d", v);
	geti(fd, IPPROTO_TCP, TCP_KEEPCNT, &v);
	printf(" cnt_default=%d", v);
	seti_print("so", fd, SOL_SOCKET, SO_KEEPALIVE, 1);
	seti_print("idle", fd, IPPROTO_TCP, TCP_KEEPIDLE, 30);
	seti_print("intvl", fd, IPPROTO_TCP, TCP_KEEPINTVL, 5);
	seti_print("cnt", fd, IPPROTO_TCP, TCP_KEEPCNT, 4);
	seti_print("idle", fd, IPPROTO_TCP, TCP_KEEPIDLE, 0);
	seti_print("cnt", fd, IPPROTO_TCP, TCP_KEEPCNT, 200);
	seti_print("intvl", fd, IPPROTO_TCP, TCP_KEEPINTVL, 40000);
	printf(" echo=%d\n", echo_ok(fd, 10));
	close(fd);
}

static void case_bufs(void)
{
	int fd = conn(D4, 'e');

	printf("bufs:");
	seti_print("rcvbuf", fd, SOL_SOCKET, SO_RCVBUF, 65536);
	seti_print("sndbuf", fd, SOL_SOCKET, SO_SNDBUF, 65536);
	printf(" echo=%d\n", echo_ok(fd, 4000));
	close(fd);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void print_tv(int fd, int opt)
{
	struct timeval tv = { 0, 0 };
	socklen_t len = sizeof(tv);
	int rc = getsockopt(fd, SOL_SOCKET, opt, &tv, &len);

	printf(" get=%d/%ld.%06ld", rc, (long)tv.tv_sec, (long)tv.tv_usec);
}

static void case_rcvtimeo(void)
{
	struct timeval tv = { 0, 200000 };
	int fd = conn(D4, 'e'), rc, err;
	uint64_t t0;
	char c;

	printf("rcvtimeo: set=%d", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	print_tv(fd, SO_RCVTIMEO);
	t0 = now_ms();
	rc = (int)recv(fd, &c, 1, 0);
	err = errno;
	printf(" recv=%d/%s waited=%d echo=%d\n", rc, rc < 0 ? ename(err) : "0",
	       now_ms() - t0 >= 150, echo_ok(fd, 10));
	close(fd);
}

/* the peer reads nothing: a blocking send gives up after SO_SNDTIMEO */
static void case_sndtimeo(void)
{
	static uint8_t buf[65536];
	struct timeval tv = { 0, 200000 };
	int fd = conn(D4, 'q'), err = 0;
	uint64_t total = 0;
	ssize_t n = 0;

	printf("sndtimeo: set=%d", setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	print_tv(fd, SO_SNDTIMEO);
	while (total < (512u << 20)) {
		n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
		if (n < 0) {
			err = errno;
			break;
		}
		total += (uint64_t)n;
	}
	printf(" send=%d/%s\n", n < 0 ? -1 : 0, ename(err));
	close(fd);
}

static void case_v6only(void)
{
	int fd = sock_for(D6), v, rc, err;

	geti(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v);
	printf("v6only: default=%d", v);
	seti_print("set", fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	rc = connect_to(fd, D6);
	printf(" connect6=%d", rc);
	geti(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v);
	printf(" after=%d", v);
	seti_print("reset", fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
	close(fd);
	/* a v6-only socket cannot reach an IPv4 peer through a mapped
	 * address */
	fd = sock_for(DMAPPED);
	v = 1;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v));
	rc = connect_to(fd, DMAPPED);
	err = errno;
	printf(" mapped_v6only=%d/%s", rc, rc ? ename(err) : "0");
	close(fd);
	/* IPv6 options on an IPv4 socket */
	fd = conn(D4, 'e');
	rc = geti(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v);
	err = errno;
	printf(" on_v4=%d/%s\n", rc, rc ? ename(err) : "0");
	close(fd);
}

static void case_families(void)
{
	static const char *names[] = { "ipv4", "ipv6", "v4mapped" };

	for (int d = D4; d <= DMAPPED; d++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = conn((enum dest)d, 'e'), v;
		int prc = getpeername(fd, (struct sockaddr *)&ss, &len);

		geti(fd, SOL_SOCKET, SO_DOMAIN, &v);
		printf("%s: domain=%d peer=%d/%d echo=%d\n", names[d], v, prc,
		       ss.ss_family, echo_ok(fd, 1000));
		close(fd);
	}
}

static void case_tcp_info(void)
{
	struct tcp_info ti;
	uint8_t big[512];
	socklen_t len = sizeof(big);
	uint64_t acked = 0, received = 0;
	int fd = conn(D4, 'e'), rc;

	echo_ok(fd, 3000);
	usleep(100000);		/* the peer's ACK of the last bytes */
	memset(big, 0, sizeof(big));
	rc = getsockopt(fd, IPPROTO_TCP, TCP_INFO, big, &len);
	memcpy(&ti, big, sizeof(ti));
	if (len >= KTI_BYTES_RECEIVED + 8) {
		memcpy(&acked, big + KTI_BYTES_ACKED, 8);
		memcpy(&received, big + KTI_BYTES_RECEIVED, 8);
	}
	printf("tcp_info: rc=%d len_ok=%d state=%d rtt=%d cwnd=%d mss=%d acked=%d received=%d",
	       rc, len >= KTI_LEN, ti.tcpi_state, ti.tcpi_rtt > 0, ti.tcpi_snd_cwnd > 0,
	       ti.tcpi_snd_mss > 0, acked >= 3000, received >= 3000);
	len = 8;
	memset(big, 0xee, sizeof(big));
	rc = getsockopt(fd, IPPROTO_TCP, TCP_INFO, big, &len);
	printf(" short=%d/%u/%d/%d", rc, (unsigned)len, big[0], big[8] == 0xee);
	shutdown(fd, SHUT_WR);
	{
		char c;

		/* the server's echo loop ends: its FIN */
		while (read(fd, &c, 1) > 0)
			;
	}
	len = sizeof(ti);
	rc = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len);
	printf(" closed=%d/%d\n", rc, ti.tcpi_state == TCP_TIME_WAIT ||
				       ti.tcpi_state == TCP_CLOSE ||
				       ti.tcpi_state == TCP_FIN_WAIT2);
	close(fd);
}

static void get_cc(int fd, socklen_t want)
{
	char name[32];
	socklen_t len = want;
	int rc;

	memset(name, 0, sizeof(name));
	rc = getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len);
	printf(" get=%d/%.*s/%u", rc, (int)len, name, (unsigned)len);
}

static void set_cc(int fd, const char *name)
{
	int rc = setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, (socklen_t)strlen(name));

	printf(" set_%s=%d/%s", name, rc, rc ? ename(errno) : "0");
}

static void case_congestion(void)
{
	int fd = conn(D4, 'e');

	printf("congestion:");
	set_cc(fd, "reno");
	get_cc(fd, 16);
	set_cc(fd, "nosuchalgo");
	get_cc(fd, 16);
	get_cc(fd, 3);
	set_cc(fd, "cubic");
	get_cc(fd, 16);
	printf(" echo=%d\n", echo_ok(fd, 1000));
	close(fd);
}

static void case_peek(void)
{
	int fd = conn(D4, 'e');
	char a[8] = "", b[8] = "";
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n1 = 0, n2;

	write_full(fd, "abcdef", 6);
	/* until all six are there to peek at */
	for (int i = 0; i < 100 && n1 < 6; i++) {
		poll(&p, 1, 100);
		n1 = recv(fd, a, 6, MSG_PEEK | MSG_DONTWAIT);
		if (n1 < 6)
			usleep(10000);
	}
	n2 = recv(fd, b, 6, 0);
	printf("peek: peeked=%zd read=%zd same=%d\n", n1, n2, !memcmp(a, b, 6));
	close(fd);
}

static void case_waitall(void)
{
	static uint8_t out[200000], in[200000];
	int fd = conn(D4, 'e');
	ssize_t n;

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = pattern(i);
	write_full(fd, out, sizeof(out));
	n = recv(fd, in, sizeof(in), MSG_WAITALL);
	printf("waitall: got=%zd intact=%d\n", n, n == (ssize_t)sizeof(in) &&
	       !memcmp(in, out, sizeof(in)));
	close(fd);
}

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

/* after the peer closed, MSG_NOSIGNAL sends fail with EPIPE, no signal */
static void case_nosignal(void)
{
	int fd = conn(D4, 'c'), err = 0;
	char c;
	ssize_t n = 0, eof = read(fd, &c, 1);

	for (int i = 0; i < 100; i++) {
		n = send(fd, "x", 1, MSG_NOSIGNAL);
		if (n < 0) {
			err = errno;
			break;
		}
		usleep(20000);
	}
	printf("nosignal: eof=%zd send=%d/%s sigpipe=%d\n", eof, n < 0 ? -1 : 0,
	       ename(err), (int)sigpipes);
	close(fd);
}

static void case_sendfile(void)
{
	char path[] = "/tmp/mps-sockopts-XXXXXX";
	uint8_t buf[65536];
	uint64_t len = 1 << 20, h = FNV0;
	int ffd = mkstemp(path), fd = conn(D4, 's');
	off_t off = 0;
	bool ok = ffd >= 0;

	unlink(path);
	for (uint64_t put = 0; ok && put < len; put += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = pattern(put + i);
		h = fnv(h, buf, sizeof(buf));
		ok = write(ffd, buf, sizeof(buf)) == (ssize_t)sizeof(buf);
	}
	ok = ok && write_full(fd, &len, sizeof(len));
	while (ok && (uint64_t)off < len) {
		ssize_t n = sendfile(fd, ffd, &off, (size_t)(len - (uint64_t)off));

		ok = n > 0;
	}
	printf("sendfile: sent=%d intact=%d\n", ok, hash_reply(fd) == h);
	close(ffd);
	close(fd);
}

static void case_splice(void)
{
	uint8_t buf[65536];
	uint64_t len = 1 << 20, h = FNV0, got = 0;
	int pfd[2], fd = conn(D4, 's');
	bool ok = !pipe(pfd) && write_full(fd, &len, sizeof(len));

	/* out: pipe -> socket */
	for (uint64_t put = 0; ok && put < len; put += sizeof(buf)) {
		size_t left = sizeof(buf);

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = pattern(put + i);
		h = fnv(h, buf, sizeof(buf));
		ok = write(pfd[1], buf, sizeof(buf)) == (ssize_t)sizeof(buf);
		while (ok && left) {
			ssize_t n = splice(pfd[0], NULL, fd, NULL, left, 0);

			ok = n > 0;
			left -= ok ? (size_t)n : 0;
		}
	}
	printf("splice: out=%d intact=%d", ok, hash_reply(fd) == h);
	close(fd);
	/* in: socket -> pipe */
	fd = conn(D4, 'g');
	ok = write_full(fd, &len, sizeof(len));
	h = FNV0;
	while (ok) {
		ssize_t n = splice(fd, NULL, pfd[1], NULL, sizeof(buf), 0), r;

		if (n <= 0)
			break;
		r = read(pfd[0], buf, (size_t)n);
		ok = r == n;
		for (ssize_t i = 0; ok && i < r; i++)
			ok = buf[i] == pattern(got + (uint64_t)i);
		got += (uint64_t)n;
	}
	printf(" in=%d/%d\n", ok, got == len);
	close(fd);
	close(pfd[0]);
	close(pfd[1]);
}

/* select(), poll() and recv() on a relay.  Sizes known only at run
 * time make a fortified build call __fdelt_chk, __poll_chk and
 * __recv_chk. */
static void case_readiness(void)
{
	int fd = conn(D4, 'e'), sel, pol;
	struct pollfd p[1] = { { .fd = fd, .events = POLLIN } };
	struct timeval tv = { 5, 0 };
	volatile nfds_t nfds = 1;
	volatile size_t want = 16;
	fd_set rd;
	char buf[16];

	write_full(fd, "ready", 5);
	FD_ZERO(&rd);
	FD_SET(fd, &rd);
	sel = select(fd + 1, &rd, NULL, NULL, &tv);
	pol = poll(p, nfds, 5000);
	printf("readiness: select=%d/%d poll=%d/%d read=%zd\n", sel, FD_ISSET(fd, &rd),
	       pol, !!(p[0].revents & POLLIN), recv(fd, buf, want, 0));
	close(fd);
}

static int run(void)
{
	struct sigaction sa = { .sa_handler = on_sigpipe };

	sigaction(SIGPIPE, &sa, NULL);
	case_nodelay();
	case_cork(false);
	case_cork(true);
	case_keepalive();
	case_bufs();
	case_rcvtimeo();
	case_sndtimeo();
	case_v6only();
	case_families();
	case_tcp_info();
	case_congestion();
	case_peek();
	case_waitall();
	case_nosignal();
	case_sendfile();
	case_splice();
	case_readiness();
	printf("connections %d\nmultipath %d\n", n_conns, n_multipath);
	return 0;
}

#define N_THREADS 8
#define N_ROUNDS 20

static int thread_ok, thread_bad, thread_mp;

/* Many threads in the shim at once: socket, connect (the first one
 * starts the engine), dup, close, and data that must stay intact. */
static void *thread_main(void *arg)
{
	static const char cmd = 'e';
	uint8_t out[65536], in[65536];
	unsigned seed = (unsigned)(uintptr_t)arg;

	for (int r = 0; r < N_ROUNDS; r++) {
		int fd = sock_for(D4), dfd, mp = 0;
		bool ok;

		for (size_t i = 0; i < sizeof(out); i++)
			out[i] = pattern(i + seed * 1000 + (unsigned)r);
		ok = fd >= 0 && !connect_to(fd, D4);
		if (ok && mpshim_fd_state)
			mp = mpshim_fd_state(fd) == MPSHIM_FD_MULTIPATH;
		dfd = ok ? dup(fd) : -1;
		ok = ok && dfd >= 0 && write_full(dfd, &cmd, 1) && !close(dfd);
		ok = ok && write_full(fd, out, sizeof(out)) && read_full(fd, in, sizeof(in)) &&
		     !memcmp(in, out, sizeof(in));
		if (fd >= 0)
			close(fd);
		__atomic_add_fetch(ok ? &thread_ok : &thread_bad, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&thread_mp, mp, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int threads(void)
{
	pthread_t t[N_THREADS];

	for (uintptr_t i = 0; i < N_THREADS; i++)
		if (pthread_create(&t[i], NULL, thread_main, (void *)i))
			return 3;
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(t[i], NULL);
	printf("threads ok=%d bad=%d multipath=%d\n", thread_ok, thread_bad, thread_mp);
	return 0;
}

static int badflags(void)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	int one = 1, rc, lfd = socket(AF_INET, SOCK_STREAM, 0);

	s4.sin_port = htons((uint16_t)port);
	s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&s4, sizeof(s4)) || listen(lfd, 8))
		return 3;
	rc = accept4(lfd, NULL, NULL, 0x4000 | SOCK_NONBLOCK);
	printf("accept4 badflags=%d/%s\n", rc, rc < 0 ? ename(errno) : "0");
	close(lfd);
	return 0;
}

#define N_BURST_MAX 1024

static int n_burst = 32, slow_ms = 1000;

static void on_usr1(int sig)
{
	(void)sig;
	usr1 = 1;
}

static int slowaccept(void)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sigaction sa = { .sa_handler = on_usr1 };
	int one = 1, served = 0, lfd = socket(AF_INET, SOCK_STREAM, 0);

	sigaction(SIGUSR1, &sa, NULL);
	s4.sin_port = htons((uint16_t)port);
	s4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&s4, sizeof(s4)) || listen(lfd, 2))
		return 3;
	printf("listening\n");
	if (slow_ms >= 0)
		usleep((useconds_t)slow_ms * 1000);
	while (slow_ms < 0 && !usr1)
		usleep(10000);
	while (!n_burst || served < n_burst) {
		uint32_t id;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			return 4;
		if (read_full(fd, &id, sizeof(id)))
			write_full(fd, &id, sizeof(id));
		close(fd);
		served++;
	}
	printf("served %d\n", served);
	return 0;
}

static int burst_ok;

static void *burst_one(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg, back = ~id;
	int fd = sock_for(D4);

	int step = 0;

	if (fd >= 0 && !connect_to(fd, D4) && ++step && write_full(fd, &id, sizeof(id)) &&
	    ++step && read_full(fd, &back, sizeof(back)) && ++step && back == id)
		__atomic_add_fetch(&burst_ok, 1, __ATOMIC_RELAXED);
	else
		printf("burst %u failed at %s: %s\n", id,
		       step == 0 ? "connect" : step == 1 ? "send" : step == 2 ? "recv" :
		       "compare", strerror(errno));
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int burst(void)
{
	static pthread_t t[N_BURST_MAX];
	pthread_attr_t attr;

	if (!n_burst)
		return 2;

	/* hundreds of threads: each needs little stack */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (uintptr_t i = 0; i < (uintptr_t)n_burst; i++)
		if (pthread_create(&t[i], &attr, burst_one, (void *)i))
			return 3;
	for (int i = 0; i < n_burst; i++)
		pthread_join(t[i], NULL);
	printf("burst ok=%d\n", burst_ok);
	return 0;
}

/* TCP_CONGESTION set before connect must reach every subflow */
static int hold(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	int fd = sock_for(D4);

	sigaction(SIGUSR1, &sa, NULL);
	printf("hold:");
	set_cc(fd, "reno");
	if (connect_to(fd, D4) || !write_full(fd, "e", 1))
		return 3;
	get_cc(fd, 16);
	printf(" echo=%d\nheld\n", echo_ok(fd, 1000));
	fflush(stdout);
	for (int i = 0; i < 200 && !usr1; i++)
		usleep(50000);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3 || argc > 5)
		return 2;
	port = atoi(argv[2]);
	if (argc > 3)
		n_burst = atoi(argv[3]);
	if (argc > 4)
		slow_ms = atoi(argv[4]);
	if (n_burst < 0 || n_burst > N_BURST_MAX || slow_ms < -1)
		return 2;
	if (!strcmp(argv[1], "serve"))
		return serve();
	if (!strcmp(argv[1], "run"))
		return run();
	if (!strcmp(argv[1], "hold"))
		return hold();
	if (!strcmp(argv[1], "threads"))
		return threads();
	if (!strcmp(argv[1], "badflags"))
		return badflags();
	if (!strcmp(argv[1], "slowaccept"))
		return slowaccept();
	if (!strcmp(argv[1], "burst"))
		return burst();
	return 2;
}
