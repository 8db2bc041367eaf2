/*
 * test_stats.c - `mpshim stats` against real processes on loopback: an
 * unmodified curl under the shim downloading through mpshim-proxyd over
 * two subflows, asked while the transfer runs.
 *
 * Checks that both processes answer with their connection and subflows
 * (bytes on each, RTT), that the table names them, that plain TCP relays
 * (a fallback, a plain client of proxyd) are listed the same way, that
 * another user is refused, that a stopped process costs the timeout and
 * not a hang, and that stats_socket = off hides a process.  proxyd runs
 * the roundrobin scheduler so that both subflows carry the download.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "../../src/tools/json.h"

/* More than any HTTP request or response header: the download itself. */
#define MIN_BYTES	10000

static int http_port, proxy_port;
static pid_t proxyd_pid;

static void setup(void)
{
	char hport[16], listen[64], backend[64];
	char *httpd[] = { "python3", (char *)h_httpd(), "--port", hport, "--dir",
			  (char *)h_tmpdir(), NULL };
	char *proxyd[] = { (char *)h_proxyd(), "--listen", listen, "--backend", backend,
			   NULL };
	char *penv[] = { "MPSHIM_SCHEDULER=roundrobin", NULL };

	cr_assert(h_tmpdir()[0], "no scratch directory");
	cr_assert_not_null(h_make_file("blob", 64u << 20, 17));
	http_port = h_free_port();
	snprintf(hport, sizeof(hport), "%d", http_port);
	cr_assert_gt(h_spawn(httpd, NULL, NULL), 0);
	cr_assert(h_wait_port(http_port, 5000), "httpd did not start");
	proxy_port = h_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", proxy_port);
	snprintf(backend, sizeof(backend), "127.0.0.1:%d", http_port);
	proxyd_pid = h_spawn(proxyd, penv, NULL);
	cr_assert_gt(proxyd_pid, 0);
	cr_assert(h_wait_port(proxy_port, 5000), "proxyd did not start");
}

static void teardown(void)
{
	h_cleanup();
}

TestSuite(stats, .init = setup, .fini = teardown, .timeout = 90);

/* curl downloading from port slowly enough to be asked mid-way: under
 * the shim (upgrading that port) or not; extra is one more "K=V" (or
 * NULL). */
static pid_t slow_curl_to(int port, bool shim, const char *extra)
{
	static char url[128], out[512], pre[600], up[80];
	char *argv[] = { "curl", "-sS", "--max-time", "60", "--limit-rate", "2M",
			 "-o", out, url, NULL };
	char *env[] = { pre, up, "MPSHIM_SUBFLOWS=2", (char *)extra, NULL };
	pid_t pid;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/blob", port);
	snprintf(out, sizeof(out), "%s/out-%d", h_tmpdir(), port);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%d", port);
	pid = h_spawn(argv, shim ? env : NULL, NULL);
	cr_assert_gt(pid, 0);
	return pid;
}

static pid_t slow_curl(const char *extra)
{
	return slow_curl_to(proxy_port, true, extra);
}

