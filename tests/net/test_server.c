/*
 * test_server.c - listen()/accept() under the shim, seen from a server
 * application (tests/helpers/mps-server, or httpd.py, run with
 * LD_PRELOAD) and from its clients: shimmed ones (multipath, two
 * subflows on loopback) and the test itself as a plain TCP client.
 *
 * What a server relies on: the listener answers getsockname and the
 * SO_* queries as TCP's would; accept4 applies its flags and fills in
 * the client's address; an idle non-blocking listener says EAGAIN; epoll
 * edge-triggered wakes for every connection; a plain client gets its own
 * TCP socket and a silent one still gets the server's banner; a JOIN never
 * reaches the app; children of a pre-fork server accept multipath clients
 * through the parent's engine; a listener closed and opened again on its
 * port works.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "config.h"
#include "engine.h"
#include "handoff.h"
#include "harness.h"

static void fini(void)
{
	h_cleanup();
}

TestSuite(server, .fini = fini, .timeout = 60);

static char srv_out[600], srv_stats[600], srv_log[600];

/* Wait for mps-server's listener report (a probing connect would be
 * served as its one client). */
static void wait_listener(void)
{
	for (int i = 0; i < 200; i++) {
		char *out = h_slurp(srv_out);
		bool up = out && strstr(out, "listener ");

		free(out);
		if (up)
			return;
		usleep(20000);
	}
	cr_assert_fail("mps-server did not come up (log: %s)", srv_log);
}

/* Start mps-server under the shim on a free port; extra: its options
 * (NULL-terminated, at most 6), env_extra: one more MPSHIM_ setting or
 * NULL.  Waits for its listener report.  Returns the port. */
static int server_up(const char *const *extra, const char *env_extra, pid_t *pid)
{
	static char pre[600], acc[64], stats[640], logf[640], portstr[16], path[600];
	char *env[] = { pre, acc, stats, logf, "MPSHIM_LOG=debug",
			"MPSHIM_EXIT_LINGER=1s", (char *)env_extra, NULL };
	char *argv[12] = { path };
	int port = h_free_port(), n = 1;

	snprintf(path, sizeof(path), "%s/tests/helpers/mps-server", h_builddir());
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(acc, sizeof(acc), "MPSHIM_ACCEPT=*:%d", port);
	snprintf(srv_out, sizeof(srv_out), "%s/server.out", h_tmpdir());
	snprintf(srv_stats, sizeof(srv_stats), "%s/server.stats", h_tmpdir());
	snprintf(srv_log, sizeof(srv_log), "%s/server.log", h_tmpdir());
	snprintf(stats, sizeof(stats), "MPSHIM_STATS_FILE=%s", srv_stats);
	snprintf(logf, sizeof(logf), "MPSHIM_LOG_FILE=%s", srv_log);
	snprintf(portstr, sizeof(portstr), "%d", port);
	for (; extra && *extra && n < 10; extra++)
		argv[n++] = (char *)*extra;
	argv[n++] = portstr;
	argv[n] = NULL;
	*pid = h_spawn(argv, env, srv_out);
	wait_listener();
	return port;
}

/* A shimmed mps-client: ping/pong over two subflows.  0 when it worked. */
static int mp_client(int port, const char *stats_path)
{
	static char pre[600], up[64], stats[640], portstr[16], path[600];
	char *env[] = { pre, up, stats, "MPSHIM_SUBFLOWS=2", "MPSHIM_EXIT_LINGER=1s",
			"MPSHIM_LOG=info", NULL };
	char *argv[] = { path, "blocking", "127.0.0.1", portstr, "ok", NULL };

	snprintf(path, sizeof(path), "%s/tests/helpers/mps-client", h_builddir());
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%d", port);
	snprintf(stats, sizeof(stats), "MPSHIM_STATS_FILE=%s", stats_path);
	snprintf(portstr, sizeof(portstr), "%d", port);
	return h_wait(h_spawn(argv, env, NULL), 20000);
}

