/*
 * test_interpose.c - the interposition itself, seen from programs under
 * the shim: calls made before the shim's constructor ran
 * (tests/helpers/mps-early), many threads connecting, copying, dup'ing
 * and closing at once, accept4's flag check, a listener whose backlog
 * overflows (tests/helpers/mps-sockopts).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "harness.h"

static void fini(void)
{
	h_cleanup();
}

TestSuite(interpose, .fini = fini, .timeout = 60);

static char srv_out[600];
static pid_t srv_pid;

/* mps-sockopts' server under the shim (multipath peer) on a free port. */
static int server_up(void)
{
	static char pre[600], acc[64], portstr[16], path[600];
	char *env[] = { pre, acc, "MPSHIM_EXIT_LINGER=1s", NULL };
	char *argv[] = { path, "serve", portstr, NULL };
	int port = h_free_port();

	snprintf(path, sizeof(path), "%s/tests/helpers/mps-sockopts", h_builddir());
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(acc, sizeof(acc), "MPSHIM_ACCEPT=*:%d", port);
	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(srv_out, sizeof(srv_out), "%s/server.out", h_tmpdir());
	srv_pid = h_spawn(argv, env, srv_out);
	for (int i = 0; i < 250; i++) {
		char *out = h_slurp(srv_out);
		bool up = out && strstr(out, "listening");

		free(out);
		if (up)
			return port;
		usleep(20000);
	}
	cr_assert_fail("the server did not start");
	return -1;
}

static bool maps_have(pid_t pid, const char *what)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0)
		found = strstr(line, what) != NULL;
	free(line);
	fclose(f);
	return found;
}

/* An --enable-tsan build checks the shim itself with ThreadSanitizer: the
 * suite's own C helpers run on its instrumented copy (h_spawn).  That
 * must not stop silently (the runtime not found, the copy not built): the
 * server helper maps both. */
Test(interpose, tsan_build_runs_helpers_on_the_instrumented_shim)
{
	const char *off = getenv("MPS_TSAN_SHIM");

	if (!h_tsan_build())
		cr_skip_test("not a ThreadSanitizer build");
	if (off && !strcmp(off, "0"))
		cr_skip_test("MPS_TSAN_SHIM=0");
	server_up();
	cr_assert(maps_have(srv_pid, "/libmpshim_tsan.so"),
		  "the helper runs without the instrumented shim");
	cr_assert(maps_have(srv_pid, "/libtsan.so"), "the helper runs without the TSan runtime");
	cr_assert(!maps_have(srv_pid, "/libmpshim.so"), "the plain shim is mapped too");
}

/* A connect from a preinit_array function runs before the C library has
 * an environment: it must work (as plain TCP, the configuration being
 * out of reach) and must not keep the shim from upgrading later ones. */
Test(interpose, before_the_constructor)
{
	static char pre[600], up[64], portenv[32], path[600], out_path[600];
	char *env[] = { pre, up, portenv, "MPSHIM_EXIT_LINGER=1s", NULL };
	char *argv[] = { path, NULL };
	int port = server_up();
	char *out;

	snprintf(path, sizeof(path), "%s/tests/helpers/mps-early", h_builddir());
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%d", port);
	snprintf(portenv, sizeof(portenv), "PORT=%d", port);
	snprintf(out_path, sizeof(out_path), "%s/early.out", h_tmpdir());
	cr_assert_eq(h_wait(h_spawn(argv, env, out_path), 20000), 0);
	out = h_slurp(out_path);
	cr_assert(out);
	cr_expect(strstr(out, "early state=0 echo=1\n"), "%s", out);
	cr_expect(strstr(out, "main state=2 echo=1\n"), "%s", out);
	free(out);
}

