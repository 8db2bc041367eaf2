/*
 * test_paths.c - the shim over emulated paths of the test bed: two paths
 * with different delays and rates, curl under the shim in the client
 * namespace, mpshim-proxyd and a plain HTTP server in the server namespace.
 *
 * Each test makes its own topology (named after the pid) and removes it in
 * the fini, also when an assertion fails.  Skipped where network
 * namespaces cannot be made.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"

/* the test's topology; the names below are its fields */
static struct h_testbed tb;
static char *const tb_name = tb.name;
static char *const cli_ns = tb.cli_ns, *const srv_ns = tb.srv_ns;
static char (*const cli_addr)[32] = tb.cli_addr, (*const srv_addr)[32] = tb.srv_addr;
static char (*const cli_if)[32] = tb.cli_if;

static void topology_up(const char *spec1, const char *spec2)
{
	if (!h_netns_ok())
		cr_skip_test("needs root and network namespaces");
	cr_assert(h_testbed_up(&tb, "mpstp", spec1, spec2), "mps-testbed up failed");
	cr_assert(h_testbed_cubic(&tb), "cannot pin congestion control to cubic");
}

static void fini(void)
{
	h_cleanup();
	if (!h_testbed_down(&tb))
		cr_log_warn("mps-testbed down failed for %s", tb_name);
}

/* Server side: httpd on 127.0.0.1:8080 and proxyd on SERVER_ADDR_1:8443;
 * sched_env (may be NULL) is an extra MPSHIM_* setting for proxyd. */
static char proxyd_env[96] = "MPSHIM_LOG=info";

static void servers_up(const char *proxyd_stats, const char *proxyd_log)
{
	char listen[64];
	char *httpd[] = { "ip", "netns", "exec", srv_ns, "python3", (char *)h_httpd(),
			  "--bind", "127.0.0.1", "--port", "8080", "--dir",
			  (char *)h_tmpdir(), NULL };
	char *proxyd[] = { "ip", "netns", "exec", srv_ns, "env",
			   "MPSHIM_SUBFLOW_TIMEOUT=1500ms", proxyd_env, (char *)h_proxyd(),
			   "--listen", listen, "--backend", "127.0.0.1:8080",
			   "--stats-file", (char *)proxyd_stats, "--log-level", "info",
			   NULL };
	snprintf(listen, sizeof(listen), "%s:8443", srv_addr[0]);
	cr_assert_gt(h_spawn(httpd, NULL, NULL), 0);
	cr_assert_gt(h_spawn(proxyd, NULL, proxyd_log), 0);
	cr_assert(h_netns_wait_port(srv_ns, 8443, 5000) && h_netns_wait_port(srv_ns, 8080, 5000),
		  "servers did not start");
}

/* curl under the shim in the client namespace, one subflow per path;
 * client_env and client_env2 are more MPSHIM_* settings.  args are
 * curl's own (NULL-terminated, at most 12). */
static char client_env[96] = "MPSHIM_LOG=info";
static char client_env2[96] = "MPSHIM_LOG=info";

