/*
 * test_interpose.c - the interposition itself, seen from programs under
 * the shim: calls made before the shim's constructor ran
 * (tests/helpers/mps-early).
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