/* Run mps-sockopts MODE against port, under the shim or not; its output. */
static char *sockopts(const char *mode, int port, bool shim, const char *extra_env)
{
	static char pre[600], up[96], portstr[16], path[600];
	char out_path[600];
	char *env[] = { pre, up, "MPSHIM_SUBFLOWS=2", "MPSHIM_EXIT_LINGER=1s",
			(char *)extra_env, NULL };
	char *argv[] = { path, (char *)mode, portstr, NULL };
	int st;

	snprintf(path, sizeof(path), "%s/tests/helpers/mps-sockopts", h_builddir());
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%d", port);
	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(out_path, sizeof(out_path), "%s/%s-%d.out", h_tmpdir(), mode, shim);
	st = h_wait(h_spawn(argv, shim ? env : NULL, out_path), 60000);
	cr_assert_eq(st, 0, "mps-sockopts %s exited %d", mode, st);
	return h_slurp(out_path);
}

/* 8 threads x 20 connections, each with a dup closed early: every
 * connection multipath, every byte back, no crash. */
Test(interpose, threads_at_once)
{
	char *out = sockopts("threads", server_up(), true, NULL);

	cr_assert(out);
	cr_expect(strstr(out, "threads ok=160 bad=0 multipath=160\n"), "%s", out);
	free(out);
}

/* accept4 with a flag it does not know fails with EINVAL, on a shimmed
 * listener as on TCP's. */
Test(interpose, accept4_bad_flags)
{
	char acc[64], logenv[640], log[600], *out, *logtext;
	int port = h_free_port();

	out = sockopts("badflags", port, false, NULL);
	cr_assert(out && strstr(out, "accept4 badflags=-1/EINVAL\n"), "plain: %s", out);
	free(out);
	snprintf(log, sizeof(log), "%s/badflags.log", h_tmpdir());
	snprintf(logenv, sizeof(logenv), "MPSHIM_LOG_FILE=%s", log);
	snprintf(acc, sizeof(acc), "MPSHIM_ACCEPT=*:%d", port);
	{
		static char pre[600], portstr[16], path[600];
		char out_path[600];
		char *env[] = { pre, acc, logenv, "MPSHIM_LOG=debug", NULL };
		char *argv[] = { path, "badflags", portstr, NULL };

		snprintf(path, sizeof(path), "%s/tests/helpers/mps-sockopts", h_builddir());
		snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
		snprintf(portstr, sizeof(portstr), "%d", port);
		snprintf(out_path, sizeof(out_path), "%s/badflags-shim.out", h_tmpdir());
		cr_assert_eq(h_wait(h_spawn(argv, env, out_path), 20000), 0);
		out = h_slurp(out_path);
	}
	logtext = h_slurp(log);
	cr_assert(logtext && strstr(logtext, "listening for multipath clients"),
		  "the shim did not take the listener: %s", logtext ? logtext : "");
	cr_expect(out && strstr(out, "accept4 badflags=-1/EINVAL\n"), "shim: %s", out);
	free(out);
	free(logtext);
}

/* The kernel's accept queue of the IPv4 TCP listener on port: the
 * rx_queue of its LISTEN line in /proc/net/tcp, or -1. */
static int accept_queue(int port)
{
	FILE *f = fopen("/proc/net/tcp", "re");
	char line[512];
	int n = -1;

	cr_assert_not_null(f);
	while (n < 0 && fgets(line, sizeof(line), f)) {
		unsigned lport, st, tx, rx;

		if (sscanf(line, " %*u: %*x:%x %*x:%*x %x %x:%x", &lport, &st, &tx, &rx) == 4 &&
		    lport == (unsigned)port && st == 0x0a)
			n = (int)rx;
	}
	fclose(f);
	return n;
}

/* A plain TCP client to 127.0.0.1:port that sends 4 bytes no mpshim
 * frame starts with (each is handed to the application at once). */
static int plain_client(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 20 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(send(fd, "PPPP", 4, MSG_NOSIGNAL), 4);
	return fd;
}

