/*
 * test_sockopts.c - the socket-option matrix: tests/helpers/mps-sockopts
 * runs every option and flag a TCP program uses, once as plain TCP
 * against a plain server and once under the shim against a shimmed
 * server (multipath, two subflows on loopback).  Both runs must print
 * the same lines; behaviours TCP guarantees are also checked in their
 * own right, so a change that broke both runs alike would still fail.
 *
 * The same program built with -O2 -D_FORTIFY_SOURCE=2 (calling glibc's
 * __*_chk variants) gives the same answers under the shim, and
 * TCP_CONGESTION set before connect reaches every subflow (ss -ti).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

static void fini(void)
{
	h_cleanup();
}

TestSuite(sockopts, .fini = fini, .timeout = 120);

static char helper_path[600];

static const char *helper(bool fortified)
{
	snprintf(helper_path, sizeof(helper_path), "%s/tests/helpers/mps-sockopts%s",
		 h_builddir(), fortified ? "-fortified" : "");
	return helper_path;
}

/* Wait for a line in a helper's output file. */
static bool wait_line(const char *path, const char *line, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 20) {
		char *out = h_slurp(path);
		bool seen = out && strstr(out, line);

		free(out);
		if (seen)
			return true;
		usleep(20000);
	}
	return false;
}

/* One run of the matrix: a server (shimmed or not) and the client mode
 * against it.  Returns the client's output (malloc'ed). */
static char *run_matrix(bool shim, bool fortified, const char *mode, const char *tag)
{
	static char pre[600], acc[64], up[96], portstr[16];
	char srv_out[600], cli_out[600], srv_log[600], cli_log[600];
	char srv_logenv[640], cli_logenv[640];
	char *srv_env[] = { pre, acc, srv_logenv, "MPSHIM_EXIT_LINGER=1s", NULL };
	char *cli_env[] = { pre, up, cli_logenv, "MPSHIM_SUBFLOWS=2",
			    "MPSHIM_EXIT_LINGER=1s", NULL };
	char *srv_argv[] = { (char *)helper(false), "serve", portstr, NULL };
	char *cli_argv[] = { NULL, (char *)mode, portstr, NULL };
	char *out;
	int port = h_free_port(), st;
	pid_t srv;

	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(acc, sizeof(acc), "MPSHIM_ACCEPT=*:%d", port);
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%d,[::1]:%d", port, port);
	snprintf(srv_out, sizeof(srv_out), "%s/%s-server.out", h_tmpdir(), tag);
	snprintf(cli_out, sizeof(cli_out), "%s/%s-client.out", h_tmpdir(), tag);
	snprintf(srv_log, sizeof(srv_log), "%s/%s-server.log", h_tmpdir(), tag);
	snprintf(cli_log, sizeof(cli_log), "%s/%s-client.log", h_tmpdir(), tag);
	snprintf(srv_logenv, sizeof(srv_logenv), "MPSHIM_LOG_FILE=%s", srv_log);
	snprintf(cli_logenv, sizeof(cli_logenv), "MPSHIM_LOG_FILE=%s", cli_log);
	cli_argv[0] = strdup(helper(fortified));
	srv = h_spawn(srv_argv, shim ? srv_env : NULL, srv_out);
	cr_assert(wait_line(srv_out, "listening", 10000), "%s: the server did not start", tag);
	st = h_wait(h_spawn(cli_argv, shim ? cli_env : NULL, cli_out), 90000);
	kill(srv, SIGTERM);
	h_wait(srv, 5000);
	free(cli_argv[0]);
	out = h_slurp(cli_out);
	cr_assert_eq(st, 0, "%s: the client exited %d:\n%s", tag, st, out ? out : "");
	cr_assert(out);
	return out;
}

/* The line of out that starts with key (without its newline), or "". */
static const char *line_of(const char *out, const char *key, char *buf, size_t n)
{
	const char *p = out;
	size_t klen = strlen(key);

	buf[0] = '\0';
	for (; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, klen)) {
			size_t len = strcspn(p, "\n");

			snprintf(buf, n, "%.*s", (int)len, p);
			break;
		}
	}
	return buf;
}

static const char *const cases[] = {
	"nodelay:", "cork:", "msg_more:", "keepalive:", "bufs:", "rcvtimeo:",
	"sndtimeo:", "v6only:", "ipv4:", "ipv6:", "v4mapped:", "tcp_info:",
	"congestion:", "peek:", "waitall:", "nosignal:", "sendfile:", "splice:",
	"readiness:", "connections ",
};

/* What TCP guarantees, checked in each run (not only compared). */
static const char *const musts[] = {
	"set(5)=0/0/1",				/* TCP_NODELAY normalised */
	"idle_default=7200",			/* the kernel's defaults */
	"idle(0)=-1/EINVAL/30",			/* TCP's bounds */
	"recv=-1/EAGAIN waited=1",		/* SO_RCVTIMEO */
	"sndtimeo: set=0 get=0/0.200000 send=-1/EAGAIN",
	"mapped_v6only=-1/ENETUNREACH",
	"tcp_info: rc=0 len_ok=1 state=1 rtt=1 cwnd=1 mss=1 acked=1 received=1 "
	"short=0/8/1/1 closed=0/1",
	"set_nosuchalgo=-1/ENOENT get=0/reno/16 get=0/ren/3",
	"peek: peeked=6 read=6 same=1",
	"waitall: got=200000 intact=1",
	"nosignal: eof=0 send=-1/EPIPE sigpipe=0",
	"sendfile: sent=1 intact=1",
	"splice: out=1 intact=1 in=1/1",
	"cork: set(1)=0/0/1 set(0)=0/0/0 sent=1 intact=1",
	"msg_more: sent=1 intact=1",
	"ipv6: domain=10 peer=0/10 echo=1",
	"v4mapped: domain=10 peer=0/10 echo=1",
};

