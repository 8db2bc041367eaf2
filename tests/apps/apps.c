/*
 * apps.c - the fixture of the real-application suite (see apps.h).
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/logging.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "apps.h"

/* The two paths every test of the suite runs over: modest rates, so the
 * delay line keeps up on a shared 2-core machine, and unequal ones, so
 * the schedulers' choices matter. */
#define APP_PATH1	"rate=80mbit,delay=5ms"
#define APP_PATH2	"rate=60mbit,delay=10ms"

struct app_bed bed;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int app_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
}

const char *app_capture(const char *fmt, ...)
{
	static char line[1024];
	char cmd[4096];
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	line[0] = '\0';
	p = popen(cmd, "r");
	if (!p)
		return line;
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	pclose(p);
	return line;
}

static const char *testbed_script(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/testbed/mps-testbed", h_srcdir());
	return path;
}

/*
 * A test bed is named after the run (the runner's pid, which the PRE_ALL
 * hook hands to the workers) and the test, so that the runner can take
 * down the bed of a test whose worker died without running its fini.
 */
static uint32_t fnv1a(const char *s, uint32_t h)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void bed_name(const char *suite, const char *test, char *out, size_t len)
{
	const char *run = getenv("MPS_APPS_RUN");
	unsigned long token = run ? strtoul(run, NULL, 10) : (unsigned long)getppid();
	uint32_t h = fnv1a(test, fnv1a("::", fnv1a(suite, 2166136261u)));

	snprintf(out, len, "ma%06lx%08x", token & 0xffffff, (unsigned)h);
}

static char run_tmp[64];

/* Make a directory variable absolute (unset: the current directory). */
static void absolute_env(const char *name)
{
	const char *v = getenv(name);
	char *abs = realpath(v && *v ? v : ".", NULL);

	if (abs)
		setenv(name, abs, 1);
	free(abs);
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	char pid[24];

	(void)set;
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("MPS_APPS_RUN", pid, 1);
	/* absolute: servers chdir("/") (sshd also re-executes itself there),
	 * and a relative LD_PRELOAD would not load in them */
	absolute_env("MPS_TOP_BUILDDIR");
	absolute_env("MPS_TOP_SRCDIR");
	/* the tests' scratch dirs in one of the run's own, out of reach of
	 * whatever cleans up /tmp/mpshim-test-* behind other test runs */
	if (!getenv("MPS_TEST_TMPDIR")) {
		snprintf(run_tmp, sizeof(run_tmp), "/tmp/mpshim-apps-%s", pid);
		if (mkdir(run_tmp, 0700) == 0)
			setenv("MPS_TEST_TMPDIR", run_tmp, 1);
		else
			run_tmp[0] = '\0';
	}
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	/* empty unless MPS_KEEP_TMP kept a test's files */
	if (run_tmp[0])
		rmdir(run_tmp);
}

/* Runner side, after every test: whatever happened in the worker, its
 * test bed (and every process in its namespaces) goes. */
static void runner_bed_down(const struct criterion_test *t)
{
	char name[32];

	if (geteuid() != 0 || !t || !t->category || !t->name)
		return;
	bed_name(t->category, t->name, name, sizeof(name));
	app_sh("%s down --name %s >/dev/null 2>&1", testbed_script(), name);
}

ReportHook(POST_TEST)(struct criterion_test_stats *st)
{
	runner_bed_down(st->test);
}

ReportHook(TEST_CRASH)(struct criterion_test_stats *st)
{
	runner_bed_down(st->test);
}

static void kv(const char *line, const char *key, char *out, size_t len)
{
	size_t k = strlen(key);

	if (!strncmp(line, key, k) && line[k] == '=')
		snprintf(out, len, "%s", line + k + 1);
}

static bool have_program(const char *prog)
{
	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0;
	return app_sh("command -v '%s' >/dev/null 2>&1", prog) == 0;
}