struct run {
	int status;		/* exit status, -1 timeout */
	int ms;			/* how long it took */
	char *out, *err;	/* what it printed (malloc'ed, may be "") */
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static char *slurp_or_empty(const char *path)
{
	char *s = h_slurp(path);

	return s ? s : strdup("");
}

/*
 * Run the tool, optionally as user nobody (setpriv), with stdout and
 * stderr kept apart: --json output must be nothing but JSON.
 */
static void run_tool(struct run *r, bool as_nobody, char *const args[])
{
	char out[512], err[512];
	char *argv[24];
	struct timespec t0, t1;
	int n = 0, fo, fe;
	pid_t pid;

	if (as_nobody) {
		argv[n++] = "setpriv";
		argv[n++] = "--reuid=65534";
		argv[n++] = "--regid=65534";
		argv[n++] = "--clear-groups";
	}
	argv[n++] = (char *)h_mpshim();
	argv[n++] = "stats";
	for (int i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/tool.out", h_tmpdir());
	snprintf(err, sizeof(err), "%s/tool.err", h_tmpdir());
	fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(fo >= 0 && fe >= 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setpgid(0, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fo);
	close(fe);
	r->status = h_wait(pid, 15000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->ms = (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	r->out = slurp_or_empty(out);
	r->err = slurp_or_empty(err);
}

/* The line of `--json` output whose "pid" is pid, parsed (NULL: none). */
static struct mps_json *json_for(const char *out, pid_t pid)
{
	char *copy = strdup(out), *line, *save = NULL;
	struct mps_json *found = NULL;

	cr_assert_not_null(copy);
	for (line = strtok_r(copy, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		struct mps_json *v;
		char err[128];

		cr_assert_eq(mps_json_parse(line, strlen(line), &v, err, sizeof(err)), 0,
			     "not a JSON line (%s): %s", err, line);
		if (mps_json_u64(v, "pid", 0) == (uint64_t)pid)
			found = v;
		else
			mps_json_free(v);
	}
	free(copy);
	return found;
}

/*
 * The first connection of snap with `role`, `fallback` (NULL: a
 * multipath one, "*": a plain relay for any reason) and at least `n_sf`
 * subflows that each carried more than MIN_BYTES in `dir` ("bytes_recv"
 * or "bytes_sent").
 */
static const struct mps_json *find_connection(const struct mps_json *snap,
					      const char *role, const char *fallback,
					      const char *dir, int n_sf)
{
	const struct mps_json *conns = mps_json_get(snap, "connections");

	for (const struct mps_json *c = conns ? conns->child : NULL; c; c = c->next) {
		const struct mps_json *sfs = mps_json_get(c, "subflows");
		const char *fb = mps_json_str(c, "fallback");
		int carrying = 0;

		if (!mps_json_str(c, "role") || strcmp(mps_json_str(c, "role"), role) || !sfs)
			continue;
		if (fallback ? !fb || (strcmp(fallback, "*") && strcmp(fb, fallback)) :
		    fb != NULL)
			continue;
		for (const struct mps_json *sf = sfs->child; sf; sf = sf->next)
			if (mps_json_u64(sf, dir, 0) > MIN_BYTES)
				carrying++;
		if (carrying >= n_sf)
			return c;
	}
	return NULL;
}

static const struct mps_json *busy_connection(const struct mps_json *snap,
					      const char *role, const char *dir)
{
	return find_connection(snap, role, NULL, dir, 2);
}

/* Ask for pid until find_connection() finds one (the engine starts with
 * the first connect, the subflows a moment later). */
static struct mps_json *ask_until(pid_t pid, const char *role, const char *fallback,
				  const char *dir, int n_sf)
{
	char pidtxt[16];
	char *args[] = { "--json", pidtxt, NULL };

	snprintf(pidtxt, sizeof(pidtxt), "%d", (int)pid);
	for (int tries = 0; tries < 50; tries++) {
		struct run r;
		struct mps_json *v;

		run_tool(&r, false, args);
		v = r.status == 0 ? json_for(r.out, pid) : NULL;
		run_free(&r);
		if (v && find_connection(v, role, fallback, dir, n_sf))
			return v;
		mps_json_free(v);
		usleep(200 * 1000);
	}
	cr_assert_fail("pid %d never showed a %s connection (fallback %s) with %d "
		       "subflow(s) carrying %s", (int)pid, role, fallback ? fallback : "none",
		       n_sf, dir);
	return NULL;
}

static struct mps_json *ask_until_busy(pid_t pid, const char *role, const char *dir)
{
	return ask_until(pid, role, NULL, dir, 2);
}

Test(stats, shows_the_client_and_proxyd_while_they_transfer)
{
	pid_t curl = slow_curl(NULL);
	struct mps_json *v = ask_until_busy(curl, "client", "bytes_recv");
	const struct mps_json *c = busy_connection(v, "client", "bytes_recv"), *sf;
	char *scan_args[] = { "--json", NULL };
	char pidtxt[16];
	char *table_args[] = { pidtxt, NULL };
	char want[64];
	struct run r;
	bool rtt = false;

	/* the process and its meta connection */
	cr_assert_eq(mps_json_u64(v, "mpshim_stats", 0), 1);
	cr_assert_str_eq(mps_json_str(v, "comm"), "curl");
	cr_assert_str_eq(mps_json_str(c, "state"), "established");
	snprintf(want, sizeof(want), "127.0.0.1:%d", proxy_port);
	cr_assert_str_eq(mps_json_str(c, "peer"), want);
	cr_assert_gt(mps_json_u64(c, "bytes_recv", 0), 0);
	cr_assert_not_null(mps_json_str(c, "scheduler"));
	/* its subflows: active, to proxyd, with bytes and an RTT */
	cr_assert_geq(mps_json_get(c, "subflows")->n, 2);
	for (sf = mps_json_get(c, "subflows")->child; sf; sf = sf->next) {
		cr_assert_str_eq(mps_json_str(sf, "state"), "active");
		cr_assert_str_eq(mps_json_str(sf, "remote"), want);
		rtt |= mps_json_u64(sf, "srtt_us", 0) > 0;
	}
	cr_assert(rtt, "no subflow has an RTT");
	mps_json_free(v);

	/* proxyd is an engine too: its side of the same connection */
	v = ask_until_busy(proxyd_pid, "server", "bytes_sent");
	cr_assert_str_eq(mps_json_str(v, "comm"), "mpshim-proxyd");
	mps_json_free(v);

	/* without PIDs: found through /proc/net/unix, one line each */
	run_tool(&r, false, scan_args);
	cr_assert_eq(r.status, 0, "scan failed: %s", r.err);
	v = json_for(r.out, curl);
	cr_assert_not_null(v, "the scan missed curl:\n%s", r.out);
	mps_json_free(v);
	v = json_for(r.out, proxyd_pid);
	cr_assert_not_null(v, "the scan missed proxyd:\n%s", r.out);
	mps_json_free(v);
	run_free(&r);

	/* the table */
	snprintf(pidtxt, sizeof(pidtxt), "%d", (int)curl);
	run_tool(&r, false, table_args);
	cr_assert_eq(r.status, 0, "%s", r.err);
	snprintf(want, sizeof(want), "PID %d curl: ", (int)curl);
	cr_assert(strstr(r.out, want), "%s", r.out);
	cr_assert(strstr(r.out, "  client  established  127.0.0.1:"), "%s", r.out);
	cr_assert(strstr(r.out, "SUBFLOW  STATE"), "%s", r.out);
	cr_assert(strstr(r.out, "  active  "), "%s", r.out);
	run_free(&r);
}

/* A shim fallback and a plain client of proxyd are listed as plain
 * relays, each told from its side like the multipath connections. */
Test(stats, plain_relays_are_listed)
{
	pid_t fallback = slow_curl_to(http_port, true, NULL);
	char want[64];
	struct mps_json *v;
	const struct mps_json *c, *sf;

	/* and a curl without the shim through proxyd */
	slow_curl_to(proxy_port, false, NULL);

	/* the shim found no mpshim at httpd's port (the reason depends on
	 * how httpd takes a HELLO): a fallback, which sent the request and
	 * receives the download */
	v = ask_until(fallback, "client", "*", "bytes_recv", 1);
	c = find_connection(v, "client", "*", "bytes_recv", 1);
	cr_assert_str_eq(mps_json_str(c, "state"), "plain");
	snprintf(want, sizeof(want), "127.0.0.1:%d", http_port);
	cr_assert_str_eq(mps_json_str(c, "peer"), want);
	cr_assert_gt(mps_json_u64(c, "bytes_sent", 0), 0, "the request");
	cr_assert_lt(mps_json_u64(c, "bytes_sent", 0), MIN_BYTES, "only the request");
	mps_json_free(v);

	/* proxyd relays the plain curl: peer the backend, sent toward the
	 * client, and the client's own connection as its one subflow */
	v = ask_until(proxyd_pid, "server", "plain client", "bytes_sent", 1);
	c = find_connection(v, "server", "plain client", "bytes_sent", 1);
	cr_assert_str_eq(mps_json_str(c, "peer"), want);
	cr_assert_gt(mps_json_u64(c, "bytes_recv", 0), 0, "the request");
	cr_assert_lt(mps_json_u64(c, "bytes_recv", 0), MIN_BYTES, "only the request");
	sf = mps_json_get(c, "subflows")->child;
	snprintf(want, sizeof(want), "127.0.0.1:%d", proxy_port);
	cr_assert_str_eq(mps_json_str(sf, "local"), want);
	cr_assert(strncmp(mps_json_str(sf, "remote"), "127.0.0.1:", 10) == 0 &&
		  strcmp(mps_json_str(sf, "remote"), want), "remote %s",
		  mps_json_str(sf, "remote"));
	mps_json_free(v);
}

Test(stats, another_user_is_refused)
{
	char pidtxt[16];
	char *args[] = { "--json", pidtxt, NULL };
	struct mps_json *v;
	struct run r;
	pid_t curl;

	if (geteuid() != 0 || system("setpriv --version >/dev/null 2>&1") != 0)
		cr_skip_test("needs root and setpriv to ask as another user");
	curl = slow_curl(NULL);
	/* it answers its own user */
	v = ask_until_busy(curl, "client", "bytes_recv");
	mps_json_free(v);
	/* and refuses nobody, saying so */
	snprintf(pidtxt, sizeof(pidtxt), "%d", (int)curl);
	run_tool(&r, true, args);
	cr_assert_eq(r.status, 1, "exit %d\nstdout: %s\nstderr: %s", r.status, r.out, r.err);
	cr_assert_str_eq(r.out, "", "a refused process printed data");
	cr_assert(strstr(r.err, "permission denied"), "%s", r.err);
	cr_assert(strstr(r.err, pidtxt), "%s", r.err);
	run_free(&r);
}

Test(stats, stopped_process_costs_the_timeout_not_a_hang)
{
	pid_t curl = slow_curl(NULL);
	char pidtxt[16];
	char *args[] = { "--timeout", "300", pidtxt, NULL };
	struct mps_json *v;
	struct run r;

	v = ask_until_busy(curl, "client", "bytes_recv");
	mps_json_free(v);
	snprintf(pidtxt, sizeof(pidtxt), "%d", (int)curl);
	cr_assert_eq(kill(curl, SIGSTOP), 0);
	run_tool(&r, false, args);
	kill(curl, SIGCONT);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "no answer within 300 ms"), "%s", r.err);
	cr_assert_lt(r.ms, 3000, "took %d ms", r.ms);
	run_free(&r);
	/* and the engine is fine afterwards */
	v = ask_until_busy(curl, "client", "bytes_recv");
	mps_json_free(v);
}

Test(stats, stats_socket_off_hides_the_process)
{
	pid_t curl = slow_curl("MPSHIM_STATS_SOCKET=off");
	char pidtxt[16];
	char *args[] = { pidtxt, NULL };
	struct run r;

	/* proxyd's side says the connection is up and running */
	mps_json_free(ask_until_busy(proxyd_pid, "server", "bytes_sent"));
	snprintf(pidtxt, sizeof(pidtxt), "%d", (int)curl);
	run_tool(&r, false, args);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err, "no stats socket"), "%s", r.err);
	run_free(&r);
}
