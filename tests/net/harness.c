/*
 * harness.c - end-to-end test helpers (see harness.h).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "frame.h"
#include "harness.h"

extern char **environ;

static pid_t procs[H_MAX_PROCS];
static int n_procs;
static char tmpdir[256];
static char pathbuf[4][512];

const char *h_builddir(void)
{
	const char *d = getenv("MPS_TOP_BUILDDIR");

	return d && *d ? d : ".";
}

const char *h_srcdir(void)
{
	const char *d = getenv("MPS_TOP_SRCDIR");

	return d && *d ? d : ".";
}

const char *h_shim_lib(void)
{
	snprintf(pathbuf[0], sizeof(pathbuf[0]), "%s/src/shim/.libs/libmpshim.so",
		 h_builddir());
	return pathbuf[0];
}

const char *h_proxyd(void)
{
	snprintf(pathbuf[1], sizeof(pathbuf[1]), "%s/src/proxyd/mpshim-proxyd",
		 h_builddir());
	return pathbuf[1];
}

const char *h_mpshim(void)
{
	snprintf(pathbuf[3], sizeof(pathbuf[3]), "%s/src/tools/mpshim", h_builddir());
	return pathbuf[3];
}

const char *h_httpd(void)
{
	snprintf(pathbuf[2], sizeof(pathbuf[2]), "%s/tests/helpers/httpd.py",
		 h_srcdir());
	return pathbuf[2];
}

const char *h_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("MPS_TEST_TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/mpshim-test-XXXXXX",
			 base && *base ? base : "/tmp");
		if (!mkdtemp(tmpdir))
			tmpdir[0] = '\0';
	}
	return tmpdir;
}

/*
 * ThreadSanitizer on the shim.  In a --enable-tsan build the preloaded
 * libmpshim.so is uninstrumented, as everywhere; the engine thread and the
 * application's threads meet in the shim's own state (fd table, entries,
 * relays), so the build also makes an instrumented copy,
 * libmpshim_tsan.so.  A sanitizer runtime can only be preloaded into
 * programs we wrote: the suite's own C helpers (tests/helpers/mps-*,
 * tests/apps/mps-*) spawned with the shim preloaded get
 * "LD_PRELOAD=<libmpshim_tsan.so> <runtime>" instead, never curl, python,
 * a shell or a server from Debian.  The runtime is the one this test
 * program runs with; a build without one (plain, ASan, a statically
 * linked TSan runtime), or MPS_TSAN_SHIM=0, changes nothing.
 *
 * The shim comes first, the runtime second (it still comes before libc,
 * so its interceptors of malloc, pthread_* and the rest hold).  The other
 * way round TSan's interceptors wrap the shim's connect(), dup() and
 * close(): TSan then takes a descriptor to be created when the
 * application's connect() returns, although the shim made the relay
 * there and handed it to the engine thread (under the entry's lock)
 * before, and reports the engine's reset byte on it as a race on the
 * descriptor.  With the shim first TSan sees the shim's own calls to libc
 * (the dup3 that makes the relay) where they happen.
 */
static const char *tsan_preload(void)
{
	static char pre[1200];
	static bool done;
	char lib[600];
	const char *off = getenv("MPS_TSAN_SHIM");
	void *sym;
	Dl_info info;

	if (done)
		return pre[0] ? pre : NULL;
	done = true;
	if (off && !strcmp(off, "0"))
		return NULL;
	sym = dlsym(RTLD_DEFAULT, "__tsan_init");
	if (!sym || !dladdr(sym, &info) || !info.dli_fname ||
	    !strstr(info.dli_fname, "libtsan"))
		return NULL;
	snprintf(lib, sizeof(lib), "%s/src/shim/.libs/libmpshim_tsan.so", h_builddir());
	if (access(lib, R_OK))
		return NULL;
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s %s", lib, info.dli_fname);
	return pre;
}

/* mps-early is left out: it calls the shim from its preinit_array, before
 * any library's constructor, and instrumented code cannot run before the
 * TSan runtime has initialised. */
static bool own_c_program(const char *path)
{
	return (strstr(path, "tests/helpers/mps-") || strstr(path, "tests/apps/mps-")) &&
	       !strstr(path, "tests/helpers/mps-early");
}