void app_bed_up(const char *const needs[])
{
	char cmd[1024], line[256];
	FILE *p;

	if (geteuid() != 0 || app_sh("ip netns list >/dev/null 2>&1") != 0)
		cr_skip_test("needs root and network namespaces");
	for (int i = 0; needs && needs[i]; i++)
		if (!have_program(needs[i]))
			cr_skip_test("%s is not installed (scripts/deps.sh installs it) "
				     "or not built (make check builds it)", needs[i]);
	memset(&bed, 0, sizeof(bed));
	bed_name(criterion_current_suite->name, criterion_current_test->name, bed.name,
		 sizeof(bed.name));
	snprintf(cmd, sizeof(cmd), "%s up --name %s --paths 2 --path 1 %s --path 2 %s 2>&1",
		 testbed_script(), bed.name, APP_PATH1, APP_PATH2);
	bed.up = true;
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		kv(line, "CLIENT_NS", bed.ns[APP_CLI], sizeof(bed.ns[APP_CLI]));
		kv(line, "SERVER_NS", bed.ns[APP_SRV], sizeof(bed.ns[APP_SRV]));
		kv(line, "CLIENT_ADDR_1", bed.cli_addr[0], sizeof(bed.cli_addr[0]));
		kv(line, "CLIENT_ADDR_2", bed.cli_addr[1], sizeof(bed.cli_addr[1]));
		kv(line, "SERVER_ADDR_1", bed.srv_addr[0], sizeof(bed.srv_addr[0]));
		kv(line, "SERVER_ADDR_2", bed.srv_addr[1], sizeof(bed.srv_addr[1]));
		kv(line, "CLIENT_IF_1", bed.cli_if[0], sizeof(bed.cli_if[0]));
		kv(line, "CLIENT_IF_2", bed.cli_if[1], sizeof(bed.cli_if[1]));
	}
	cr_assert_eq(pclose(p), 0, "mps-testbed up failed");
	cr_assert(bed.ns[APP_CLI][0] && bed.ns[APP_SRV][0] && bed.cli_if[1][0] &&
		  bed.srv_addr[1][0], "mps-testbed up printed no addresses");
}

void app_fini(void)
{
	h_cleanup();
	if (bed.up &&
	    app_sh("%s down --name %s >/dev/null 2>&1", testbed_script(), bed.name) != 0)
		cr_log_warn("mps-testbed down failed for %s", bed.name);
	bed.up = false;
}

const char *app_path(const char *name)
{
	static char slot[16][512];
	static unsigned next;
	char *p = slot[next++ % 16];

	snprintf(p, sizeof(slot[0]), "%s/%s", h_tmpdir(), name);
	return p;
}

const char *app_write(const char *name, const char *fmt, ...)
{
	const char *path = app_path(name);
	FILE *f = fopen(path, "w");
	va_list ap;

	cr_assert_not_null(f, "cannot write %s", path);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	cr_assert_eq(fclose(f), 0);
	return path;
}

const char *app_blob(const char *name, size_t size, unsigned seed)
{
	static char path[512];
	const char *p = h_make_file(name, size, seed);

	cr_assert_not_null(p, "cannot make %s", name);
	snprintf(path, sizeof(path), "%s", p);
	return path;
}

long long app_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long long)st.st_size;
}

void app_assert_same(const char *want, const char *got)
{
	char hw[65], hg[65];

	cr_assert(h_sha256_file(want, hw), "cannot read %s", want);
	cr_assert(h_sha256_file(got, hg), "nothing arrived (%s missing)", got);
	cr_assert_str_eq(hg, hw, "bytes differ: %s has %lld bytes, sha256 %s; want %lld, %s",
			 got, app_file_size(got), hg, app_file_size(want), hw);
}

/* The last `max` bytes of a file, for failure messages ("" if none). */
static char *tail_of(const char *path, size_t max)
{
	char *text = path ? h_slurp(path) : NULL;
	size_t len;

	if (!text)
		return strdup("");
	len = strlen(text);
	if (len > max)
		memmove(text, text + len - max, max + 1);
	return text;
}

