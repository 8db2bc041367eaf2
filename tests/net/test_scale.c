/*
 * test_scale.c - memory per idle connection.  N connections through
 * proxyd, two subflows each, each used once (a ping and an echo) and then
 * left idle; proxyd's and the client's growth of anonymous resident memory
 * (RssAnon: heap and mappings; shared code pages are not per connection)
 * per connection must come down below a bound an idle connection can meet
 * (IDLE_KIB_MAX).
 * The figures are logged (--verbose) for comparison across builds.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "harness.h"

#define CONNS		500
#define ECHO_BYTES	"65536"	/* enough to grow every ring past its minimum */

/*
 * An idle connection in proxyd is its structures: struct mps_meta (about
 * 8 KiB, most of it the client's path table, zeroed), two struct
 * mps_subflow (1.4 KiB each, their 512-byte input buffers inside), and the
 * allocator's headers: about 11 KiB (12 KiB measured).  Its rings, output
 * buffers and DSN maps hold nothing and must be gone (src/core/trim.c);
 * kernel socket memory is not in RssAnon.  The client adds about as much
 * per connection (its relay socket pair is kernel memory).  16 KiB leaves
 * room for the heap's fragmentation, and fails if even one 4 KiB ring per
 * direction stayed: each ring here grew to 64 KiB with the echo.
 */
#define IDLE_KIB_MAX	16

/* The helper's one JSON line, once it is there. */
static char *wait_line(const char *path, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 100) {
		char *s = h_slurp(path);

		if (s && strchr(s, '\n'))
			return s;
		free(s);
		usleep(100 * 1000);
	}
	return NULL;
}

static long json_num(const char *s, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\": ", key);
	p = strstr(s, k);
	return p ? atol(p + strlen(k)) : -1;
}

static char *scrape(int port)
{
	char url[128], out[512];
	char *argv[] = { "curl", "-sS", "--max-time", "10", "-o", out, url, NULL };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
	snprintf(out, sizeof(out), "%s/metrics.txt", h_tmpdir());
	cr_assert_eq(h_wait(h_spawn(argv, NULL, NULL), 15000), 0, "scrape failed");
	return h_slurp(out);
}

static void teardown(void)
{
	h_cleanup();
}

TestSuite(scale, .fini = teardown, .timeout = 180);

Test(scale, idle_connections_give_their_buffers_back)
{
	char bport[16], listen[64], backend[64], mport[64], conns[16];
	char pre[600], up[64], out[512], *line, *text, want[64];
	char *srv[] = { (char *)"tests/helpers/mps-server", "-m", "epoll-et", "-n", conns,
			"-w", "0", bport, NULL };
	char *pd[] = { (char *)h_proxyd(), "--listen", listen, "--backend", backend,
		       "--metrics", mport, "--log-level", "warn", NULL };
	char *idle[] = { (char *)"tests/helpers/mps-idle", "-n", conns, "-s", ECHO_BYTES,
			 "-H", "127.0.0.1", listen + 10, NULL };
	char *env[] = { pre, up, "MPSHIM_SUBFLOWS=2", "MPSHIM_LOG=warn", NULL };
	char srv_path[512], idle_path[512];
	int backend_port = h_free_port(), proxy_port, metrics_port;
	long pd0, pd1 = -1, cl0, cl1 = -1, pd_per, cl_per;
	pid_t pd_pid, idle_pid;
	struct rlimit rl;

	/* the client needs 4 descriptors per connection, proxyd 3 */
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_max < 4 * CONNS + 64)
		cr_skip_test("RLIMIT_NOFILE hard limit below %d", 4 * CONNS + 64);
	snprintf(srv_path, sizeof(srv_path), "%s/tests/helpers/mps-server", h_builddir());
	snprintf(idle_path, sizeof(idle_path), "%s/tests/helpers/mps-idle", h_builddir());
	srv[0] = srv_path;
	idle[0] = idle_path;
	snprintf(conns, sizeof(conns), "%d", CONNS);
	snprintf(bport, sizeof(bport), "%d", backend_port);
	cr_assert_gt(h_spawn(srv, NULL, NULL), 0);
	cr_assert(h_wait_port(backend_port, 5000), "echo server did not start");

	proxy_port = h_free_port();
	metrics_port = h_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", proxy_port);
	snprintf(backend, sizeof(backend), "127.0.0.1:%d", backend_port);
	snprintf(mport, sizeof(mport), "127.0.0.1:%d", metrics_port);
	pd_pid = h_spawn(pd, NULL, NULL);
	cr_assert_gt(pd_pid, 0);
	cr_assert(h_wait_port(proxy_port, 5000), "proxyd did not start");
	pd0 = h_proc_status_kb(pd_pid, "RssAnon");

	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%d", proxy_port);
	snprintf(out, sizeof(out), "%s/idle.out", h_tmpdir());
	idle_pid = h_spawn(idle, env, out);
	cr_assert_gt(idle_pid, 0);
	line = wait_line(out, 90000);
	cr_assert_not_null(line, "the client did not finish opening its connections");
	cr_log_info("client: %s", line);
	cr_assert_eq(json_num(line, "established"), CONNS, "%s", line);
	cl0 = json_num(line, "anon0_kib");
	free(line);

	/* every connection multipath with both subflows, at proxyd */
	text = scrape(metrics_port);
	cr_assert_not_null(text);
	snprintf(want, sizeof(want), "mpshim_connections_open %d\n", CONNS);
	cr_assert(strstr(text, want), "%s", text);
	snprintf(want, sizeof(want), "mpshim_subflows_open %d\n", 2 * CONNS);
	cr_assert(strstr(text, want), "%s", text);
	free(text);

	/* idle now: the buffers go within a few trim periods (a sanitizer
	 * build, whose figures are not ours, below, just lets a few pass) */
	for (int waited = 0; waited < (h_sanitized() ? 3000 : 15000); waited += 250) {
		pd1 = h_proc_status_kb(pd_pid, "RssAnon");
		cl1 = h_proc_status_kb(idle_pid, "RssAnon");
		if (!h_sanitized() && (pd1 - pd0) / CONNS < IDLE_KIB_MAX &&
		    (cl1 - cl0) / CONNS < IDLE_KIB_MAX)
			break;
		usleep(250 * 1000);
	}
	pd_per = (pd1 - pd0) / CONNS;
	cl_per = (cl1 - cl0) / CONNS;
	cr_log_info("proxyd RssAnon %ld -> %ld KiB: %ld KiB per idle connection", pd0, pd1,
		    pd_per);
	cr_log_info("client RssAnon %ld -> %ld KiB: %ld KiB per idle connection", cl0, cl1,
		    cl_per);
	/* A sanitizer's allocator keeps what is freed (ASan's quarantine,
	 * TSan's caches) and its shadow pages count as RssAnon: there the
	 * figures say nothing of ours, and only the connections are checked. */
	if (!h_sanitized()) {
		cr_assert_lt(pd_per, IDLE_KIB_MAX, "proxyd holds %ld KiB per idle connection",
			     pd_per);
		cr_assert_lt(cl_per, IDLE_KIB_MAX,
			     "the client holds %ld KiB per idle connection", cl_per);
	}
	/* and none was lost while its buffers went */
	text = scrape(metrics_port);
	cr_assert_not_null(text);
	snprintf(want, sizeof(want), "mpshim_connections_open %d\n", CONNS);
	cr_assert(strstr(text, want), "connections lost while idle: %s", text);
	free(text);
	kill(idle_pid, SIGTERM);
	cr_assert_eq(h_wait(idle_pid, 30000), 0, "the client did not end cleanly");
}