static bool is_shim_preload(const char *kv)
{
	return !strncmp(kv, "LD_PRELOAD=", 11) && !strcmp(kv + 11, h_shim_lib());
}

/* In the child, before exec: the TSan shim where tsan_preload says so,
 * whether the preload is in env (argv[0] runs it) or an argument of env(1)
 * (`ip netns exec NS env K=V... PROGRAM`): a new argv, or argv itself. */
static char *const *tsan_shim_swap(char *const argv[], char *const env[])
{
	const char *pre = tsan_preload();
	int n = 0, envcmd = -1, prog;
	char **nv;

	if (!pre)
		return argv;
	for (int i = 0; env && env[i]; i++)
		if (is_shim_preload(env[i]) && own_c_program(argv[0]))
			putenv((char *)pre);
	while (argv[n])
		n++;
	for (int i = 0; i < n && envcmd < 0; i++)
		if (!strcmp(argv[i], "env"))
			envcmd = i;
	if (envcmd < 0)
		return argv;
	for (prog = envcmd + 1; prog < n && strchr(argv[prog], '='); prog++)
		;
	if (prog == n || !own_c_program(argv[prog]))
		return argv;
	nv = calloc((size_t)n + 1, sizeof(*nv));
	if (!nv)
		return argv;
	for (int i = 0; i < n; i++)
		nv[i] = i > envcmd && i < prog && is_shim_preload(argv[i]) ? (char *)pre : argv[i];
	return nv;
}

const char *h_stream_bin(void)
{
	static char path[600];

	snprintf(path, sizeof(path), "%s/tests/helpers/mps-stream", h_builddir());
	return path;
}

const char *h_out_file(const char *name)
{
	static char paths[8][512];
	static unsigned next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s.out", h_tmpdir(), name);
	return p;
}

void h_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int h_app_end(pid_t pid, int ms, const char *out)
{
	int rc = h_wait(pid, ms);
	char *text = h_slurp(out);

	cr_assert_neq(rc, -1, "the application hung past %d ms:\n%s", ms, text ? text : "");
	cr_assert_lt(rc, 128, "the application died of signal %d:\n%s", rc - 128,
		     text ? text : "");
	cr_log_info("%s", text ? text : "");
	free(text);
	return rc;
}

pid_t h_spawn(char *const argv[], char *const env[], const char *out_path)
{
	pid_t pid, parent = getpid();

	tsan_preload();		/* once, before the fork */
	pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(out_path ? out_path : "/dev/null",
			      O_WRONLY | O_CREAT | O_APPEND, 0644);

		/* a worker that Criterion kills at its timeout runs no fini:
		 * its helpers must not outlive it (tests spawn from their
		 * one thread, so the thread's death is the worker's) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		/* own process group: cleanup kills helpers' children too */
		setpgid(0, 0);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		argv = tsan_shim_swap(argv, env);
		execvp(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	if (n_procs < H_MAX_PROCS)
		procs[n_procs++] = pid;
	return pid;
}

int h_wait(pid_t pid, int timeout_ms)
{
	struct timespec ts = { 0, 10 * 1000000 };
	int status;

	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			for (int i = 0; i < n_procs; i++)
				if (procs[i] == pid)
					procs[i] = 0;
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + WTERMSIG(status);
		}
		nanosleep(&ts, NULL);
	}
	kill(-pid, SIGKILL);
	waitpid(pid, &status, 0);
	for (int i = 0; i < n_procs; i++)
		if (procs[i] == pid)
			procs[i] = 0;
	return -1;
}

void h_cleanup(void)
{
	char cmd[300];

	for (int i = 0; i < n_procs; i++) {
		if (procs[i] > 0) {
			pid_t pid = procs[i];

			kill(-pid, SIGTERM);
			/* past the time h_wait kills the group itself, and
			 * zeroes procs[i]: kill(-0) would hit our own group */
			h_wait(pid, 2000);
		}
	}
	n_procs = 0;
	if (tmpdir[0] && !getenv("MPS_KEEP_TMP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup: cannot remove %s\n", tmpdir);
	}
	tmpdir[0] = '\0';
}