/* The test as a plain TCP client: optional banner, ping/pong, an echo. */
static void plain_client(int port, bool banner)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct pollfd p;
	char buf[64] = "";
	size_t got = 0, want = banner ? 11 + 4 : 4;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (banner) {
		/* silent until the server speaks: the shim must give up
		 * waiting for a HELLO and hand the connection over */
		p.fd = fd;
		p.events = POLLIN;
		cr_assert_eq(poll(&p, 1, 5000), 1, "no banner from the shimmed server");
		want = 11;
	} else {
		cr_assert_eq(send(fd, "ping", 4, MSG_NOSIGNAL), 4);
	}
	while (got < want) {
		ssize_t n = recv(fd, buf + got, want - got, 0);

		cr_assert_gt(n, 0, "server closed early");
		got += (size_t)n;
	}
	if (banner) {
		cr_assert(!memcmp(buf, "220 hello\r\n", 11));
		cr_assert_eq(send(fd, "ping", 4, MSG_NOSIGNAL), 4);
		for (got = 0; got < 4;) {
			ssize_t n = recv(fd, buf + got, 4 - got, 0);

			cr_assert_gt(n, 0);
			got += (size_t)n;
		}
	}
	cr_assert(!memcmp(buf, "pong", 4), "expected pong, got '%.4s'", buf);
	cr_assert_eq(send(fd, "echo", 4, MSG_NOSIGNAL), 4);
	for (got = 0; got < 4;) {
		ssize_t n = recv(fd, buf + got, 4 - got, 0);

		cr_assert_gt(n, 0);
		got += (size_t)n;
	}
	cr_assert(!memcmp(buf, "echo", 4));
	close(fd);
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; p && (p = strstr(p, prefix)); p++)
		if (p == text || p[-1] == '\n')
			n++;
	return n;
}

/* The idx-th "conn" line's value of key (an int). */
static int conn_field(const char *text, int idx, const char *key)
{
	const char *p = text;
	char k[32];

	for (int i = 0; p && i <= idx; i++) {
		p = strstr(p, "conn ");
		if (p && i < idx)
			p++;
	}
	cr_assert_not_null(p, "no conn line %d", idx);
	snprintf(k, sizeof(k), " %s=", key);
	p = strstr(p, k);
	cr_assert_not_null(p, "no %s", key);
	return atoi(p + strlen(k));
}

static char *wait_output(pid_t pid)
{
	int st = h_wait(pid, 30000);
	char *out = h_slurp(srv_out);

	cr_assert_eq(st, 0, "mps-server exited %d; output:\n%s", st, out ? out : "");
	return out;
}

Test(server, listener_looks_like_tcp_and_accepts_multipath)
{
	const char *opts[] = { "-n", "2", NULL };
	char cstats[600];
	struct h_stats cs[1], ss[4];
	pid_t pid;
	int port = server_up(opts, NULL, &pid);
	char *out, want[96];

	snprintf(cstats, sizeof(cstats), "%s/client.stats", h_tmpdir());
	cr_assert_eq(mp_client(port, cstats), 0, "shimmed client failed");
	plain_client(port, false);
	out = wait_output(pid);
	snprintf(want, sizeof(want),
		 "listener acceptconn=1 domain=%d type=%d protocol=%d port=%d eagain=1",
		 AF_INET, SOCK_STREAM, IPPROTO_TCP, port);
	cr_assert(strstr(out, want), "listener report wrong:\n%s", out);
	/* two connections reached the app, though three TCP connections
	 * came in: the JOIN stayed inside */
	cr_assert_eq(count_lines(out, "conn "), 2, "%s", out);
	cr_assert_eq(conn_field(out, 0, "state"), 2, "first client not multipath:\n%s", out);
	cr_assert_eq(conn_field(out, 1, "state"), 0,
		     "plain client not given its own TCP socket:\n%s", out);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(conn_field(out, i, "local_port"), port);
		cr_assert_eq(conn_field(out, i, "nonblock"), 0);
		cr_assert_eq(conn_field(out, i, "cloexec"), 1, "SOCK_CLOEXEC lost");
	}
	cr_assert(strstr(out, "peer=127.0.0.1:"), "%s", out);
	cr_assert(strstr(out, "done"));
	free(out);
	/* both ends saw both subflows */
	cr_assert_eq(h_stats_read(cstats, cs, 1), 1);
	cr_assert_eq(cs[0].n_sf, 2);
	cr_assert_eq(h_stats_read(srv_stats, ss, 4), 1,
		     "the server logs one multipath connection, not the plain one");
	cr_assert_eq(ss[0].n_sf, 2);
}

