/*
 * test_forward.c - mpshim-proxyd --forward and the shim's `proxy` policy.
 *
 * Real programs under the shim (curl, tests/helpers/mps-client) reach a
 * destination through proxyd in forward mode, on loopback; the test
 * itself also speaks the handshake with the core library, to send what
 * the shim never would: no key, an unknown key, a recorded handshake
 * replayed.  Loopback is in forward_deny by default, so every proxyd here
 * that should connect gets forward_allow = 127.0.0.1 (and the test that
 * checks the default has none).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "crypto.h"
#include "frame.h"
#include "harness.h"

#define KEY_HEX		"6d70736869d0726f78792d74657374206b657920f00d0001020304050607080a"
#define OTHER_HEX	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define WRONG_HEX	"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static int http_port, proxy_port, metrics_port;
static char proxy_log[512], proxy_stats[512];

static void start_httpd(void)
{
	char port[16];
	char *argv[] = { "python3", (char *)h_httpd(), "--port", port, "--dir",
			 (char *)h_tmpdir(), NULL };

	http_port = h_free_port();
	snprintf(port, sizeof(port), "%d", http_port);
	cr_assert_gt(h_spawn(argv, NULL, NULL), 0);
	cr_assert(h_wait_port(http_port, 5000), "httpd did not start");
}

static void setup(void)
{
	cr_assert(h_tmpdir()[0], "no scratch directory");
	start_httpd();
}

static void teardown(void)
{
	h_cleanup();
}

TestSuite(forward, .init = setup, .fini = teardown, .timeout = 90);

/* tmpdir/name holding text, with mode; returns a static path. */
static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char paths[4][512];
	static int next;
	char *path = paths[next++ % 4];
	FILE *f;

	snprintf(path, sizeof(paths[0]), "%s/%s", h_tmpdir(), name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
	return path;
}

static const char *server_keys(void)
{
	return write_file("proxyd.keys", "# the proxy's clients\n"
			  "laptop " KEY_HEX "\nphone " OTHER_HEX "\n", 0600);
}

/* proxyd --forward on a free port, with conf (may be NULL) as its
 * configuration file and metrics on another port. */
static void start_forward_proxyd(const char *conf)
{
	char listen[64], metrics[64];
	const char *cfgpath = write_file("proxyd.conf", conf ? conf : "", 0644);
	char *argv[] = { (char *)h_proxyd(), "--listen", listen, "--forward",
			 "--key-file", (char *)server_keys(), "--config", (char *)cfgpath,
			 "--metrics", metrics, "--stats-file", proxy_stats,
			 "--log-level", "debug", NULL };

	proxy_port = h_free_port();
	metrics_port = h_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", proxy_port);
	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", metrics_port);
	snprintf(proxy_stats, sizeof(proxy_stats), "%s/proxyd-stats.json", h_tmpdir());
	snprintf(proxy_log, sizeof(proxy_log), "%s/proxyd.log", h_tmpdir());
	cr_assert_gt(h_spawn(argv, NULL, proxy_log), 0);
	cr_assert(h_wait_port(proxy_port, 5000), "proxyd did not start:\n%s",
		  h_slurp(proxy_log));
}

static const char *allow_loopback = "forward_allow = 127.0.0.1\n";