/*
 * A backlog of 2 that is not served until the test says so: as with
 * TCP, clients past it wait in the kernel's listen queue, none is
 * refused, and every one is served in the end.  The engine hands each
 * connection to the application over a socket pair, which holds some
 * 170 hand-offs (the default socket buffer), and queues up to the backlog
 * (2) more itself; then it stops accepting while classification and that
 * queue hold the backlog (listener.c, backlog_full), so the kernel's
 * listen queue and the clients' SYN retries do the waiting.  Without that
 * pause it would go on accepting and refuse ("backlog of 2 full") every
 * connection past those, so the test fills the socket pair first: plain
 * clients until the listener's kernel queue holds one (the engine has
 * stopped accepting; without the pause it never does), none of them
 * reset.  Then 32 multipath clients at once, and the application starts
 * accepting: every client, plain or multipath, gets its echo.  A
 * multipath client hears nothing from the server while it waits, so its
 * hello_timeout is raised above the wait: at the default of 1 s it would
 * fall back to plain TCP (and still be served, as plain).
 */
Test(interpose, full_backlog, .timeout = 90)
{
	enum { FILL_MAX = 1000 };
	static char pre[600], acc[64], up[96], portstr[16], path[600];
	static int fill[FILL_MAX];
	char *srv_env[] = { pre, acc, "MPSHIM_EXIT_LINGER=1s", NULL };
	char *cli_env[] = { pre, up, "MPSHIM_SUBFLOWS=2", "MPSHIM_EXIT_LINGER=1s",
			    "MPSHIM_HELLO_TIMEOUT=20s", NULL };
	char *srv_argv[] = { path, "slowaccept", portstr, "0", "-1", NULL };
	char *cli_argv[] = { path, "burst", portstr, NULL };
	char srv_path[600], cli_path[600], *out = NULL, id[4];
	int port = h_free_port(), n_fill = 0, queued = 0, st;
	struct rlimit rl;
	pid_t srv, cli;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < FILL_MAX + 64) {
		rl.rlim_cur = rl.rlim_max < FILL_MAX + 64 ? rl.rlim_max : FILL_MAX + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	snprintf(path, sizeof(path), "%s/tests/helpers/mps-sockopts", h_builddir());
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(acc, sizeof(acc), "MPSHIM_ACCEPT=*:%d", port);
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%d", port);
	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(srv_path, sizeof(srv_path), "%s/slowaccept.out", h_tmpdir());
	snprintf(cli_path, sizeof(cli_path), "%s/burst.out", h_tmpdir());
	srv = h_spawn(srv_argv, srv_env, srv_path);
	for (int i = 0; i < 250 && !(out && strstr(out, "listening")); i++) {
		free(out);
		usleep(20000);
		out = h_slurp(srv_path);
	}
	free(out);
	while (n_fill < FILL_MAX && queued < 1) {
		fill[n_fill++] = plain_client(port);
		/* the engine takes it within a loop iteration or two, unless
		 * it has stopped accepting: then it stays in the queue */
		for (int t = 0; t < 100 && (queued = accept_queue(port)) >= 1; t++)
			usleep(2000);
	}
	cr_log_info("the engine stopped accepting after %d clients", n_fill);
	cr_assert_geq(queued, 1, "the engine never left a client in the kernel's queue "
		      "(%d clients): it does not pause at a full backlog", n_fill);
	for (int i = 0; i < n_fill; i++) {
		char b;
		ssize_t r = recv(fill[i], &b, 1, MSG_PEEK | MSG_DONTWAIT);

		cr_assert(r < 0 && errno == EAGAIN, "client %d of %d was refused (%s)", i,
			  n_fill, r < 0 ? strerror(errno) : "end of file");
	}
	cli = h_spawn(cli_argv, cli_env, cli_path);
	usleep(300000);
	cr_assert_eq(kill(srv, SIGUSR1), 0);
	for (int i = 0; i < n_fill; i++) {
		cr_assert_eq(recv(fill[i], id, sizeof(id), MSG_WAITALL), 4,
			     "client %d of %d got no echo", i, n_fill);
		close(fill[i]);
	}
	st = h_wait(cli, 60000);
	out = h_slurp(cli_path);
	cr_expect_eq(st, 0, "clients: %s", out ? out : "");
	cr_expect(out && strstr(out, "burst ok=32\n"), "%s", out ? out : "");
	free(out);
	out = h_slurp(srv_path);
	cr_expect(out && !strstr(out, "refusing a connection"),
		  "the server's engine refused clients instead of leaving them in "
		  "the kernel's queue: %s", out);
	free(out);
}
