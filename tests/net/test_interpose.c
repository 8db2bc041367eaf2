/*
 * test_interpose.c - the interposition itself, seen from programs under
 * the shim: calls made before the shim's constructor ran
 * (tests/helpers/mps-early), many threads connecting, copying, dup'ing
 * and closing at once, accept4's flag check, a listener whose backlog
 * overflows (tests/helpers/mps-sockopts).
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

/* 32 clients at once against a backlog of 2 that is not served for a
 * second: as with TCP, they wait and every one is served in the end.
 * The engine stops accepting while classification and the application's
 * queue hold the backlog (listener.c, backlog_full), so the kernel's
 * listen queue and the clients' SYN retries do the waiting.  A multipath
 * client hears nothing from the server while it waits there, so its
 * hello_timeout is raised above the wait: at the default of 1 s it would
 * fall back to plain TCP (and still be served, as plain). */
Test(interpose, full_backlog, .timeout = 60)
{
	static char pre[600], acc[64], portstr[16], path[600];
	char srv_path[600], *env[] = { pre, acc, "MPSHIM_EXIT_LINGER=1s", NULL };
	char *argv[] = { path, "slowaccept", portstr, NULL };
	int port = h_free_port(), st;
	pid_t srv;
	char *out = NULL;

	snprintf(path, sizeof(path), "%s/tests/helpers/mps-sockopts", h_builddir());
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(acc, sizeof(acc), "MPSHIM_ACCEPT=*:%d", port);
	snprintf(portstr, sizeof(portstr), "%d", port);
	snprintf(srv_path, sizeof(srv_path), "%s/slowaccept.out", h_tmpdir());
	srv = h_spawn(argv, env, srv_path);
	for (int i = 0; i < 250 && !(out && strstr(out, "listening")); i++) {
		free(out);
		usleep(20000);
		out = h_slurp(srv_path);
	}
	free(out);
	out = sockopts("burst", port, true, "MPSHIM_HELLO_TIMEOUT=10s");
	cr_expect(out && strstr(out, "burst ok=32\n"), "%s", out ? out : "");
	free(out);
	st = h_wait(srv, 20000);
	out = h_slurp(srv_path);
	cr_expect_eq(st, 0, "server: %s", out ? out : "");
	cr_expect(out && strstr(out, "served 32\n"), "%s", out ? out : "");
	free(out);
}