Test(server, epoll_edge_triggered_nonblocking)
{
	const char *opts[] = { "-m", "epoll-et", "-n", "4", NULL };
	char cstats[600];
	pid_t pid;
	int port = server_up(opts, NULL, &pid);
	char *out;

	snprintf(cstats, sizeof(cstats), "%s/client.stats", h_tmpdir());
	cr_assert_eq(mp_client(port, cstats), 0);
	plain_client(port, false);
	cr_assert_eq(mp_client(port, cstats), 0);
	plain_client(port, false);
	out = wait_output(pid);
	cr_assert_eq(count_lines(out, "conn "), 4, "%s", out);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(conn_field(out, i, "nonblock"), 1, "SOCK_NONBLOCK lost:\n%s", out);
		cr_assert_eq(conn_field(out, i, "state"), i % 2 ? 0 : 2, "%s", out);
	}
	free(out);
}

Test(server, silent_plain_client_gets_the_banner)
{
	const char *opts[] = { "-b", NULL };
	pid_t pid;
	int port = server_up(opts, NULL, &pid);
	char *out;

	plain_client(port, true);
	out = wait_output(pid);
	cr_assert_eq(conn_field(out, 0, "state"), 0, "%s", out);
	free(out);
}

Test(server, dual_stack_listener)
{
	const char *opts[] = { "-6", "-n", "2", NULL };
	char cstats[600], want[96];
	pid_t pid;
	int port = server_up(opts, NULL, &pid);
	char *out;

	snprintf(cstats, sizeof(cstats), "%s/client.stats", h_tmpdir());
	cr_assert_eq(mp_client(port, cstats), 0);
	plain_client(port, false);
	out = wait_output(pid);
	snprintf(want, sizeof(want), "listener acceptconn=1 domain=%d", AF_INET6);
	cr_assert(strstr(out, want), "%s", out);
	/* both clients as v4-mapped addresses, as the kernel reports them */
	cr_assert_eq(count_lines(out, "conn "), 2);
	cr_assert(strstr(out, "peer=::ffff:127.0.0.1:"), "%s", out);
	cr_assert_eq(conn_field(out, 0, "state"), 2, "%s", out);
	free(out);
}

Test(server, prefork_children_accept_multipath)
{
	const char *opts[] = { "-m", "prefork:2", "-n", "2", NULL };
	char cstats[600];
	struct h_stats cs[8];
	pid_t pid;
	int port = server_up(opts, NULL, &pid);
	char *out;
	int pids[4], n = 0;

	snprintf(cstats, sizeof(cstats), "%s/client.stats", h_tmpdir());
	for (int i = 0; i < 4; i++)
		cr_assert_eq(mp_client(port, cstats), 0, "client %d failed", i);
	out = wait_output(pid);
	cr_assert_eq(count_lines(out, "conn "), 4, "%s", out);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(conn_field(out, i, "state"), 2, "%s", out);
		pids[n++] = conn_field(out, i, "pid");
	}
	/* served by the children, not the parent that listened */
	for (int i = 0; i < n; i++)
		cr_assert_neq(pids[i], pid);
	free(out);
	cr_assert_eq(h_stats_read(cstats, cs, 8), 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(cs[i].n_sf, 2, "a JOIN did not reach the parent's engine");
}

Test(server, listener_closed_and_opened_again)
{
	const char *opts[] = { "-r", "-n", "2", NULL };
	char cstats[600];
	pid_t pid;
	int port = server_up(opts, NULL, &pid);
	char *out;

	snprintf(cstats, sizeof(cstats), "%s/client.stats", h_tmpdir());
	cr_assert_eq(mp_client(port, cstats), 0);
	/* the second listener reports itself once it is up */
	for (int i = 0; i < 250; i++) {
		char *o = h_slurp(srv_out);
		int n = count_lines(o, "listener ");

		free(o);
		if (n == 2)
			break;
		usleep(20000);
	}
	cr_assert_eq(mp_client(port, cstats), 0, "the reopened listener does not work");
	out = wait_output(pid);
	cr_assert_eq(count_lines(out, "listener "), 2, "%s", out);
	cr_assert_eq(conn_field(out, 1, "state"), 2, "%s", out);
	free(out);
}