struct app_proc app_start(enum app_host host, const struct app_shim *shim,
			  const char *log, char *const argv[])
{
	char lib[600], shimlog[600], tool[600], locals[40], *v[96];
	const char *base = strrchr(argv[0], '/');
	struct app_proc p;
	int n = 0;

	memset(&p, 0, sizeof(p));
	snprintf(p.what, sizeof(p.what), "%s", base ? base + 1 : argv[0]);
	if (log)
		snprintf(p.log, sizeof(p.log), "%s", log);
	else
		snprintf(p.log, sizeof(p.log), "%s/%s.log", h_tmpdir(), p.what);
	v[n++] = "ip";
	v[n++] = "netns";
	v[n++] = "exec";
	v[n++] = bed.ns[host];
	if (shim) {
		snprintf(lib, sizeof(lib), "MPSHIM_LIBRARY=%s", h_shim_lib());
		snprintf(shimlog, sizeof(shimlog), "MPSHIM_LOG_FILE=%s", app_path("shim.log"));
		snprintf(tool, sizeof(tool), "%s/src/tools/mpshim", h_builddir());
		v[n++] = "env";
		v[n++] = lib;
		v[n++] = shimlog;
		/* every frame in turn on each subflow: even a small exchange
		 * crosses both paths (the default, ecf, keeps short ones on
		 * the faster path) */
		v[n++] = "MPSHIM_SCHEDULER=roundrobin";
		v[n++] = tool;
		v[n++] = "run";
		if (shim->dest) {
			v[n++] = "-u";
			v[n++] = (char *)shim->dest;
		}
		if (shim->accept) {
			v[n++] = "-a";
			v[n++] = (char *)shim->accept;
		}
		if (host == APP_CLI) {
			/* one subflow from each client interface (fullmesh) */
			snprintf(locals, sizeof(locals), "%s,%s", bed.cli_if[0], bed.cli_if[1]);
			v[n++] = "-l";
			v[n++] = locals;
		}
		v[n++] = "-L";
		/* MPS_APPS_LOG=debug when chasing a failure */
		v[n++] = getenv("MPS_APPS_LOG") ? getenv("MPS_APPS_LOG") : "info";
		v[n++] = "-s";
		v[n++] = (char *)shim->stats;
		v[n++] = "--";
	}
	for (int i = 0; argv[i]; i++) {
		cr_assert_lt(n, 95, "too many arguments");
		v[n++] = argv[i];
	}
	v[n] = NULL;
	p.pid = h_spawn(v, NULL, p.log);
	cr_assert_gt(p.pid, 0, "cannot start %s", argv[0]);
	return p;
}

void app_wait_ok(const struct app_proc *p, int timeout_s)
{
	int rc = h_wait(p->pid, timeout_s * 1000);
	char *out, *slog;

	if (rc == 0)
		return;
	out = tail_of(p->log, 1500);
	slog = tail_of(app_path("shim.log"), 1500);
	cr_assert_fail("%s %s (status %d)\n--- its output:\n%s\n--- shim log:\n%s", p->what,
		       rc < 0 ? "did not finish in time (killed)" : "failed", rc, out, slog);
}

/* Still running (not reaped, so h_wait can collect it later)? */
static bool running(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == 0;
}

void app_wait_output(const struct app_proc *p, const char *text)
{
	for (int waited = 0; waited < 120000; waited += 20) {
		char *out = h_slurp(p->log);
		bool found = out && strstr(out, text);

		free(out);
		if (found)
			return;
		cr_assert(running(p->pid), "%s ended before it said \"%s\"", p->what, text);
		sleep_ms(20);
	}
	cr_assert_fail("%s did not say \"%s\" in 120 s", p->what, text);
}

void app_wait_listen(enum app_host host, int port)
{
	for (int waited = 0; waited < 20000; waited += 50) {
		if (app_sh("ip netns exec %s ss -Hltn 'sport = :%d' | grep -q .",
			   bed.ns[host], port) == 0)
			return;
		sleep_ms(50);
	}
	cr_assert_fail("nothing listens on port %d in %s", port, bed.ns[host]);
}