static pid_t shim_curl_args(char *const *args, const char *stats, const char *log)
{
	static char env_up[96], env_local[96], env_stats[600], pre[600];
	char *argv[32] = { "ip", "netns", "exec", cli_ns, "env", pre, env_up, env_local,
			   env_stats, "MPSHIM_LOG=info", client_env, client_env2,
			   "MPSHIM_SUBFLOW_TIMEOUT=1500ms", "curl", "-sS", "--max-time", "90" };
	unsigned n = 17;

	for (unsigned i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(env_up, sizeof(env_up), "MPSHIM_UPGRADE=%s:8443", srv_addr[0]);
	/* interfaces by name: the path manager resolves their addresses */
	snprintf(env_local, sizeof(env_local), "MPSHIM_LOCAL=%s,%s", cli_if[0],
		 cli_if[1]);
	snprintf(env_stats, sizeof(env_stats), "MPSHIM_STATS_FILE=%s", stats);
	return h_spawn(argv, NULL, log);
}

/* http://SERVER_ADDR_1:8443/<name>, in a static buffer of its own per slot. */
static char *blob_url(unsigned slot, const char *name)
{
	static char url[2][128];

	snprintf(url[slot], sizeof(url[slot]), "http://%s:8443/%s", srv_addr[0], name);
	return url[slot];
}

static pid_t shim_curl(const char *out, const char *stats, const char *log)
{
	char *args[] = { "-o", (char *)out, blob_url(0, "blob"), NULL };

	return shim_curl_args(args, stats, log);
}

static void assert_same_file(const char *a, const char *b)
{
	char ha[65], hb[65];

	cr_assert(h_sha256_file(a, ha));
	cr_assert(h_sha256_file(b, hb), "no output");
	cr_assert_str_eq(ha, hb, "bytes differ");
}

/* Files of one transfer test, all in the scratch directory. */
struct xfer {
	char out[512], stats[512], pstats[512], plog[512], clog[512];
	const char *file;	/* what the server serves as /blob */
};

/* Make the blob, start the servers, and start curl under the shim
 * (unless !curl: the caller starts its own). */
static pid_t xfer_start(struct xfer *x, size_t size, unsigned seed, bool curl)
{
	pid_t pid;

	x->file = h_make_file("blob", size, seed);
	snprintf(x->out, sizeof(x->out), "%s/out", h_tmpdir());
	snprintf(x->stats, sizeof(x->stats), "%s/client.json", h_tmpdir());
	snprintf(x->pstats, sizeof(x->pstats), "%s/proxyd.json", h_tmpdir());
	snprintf(x->plog, sizeof(x->plog), "%s/proxyd.log", h_tmpdir());
	snprintf(x->clog, sizeof(x->clog), "%s/curl.log", h_tmpdir());
	servers_up(x->pstats, x->plog);
	if (!curl)
		return 0;
	pid = shim_curl(x->out, x->stats, x->clog);
	cr_assert_gt(pid, 0);
	return pid;
}

/* curl must finish, the bytes must be intact; the client's stats line
 * goes to *s (and proxyd's to *ps when not NULL). */
static void xfer_finish(struct xfer *x, pid_t pid, struct h_stats *s,
			struct h_stats *ps)
{
	int n = 0;

	cr_assert_eq(h_wait(pid, 120000), 0, "curl failed");
	assert_same_file(x->file, x->out);
	usleep(300 * 1000);
	cr_assert_eq(h_stats_read(x->stats, s, 1), 1, "no client stats line");
	if (!ps)
		return;
	/* proxyd writes its line once every subflow has closed: on a lossy
	 * path a FIN may wait for a retransmission, longer under sanitizers */
	for (int t = 0; t < 100 && n != 1; t++) {
		n = h_stats_read(x->pstats, ps, 1);
		if (n != 1)
			usleep(100 * 1000);
	}
	cr_assert_eq(n, 1, "no proxyd stats line within 10 s");
}

/* Run a test bed event on path 1 ("blackhole", "down", ...). */
static void path1_event(const char *what)
{
	cr_assert_eq(h_testbed_event(&tb, 1, what), 0, "event %s failed", what);
}

TestSuite(paths, .fini = fini, .timeout = 150);

Test(paths, two_paths_different_delays_both_carry_data)
{
	struct xfer x;
	struct h_stats s;
	uint64_t total;
	pid_t curl;

	topology_up("rate=40mbit,delay=10ms", "rate=20mbit,delay=30ms");
	curl = xfer_start(&x, 24u << 20, 11, true);
	xfer_finish(&x, curl, &s, NULL);
	cr_assert_eq(s.n_sf, 2, "one subflow per path expected");
	total = s.sf[0].recv + s.sf[1].recv;
	cr_log_info("path 1: %llu bytes, path 2: %llu bytes",
		    (unsigned long long)s.sf[0].recv, (unsigned long long)s.sf[1].recv);
	for (int i = 0; i < 2; i++)
		cr_assert_gt(s.sf[i].recv * 10, total, "path %d carried under 10%%", i + 1);
}

Test(paths, blackholed_path_mid_transfer_completes_intact)
{
	struct xfer x;
	struct h_stats s, ps;
	pid_t curl;

	topology_up("rate=30mbit,delay=10ms", "rate=30mbit,delay=20ms");
	curl = xfer_start(&x, 24u << 20, 12, true);
	usleep(1500 * 1000);
	path1_event("blackhole");	/* packets vanish; the link stays up */
	xfer_finish(&x, curl, &s, &ps);
	cr_assert_gt(ps.reinjected, 0,
		     "data in flight on the blackholed path must be sent again");
	/* the stalled subflow's data goes again before liveness ends it */
	cr_assert_gt(ps.deadline, 0, "no deadline reinjection from the stalled path");
	cr_log_info("reinjected %llu bytes, %llu of them queued by the deadline",
		    (unsigned long long)ps.reinjected, (unsigned long long)ps.deadline);
}

/* The subflows of one path, by the client's address `addr`: in the
 * client's stats (its local address; bytes received) or in proxyd's (the
 * remote one; bytes sent).  Returns the bytes, *n the subflows. */
static uint64_t path_bytes(const struct h_stats *s, const char *addr, bool proxyd,
			   unsigned *n)
{
	uint64_t bytes = 0;
	size_t len = strlen(addr);

	*n = 0;
	for (int i = 0; i < s->n_sf; i++) {
		const char *a = proxyd ? s->sf[i].remote : s->sf[i].local;

		if (!strncmp(a, addr, len) && a[len] == ':') {
			bytes += proxyd ? s->sf[i].sent : s->sf[i].recv;
			(*n)++;
		}
	}
	return bytes;
}

/* Subflows from addr still up when the connection closed (the records
 * of those that failed before are not counted). */
static unsigned live_on(const struct h_stats *s, const char *addr)
{
	size_t len = strlen(addr);
	unsigned n = 0;

	for (int i = 0; i < s->n_sf; i++)
		if (!strncmp(s->sf[i].local, addr, len) && s->sf[i].local[len] == ':' &&
		    (!strcmp(s->sf[i].end, "peer closed") || !strcmp(s->sf[i].end, "meta closed")))
			n++;
	return n;
}

/*
 * A slow path with a full send queue is slow, not stalled: its frames wait
 * in the kernel longer than the deadline, but its TCP keeps making
 * progress, so nothing of it is copied onto the fast path.  (Timing frames
 * from their first write copied most of such a path's data.)
 */
Test(paths, slow_path_queue_is_not_copied_by_the_deadline)
{
	struct xfer x;
	struct h_stats s, ps;
	unsigned n1, n2;
	uint64_t p2;
	pid_t curl;

	topology_up("rate=40mbit,delay=5ms", "rate=2mbit,delay=20ms");
	curl = xfer_start(&x, 24u << 20, 22, true);
	xfer_finish(&x, curl, &s, &ps);
	path_bytes(&s, cli_addr[0], false, &n1);
	p2 = path_bytes(&s, cli_addr[1], false, &n2);
	cr_log_info("slow path: %llu bytes; deadline reinjection %llu bytes",
		    (unsigned long long)p2, (unsigned long long)ps.deadline);
	cr_assert_gt(p2, 256 * 1024, "the slow path carried too little to tell");
	cr_assert_lt(ps.deadline * 20, p2,
		     "%llu of the slow path's %llu bytes were copied by the deadline",
		     (unsigned long long)ps.deadline, (unsigned long long)p2);
}

/*
 * A path that loses packets at random but builds no queue: one cubic flow
 * there reaches a fraction of its rate, so proxyd, the sender, asks for
 * more subflows on it (GROW) and the client opens them from that path's
 * address, one at a time.  The path with a queue keeps its one subflow.
 */
Test(paths, lossy_path_grows_subflows)
{
	struct xfer x;
	struct h_stats s, ps;
	unsigned n1, n2;
	pid_t curl;

	topology_up("rate=10mbit,delay=5ms", "rate=10mbit,delay=30ms,loss=1%");
	curl = xfer_start(&x, 20u << 20, 23, true);
	xfer_finish(&x, curl, &s, &ps);
	path_bytes(&s, cli_addr[0], false, &n1);
	path_bytes(&s, cli_addr[1], false, &n2);
	cr_log_info("subflows: %u on path 1, %u on the lossy path; %llu grows",
		    n1, n2, (unsigned long long)ps.grows);
	cr_assert_geq(ps.grows, 1, "proxyd never found the lossy path loss-limited");
	cr_assert_geq(n2, 2, "the lossy path did not grow (%u subflows)", n2);
	cr_assert_eq(n1, 1, "the path with a queue grew (%u subflows)", n1);
	/* lossy_subflows bounds the subflows a path has at once: one that
	 * failed (a 1% loss path under load) and was opened again is a
	 * record more, not a subflow more */
	cr_assert_leq(live_on(&s, cli_addr[1]), 6,
		      "more than lossy_subflows on one path at the end (%u records)", n2);
}

/* A destination whose SYNs vanish: connect() fails with ETIMEDOUT after
 * connect_timeout, blocking or not, as TCP's own timeout would. */
static void connect_timeout_case(const char *mode)
{
	char port[16], pre[600], up[96], path[600], log[512];
	char *argv[] = { "ip", "netns", "exec", cli_ns, "env", pre, up,
			 "MPSHIM_CONNECT_TIMEOUT=700ms", "MPSHIM_LOG=info", path,
			 (char *)mode, srv_addr[0], port, "timedout", NULL };
	int rc;
	char *text;

	topology_up("rate=50mbit,delay=5ms", "rate=50mbit,delay=5ms");
	path1_event("blackhole");
	snprintf(port, sizeof(port), "%d", 9);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=%s:9", srv_addr[0]);
	snprintf(path, sizeof(path), "%s/tests/helpers/mps-client", h_builddir());
	snprintf(log, sizeof(log), "%s/client.log", h_tmpdir());
	rc = h_wait(h_spawn(argv, NULL, log), 20000);
	text = h_slurp(log);
	cr_assert_eq(rc, 0, "mps-client %s: exit %d\n%s", mode, rc, text ? text : "");
	free(text);
}

Test(paths, blocking_connect_times_out) { connect_timeout_case("blocking"); }
Test(paths, nonblocking_connect_times_out) { connect_timeout_case("poll"); }

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Bytes received on subflows from local address addr that joined after
 * the first two: a path that came back. */
static uint64_t late_bytes_on(const struct h_stats *s, const char *addr)
{
	uint64_t n = 0;

	for (int i = 2; i < s->n_sf; i++)
		if (starts_with(s->sf[i].local, addr) && strcmp(s->sf[i].end, "interface down"))
			n += s->sf[i].recv;
	return n;
}

/* The client's interface goes down: the shim hears it from rtnetlink,
 * fails that subflow at once and tells proxyd with REMOVE_ADDR, which
 * stops sending there without waiting for its own liveness check. */
Test(paths, link_down_is_seen_at_once_by_both_ends)
{
	struct xfer x;
	struct h_stats s, ps;
	bool client_saw = false, server_told = false;
	pid_t curl;

	topology_up("rate=30mbit,delay=10ms", "rate=30mbit,delay=20ms");
	curl = xfer_start(&x, 24u << 20, 13, true);
	usleep(1500 * 1000);
	path1_event("down");
	xfer_finish(&x, curl, &s, &ps);
	for (int i = 0; i < s.n_sf; i++)
		client_saw |= !strcmp(s.sf[i].end, "interface down");
	for (int i = 0; i < ps.n_sf; i++)
		server_told |= !strcmp(ps.sf[i].end, "peer removed its address");
	cr_assert(client_saw, "the client did not see the interface go down");
	cr_assert(server_told, "proxyd was not told by REMOVE_ADDR");
}

/* A blackholed path that comes back is used again: the client keeps
 * trying it with backoff and a new subflow joins and carries data. */
Test(paths, path_is_used_again_after_it_returns)
{
	struct xfer x;
	struct h_stats s;
	uint64_t late_path1;
	pid_t curl;

	topology_up("rate=20mbit,delay=10ms", "rate=20mbit,delay=20ms");
	/* ~12 s at 40 Mbit/s: room for the outage and the return */
	curl = xfer_start(&x, 56u << 20, 14, true);
	usleep(1500 * 1000);
	path1_event("blackhole");
	usleep(2500 * 1000);
	path1_event("unblackhole");
	xfer_finish(&x, curl, &s, NULL);
	late_path1 = late_bytes_on(&s, cli_addr[0]);
	cr_assert_gt(late_path1, 0, "path 1 carried nothing after it returned (%d subflows)",
		     s.n_sf);
	cr_log_info("path 1 after its return: %llu bytes", (unsigned long long)late_path1);
}

/*
 * Path 1 is dark before the connection is opened.  Its first subflow must
 * not wait there for connect_timeout (3 s, longer than curl's own connect
 * timeout of 2 s): after connect_stagger the next path tries too, and wins.
 */
Test(paths, first_subflow_races_past_a_dead_path)
{
	struct xfer x;
	struct h_stats s;
	char *args[] = { "--connect-timeout", "2", "-o", x.out, NULL, NULL };
	pid_t curl;

	topology_up("rate=30mbit,delay=10ms", "rate=30mbit,delay=20ms");
	path1_event("blackhole");
	snprintf(client_env, sizeof(client_env), "MPSHIM_CONNECT_TIMEOUT=3s");
	args[4] = blob_url(0, "blob");
	xfer_start(&x, 4u << 20, 19, false);
	curl = shim_curl_args(args, x.stats, x.clog);
	cr_assert_gt(curl, 0);
	xfer_finish(&x, curl, &s, NULL);
	cr_assert_geq(s.n_sf, 1);
	cr_assert(starts_with(s.sf[0].local, cli_addr[1]),
		  "first subflow from %s, not from path 2", s.sf[0].local);
	cr_assert_gt(s.sf[0].recv, 0);
}

/*
 * One curl, two connections (Connection: close).  Path 1 dies during the
 * first; the second must start on path 2 straight away: no stagger
 * rescues it, and curl's connect timeout (1 s) is shorter than a SYN on
 * the dead path takes to fail (subflow_timeout 1.5 s), so only the
 * engine's memory of the failed path gets it through.
 */
Test(paths, new_connection_avoids_a_path_that_failed)
{
	char out1[512], out2[512], stats[512], pstats[512], plog[512], clog[512];
	char big[512], small[512];
	char *args[] = { "--connect-timeout", "1", "-H", "Connection: close",
			 "-o", out1, NULL, "-o", out2, NULL, NULL };
	struct h_stats s[2];
	pid_t curl;
	char *log;

	topology_up("rate=20mbit,delay=10ms", "rate=20mbit,delay=20ms");
	args[6] = blob_url(0, "big");
	args[9] = blob_url(1, "small");
	/* h_make_file's answer lives in one static buffer */
	snprintf(big, sizeof(big), "%s", h_make_file("big", 24u << 20, 20));
	snprintf(small, sizeof(small), "%s", h_make_file("small", 1u << 20, 21));
	snprintf(out1, sizeof(out1), "%s/out1", h_tmpdir());
	snprintf(out2, sizeof(out2), "%s/out2", h_tmpdir());
	snprintf(stats, sizeof(stats), "%s/client.json", h_tmpdir());
	snprintf(pstats, sizeof(pstats), "%s/proxyd.json", h_tmpdir());
	snprintf(plog, sizeof(plog), "%s/proxyd.log", h_tmpdir());
	snprintf(clog, sizeof(clog), "%s/curl.log", h_tmpdir());
	snprintf(client_env, sizeof(client_env), "MPSHIM_CONNECT_TIMEOUT=20s");
	snprintf(client_env2, sizeof(client_env2), "MPSHIM_CONNECT_STAGGER=0");
	servers_up(pstats, plog);
	curl = shim_curl_args(args, stats, clog);
	cr_assert_gt(curl, 0);
	usleep(1500 * 1000);
	path1_event("blackhole");
	log = NULL;
	if (h_wait(curl, 120000) != 0)
		log = h_slurp(clog);
	cr_assert_null(log, "curl failed:\n%s", log);
	assert_same_file(big, out1);
	assert_same_file(small, out2);
	usleep(300 * 1000);
	cr_assert_eq(h_stats_read(stats, s, 2), 2, "two connections expected");
	cr_assert(starts_with(s[1].sf[0].local, cli_addr[1]),
		  "second connection started from %s", s[1].sf[0].local);
}

/* A download through proxyd with its scheduler set: intact, both paths
 * (the lossy one may have grown subflows, lossy.c). */
static void scheduler_case(const char *sched, uint64_t size)
{
	struct xfer x;
	struct h_stats s, ps;
	uint64_t sent[2];
	unsigned n[2];
	pid_t curl;

	topology_up("rate=30mbit,delay=10ms", "rate=15mbit,delay=30ms,loss=0.5%");
	snprintf(proxyd_env, sizeof(proxyd_env), "MPSHIM_SCHEDULER=%s", sched);
	curl = xfer_start(&x, size, 15, true);
	xfer_finish(&x, curl, &s, &ps);
	for (int i = 0; i < 2; i++) {
		sent[i] = path_bytes(&ps, cli_addr[i], true, &n[i]);
		cr_assert_gt(sent[i], 0, "%s left path %d unused", sched, i + 1);
	}
	cr_assert_eq(n[0] + n[1], (unsigned)ps.n_sf, "a subflow on neither path");
	cr_log_info("%s: path 1 %llu bytes (%u subflows), path 2 %llu bytes (%u)", sched,
		    (unsigned long long)sent[0], n[0], (unsigned long long)sent[1], n[1]);
	snprintf(proxyd_env, sizeof(proxyd_env), "MPSHIM_LOG=info");
}

Test(paths, scheduler_minrtt_heterogeneous) { scheduler_case("minrtt", 16u << 20); }
Test(paths, scheduler_ecf_heterogeneous) { scheduler_case("ecf", 16u << 20); }
Test(paths, scheduler_roundrobin_heterogeneous) { scheduler_case("roundrobin", 16u << 20); }
Test(paths, scheduler_redundant_heterogeneous) { scheduler_case("redundant", 4u << 20); }

/* A backup path carries no data while the regular path works, and the
 * whole transfer when the regular path goes down. */
static void backup_case(bool fail_primary)
{
	struct xfer x;
	struct h_stats s, ps;
	pid_t curl;

	topology_up("rate=20mbit,delay=10ms", "rate=20mbit,delay=10ms");
	/* written as in MPSHIM_LOCAL: by interface name */
	snprintf(client_env, sizeof(client_env), "MPSHIM_BACKUP=%s", cli_if[1]);
	curl = xfer_start(&x, 12u << 20, 16, true);
	if (fail_primary) {
		usleep(1500 * 1000);
		path1_event("down");
	}
	xfer_finish(&x, curl, &s, &ps);
	/* proxyd's second subflow is the one that joined from the backup */
	cr_assert_geq(ps.n_sf, 2);
	if (fail_primary)
		cr_assert_gt(ps.sf[1].sent, 4u << 20, "the backup did not take over (%llu bytes)",
			     (unsigned long long)ps.sf[1].sent);
	else
		cr_assert_eq(ps.sf[1].sent, 0, "the backup carried %llu bytes",
			     (unsigned long long)ps.sf[1].sent);
	snprintf(client_env, sizeof(client_env), "MPSHIM_LOG=info");
}

Test(paths, backup_path_idle_while_primary_works) { backup_case(false); }
Test(paths, backup_path_takes_over_when_primary_dies) { backup_case(true); }

/* An interface goes down during a transfer and comes back: rtnetlink
 * tells the shim both times, and the path carries data again. */
Test(paths, interface_down_and_up_again_during_a_transfer)
{
	struct xfer x;
	struct h_stats s;
	bool saw_down = false;
	pid_t curl;

	topology_up("rate=20mbit,delay=10ms", "rate=20mbit,delay=20ms");
	curl = xfer_start(&x, 56u << 20, 17, true);
	usleep(1500 * 1000);
	path1_event("down");
	usleep(2000 * 1000);
	path1_event("up");
	xfer_finish(&x, curl, &s, NULL);
	for (int i = 0; i < s.n_sf; i++)
		saw_down |= starts_with(s.sf[i].local, cli_addr[0]) &&
			    !strcmp(s.sf[i].end, "interface down");
	cr_assert(saw_down, "the interface going down was not noticed");
	cr_assert_gt(late_bytes_on(&s, cli_addr[0]), 0,
		     "path 1 unused after the interface came back");
}


/* Every subflow on one path (ndiffports) and that path goes dark for
 * 1.5 s: like TCP, the connection rides it out. */
Test(paths, single_path_blackout_is_ridden_out)
{
	char out[512], pstats[512], plog[512], url[128], pre[600], up[96];
	const char *file;
	char *cli[] = { "ip", "netns", "exec", cli_ns, "env", pre, up,
			"MPSHIM_SUBFLOWS=2", "curl", "-sS", "--max-time", "90", "-o", out,
			url, NULL };
	pid_t curl;

	topology_up("rate=30mbit,delay=10ms", "rate=30mbit,delay=10ms");
	file = h_make_file("blob", 20u << 20, 18);
	snprintf(out, sizeof(out), "%s/out", h_tmpdir());
	snprintf(pstats, sizeof(pstats), "%s/proxyd.json", h_tmpdir());
	snprintf(plog, sizeof(plog), "%s/proxyd.log", h_tmpdir());
	servers_up(pstats, plog);
	snprintf(url, sizeof(url), "http://%s:8443/blob", srv_addr[0]);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=%s:8443", srv_addr[0]);
	curl = h_spawn(cli, NULL, NULL);
	usleep(1500 * 1000);
	path1_event("blackhole");
	usleep(1500 * 1000);
	path1_event("unblackhole");
	cr_assert_eq(h_wait(curl, 120000), 0, "the connection did not survive");
	assert_same_file(file, out);
}

/*
 * An idle client through proxyd (tests/helpers/halfclose.py client):
 * connects, stays silent for idle_s, then sends 50 kB, half-closes and
 * checks the backend's digest of them.  With blackhole, path 1 goes dark 0.7 s
 * in.  heartbeat is the MPSHIM_HEARTBEAT of both ends.
 */
static void idle_client_run(const char *heartbeat, int idle_s, bool blackhole,
			    struct h_stats *s)
{
	char stats[512], plog[512], clog[512], listen[64], idle[16];
	char pre[600], up[96], env_local[96], env_stats[600], hc[600], hb[64];
	char *srv[] = { "ip", "netns", "exec", srv_ns, "python3", hc, "server",
			"--port", "8080", NULL };
	char *proxyd[] = { "ip", "netns", "exec", srv_ns, "env", hb, (char *)h_proxyd(),
			   "--listen", listen, "--backend", "127.0.0.1:8080", NULL };
	char *cli[] = { "ip", "netns", "exec", cli_ns, "env", pre, up, env_local,
			env_stats, hb, "python3", hc, "client", "--host", srv_addr[0],
			"--port", "8443", "--size", "50000", "--idle", idle, NULL };
	char *text;
	pid_t pid;
	int rc;

	snprintf(hb, sizeof(hb), "MPSHIM_HEARTBEAT=%s", heartbeat);
	snprintf(idle, sizeof(idle), "%d", idle_s);
	snprintf(hc, sizeof(hc), "%s/tests/helpers/halfclose.py", h_srcdir());
	snprintf(stats, sizeof(stats), "%s/client.json", h_tmpdir());
	snprintf(plog, sizeof(plog), "%s/proxyd.log", h_tmpdir());
	snprintf(clog, sizeof(clog), "%s/client.log", h_tmpdir());
	snprintf(listen, sizeof(listen), "%s:8443", srv_addr[0]);
	cr_assert_gt(h_spawn(srv, NULL, NULL), 0);
	/* a client that came before the backend listens would be refused */
	cr_assert(h_netns_wait_port(srv_ns, 8080, 5000), "the backend did not start");
	cr_assert_gt(h_spawn(proxyd, NULL, plog), 0);
	cr_assert(h_netns_wait_port(srv_ns, 8443, 5000), "proxyd did not start");
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=%s:8443", srv_addr[0]);
	snprintf(env_local, sizeof(env_local), "MPSHIM_LOCAL=%s,%s", cli_addr[0],
		 cli_addr[1]);
	snprintf(env_stats, sizeof(env_stats), "MPSHIM_STATS_FILE=%s", stats);
	pid = h_spawn(cli, NULL, clog);
	if (blackhole) {
		usleep(700 * 1000);
		path1_event("blackhole");
	}
	rc = h_wait(pid, 60000);
	text = h_slurp(clog);
	cr_assert_eq(rc, 0, "the idle connection did not survive (exit %d):\n%s", rc,
		     text ? text : "");
	free(text);
	cr_assert_eq(h_stats_read(stats, s, 1), 1);
}

/* An idle connection learns that a path died from its heartbeat PINGs,
 * before any data needs the path, and still works afterwards. */
Test(paths, heartbeat_finds_a_dead_idle_path)
{
	struct h_stats s;
	bool found = false;

	topology_up("rate=20mbit,delay=10ms", "rate=20mbit,delay=20ms");
	idle_client_run("1s", 5, true, &s);
	for (int i = 0; i < s.n_sf; i++)
		found |= starts_with(s.sf[i].local, cli_addr[0]) &&
			 !strcmp(s.sf[i].end, "no ACK (path dead)");
	cr_assert(found, "no heartbeat found path 1 dead while idle");
}

/* Long round trips: an idle connection's own heartbeats must not make it
 * look dead (the silence counts from when data became outstanding). */
Test(paths, idle_connection_survives_long_rtt_heartbeats)
{
	struct h_stats s;

	topology_up("rate=20mbit,delay=90ms", "rate=20mbit,delay=90ms");
	idle_client_run("300ms", 4, false, &s);
	for (int i = 0; i < s.n_sf; i++)
		cr_assert(strcmp(s.sf[i].end, "no ACK (path dead)"),
			  "a healthy idle subflow was declared dead");
}

/* local = "*": the client discovers its interfaces (getifaddrs) and opens
 * a subflow from each, with no addresses configured. */
Test(paths, discovered_interfaces_each_get_a_subflow)
{
	struct xfer x;
	struct h_stats s;
	bool seen[2] = { false, false };
	pid_t curl;

	topology_up("rate=30mbit,delay=10ms", "rate=30mbit,delay=15ms");
	snprintf(client_env, sizeof(client_env), "MPSHIM_LOCAL=*");
	curl = xfer_start(&x, 12u << 20, 19, true);
	xfer_finish(&x, curl, &s, NULL);
	for (int i = 0; i < s.n_sf; i++)
		for (int p = 0; p < 2; p++)
			if (starts_with(s.sf[i].local, cli_addr[p]) && s.sf[i].recv)
				seen[p] = true;
	cr_assert(seen[0] && seen[1], "not every interface carried data (%d subflows)",
		  s.n_sf);
	snprintf(client_env, sizeof(client_env), "MPSHIM_LOG=info");
}

/* path_subflows = 2: each of the two paths gets two subflows (distinct
 * source ports), and all four carry data of an intact transfer.  One
 * subflow per path is what the default gives: a regression that ignores
 * the key shows as two subflows. */
Test(paths, path_subflows_gives_each_path_several)
{
	struct xfer x;
	struct h_stats s;
	unsigned per_path[2] = { 0, 0 }, carried = 0;
	pid_t curl;

	topology_up("rate=30mbit,delay=10ms", "rate=30mbit,delay=20ms,loss=1%");
	snprintf(client_env, sizeof(client_env), "MPSHIM_PATH_SUBFLOWS=2");
	/* the count is path_subflows' alone: the lossy path does not grow */
	snprintf(client_env2, sizeof(client_env2), "MPSHIM_LOSSY_SUBFLOWS=1");
	curl = xfer_start(&x, 16u << 20, 23, true);
	xfer_finish(&x, curl, &s, NULL);
	for (int i = 0; i < s.n_sf; i++) {
		for (int p = 0; p < 2; p++)
			if (starts_with(s.sf[i].local, cli_addr[p]) &&
			    s.sf[i].local[strlen(cli_addr[p])] == ':')
				per_path[p]++;
		if (s.sf[i].recv)
			carried++;
		for (int k = 0; k < i; k++)
			cr_assert_str_neq(s.sf[i].local, s.sf[k].local,
					  "two subflows from one source port");
	}
	cr_log_info("%d subflows: %u on path 1, %u on path 2, %u carried data",
		    s.n_sf, per_path[0], per_path[1], carried);
	cr_assert_eq(per_path[0], 2, "path 1 has %u subflows", per_path[0]);
	cr_assert_eq(per_path[1], 2, "path 2 has %u subflows", per_path[1]);
	cr_assert_eq(carried, 4, "only %u of 4 subflows carried data", carried);
	snprintf(client_env, sizeof(client_env), "MPSHIM_LOG=info");
	snprintf(client_env2, sizeof(client_env2), "MPSHIM_LOG=info");
}
