/*
 * test_first.c - a process's first connection, on loopback: what must
 * happen before what, so that it is not slower than the ones after it.
 *
 * Timing is for bench/ and doc/ARCHITECTURE.md ("The first connection");
 * these tests show the order of its steps instead:
 *
 * - getifaddrs is counted (tests/helpers/mps-ifaddrs.c, preloaded after
 *   the shim): connections must not look their interfaces up, which only
 *   a link event needs (engine.c, mps_engine_iface_down).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

static void fini(void)
{
	h_cleanup();
}

TestSuite(first, .fini = fini, .timeout = 60);

/* proxyd on a free port in front of 127.0.0.1:backend_port: its port. */
static int proxyd_start(int backend_port)
{
	char listen_arg[64], backend_arg[64];
	char *argv[] = { (char *)h_proxyd(), "--listen", listen_arg, "--backend", backend_arg,
			 "--log-level", "debug", NULL };
	int port = h_free_port();

	snprintf(listen_arg, sizeof(listen_arg), "127.0.0.1:%d", port);
	snprintf(backend_arg, sizeof(backend_arg), "127.0.0.1:%d", backend_port);
	cr_assert_gt(h_spawn(argv, NULL, h_out_file("proxyd")), 0);
	cr_assert(h_wait_port(port, 5000), "proxyd did not start");
	return port;
}

/*
 * A connection does not look up its subflows' interfaces (getifaddrs,
 * 0.1 ms each here, once on the way to HELLO): three connections of two
 * subflows each make no getifaddrs call at all.
 */
Test(first, no_interface_lookup_on_the_way)
{
	char lib[600], pre[1300], up[64], log[600], logenv[700], port[16], sport[16];
	char *serve[] = { (char *)h_stream_bin(), "serve", sport, NULL };
	char *fetch[] = { (char *)h_stream_bin(), "fetch", "-n", "3", "-s", "300000",
			  "127.0.0.1", port, NULL };
	char *env[] = { pre, up, logenv, "MPSHIM_SUBFLOWS=2", "MPSHIM_LOG=debug", NULL };
	const char *out = h_out_file("fetch");
	int serve_port = h_free_port();
	char *text;
	pid_t app;

	snprintf(lib, sizeof(lib), "%s/tests/helpers/.libs/mps-ifaddrs.so", h_builddir());
	cr_assert_eq(access(lib, R_OK), 0, "%s: %s", lib, strerror(errno));
	snprintf(sport, sizeof(sport), "%d", serve_port);
	cr_assert_gt(h_spawn(serve, NULL, h_out_file("serve")), 0);
	cr_assert(h_wait_port(serve_port, 5000), "the server did not start");
	snprintf(port, sizeof(port), "%d", proxyd_start(serve_port));
	snprintf(log, sizeof(log), "%s/getifaddrs.log", h_tmpdir());
	snprintf(logenv, sizeof(logenv), "MPS_IFADDRS_LOG=%s", log);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s %s", h_shim_lib(), lib);
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%s", port);
	app = h_spawn(fetch, env, out);
	cr_assert_gt(app, 0);
	cr_assert_eq(h_app_end(app, 30000, out), 0, "the transfers failed");
	text = h_slurp(log);
	cr_assert_null(text, "the connections looked interfaces up:\n%s", text);
}