void app_proxyd(int port, int backend)
{
	char listen[64], back[64];
	char *argv[] = { "env", "MPSHIM_SCHEDULER=roundrobin", (char *)h_proxyd(),
			 "--listen", listen, "--backend", back, "--stats-file",
			 (char *)app_path("proxyd.json"), "--log-level", "info", NULL };

	snprintf(listen, sizeof(listen), "%s:%d", bed.srv_addr[0], port);
	snprintf(back, sizeof(back), "127.0.0.1:%d", backend);
	app_start(APP_SRV, NULL, app_path("proxyd.log"), argv);
	/* its own address: the backend often listens on the same port (on
	 * 127.0.0.1), and a wait on the port alone returned before proxyd
	 * listened, so a client could come too early: scp "Connection
	 * closed" under the sanitizers, whose proxyd starts slower */
	for (int waited = 0; waited < 20000; waited += 50) {
		if (app_sh("ip netns exec %s ss -Hltn 'src %s:%d' | grep -q .",
			   bed.ns[APP_SRV], bed.srv_addr[0], port) == 0)
			return;
		sleep_ms(50);
	}
	cr_assert_fail("proxyd does not listen on %s", listen);
}

uint64_t app_path1_bytes(void)
{
	char cmd[256];
	unsigned long long rx = 0, tx = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ip netns exec %s cat /sys/class/net/%s/statistics/rx_bytes "
		 "/sys/class/net/%s/statistics/tx_bytes", bed.ns[APP_CLI], bed.cli_if[0],
		 bed.cli_if[0]);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	if (fscanf(p, "%llu %llu", &rx, &tx) != 2)
		rx = tx = 0;
	pclose(p);
	return rx + tx;
}

void app_kill_path1(const struct app_proc *p, uint64_t after, const char *how)
{
	uint64_t base = app_path1_bytes(), now = base;

	for (int waited = 0; now - base < after; waited += 20) {
		cr_assert(running(p->pid), "the transfer ended before path 1 had carried %llu "
			  "bytes (%llu): nothing to kill mid-transfer",
			  (unsigned long long)after, (unsigned long long)(now - base));
		cr_assert_lt(waited, 60000, "path 1 carried only %llu bytes in 60 s",
			     (unsigned long long)(now - base));
		sleep_ms(20);
		now = app_path1_bytes();
	}
	cr_assert(running(p->pid), "the transfer ended before path 1 was killed");
	cr_assert_eq(app_sh("%s event --name %s 1 %s", testbed_script(), bed.name, how), 0,
		     "test-bed event %s failed", how);
	cr_log_info("path 1: %s after %llu bytes", how, (unsigned long long)(now - base));
}

/* How a subflow ends when its path dies under it: the liveness check, an
 * rtnetlink event, or the kernel giving up (TCP_USER_TIMEOUT). */
static bool died_of_path(const char *end)
{
	static const char *const deaths[] = { "no ACK (path dead)", "interface down",
					      "send error", "receive error" };

	for (size_t i = 0; i < sizeof(deaths) / sizeof(deaths[0]); i++)
		if (!strcmp(end, deaths[i]))
			return true;
	return false;
}

static bool on_path(const struct h_sf_stat *sf, int path)
{
	size_t n = strlen(bed.cli_addr[path]);

	return !strncmp(sf->local, bed.cli_addr[path], n) && sf->local[n] == ':';
}