int h_tcp_connect(const char *addr, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 5 };
	int fd;

	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

int h_free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sin, sizeof(sin)) &&
	    !getsockname(fd, (struct sockaddr *)&sin, &len))
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

bool h_wait_port(int port, int timeout_ms)
{
	struct timespec ts = { 0, 20 * 1000000 };

	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)port);
		rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		close(fd);
		if (rc == 0)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

const char *h_make_file(const char *name, size_t size, unsigned seed)
{
	static char path[512];
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	uint64_t buf[8192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", h_tmpdir(), name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	while (size) {
		size_t n = size < sizeof(buf) ? size : sizeof(buf);

		for (size_t i = 0; i < sizeof(buf) / 8; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		fwrite(buf, 1, n, f);
		size -= n;
	}
	fclose(f);
	return path;
}

bool h_sha256_file(const char *path, char out[65])
{
	unsigned char md[32], buf[1 << 16];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f || !ctx) {
		if (f)
			fclose(f);
		EVP_MD_CTX_free(ctx);
		return false;
	}
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(ctx, buf, n);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	fclose(f);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[64] = '\0';
	return true;
}

char *h_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[len] = '\0';
	fclose(f);
	return buf;
}

static uint64_t num_after(const char *p, const char *key)
{
	const char *q = strstr(p, key);

	return q ? strtoull(q + strlen(key), NULL, 10) : 0;
}

int h_stats_read(const char *path, struct h_stats *out, int max_lines)
{
	char *text = h_slurp(path), *line, *save = NULL;
	int n = 0;

	if (!text)
		return -1;
	for (line = strtok_r(text, "\n", &save); line && n < max_lines;
	     line = strtok_r(NULL, "\n", &save), n++) {
		struct h_stats *s = &out[n];
		const char *sfs = strstr(line, "\"subflows\": [");
		const char *fb = strstr(line, "\"fallback\": ");

		memset(s, 0, sizeof(*s));
		s->reinjected = num_after(line, "\"reinjected_bytes\": ");
		s->deadline = num_after(line, "\"deadline_bytes\": ");
		s->grows = num_after(line, "\"lossy_grows\": ");
		s->syn_data = strstr(line, "\"syn_data\": true") != NULL;
		if (fb && strncmp(fb + 12, "null", 4)) {
			s->fallback = true;
			sscanf(fb + 12, "\"%127[^\"]", s->fallback_reason);
		}
		for (const char *p = sfs; p && (p = strstr(p, "{\"local\"")) && s->n_sf < 16;
		     p++) {
			s->sf[s->n_sf].sent = num_after(p, "\"bytes_sent\": ");
			s->sf[s->n_sf].recv = num_after(p, "\"bytes_recv\": ");
			sscanf(p, "{\"local\": \"%63[^\"]", s->sf[s->n_sf].local);
			{
				const char *r = strstr(p, "\"remote\": \"");
				const char *close = strchr(p, '}');

				const char *b = strstr(p, "\"backup\": true");

				if (r && (!close || r < close))
					sscanf(r + 11, "%63[^\"]", s->sf[s->n_sf].remote);
				s->sf[s->n_sf].backup = b && (!close || b < close);
			}
			{
				const char *e = strstr(p, "\"end\": \"");
				const char *close = strchr(p, '}');

				if (e && (!close || e < close))
					sscanf(e + 8, "%47[^\"]", s->sf[s->n_sf].end);
			}
			s->n_sf++;
		}
	}
	free(text);
	return n;
}

int h_frame_next(int fd, struct h_frames *r, struct mps_frame *f, int timeout_ms)
{
	for (;;) {
		int n = mps_frame_parse(r->buf, r->have, 0, f);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t got;

		if (n < 0)
			return -1;
		if (n > 0) {
			/* hand out a copy, so the payload pointer survives the
			 * compaction of the receive buffer */
			memcpy(r->frame, r->buf, (size_t)n);
			memmove(r->buf, r->buf + n, r->have - (size_t)n);
			r->have -= (size_t)n;
			mps_frame_parse(r->frame, (size_t)n, 0, f);
			return n;
		}
		if (r->have == sizeof(r->buf) || poll(&p, 1, timeout_ms) <= 0)
			return -1;
		got = recv(fd, r->buf + r->have, sizeof(r->buf) - r->have, 0);
		if (got <= 0)
			return -1;
		r->have += (size_t)got;
	}
}