Test(server, accept_plain_leaves_the_listener_alone)
{
	static char plain[64];
	pid_t pid;
	int port;
	char *out;

	/* the port is chosen inside server_up(): match them all, the
	 * accept rule names the one port anyway */
	snprintf(plain, sizeof(plain), "MPSHIM_ACCEPT_PLAIN=*");
	port = server_up(NULL, plain, &pid);
	plain_client(port, false);
	out = wait_output(pid);
	cr_assert_eq(conn_field(out, 0, "state"), 0, "%s", out);
	free(out);
	out = h_slurp(srv_log);
	cr_assert(!out || !strstr(out, "listening for multipath clients"),
		  "accept_plain listener was taken over:\n%s", out);
	free(out);
}

/* Real programs: httpd.py under the shim serves a shimmed curl over two
 * subflows and a plain curl with its own socket, both byte-exact. */
Test(server, http_server_under_the_shim, .timeout = 90)
{
	static char pre[600], acc[64], stats[640], cpre[600], up[64], cstats[640];
	char port_s[16], url[128], sha_src[65], sha_mp[65], sha_plain[65];
	char out_mp[600], out_plain[600], cstats_path[600], sstats_path[600];
	const char *file = h_make_file("blob", 8 << 20, 7);
	int port = h_free_port();
	struct h_stats cs[1], ss[4];
	char *dir = strdup(file);

	*strrchr(dir, '/') = '\0';
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(acc, sizeof(acc), "MPSHIM_ACCEPT=*:%d", port);
	snprintf(sstats_path, sizeof(sstats_path), "%s/srv.stats", h_tmpdir());
	snprintf(stats, sizeof(stats), "MPSHIM_STATS_FILE=%s", sstats_path);
	{
		char *env[] = { pre, acc, stats, NULL };
		char *argv[] = { "python3", (char *)h_httpd(), "--bind", "127.0.0.1",
				 "--port", port_s, "--dir", dir, NULL };

		h_spawn(argv, env, NULL);
	}
	cr_assert(h_wait_port(port, 10000), "httpd.py under the shim did not listen");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/blob", port);
	snprintf(out_mp, sizeof(out_mp), "%s/mp.bin", h_tmpdir());
	snprintf(out_plain, sizeof(out_plain), "%s/plain.bin", h_tmpdir());
	snprintf(cstats_path, sizeof(cstats_path), "%s/cli.stats", h_tmpdir());
	snprintf(cpre, sizeof(cpre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%d", port);
	snprintf(cstats, sizeof(cstats), "MPSHIM_STATS_FILE=%s", cstats_path);
	{
		char *env[] = { cpre, up, cstats, "MPSHIM_SUBFLOWS=2", NULL };
		char *argv[] = { "curl", "-sf", "-o", out_mp, url, NULL };

		cr_assert_eq(h_wait(h_spawn(argv, env, NULL), 60000), 0, "shimmed curl failed");
	}
	{
		char *argv[] = { "curl", "-sf", "-o", out_plain, url, NULL };

		cr_assert_eq(h_wait(h_spawn(argv, NULL, NULL), 60000), 0, "plain curl failed");
	}
	cr_assert(h_sha256_file(file, sha_src));
	cr_assert(h_sha256_file(out_mp, sha_mp));
	cr_assert(h_sha256_file(out_plain, sha_plain));
	cr_assert_str_eq(sha_mp, sha_src);
	cr_assert_str_eq(sha_plain, sha_src);
	cr_assert_eq(h_stats_read(cstats_path, cs, 1), 1);
	cr_assert_eq(cs[0].n_sf, 2);
	cr_assert(cs[0].sf[0].recv > 0 && cs[0].sf[1].recv > 0,
		  "both subflows should carry data: %llu / %llu",
		  (unsigned long long)cs[0].sf[0].recv, (unsigned long long)cs[0].sf[1].recv);
	/* the server's stats line is written when it closes: give it time */
	for (int i = 0; i < 100 && h_stats_read(sstats_path, ss, 4) < 1; i++)
		usleep(20000);
	cr_assert_eq(h_stats_read(sstats_path, ss, 4), 1,
		     "one multipath connection on the server side, the plain one unlogged");
	free(dir);
}

/* `mpshim run --accept` makes a server multipath, and appends the library
 * to an LD_PRELOAD already set instead of replacing it. */
Test(server, mpshim_run_accept)
{
	static char lib[640], acc[64], portstr[16], tool[600], srv[600], pre[600];
	/* a sanitizer build's mpshim binary must not start with anything
	 * preloaded (the runtime has to come first): no prior LD_PRELOAD */
	bool with_pre = !h_sanitized();
	char *env[] = { lib, with_pre ? pre : NULL, NULL };
	char *argv[] = { tool, "run", "--accept", acc, "--", srv, portstr, NULL };
	char cstats[600], environ_path[64], *envs, *p;
	struct h_stats cs[1];
	int port = h_free_port();
	pid_t pid;
	size_t len = 0;
	bool found = false;

	snprintf(tool, sizeof(tool), "%s/src/tools/mpshim", h_builddir());
	snprintf(srv, sizeof(srv), "%s/tests/helpers/mps-server", h_builddir());
	snprintf(lib, sizeof(lib), "MPSHIM_LIBRARY=%s", h_shim_lib());
	/* a library that defines none of the interposed calls (libc itself,
	 * listed first, would shadow the shim) */
	snprintf(pre, sizeof(pre), "LD_PRELOAD=libm.so.6");
	snprintf(acc, sizeof(acc), "*:%d", port);
	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(srv_out, sizeof(srv_out), "%s/server.out", h_tmpdir());
	pid = h_spawn(argv, env, srv_out);
	wait_listener();
	snprintf(environ_path, sizeof(environ_path), "/proc/%d/environ", (int)pid);
	{
		FILE *f = fopen(environ_path, "r");

		cr_assert_not_null(f);
		envs = NULL;
		len = 0;
		cr_assert_gt(getdelim(&envs, &len, '\0', f), 0);
		fclose(f);
		f = fopen(environ_path, "r");
		while (getdelim(&envs, &len, '\0', f) > 0) {
			if (strncmp(envs, "LD_PRELOAD=", 11))
				continue;
			p = strstr(envs, "libm.so.6");
			found = (p || !with_pre) && strstr(envs, h_shim_lib());
		}
		fclose(f);
		free(envs);
	}
	cr_assert(found, "LD_PRELOAD should keep libm.so.6 and add the shim");
	snprintf(cstats, sizeof(cstats), "%s/client.stats", h_tmpdir());
	cr_assert_eq(mp_client(port, cstats), 0);
	cr_assert_eq(h_wait(pid, 20000), 0);
	cr_assert_eq(h_stats_read(cstats, cs, 1), 1);
	cr_assert_eq(cs[0].n_sf, 2, "the server did not accept a multipath client");
	cr_assert(!cs[0].fallback);
}

/*
 * The engine's side alone, in this process (so sanitizer builds check
 * listener.c): a plain client's socket arrives through the channel with
 * its first bytes still unread, a silent one arrives when the wait ends,
 * and closing the channel stops the TCP listener before the reap returns.
 */
static int chan_take(int chan, struct mps_handoff_msg *msg, int timeout_ms)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	struct pollfd p = { .fd = chan, .events = POLLIN };
	struct cmsghdr *c;
	int fd = -1;

	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	cr_assert_eq(recvmsg(chan, &mh, 0), (ssize_t)sizeof(*msg));
	cr_assert_eq(msg->magic, MPS_HANDOFF_MAGIC);
	c = CMSG_FIRSTHDR(&mh);
	cr_assert_not_null(c);
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

Test(server, engine_hands_off_plain_clients, .timeout = 30)
{
	struct mps_config cfg;
	struct mps_engine *eng;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct mps_handoff_msg msg;
	char err[128], buf[8];
	int lfd, sv[2], c1, c2, fd;

	mps_config_defaults(&cfg);
	cr_assert_eq(mps_config_set(&cfg, "accept_wait", "50ms", err, sizeof(err)), 0);
	cr_assert_eq(mps_engine_new(&eng, &cfg), 0);
	cr_assert_eq(mps_engine_start_thread(eng), 0);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(lfd, 8), 0);
	getsockname(lfd, (struct sockaddr *)&sin, &len);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	cr_assert_eq(mps_engine_accept_start(eng, lfd, sv[1], 8, (struct sockaddr *)&sin), 0);

	/* a talking plain client: its bytes are still in the socket */
	c1 = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(c1, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(send(c1, "GET /", 5, 0), 5);
	fd = chan_take(sv[0], &msg, 5000);
	cr_assert_geq(fd, 0, "plain client not handed over");
	cr_assert_eq(msg.multipath, 0);
	cr_assert_eq(recv(fd, buf, 5, MSG_WAITALL), 5);
	cr_assert(!memcmp(buf, "GET /", 5), "the engine consumed the client's bytes");
	cr_assert_eq(send(fd, "ok", 2, 0), 2);
	cr_assert_eq(recv(c1, buf, 2, MSG_WAITALL), 2);
	close(fd);
	close(c1);

	/* a silent one: handed over when the wait ends */
	c2 = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(c2, (struct sockaddr *)&sin, sizeof(sin)), 0);
	fd = chan_take(sv[0], &msg, 5000);
	cr_assert_geq(fd, 0, "silent client never handed over");
	cr_assert_eq(ntohs(msg.local.in.sin_port), ntohs(sin.sin_port));
	close(fd);
	close(c2);

	/* the app closes its listener: the port stops listening */
	close(sv[0]);
	mps_engine_accept_reap(eng);
	c1 = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(connect(c1, (struct sockaddr *)&sin, sizeof(sin)), -1);
	cr_assert_eq(errno, ECONNREFUSED);
	close(c1);
	mps_engine_stop(eng);
	mps_engine_join_thread(eng);
	mps_engine_free(eng);
}

/* inetd style: the connection becomes stdin/stdout of a program the
 * server exec's; that program's shim must still see a TCP connection. */
Test(server, connection_inherited_across_exec)
{
	const char *opts[] = { "-x", NULL };
	char cstats[600];
	pid_t pid;
	int port = server_up(opts, NULL, &pid);
	char *out;

	snprintf(cstats, sizeof(cstats), "%s/client.stats", h_tmpdir());
	cr_assert_eq(mp_client(port, cstats), 0, "no ping/pong through the exec'ed program");
	out = wait_output(pid);
	cr_assert_eq(count_lines(out, "conn "), 2, "%s", out);
	/* the exec'ed program's view of its stdin */
	cr_assert_eq(conn_field(out, 1, "state"), 2, "lost across exec:\n%s", out);
	cr_assert_eq(conn_field(out, 1, "local_port"), port, "%s", out);
	{
		/* the second conn line is the exec'ed program's */
		const char *second = strstr(strstr(out, "conn ") + 1, "conn ");
		const char *eol = strchr(second, '\n');
		const char *peer = strstr(second, "peer=127.0.0.1:");

		cr_assert(peer && (!eol || peer < eol), "getpeername lost across exec:\n%s", out);
	}
	cr_assert_neq(conn_field(out, 1, "pid"), conn_field(out, 0, "pid"));
	free(out);
}

/* A listener passed to a program exec'ed by a child: it accepts through
 * the parent's engine.  And a listener whose own process exec's: the new
 * program takes it over again. */
Test(server, listener_inherited_across_exec)
{
	const char *child[] = { "-X", "-n", "2", NULL };
	const char *self[] = { "-E", "-n", "2", NULL };
	const char *const *variants[] = { child, self };
	char cstats[600];

	snprintf(cstats, sizeof(cstats), "%s/client.stats", h_tmpdir());
	for (int v = 0; v < 2; v++) {
		pid_t pid;
		int port = server_up(variants[v], NULL, &pid);
		char *out;

		/* the exec'ed program reports the listener a second time */
		for (int i = 0; i < 250; i++) {
			char *o = h_slurp(srv_out);
			int n = count_lines(o, "listener ");

			free(o);
			if (n == 2)
				break;
			usleep(20000);
		}
		cr_assert_eq(mp_client(port, cstats), 0, "variant %d: client failed", v);
		plain_client(port, false);
		out = wait_output(pid);
		cr_assert_eq(count_lines(out, "listener acceptconn=1"), 2, "%s", out);
		cr_assert_eq(conn_field(out, 0, "state"), 2,
			     "variant %d: not multipath after exec:\n%s", v, out);
		cr_assert_eq(conn_field(out, 1, "state"), 0, "%s", out);
		free(out);
		remove(srv_out);
	}
}