int app_assert_multipath(const char *stats, bool killed)
{
	static struct h_stats s[64];
	int n = -1, both = -1;
	bool path1_failed = false;

	/* lines are written as connections end, which may trail the exit
	 * of a server's client by a moment */
	for (int waited = 0; waited < 5000 && (n = h_stats_read(stats, s, 64)) < 1;
	     waited += 50)
		sleep_ms(50);
	cr_assert_gt(n, 0, "no connection statistics in %s", stats);
	for (int i = 0; i < n; i++) {
		uint64_t carried[2] = { 0, 0 };

		cr_assert(!s[i].fallback, "connection %d fell back to plain TCP: %s", i,
			  s[i].fallback_reason);
		for (int k = 0; k < s[i].n_sf; k++) {
			const struct h_sf_stat *sf = &s[i].sf[k];

			for (int p = 0; p < 2; p++)
				if (on_path(sf, p))
					carried[p] += sf->sent + sf->recv;
			if (on_path(sf, 0) && died_of_path(sf->end)) {
				path1_failed = true;
				cr_log_info("connection %d: path 1 subflow ended: %s", i, sf->end);
			}
		}
		cr_log_info("connection %d: %d subflows, path 1 %llu bytes, path 2 %llu bytes, "
			    "reinjected %llu", i, s[i].n_sf, (unsigned long long)carried[0],
			    (unsigned long long)carried[1], (unsigned long long)s[i].reinjected);
		if (carried[0] && carried[1] && both < 0)
			both = i;
	}
	cr_assert_geq(both, 0, "no connection carried data on both paths (%d connections)", n);
	if (killed)
		cr_assert(path1_failed, "no subflow of path 1 failed: the kill went unnoticed");
	return n;
}

/* ---- the servers ------------------------------------------------------ */

const char *app_www_blob(size_t size, unsigned seed)
{
	cr_assert_eq(mkdir(app_path("www"), 0755), 0, "cannot make www/");
	return app_blob("www/blob", size, seed);
}

struct app_proc app_nginx(const struct app_shim *shim, const char *addr, int port)
{
	const char *dir = h_tmpdir();
	const char *conf = app_write("nginx.conf",
		"# one nginx of the apps suite: private files, foreground\n"
		"user root;\n"
		"daemon off;\n"
		"worker_processes 2;\n"
		"pid %s/nginx.pid;\n"
		"error_log %s/nginx.error.log info;\n"
		"events { worker_connections 128; }\n"
		"http {\n"
		"	access_log %s/nginx.access.log;\n"
		"	client_body_temp_path %s/nginx.body;\n"
		"	proxy_temp_path %s/nginx.proxy;\n"
		"	fastcgi_temp_path %s/nginx.fastcgi;\n"
		"	uwsgi_temp_path %s/nginx.uwsgi;\n"
		"	scgi_temp_path %s/nginx.scgi;\n"
		"	sendfile on;\n"
		"	keepalive_timeout 5;\n"
		"	server {\n"
		"		listen %s:%d;\n"
		"		root %s/www;\n"
		"	}\n"
		"}\n", dir, dir, dir, dir, dir, dir, dir, dir, addr, port, dir);
	char *argv[] = { "/usr/sbin/nginx", "-p", (char *)dir, "-e",
			 (char *)app_path("nginx.error.log"), "-c", (char *)conf, NULL };
	struct app_proc p = app_start(APP_SRV, shim, NULL, argv);

	app_wait_listen(APP_SRV, port);
	return p;
}

struct app_proc app_http_server(const struct app_shim *shim, const char *addr, int port)
{
	char portbuf[16];
	char *argv[] = { "/usr/bin/python3", "-m", "http.server", "--bind", (char *)addr,
			 "--directory", (char *)app_path("www"), portbuf, NULL };
	struct app_proc p;

	snprintf(portbuf, sizeof(portbuf), "%d", port);
	p = app_start(APP_SRV, shim, NULL, argv);
	app_wait_listen(APP_SRV, port);
	return p;
}

struct app_proc app_redis(const struct app_shim *shim, const char *addr, int port)
{
	char portbuf[16];
	char *argv[] = { "redis-server", "--bind", (char *)addr, "--port", portbuf,
			 "--protected-mode", "no", "--save", "", "--appendonly", "no",
			 "--daemonize", "no", "--dir", (char *)h_tmpdir(), "--logfile", "",
			 NULL };
	struct app_proc p;

	snprintf(portbuf, sizeof(portbuf), "%d", port);
	p = app_start(APP_SRV, shim, NULL, argv);
	app_wait_listen(APP_SRV, port);
	return p;
}

const char *app_ssh_key(void)
{
	return app_path("ssh_id");
}

struct app_proc app_sshd(const struct app_shim *shim, const char *addr, int port)
{
	const char *conf;
	char *argv[] = { "/usr/sbin/sshd", "-D", "-e", "-f", NULL, NULL };
	struct app_proc p;