bool h_frame_send(int fd, const struct mps_frame *f)
{
	uint8_t buf[1024];
	int n = mps_frame_encode(f, buf, sizeof(buf));

	return n > 0 && send(fd, buf, (size_t)n, MSG_NOSIGNAL) == n;
}

int h_frame_next_skip_ping(int fd, struct h_frames *r, struct mps_frame *f,
			   int timeout_ms)
{
	int n;

	do
		n = h_frame_next(fd, r, f, timeout_ms);
	while (n > 0 && f->type == MPS_FT_PING);
	return n;
}

bool h_closed_by_peer(int fd)
{
	uint8_t buf[256];
	ssize_t r;
	bool ended;

	do
		r = recv(fd, buf, sizeof(buf), 0);
	while (r > 0);
	ended = r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
	close(fd);
	return ended;
}

bool h_sanitized(void)
{
	const char *san = getenv("MPS_SANITIZED");

	return san && *san;
}

bool h_tsan_build(void)
{
	const char *san = getenv("MPS_SANITIZED");

	return san && strstr(san, "sanitize=thread");
}

long h_san_mem_factor(void)
{
	return h_tsan_build() ? 5 : 1;
}

size_t h_san_spread_bytes(size_t bytes)
{
	return h_sanitized() ? bytes * 4 : bytes;
}

bool h_use_valgrind(void)
{
	return !h_sanitized() && system("valgrind --version >/dev/null 2>&1") == 0;
}

int h_run(const char *cmd)
{
	int st = system(cmd);

	return (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
}

int h_exited(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, WNOHANG) != pid)
		return -1;
	for (int i = 0; i < n_procs; i++)
		if (procs[i] == pid)
			procs[i] = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool h_wait_file_has(const char *path, const char *what, int timeout_ms)
{
	struct timespec ts = { 0, 20 * 1000000 };

	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		char *text = h_slurp(path);
		bool found = text && strstr(text, what);

		free(text);
		if (found)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

long h_proc_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			kb = atol(line + n + 1);
			break;
		}
	fclose(f);
	return kb;
}

long h_proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* fields 14 and 15, counted after the ")" that ends the name */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

int h_proc_fds(pid_t pid)
{
	char cmd[96];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd 2>/dev/null | wc -l", (int)pid);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (fscanf(p, "%d", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

long h_metric(int port, const char *name)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 5 };
	static char text[16384];
	size_t have = 0, nlen = strlen(name);
	long v = -1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t r;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (have < sizeof(text) - 1 &&
	       (r = recv(fd, text + have, sizeof(text) - 1 - have, 0)) > 0)
		have += (size_t)r;
	close(fd);
	text[have] = '\0';
	for (char *p = text; (p = strstr(p, name)); p += nlen)
		if ((p == text || p[-1] == '\n') && p[nlen] == ' ') {
			v = strtol(p + nlen + 1, NULL, 10);
			break;
		}
	return v;
}

bool h_netns_ok(void)
{
	return geteuid() == 0 && h_run("ip netns list >/dev/null 2>&1") == 0;
}

/* "KEY=value" line: value into out when the key is key. */
static void tb_kv(const char *line, const char *key, char *out, size_t len)
{
	size_t k = strlen(key);

	if (!strncmp(line, key, k) && line[k] == '=')
		snprintf(out, len, "%s", line + k + 1);
}

/*
 * A worker that Criterion killed at its timeout ran no fini, and its
 * topology (named prefix + the worker's pid) is still up.  Remove those
 * whose pid is gone; a live pid may be another run's test.
 */
static void tb_reap_orphans(const char *script, const char *prefix)
{
	size_t plen = strlen(prefix);
	DIR *d = opendir("/run/mps-testbed");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *num = de->d_name + plen;
		char path[64], cmd[1200];
		size_t k = 0;

		if (strncmp(de->d_name, prefix, plen) || !*num)
			continue;
		while (isdigit((unsigned char)num[k]))
			k++;
		if (num[k] || k > 10)
			continue;
		snprintf(path, sizeof(path), "/proc/%s", num);
		if (!access(path, F_OK))
			continue;
		cr_log_warn("removing topology %s of a test that did not finish",
			    de->d_name);
		snprintf(cmd, sizeof(cmd), "%s down --name %s >/dev/null 2>&1", script,
			 de->d_name);
		if (system(cmd))
			cr_log_warn("could not remove topology %s", de->d_name);
	}
	closedir(d);
}