static void compare(const char *plain, const char *shim, const char *what)
{
	char a[1024], b[1024];
	int conns = -1, mp = -1;
	const char *m;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		line_of(plain, cases[i], a, sizeof(a));
		line_of(shim, cases[i], b, sizeof(b));
		cr_expect(a[0], "%s: no '%s' line without the shim", what, cases[i]);
		cr_expect_str_eq(b, a, "%s: '%s' differs under the shim", what, cases[i]);
	}
	for (size_t i = 0; i < sizeof(musts) / sizeof(musts[0]); i++) {
		cr_expect(strstr(plain, musts[i]), "plain TCP: no '%s'", musts[i]);
		cr_expect(strstr(shim, musts[i]), "%s: no '%s'", what, musts[i]);
	}
	/* the shim's run really was multipath, every connection of it */
	m = strstr(shim, "connections ");
	cr_assert(m && sscanf(m, "connections %d\nmultipath %d", &conns, &mp) == 2);
	cr_expect_gt(conns, 0);
	cr_expect_eq(mp, conns, "%s: %d of %d connections multipath", what, mp, conns);
	cr_expect(strstr(plain, "multipath 0\n"));
}

Test(sockopts, same_as_tcp)
{
	char *plain = run_matrix(false, false, "run", "plain");
	char *shim = run_matrix(true, false, "run", "shim");

	compare(plain, shim, "under the shim");
	free(plain);
	free(shim);
}

/* A fortified program reads and polls through __recv_chk, __read_chk,
 * __poll_chk and __fdelt_chk; none of them may bypass the shim. */
Test(sockopts, fortified_same_as_tcp)
{
	static const char *const chk[] = { "__recv_chk", "__read_chk", "__poll_chk",
					    "__fdelt_chk" };
	char cmd[700], syms[8192] = "";
	FILE *f;
	size_t n;
	char *plain, *shim;

	snprintf(cmd, sizeof(cmd), "nm -u '%s' 2>/dev/null", helper(true));
	f = popen(cmd, "r");
	cr_assert(f);
	n = fread(syms, 1, sizeof(syms) - 1, f);
	syms[n] = '\0';
	if (pclose(f) != 0 || !n)
		cr_skip_test("nm cannot list the fortified helper's symbols");
	for (size_t i = 0; i < sizeof(chk) / sizeof(chk[0]); i++)
		cr_assert(strstr(syms, chk[i]), "the fortified helper does not call %s", chk[i]);
	plain = run_matrix(false, true, "run", "fplain");
	shim = run_matrix(true, true, "run", "fshim");
	compare(plain, shim, "fortified, under the shim");
	free(plain);
	free(shim);
}

/* TCP_CONGESTION set before connect: every subflow of the connection has
 * it (the client's sockets to the port, as ss shows them). */
Test(sockopts, congestion_on_every_subflow)
{
	static char pre[600], up[64], portstr[16];
	char *srv_env[] = { pre, NULL, "MPSHIM_EXIT_LINGER=1s", NULL };
	char *cli_env[] = { pre, up, "MPSHIM_SUBFLOWS=2", "MPSHIM_EXIT_LINGER=1s", NULL };
	char srv_out[600], cli_out[600], cmd[200], line[512], acc[64];
	char *srv_argv[] = { (char *)helper(false), "serve", portstr, NULL };
	char *cli_argv[] = { (char *)helper(false), "hold", portstr, NULL };
	int port = h_free_port(), n_sock = 0, n_reno = 0;
	pid_t srv, cli;
	FILE *f;

	if (system("ss -V >/dev/null 2>&1"))
		cr_skip_test("no ss(8) to look at the subflows");
	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(acc, sizeof(acc), "MPSHIM_ACCEPT=*:%d", port);
	srv_env[1] = acc;
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%d", port);
	snprintf(srv_out, sizeof(srv_out), "%s/cc-server.out", h_tmpdir());
	snprintf(cli_out, sizeof(cli_out), "%s/cc-client.out", h_tmpdir());
	srv = h_spawn(srv_argv, srv_env, srv_out);
	cr_assert(wait_line(srv_out, "listening", 10000));
	cli = h_spawn(cli_argv, cli_env, cli_out);
	cr_assert(wait_line(cli_out, "held", 20000), "the client did not connect");
	/* the second subflow joins once the connection is established */
	for (int t = 0; t < 100 && n_sock < 2; t++) {
		usleep(50000);
		n_sock = n_reno = 0;
		snprintf(cmd, sizeof(cmd),
			 "ss -Htin state established '( dport = :%d )' 2>/dev/null", port);
		f = popen(cmd, "r");
		cr_assert(f);
		while (fgets(line, sizeof(line), f)) {
			/* one line per socket, then its indented details */
			if (line[0] != ' ' && line[0] != '\t')
				n_sock++;
			else if (strstr(line, " reno "))
				n_reno++;
		}
		pclose(f);
	}
	kill(cli, SIGUSR1);
	cr_assert_eq(h_wait(cli, 10000), 0);
	kill(srv, SIGTERM);
	h_wait(srv, 5000);
	cr_assert_eq(n_sock, 2, "expected 2 subflows, saw %d", n_sock);
	cr_assert_eq(n_reno, n_sock, "%d of %d subflows use reno", n_reno, n_sock);
	{
		char *out = h_slurp(cli_out);

		cr_assert(out && strstr(out, "hold: set_reno=0/0 get=0/reno/16 echo=1"),
			  "client said: %s", out ? out : "");
		free(out);
	}
}