	/* privilege separation chroots there */
	cr_assert_eq(app_sh("mkdir -p /run/sshd"), 0);
	cr_assert_eq(app_sh("ssh-keygen -q -t ed25519 -N '' -C mpshim-apps -f '%s' && "
			    "ssh-keygen -q -t ed25519 -N '' -C mpshim-apps -f '%s' && "
			    "cp '%s.pub' '%s'", app_path("ssh_host_key"), app_ssh_key(),
			    app_ssh_key(), app_path("ssh_authorized_keys")), 0,
		     "ssh-keygen failed");
	conf = app_write("sshd_config",
		"# one sshd of the apps suite: its own host key, key login only\n"
		"ListenAddress %s:%d\n"
		"HostKey %s\n"
		"PidFile %s\n"
		"AuthorizedKeysFile %s\n"
		"PermitRootLogin prohibit-password\n"
		"PasswordAuthentication no\n"
		"KbdInteractiveAuthentication no\n"
		"UsePAM no\n"
		"StrictModes no\n"
		"Subsystem sftp internal-sftp\n",
		addr, port, app_path("ssh_host_key"), app_path("sshd.pid"),
		app_path("ssh_authorized_keys"));
	argv[4] = (char *)conf;
	p = app_start(APP_SRV, shim, NULL, argv);
	app_wait_listen(APP_SRV, port);
	return p;
}

struct app_proc app_iperf3_server(const struct app_shim *shim, const char *addr, int port)
{
	char portbuf[16];
	char *argv[] = { "iperf3", "-s", "-1", "-B", (char *)addr, "-p", portbuf, NULL };
	struct app_proc p;

	snprintf(portbuf, sizeof(portbuf), "%d", port);
	p = app_start(APP_SRV, shim, NULL, argv);
	app_wait_listen(APP_SRV, port);
	return p;
}

/* ---- clients, shims and checks shared by the suites --------------------- */

struct app_shim app_client_shim(int port)
{
	static char dest[64], stats[512];

	snprintf(dest, sizeof(dest), "%s:%d", bed.srv_addr[0], port);
	snprintf(stats, sizeof(stats), "%s", app_path("client.json"));
	return (struct app_shim){ .dest = dest, .stats = stats };
}

struct app_shim app_server_shim(int port)
{
	static char accept[32], stats[512];

	snprintf(accept, sizeof(accept), "*:%d", port);
	snprintf(stats, sizeof(stats), "%s", app_path("server.json"));
	return (struct app_shim){ .accept = accept, .stats = stats };
}

const char *app_prog(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/tests/apps/%s", h_builddir(), name);
	return path;
}

const char *app_http_client_prog(enum app_http_client client)
{
	static const char *const progs[] = { "curl", "wget", "/usr/bin/python3" };

	return progs[client];
}

static const char urllib_get[] =
	"import shutil, sys, urllib.request\n"
	"with urllib.request.urlopen(sys.argv[1], timeout=120) as r, "
	"open(sys.argv[2], 'wb') as f:\n"
	"    shutil.copyfileobj(r, f)\n";

struct app_proc app_http_get(enum app_http_client client, const struct app_shim *shim,
			     const char *url, const char *out)
{
	char *curl[] = { "curl", "-sS", "--max-time", "150", "-o", (char *)out, (char *)url,
			 NULL };
	char *wget[] = { "wget", "-nv", "--timeout=150", "--tries=1", "-O", (char *)out,
			 (char *)url, NULL };
	char *urllib[] = { "/usr/bin/python3", "-c", (char *)urllib_get, (char *)url,
			   (char *)out, NULL };
	char *const *argv[] = { curl, wget, urllib };

	return app_start(APP_CLI, shim, NULL, argv[client]);
}