bool h_testbed_up(struct h_testbed *tb, const char *prefix, const char *spec1,
		  const char *spec2)
{
	char cmd[1400], line[256];
	FILE *p;

	memset(tb, 0, sizeof(*tb));
	snprintf(tb->name, sizeof(tb->name), "%s%ld", prefix, (long)getpid());
	snprintf(tb->script, sizeof(tb->script), "%s/testbed/mps-testbed", h_srcdir());
	tb_reap_orphans(tb->script, prefix);
	snprintf(cmd, sizeof(cmd), "%s up --name %s --paths 2 --path 1 %s --path 2 %s",
		 tb->script, tb->name, spec1, spec2);
	/* a half-made topology is removed by down too */
	tb->up = true;
	p = popen(cmd, "r");
	if (!p)
		return false;
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		tb_kv(line, "CLIENT_NS", tb->cli_ns, sizeof(tb->cli_ns));
		tb_kv(line, "SERVER_NS", tb->srv_ns, sizeof(tb->srv_ns));
		tb_kv(line, "ROUTER_NS", tb->rtr_ns, sizeof(tb->rtr_ns));
		tb_kv(line, "CLIENT_ADDR_1", tb->cli_addr[0], sizeof(tb->cli_addr[0]));
		tb_kv(line, "CLIENT_ADDR_2", tb->cli_addr[1], sizeof(tb->cli_addr[1]));
		tb_kv(line, "SERVER_ADDR_1", tb->srv_addr[0], sizeof(tb->srv_addr[0]));
		tb_kv(line, "SERVER_ADDR_2", tb->srv_addr[1], sizeof(tb->srv_addr[1]));
		tb_kv(line, "CLIENT_IF_1", tb->cli_if[0], sizeof(tb->cli_if[0]));
		tb_kv(line, "CLIENT_IF_2", tb->cli_if[1], sizeof(tb->cli_if[1]));
	}
	return pclose(p) == 0 && tb->cli_ns[0] && tb->srv_ns[0] &&
	       tb->cli_addr[1][0] && tb->srv_addr[1][0] && tb->cli_if[1][0];
}

bool h_testbed_down(struct h_testbed *tb)
{
	char cmd[700];
	bool ok = true;

	if (tb->up) {
		snprintf(cmd, sizeof(cmd), "%s down --name %s >/dev/null 2>&1",
			 tb->script, tb->name);
		ok = h_run(cmd) == 0;
	}
	tb->up = false;
	return ok;
}

bool h_testbed_cubic(const struct h_testbed *tb)
{
	char cmd[300];

	/* a namespace may only pick an algorithm the host allows */
	if (h_run("grep -qw cubic /proc/sys/net/ipv4/tcp_allowed_congestion_control || "
		  "sysctl -qw net.ipv4.tcp_allowed_congestion_control=\""
		  "$(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control) cubic\"") != 0)
		return false;
	snprintf(cmd, sizeof(cmd),
		 "ip netns exec %s sysctl -qw net.ipv4.tcp_congestion_control=cubic && "
		 "ip netns exec %s sysctl -qw net.ipv4.tcp_congestion_control=cubic",
		 tb->cli_ns, tb->srv_ns);
	return h_run(cmd) == 0;
}

int h_testbed_event(const struct h_testbed *tb, int path, const char *what)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "%s event --name %s %d %s", tb->script, tb->name,
		 path, what);
	return h_run(cmd);
}

bool h_netns_wait_port(const char *ns, int port, int timeout_ms)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "for i in $(seq %d); do ip netns exec %s ss -ltnH | "
		 "grep -q ':%d ' && exit 0; sleep 0.05; done; exit 1",
		 timeout_ms / 50 + 1, ns, port);
	return h_run(cmd) == 0;
}