/* The metrics page, fetched in-process (one HTTP/1.0 GET). */
static char *scrape(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	static char buf[16384];
	size_t have = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)metrics_port);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(send(fd, "GET /metrics HTTP/1.0\r\n\r\n", 25, 0), 25);
	while (have < sizeof(buf) - 1 &&
	       (n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	close(fd);
	return buf;
}

/* The value of one metric line ("name{labels}"), -1 when absent. */
static long metric(const char *name)
{
	char want[160];
	const char *text, *p;

	usleep(200 * 1000);	/* let proxyd finish what the client started */
	text = scrape();
	snprintf(want, sizeof(want), "\n%s ", name);
	p = strstr(text, want);
	return p ? strtol(p + strlen(want), NULL, 10) : -1;
}

static void assert_log_has(const char *what)
{
	char *text;

	usleep(100 * 1000);
	text = h_slurp(proxy_log);
	cr_assert(text && strstr(text, what), "proxyd log lacks \"%s\":\n%s", what,
		  text ? text : "");
	free(text);
}

/* ---- real programs under the shim -------------------------------------- */

/* curl under the shim fetching url; proxy settings in extra ("K=V",
 * NULL-terminated).  Returns curl's exit status. */
static int shim_curl(const char *url, const char *upgrade, const char *out,
		     const char *stats, char *const extra[], const char *log)
{
	char pre[600], up[96], st[600];
	char *env[16] = { pre, up, st, "MPSHIM_SUBFLOWS=2", "MPSHIM_LOG=info",
			  "MPSHIM_HELLO_TIMEOUT=500ms" };
	char *argv[] = { "curl", "-sS", "--max-time", "60", "-o", (char *)out,
			 (char *)url, NULL };
	int n = 6;

	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=%s", upgrade);
	snprintf(st, sizeof(st), "MPSHIM_STATS_FILE=%s", stats);
	for (int i = 0; extra && extra[i] && n < 15; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	return h_wait(h_spawn(argv, env, log), 80000);
}

static char env_proxy[64], env_key[600];

/* MPSHIM_PROXY at proxy_port (or port) and the client's key file. */
static void client_env(int port, const char *key_hex)
{
	char text[160];

	snprintf(env_proxy, sizeof(env_proxy), "MPSHIM_PROXY=127.0.0.1:%d", port);
	snprintf(text, sizeof(text), "laptop %s\n", key_hex);
	snprintf(env_key, sizeof(env_key), "MPSHIM_PROXY_KEY_FILE=%s",
		 write_file("client.key", text, 0600));
}

static void assert_spread(const struct h_stats *s)
{
	uint64_t total = 0;
	int carrying = 0;

	for (int i = 0; i < s->n_sf; i++)
		total += s->sf[i].recv;
	for (int i = 0; i < s->n_sf; i++)
		if (s->sf[i].recv * 10 > total)
			carrying++;
	cr_assert_eq(s->n_sf, 2, "%d subflow(s)", s->n_sf);
	cr_assert_geq(carrying, 2, "fewer than 2 subflows carried > 10%% of %llu bytes",
		      (unsigned long long)total);
}

Test(forward, transfer_through_proxy_over_two_subflows)
{
	char url[128], out[512], stats[512], upgrade[64], want[65], got[65], peer[64];
	const char *file = h_make_file("blob", h_san_spread_bytes(40u << 20), 11);
	char *extra[] = { env_proxy, env_key, NULL };
	struct h_stats s;
	char *text;

	/* proxyd sends with roundrobin: on loopback's two equal subflows
	 * ecf takes the second only while the first is full, which depends
	 * on which of two instrumented processes is slower (a TSan run put
	 * 90% on one); this test is about forward mode carrying the data
	 * over both, ecf's spreading is e2e's and test_paths' */
	start_forward_proxyd("forward_allow = 127.0.0.1\nscheduler = roundrobin\n");
	client_env(proxy_port, KEY_HEX);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/blob", http_port);
	snprintf(upgrade, sizeof(upgrade), "127.0.0.1:%d", http_port);
	snprintf(out, sizeof(out), "%s/out", h_tmpdir());
	snprintf(stats, sizeof(stats), "%s/client-stats.json", h_tmpdir());
	cr_assert_eq(shim_curl(url, upgrade, out, stats, extra, NULL), 0, "curl failed");
	cr_assert(h_sha256_file(file, want));
	cr_assert(h_sha256_file(out, got), "no output");
	cr_assert_str_eq(got, want, "the bytes that arrived differ");

	/* multipath to the proxy, not plain TCP to the destination */
	cr_assert_eq(h_stats_read(stats, &s, 1), 1);
	cr_assert_not(s.fallback, "went direct: %s", s.fallback_reason);
	assert_spread(&s);
	text = h_slurp(stats);
	snprintf(peer, sizeof(peer), "\"peer\": \"127.0.0.1:%d\"", http_port);
	cr_assert(strstr(text, peer), "client stats do not name the destination:\n%s", text);
	snprintf(peer, sizeof(peer), "\"remote\": \"127.0.0.1:%d\"", proxy_port);
	cr_assert(strstr(text, peer), "subflows do not go to the proxy:\n%s", text);
	free(text);
	/* and proxyd carried it to the destination the HELLO named */
	cr_assert_eq(metric("mpshim_forward_connections_total"), 1);
	text = h_slurp(proxy_stats);
	snprintf(peer, sizeof(peer), "\"peer\": \"127.0.0.1:%d\"", http_port);
	cr_assert(text && strstr(text, peer), "proxyd stats:\n%s", text ? text : "");
	free(text);
}

/* A plain TCP "ping"/"pong" server in the test, for mps-client. */
static int listen_local(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Accept one connection, answer "ping" with "pong"; the peer's address
 * goes to *from. */
static void serve_pong(int lfd, struct sockaddr_in *from)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	socklen_t len = sizeof(*from);
	char buf[8];
	size_t got = 0;
	int fd;

	cr_assert_gt(poll(&p, 1, 10000), 0, "nobody connected to the destination");
	fd = accept(lfd, (struct sockaddr *)from, &len);
	cr_assert_geq(fd, 0);
	while (got < 4) {
		ssize_t n = recv(fd, buf + got, 4 - got, 0);

		cr_assert_gt(n, 0, "no ping");
		got += (size_t)n;
	}
	cr_assert_arr_eq(buf, "ping", 4);
	cr_assert_eq(send(fd, "pong", 4, MSG_NOSIGNAL), 4);
	p.fd = fd;
	while (poll(&p, 1, 3000) > 0 && recv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);
}

/* mps-client MODE 127.0.0.1 port EXPECT under the shim, with extra env. */
static pid_t spawn_client(const char *mode, int port, const char *expect,
			  char *const extra[], const char *log)
{
	static char pre[600], up[64], portstr[16], path[600];
	char *env[12] = { pre, up, "MPSHIM_SUBFLOWS=2", "MPSHIM_EXIT_LINGER=300ms",
			  "MPSHIM_LOG=info" };
	char *argv[] = { path, (char *)mode, "127.0.0.1", portstr, (char *)expect, NULL };
	int n = 5;

	snprintf(path, sizeof(path), "%s/tests/helpers/mps-client", h_builddir());
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%d", port);
	snprintf(portstr, sizeof(portstr), "%d", port);
	for (int i = 0; extra && extra[i] && n < 11; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	return h_spawn(argv, env, log);
}

static void assert_client_exit(pid_t pid, const char *log, int want)
{
	int rc = h_wait(pid, 30000);
	char *text = h_slurp(log);

	cr_assert_eq(rc, want, "mps-client exited %d, expected %d:\n%s", rc, want,
		     text ? text : "");
	free(text);
}

/* The application connects to the destination; that is what it must see
 * from getpeername, although its subflows go to the proxy. */
Test(forward, getpeername_names_the_destination)
{
	char log[512];
	char *extra[] = { env_proxy, env_key, NULL };
	struct sockaddr_in from;
	int dport, lfd = listen_local(&dport);
	pid_t pid;

	start_forward_proxyd(allow_loopback);
	client_env(proxy_port, KEY_HEX);
	snprintf(log, sizeof(log), "%s/client.log", h_tmpdir());
	/* mps-client checks getpeername() against ADDR:PORT of its command line */
	pid = spawn_client("blocking", dport, "ok", extra, log);
	cr_assert_gt(pid, 0);
	serve_pong(lfd, &from);
	assert_client_exit(pid, log, 0);
	cr_assert_eq(metric("mpshim_forward_connections_total"), 1,
		     "the connection did not go through the proxy");
	close(lfd);
}

/* ---- refusals ------------------------------------------------------------ */

/* The shim with a key proxyd does not have under that name: refused at
 * AUTH, counted, and the program's connect() fails as TCP's would. */
Test(forward, wrong_key_is_refused_and_counted)
{
	char url[128], out[512], stats[512], upgrade[64], log[512];
	char *extra[] = { env_proxy, env_key, "MPSHIM_PROXY_FALLBACK=direct", NULL };
	char *text;

	start_forward_proxyd(allow_loopback);
	client_env(proxy_port, WRONG_HEX);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", http_port);
	snprintf(upgrade, sizeof(upgrade), "127.0.0.1:%d", http_port);
	snprintf(out, sizeof(out), "%s/out", h_tmpdir());
	snprintf(stats, sizeof(stats), "%s/client-stats.json", h_tmpdir());
	snprintf(log, sizeof(log), "%s/curl.log", h_tmpdir());
	/* a refusal is an answer: even proxy_fallback=direct does not go
	 * around it; curl 7 = could not connect */
	cr_assert_eq(shim_curl(url, upgrade, out, stats, extra, log), 7);
	text = h_slurp(log);
	cr_assert(text && strstr(text, "Couldn't connect"), "curl said:\n%s", text);
	free(text);
	cr_assert_eq(metric("mpshim_forward_refusals_total{reason=\"bad_proof\"}"), 1);
	cr_assert_eq(metric("mpshim_forward_connections_total"), 0);
	assert_log_has("refused (bad_proof)");
}

/* ---- the handshake spoken by the test --------------------------------- */

static int tcp_connect(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static size_t encode(const struct mps_frame *f, uint8_t *buf, size_t cap)
{
	int n = mps_frame_encode(f, buf, cap);

	cr_assert_gt(n, 0);
	return (size_t)n;
}

/* The next frame from proxyd that is not a PING. */
static void next_frame(int fd, struct h_frames *rd, struct mps_frame *f)
{
	cr_assert_gt(h_frame_next_skip_ping(fd, rd, f, 5000), 0,
		     "proxyd closed, went silent or sent a malformed frame");
}

static void assert_closed_by_peer(int fd)
{
	cr_assert(h_closed_by_peer(fd), "proxyd kept a refused connection open");
}

static void assert_refused(int fd, struct h_frames *rd, uint64_t key_c)
{
	struct mps_frame f;

	next_frame(fd, rd, &f);
	cr_assert_eq(f.type, MPS_FT_FASTCLOSE, "got %s, not FASTCLOSE",
		     mps_frame_type_name(f.type));
	cr_assert_eq(f.u.fastclose.code, MPS_CLOSE_DENIED);
	cr_assert_eq(f.u.fastclose.key, key_c, "FASTCLOSE carries the client's key");
	assert_closed_by_peer(fd);
}

/* What a client sent, byte for byte, for replaying it. */
struct recorded {
	uint8_t hello[128], auth[64];
	size_t hello_len, auth_len;
	uint64_t key_c;
	uint8_t proof_s[32];	/* the proxy's AUTH, as it must be */
};

/* handshake() names its target as ::ffff:127.0.0.1 instead */
static bool target_mapped;

static void hex_key(const char *hex, uint8_t *key)
{
	for (int i = 0; i < 32; i++) {
		unsigned v;

		cr_assert_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		key[i] = (uint8_t)v;
	}
}

/*
 * A HELLO naming 127.0.0.1:dport; with id, the PSK block and (when the
 * proxy challenges) AUTH with key_hex.  Returns the socket with the
 * proxy's answer to come: rec gets the bytes sent, *challenged whether
 * HELLO_ACK asked for AUTH.
 */
static int handshake(const char *id, const char *key_hex, int dport,
		     struct h_frames *rd, struct recorded *rec, bool *challenged)
{
	struct mps_frame f = { .type = MPS_FT_HELLO }, r;
	struct mps_auth_msg m;
	struct mps_x25519 kx;
	uint8_t psk[32];
	int fd = tcp_connect(proxy_port);

	memset(rec, 0, sizeof(*rec));
	rd->have = 0;
	cr_assert_eq(mps_crypto_x25519_new(&kx), 0);
	cr_assert_eq(mps_crypto_key_new(&rec->key_c), 0);
	f.flags = MPS_HELLO_F_TARGET | (id ? MPS_HELLO_F_PSK : 0);
	f.u.hello.version = MPS_PROTO_VERSION;
	f.u.hello.key = rec->key_c;
	memcpy(f.u.hello.pub, kx.pub, 32);
	f.u.hello.target.port = (uint16_t)dport;
	if (target_mapped) {
		f.u.hello.target.family = 6;
		memcpy(f.u.hello.target.addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f\x00\x00\x01", 16);
	} else {
		f.u.hello.target.family = 4;
		memcpy(f.u.hello.target.addr, "\x7f\x00\x00\x01", 4);
	}
	if (id)
		memcpy(f.u.hello.key_id, id, strlen(id));
	rec->hello_len = encode(&f, rec->hello, sizeof(rec->hello));
	cr_assert_eq(send(fd, rec->hello, rec->hello_len, MSG_NOSIGNAL),
		     (ssize_t)rec->hello_len);
	*challenged = false;
	if (!id)
		return fd;
	/* a proxy that will not take the key says so right away */
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		cr_assert_gt(poll(&p, 1, 5000), 0, "no answer to HELLO");
	}
	next_frame(fd, rd, &r);
	if (r.type == MPS_FT_FASTCLOSE) {
		/* put it back for the caller: re-encode into the reader */
		rd->have = encode(&r, rd->buf, sizeof(rd->buf));
		return fd;
	}
	cr_assert_eq(r.type, MPS_FT_HELLO_ACK);
	cr_assert(r.flags & MPS_HELLO_F_AUTH, "HELLO_ACK without AUTH from --forward");
	*challenged = true;
	memset(&m, 0, sizeof(m));
	memcpy(m.key_id, f.u.hello.key_id, MPS_KEY_ID_LEN);
	m.key_c = rec->key_c;
	memcpy(m.pub_c, kx.pub, 32);
	m.key_s = r.u.hello_ack.key;
	memcpy(m.pub_s, r.u.hello_ack.pub, 32);
	m.target = f.u.hello.target;
	hex_key(key_hex, psk);
	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_AUTH;
	cr_assert_eq(mps_crypto_auth_proof(psk, 32, MPS_ROLE_CLIENT, &m, f.u.auth.proof), 0);
	rec->auth_len = encode(&f, rec->auth, sizeof(rec->auth));
	cr_assert_eq(send(fd, rec->auth, rec->auth_len, MSG_NOSIGNAL),
		     (ssize_t)rec->auth_len);
	/* what an honest proxy answers once the destination is up */
	cr_assert_eq(mps_crypto_auth_proof(psk, 32, MPS_ROLE_SERVER, &m, rec->proof_s), 0);
	return fd;
}

/*
 * Early data does not exist in forward mode: the proxy connects nowhere
 * before the client's AUTH, so DATA right behind a HELLO naming a target
 * is refused like any frame that is not AUTH (no_auth).
 */
Test(forward, early_data_after_a_targeted_hello_is_refused)
{
	struct h_frames *rd = calloc(1, sizeof(*rd));
	struct mps_frame f = { .type = MPS_FT_HELLO }, d = { .type = MPS_FT_DATA }, r;
	struct mps_x25519 kx;
	uint64_t key_c, idsn_c;
	uint32_t tok;
	int fd;

	cr_assert_not_null(rd);
	start_forward_proxyd(allow_loopback);
	fd = tcp_connect(proxy_port);
	cr_assert_eq(mps_crypto_x25519_new(&kx), 0);
	cr_assert_eq(mps_crypto_key_new(&key_c), 0);
	mps_crypto_key_derive(key_c, &tok, &idsn_c);
	f.flags = MPS_HELLO_F_TARGET | MPS_HELLO_F_PSK;
	f.u.hello.version = MPS_PROTO_VERSION;
	f.u.hello.key = key_c;
	memcpy(f.u.hello.pub, kx.pub, 32);
	f.u.hello.target.family = 4;
	f.u.hello.target.port = (uint16_t)http_port;
	memcpy(f.u.hello.target.addr, "\x7f\x00\x00\x01", 4);
	memcpy(f.u.hello.key_id, "laptop", 6);
	cr_assert(h_frame_send(fd, &f));
	d.u.data.dsn = idsn_c;
	d.u.data.payload = (const uint8_t *)"GET / HTTP/1.0\r\n\r\n";
	d.u.data.len = 18;
	cr_assert(h_frame_send(fd, &d));
	next_frame(fd, rd, &r);
	cr_assert_eq(r.type, MPS_FT_HELLO_ACK);
	cr_assert(r.flags & MPS_HELLO_F_AUTH, "the challenge");
	assert_refused(fd, rd, key_c);
	cr_assert_eq(metric("mpshim_forward_refusals_total{reason=\"no_auth\"}"), 1);
	cr_assert_eq(metric("mpshim_early_data_bytes_total"), 0);
	assert_log_has("DATA instead of AUTH");
	free(rd);
}

/* No key id, an unknown key id: refused before any challenge, counted
 * by reason, and nothing is connected. */
Test(forward, missing_or_unknown_key_is_refused_and_counted)
{
	struct h_frames *rd = calloc(1, sizeof(*rd));
	struct recorded rec;
	bool challenged;
	int fd;

	cr_assert_not_null(rd);
	start_forward_proxyd(allow_loopback);
	fd = handshake(NULL, NULL, http_port, rd, &rec, &challenged);
	assert_refused(fd, rd, rec.key_c);
	fd = handshake("stranger", KEY_HEX, http_port, rd, &rec, &challenged);
	cr_assert_not(challenged);
	assert_refused(fd, rd, rec.key_c);
	cr_assert_eq(metric("mpshim_forward_refusals_total{reason=\"no_key\"}"), 1);
	cr_assert_eq(metric("mpshim_forward_refusals_total{reason=\"unknown_key\"}"), 1);
	cr_assert_eq(metric("mpshim_forward_connections_total"), 0);
	assert_log_has("no key 'stranger' in the key file");
	free(rd);
}

/*
 * A whole handshake recorded on the wire (HELLO and AUTH) and sent again
 * is refused: the proxy's fresh key in the new HELLO_ACK is not the one
 * the recorded proof covers.  The destination sees only the honest
 * connection.
 */
Test(forward, replayed_handshake_is_refused)
{
	struct h_frames *rd = calloc(1, sizeof(*rd));
	struct recorded rec;
	struct mps_frame f;
	bool challenged;
	int dport, lfd = listen_local(&dport), fd, n = 0, one;

	cr_assert_not_null(rd);
	start_forward_proxyd(allow_loopback);
	/* the honest client: authenticated, connected, and the proxy proves
	 * it holds the key too */
	fd = handshake("laptop", KEY_HEX, dport, rd, &rec, &challenged);
	cr_assert(challenged);
	next_frame(fd, rd, &f);
	cr_assert_eq(f.type, MPS_FT_AUTH, "got %s, not the proxy's AUTH",
		     mps_frame_type_name(f.type));
	cr_assert_arr_eq(f.u.auth.proof, rec.proof_s, 32, "the proxy's proof is wrong");
	close(fd);

	/* the recorded bytes, sent again in one go as a replayer would */
	fd = tcp_connect(proxy_port);
	rd->have = 0;
	{
		uint8_t both[192];

		memcpy(both, rec.hello, rec.hello_len);
		memcpy(both + rec.hello_len, rec.auth, rec.auth_len);
		cr_assert_eq(send(fd, both, rec.hello_len + rec.auth_len, MSG_NOSIGNAL),
			     (ssize_t)(rec.hello_len + rec.auth_len));
	}
	next_frame(fd, rd, &f);
	cr_assert_eq(f.type, MPS_FT_HELLO_ACK);
	assert_refused(fd, rd, rec.key_c);
	cr_assert_eq(metric("mpshim_forward_refusals_total{reason=\"bad_proof\"}"), 1);
	cr_assert_eq(metric("mpshim_forward_connections_total"), 1);
	assert_log_has("or a replay");

	/* one connection reached the destination, the honest one */
	one = fcntl(lfd, F_GETFL);
	fcntl(lfd, F_SETFL, one | O_NONBLOCK);
	for (int c; (c = accept(lfd, NULL, NULL)) >= 0; n++)
		close(c);
	cr_assert_eq(n, 1, "%d connections reached the destination", n);
	close(lfd);
	free(rd);
}

/* Loopback is denied by default; forward_allow lets a destination
 * through, here only for some ports. */
Test(forward, default_deny_refuses_loopback)
{
	struct h_frames *rd = calloc(1, sizeof(*rd));
	char url[128], out[512], stats[512], upgrade[64];
	char *extra[] = { env_proxy, env_key, NULL };
	struct recorded rec;
	bool challenged;
	int fd;

	cr_assert_not_null(rd);
	start_forward_proxyd(NULL);
	client_env(proxy_port, KEY_HEX);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", http_port);
	snprintf(upgrade, sizeof(upgrade), "127.0.0.1:%d", http_port);
	snprintf(out, sizeof(out), "%s/out", h_tmpdir());
	snprintf(stats, sizeof(stats), "%s/client-stats.json", h_tmpdir());
	cr_assert_eq(shim_curl(url, upgrade, out, stats, extra, NULL), 7);
	/* the IPv4-mapped spelling of loopback is loopback too */
	target_mapped = true;
	fd = handshake("laptop", KEY_HEX, http_port, rd, &rec, &challenged);
	cr_assert(challenged, "a known key is challenged before the destination is judged");
	assert_refused(fd, rd, rec.key_c);
	cr_assert_eq(metric("mpshim_forward_refusals_total{reason=\"denied\"}"), 2);
	cr_assert_eq(metric("mpshim_forward_connections_total"), 0);
	assert_log_has("is denied by forward_allow/forward_deny");
	h_cleanup();

	/* an allow that covers other ports only changes nothing */
	cr_assert(h_tmpdir()[0]);
	start_httpd();
	start_forward_proxyd("forward_allow = 127.0.0.1:1-1023, [::1]\n");
	client_env(proxy_port, KEY_HEX);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", http_port);
	snprintf(upgrade, sizeof(upgrade), "127.0.0.1:%d", http_port);
	snprintf(out, sizeof(out), "%s/out", h_tmpdir());
	snprintf(stats, sizeof(stats), "%s/client-stats.json", h_tmpdir());
	cr_assert_eq(shim_curl(url, upgrade, out, stats, extra, NULL), 7);
	cr_assert_eq(metric("mpshim_forward_refusals_total{reason=\"denied\"}"), 1);
	h_cleanup();

	/* one that names the port lets it through */
	cr_assert(h_tmpdir()[0]);
	start_httpd();
	{
		char conf[96];

		snprintf(conf, sizeof(conf), "forward_allow = 127.0.0.0/8:%d\n", http_port);
		start_forward_proxyd(conf);
	}
	client_env(proxy_port, KEY_HEX);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", http_port);
	snprintf(upgrade, sizeof(upgrade), "127.0.0.1:%d", http_port);
	snprintf(out, sizeof(out), "%s/out", h_tmpdir());
	snprintf(stats, sizeof(stats), "%s/client-stats.json", h_tmpdir());
	cr_assert_eq(shim_curl(url, upgrade, out, stats, extra, NULL), 0);
	cr_assert_eq(metric("mpshim_forward_connections_total"), 1);
	free(rd);
}

/* ---- no open proxy by mistake ------------------------------------------ */

/* proxyd's exit status and what it printed. */
static int run_proxyd(char *const args[], char **output)
{
	char *argv[16] = { (char *)h_proxyd() };
	char log[512];
	int n = 1, rc;

	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(log, sizeof(log), "%s/start.log", h_tmpdir());
	unlink(log);
	rc = h_wait(h_spawn(argv, NULL, log), 5000);
	*output = h_slurp(log);
	return rc;
}

Test(forward, proxyd_refuses_to_start_without_a_private_key_file)
{
	char listen[64], *out;
	const char *conf = write_file("fwd.conf", "forward = yes\n", 0644);
	const char *keys = server_keys();
	const char *shared;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", h_free_port());
	/* no key file at all */
	cr_assert_eq(run_proxyd((char *[]){ "--listen", listen, "--forward", NULL }, &out), 2);
	cr_assert(out && strstr(out, "open proxy"), "%s", out);
	free(out);
	/* forward mode from a configuration file: the same */
	cr_assert_eq(run_proxyd((char *[]){ "--listen", listen, "--config", (char *)conf,
					    NULL }, &out), 2);
	cr_assert(out && strstr(out, "needs a key file"), "%s", out);
	free(out);
	/* a key file the group can read */
	shared = write_file("shared.keys", "laptop " KEY_HEX "\n", 0640);
	cr_assert_eq(run_proxyd((char *[]){ "--listen", listen, "--forward", "--key-file",
					    (char *)shared, NULL }, &out), 1);
	cr_assert(out && strstr(out, "too open") && strstr(out, "chmod 600"), "%s", out);
	free(out);
	/* one others can read */
	cr_assert_eq(chmod(shared, 0604), 0);
	cr_assert_eq(run_proxyd((char *[]){ "--listen", listen, "--forward", "--key-file",
					    (char *)shared, NULL }, &out), 1);
	cr_assert(out && strstr(out, "too open"), "%s", out);
	free(out);
	/* and with a private one it runs */
	{
		char *argv[] = { (char *)h_proxyd(), "--listen", listen, "--forward",
				 "--key-file", (char *)keys, NULL };
		int port = atoi(strrchr(listen, ':') + 1);

		cr_assert_gt(h_spawn(argv, NULL, NULL), 0);
		cr_assert(h_wait_port(port, 5000), "proxyd with a private key file did not start");
	}
}

/* A reverse proxy is not a forward proxy: a HELLO that names a target is
 * refused, not carried to the backend. */
Test(forward, reverse_proxy_refuses_a_named_destination)
{
	char listen[64], backend[64], metrics[64], log[512];
	char *argv[] = { (char *)h_proxyd(), "--listen", listen, "--backend", backend,
			 "--metrics", metrics, NULL };
	char *extra[] = { env_proxy, env_key, NULL };
	int dport, lfd = listen_local(&dport);

	proxy_port = h_free_port();
	metrics_port = h_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", proxy_port);
	snprintf(backend, sizeof(backend), "127.0.0.1:%d", http_port);
	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", metrics_port);
	cr_assert_gt(h_spawn(argv, NULL, NULL), 0);
	cr_assert(h_wait_port(proxy_port, 5000));
	client_env(proxy_port, KEY_HEX);
	snprintf(log, sizeof(log), "%s/client.log", h_tmpdir());
	assert_client_exit(spawn_client("blocking", dport, "refused", extra, log), log, 0);
	cr_assert_eq(metric("mpshim_forward_refusals_total{reason=\"disabled\"}"), 1);
	close(lfd);
}

/* ---- the proxy is down: proxy_fallback decides ------------------------- */

Test(forward, proxy_down_goes_direct_with_fallback_direct)
{
	char log[512], *text;
	char *extra[] = { env_proxy, env_key, "MPSHIM_PROXY_FALLBACK=direct", NULL };
	struct sockaddr_in from;
	int dport, lfd = listen_local(&dport);
	pid_t pid;

	client_env(h_free_port(), KEY_HEX);	/* nobody listens there */
	snprintf(log, sizeof(log), "%s/client.log", h_tmpdir());
	pid = spawn_client("blocking", dport, "ok", extra, log);
	cr_assert_gt(pid, 0);
	serve_pong(lfd, &from);
	assert_client_exit(pid, log, 0);
	text = h_slurp(log);
	cr_assert(text && strstr(text, "proxy unreachable") &&
		  strstr(text, "carried as plain TCP"), "client log:\n%s", text);
	free(text);
	close(lfd);
}

Test(forward, proxy_down_fails_with_fallback_fail)
{
	char log[512];
	char *extra[] = { env_proxy, env_key, "MPSHIM_PROXY_FALLBACK=fail", NULL };
	int dport, lfd = listen_local(&dport);

	client_env(h_free_port(), KEY_HEX);
	snprintf(log, sizeof(log), "%s/client-blocking.log", h_tmpdir());
	/* connect() fails with ECONNREFUSED, and SO_ERROR says so after a
	 * non-blocking one; the destination, which works, is never tried */
	assert_client_exit(spawn_client("blocking", dport, "refused", extra, log), log, 0);
	snprintf(log, sizeof(log), "%s/client-poll.log", h_tmpdir());
	assert_client_exit(spawn_client("poll", dport, "refused", extra, log), log, 0);
	{
		struct pollfd p = { .fd = lfd, .events = POLLIN };

		cr_assert_eq(poll(&p, 1, 0), 0, "the client went direct");
	}
	close(lfd);
}

/* Without a backend, proxyd has nothing for a plain client or a HELLO
 * that names no destination: both are closed and counted. */
Test(forward, forward_only_proxy_refuses_plain_and_untargeted_clients)
{
	struct h_frames *rd = calloc(1, sizeof(*rd));
	struct mps_frame f = { .type = MPS_FT_HELLO };
	struct mps_x25519 kx;
	uint8_t buf[128];
	int fd;

	cr_assert_not_null(rd);
	start_forward_proxyd(allow_loopback);
	fd = tcp_connect(proxy_port);
	cr_assert_eq(send(fd, "GET / HTTP/1.0\r\n\r\n", 18, MSG_NOSIGNAL), 18);
	assert_closed_by_peer(fd);

	fd = tcp_connect(proxy_port);
	cr_assert_eq(mps_crypto_x25519_new(&kx), 0);
	f.u.hello.version = MPS_PROTO_VERSION;
	cr_assert_eq(mps_crypto_key_new(&f.u.hello.key), 0);
	memcpy(f.u.hello.pub, kx.pub, 32);
	{
		size_t n = encode(&f, buf, sizeof(buf));

		cr_assert_eq(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
	}
	rd->have = 0;
	assert_refused(fd, rd, f.u.hello.key);
	cr_assert_eq(metric("mpshim_forward_refusals_total{reason=\"plain\"}"), 1);
	cr_assert_eq(metric("mpshim_forward_refusals_total{reason=\"no_target\"}"), 1);
	free(rd);
}