long app_redis_calls(const char *addr, const char *cmd)
{
	char line[512], key[64];
	long calls = -1;
	FILE *p;

	snprintf(line, sizeof(line), "ip netns exec %s redis-cli -h %s -p 6379 "
		 "info commandstats", bed.ns[APP_SRV], addr);
	p = popen(line, "r");
	cr_assert_not_null(p);
	snprintf(key, sizeof(key), "cmdstat_%s:calls=", cmd);
	while (fgets(line, sizeof(line), p))
		if (!strncmp(line, key, strlen(key)))
			calls = strtol(line + strlen(key), NULL, 10);
	pclose(p);
	return calls;
}

int app_redis_benchmark(const struct app_shim *cli, const char *redis_addr, bool kill)
{
	enum { REQUESTS = 10000, CLIENTS = 4, PIPELINE = 16 };
	char n[16], c[16], pl[16];
	char *argv[] = { "redis-benchmark", "-h", bed.srv_addr[0], "-p", "6379", "-c", c,
			 "-n", n, "-P", pl, "-d", "1024", "-t", "set,get", "-q", NULL };
	struct app_proc p;
	long set, get;
	char *out;

	snprintf(n, sizeof(n), "%d", REQUESTS);
	snprintf(c, sizeof(c), "%d", CLIENTS);
	snprintf(pl, sizeof(pl), "%d", PIPELINE);
	p = app_start(APP_CLI, cli, NULL, argv);
	if (kill) {
		/* redis-benchmark opens new connections for each test; one
		 * opened after path 1 died would try its first subflow on
		 * path 1 and wait out connect_timeout (see mpshim(7),
		 * fullmesh), so path 1 dies during the last test, GET */
		for (int waited = 0; app_redis_calls(redis_addr, "get") < REQUESTS / 10;
		     waited += 50) {
			cr_assert_lt(waited, 120000, "the GET test did not start");
			usleep(50 * 1000);
		}
		app_kill_path1(&p, 256 * 1024, "blackhole");
	}
	app_wait_ok(&p, 180);
	out = h_slurp(p.log);
	cr_assert_not_null(out);
	cr_assert(strstr(out, "SET: ") && strstr(out, "GET: ") &&
		  strstr(out, "requests per second"), "no results:\n%s", out);
	cr_assert_null(strstr(out, "rror"), "redis-benchmark reported errors:\n%s", out);
	free(out);
	/* every request was carried out, once (a pipelined client may
	 * issue up to a pipeline more than asked) */
	set = app_redis_calls(redis_addr, "set");
	get = app_redis_calls(redis_addr, "get");
	cr_log_info("server executed %ld SET, %ld GET", set, get);
	cr_assert(set >= REQUESTS && set <= REQUESTS + CLIENTS * PIPELINE, "%ld SET", set);
	cr_assert(get >= REQUESTS && get <= REQUESTS + CLIENTS * PIPELINE, "%ld GET", get);
	/* its connections: one for its CONFIG GET, then CLIENTS for each
	 * of its two tests */
	cr_assert_eq(app_assert_multipath(cli->stats, kill), 1 + 2 * CLIENTS);
	return 1 + 2 * CLIENTS;
}

void app_strip_raw_newline(const char *path, long long size)
{
	FILE *f;
	int last;

	cr_assert_eq(app_file_size(path), size + 1, "GET returned %lld bytes, want %lld + 1",
		     app_file_size(path), size);
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	fseek(f, -1, SEEK_END);
	last = fgetc(f);
	fclose(f);
	cr_assert_eq(last, '\n', "the value did not end with the newline of --raw");
	cr_assert_eq(truncate(path, size), 0);
}

void app_assert_served(const char *stats, int want)
{
	static struct h_stats s[64];
	int n = 0;

	for (int waited = 0; waited < 5000 && (n = h_stats_read(stats, s, 64)) < want;
	     waited += 50)
		sleep_ms(50);
	/* and no line more than that */
	sleep_ms(300);
	n = h_stats_read(stats, s, 64);
	cr_assert_eq(n < 0 ? 0 : n, want, "the server's shim has %d connection(s) in %s, "
		     "want %d", n < 0 ? 0 : n, stats, want);
	for (int i = 0; i < n; i++)
		cr_assert(!s[i].fallback, "server connection %d fell back: %s", i,
			  s[i].fallback_reason);
}
