/*
 * test_early.c - early data (0-RTT), on loopback: the application's
 * first bytes leave right behind the HELLO, before HELLO_ACK.
 *
 * Applications are tests/helpers/mps-stream push (under the shim: connect,
 * write everything at once, shut down writing, read the answer) and fetch;
 * the backend is mps-stream sink, which reads to EOF and answers whether
 * every byte was the pattern.  Timing is for bench/; these tests show the
 * round trip saved by order instead.  The backend can be plugged (its
 * accept queue full, so the kernel drops every SYN): then proxyd's backend
 * connect cannot complete, so it cannot have sent HELLO_ACK, and every byte
 * its counters show must have come as early data.  tests/net/test_connect.c
 * shows the same from a server that says nothing until the request is in.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "crypto.h"
#include "frame.h"
#include "harness.h"
#include "meta.h"

/* mps-stream exit statuses (tests/helpers/mps-stream.c) */
enum { APP_OK = 0, APP_REFUSED = 10, APP_RESET = 11, APP_CORRUPT = 13 };

static int sink_port, proxy_port, metrics_port;
static pid_t sink_pid;
static char unplug_path[512], proxyd_log[512], proxyd_stats[512], sink_dir[512];

static void fini(void)
{
	h_cleanup();
}

TestSuite(early, .fini = fini, .timeout = 60);

/* The backend: mps-stream sink of seed, keeping every connection's bytes
 * in sink_dir; plugged until unplug_backend(). */
static void sink_start(const char *seed, bool plugged)
{
	char port[16], out[512];
	char *argv[12] = { (char *)h_stream_bin(), "sink", "-S", (char *)seed, "-d", sink_dir };
	int n = 6;

	sink_port = h_free_port();
	snprintf(port, sizeof(port), "%d", sink_port);
	snprintf(sink_dir, sizeof(sink_dir), "%s", h_tmpdir());
	snprintf(unplug_path, sizeof(unplug_path), "%s/unplug", h_tmpdir());
	snprintf(out, sizeof(out), "%s/sink.out", h_tmpdir());
	if (plugged) {
		argv[n++] = "-p";
		argv[n++] = unplug_path;
	}
	argv[n++] = port;
	argv[n] = NULL;
	sink_pid = h_spawn(argv, NULL, out);
	cr_assert_gt(sink_pid, 0);
	/* a plugged backend cannot be probed by connecting: it says so */
	if (plugged)
		cr_assert(h_wait_file_has(out, "plugged", 5000), "the sink did not plug");
	else
		cr_assert(h_wait_port(sink_port, 5000), "the sink did not start");
}

static void unplug_backend(void)
{
	int fd = open(unplug_path, O_WRONLY | O_CREAT, 0644);

	cr_assert_geq(fd, 0);
	close(fd);
}

/* proxyd in front of backend_port, with metrics and a stats file; env
 * extra "K=V" settings (may be NULL). */
static void proxyd_start(int backend_port, char *const env[])
{
	char listen[64], backend[64], metrics[64];
	char *argv[] = { (char *)h_proxyd(), "--listen", listen, "--backend", backend,
			 "--metrics", metrics, "--stats-file", proxyd_stats,
			 "--log-level", "debug", NULL };

	proxy_port = h_free_port();
	metrics_port = h_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", proxy_port);
	snprintf(backend, sizeof(backend), "127.0.0.1:%d", backend_port);
	snprintf(metrics, sizeof(metrics), "127.0.0.1:%d", metrics_port);
	snprintf(proxyd_log, sizeof(proxyd_log), "%s/proxyd.log", h_tmpdir());
	snprintf(proxyd_stats, sizeof(proxyd_stats), "%s/proxyd-stats.json", h_tmpdir());
	cr_assert_gt(h_spawn(argv, (char **)env, proxyd_log), 0);
	cr_assert(h_wait_port(proxy_port, 5000), "proxyd did not start");
}

/*
 * mps-stream MODE (push or fetch) under the shim to 127.0.0.1:port, which
 * the upgrade entry names exactly (so early_data = auto applies unless
 * upgrade is given in env); args before the address, env extra settings
 * after the defaults.  Output to out.
 */
static pid_t app_start(const char *mode, int port, char *const args[], char *const env[],
		       const char *out)
{
	char pre[600], up[64], portstr[16];
	char *e[16] = { pre, up, "MPSHIM_SUBFLOWS=2", "MPSHIM_LOG=debug" };
	char *argv[24] = { (char *)h_stream_bin(), (char *)mode };
	int n = 2, m = 4;

	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%d", port);
	snprintf(portstr, sizeof(portstr), "%d", port);
	for (int i = 0; args && args[i] && n < 20; i++)
		argv[n++] = args[i];
	argv[n++] = "127.0.0.1";
	argv[n++] = portstr;
	argv[n] = NULL;
	for (int i = 0; env && env[i] && m < 15; i++)
		e[m++] = env[i];
	e[m] = NULL;
	return h_spawn(argv, e, out);
}

static bool file_has(const char *path, const char *what)
{
	char *text = h_slurp(path);
	bool has = text && strstr(text, what);

	free(text);
	return has;
}

static long metric(const char *name)
{
	return h_metric(metrics_port, name);
}

/* Poll a metric of proxyd until it equals want (bounded). */
static bool metric_becomes(const char *name, long want, int timeout_ms)
{
	long v = -1;

	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		v = metric(name);
		if (v == want)
			return true;
		h_sleep_ms(50);
	}
	cr_log_error("%s stayed %ld, want %ld", name, v, want);
	return false;
}

#define EARLY_BYTES	"mpshim_early_data_bytes_total"
#define EARLY_CONNS	"mpshim_early_data_connections_total"
#define EARLY_FINS	"mpshim_early_data_fins_total"

/* ---- through proxyd ------------------------------------------------------ */

/*
 * The request reaches proxyd while its backend connect cannot complete,
 * that is before HELLO_ACK can have been sent: the application's
 * connect() returned and its bytes left one round trip earlier than a
 * connect() that waits for HELLO_ACK.  Then the answer is intact.
 */
Test(early, request_reaches_proxyd_before_hello_ack)
{
	const char *out = h_out_file("push");
	char *args[] = { "-s", "300", "-S", "11", NULL };
	pid_t app;

	sink_start("11", true);
	proxyd_start(sink_port, NULL);
	app = app_start("push", proxy_port, args, NULL, out);
	cr_assert(h_wait_file_has(out, "connected", 5000),
		  "connect() did not return while the backend is unreachable");
	cr_assert(metric_becomes(EARLY_BYTES, 300, 5000),
		  "the request did not reach proxyd before HELLO_ACK");
	cr_assert_eq(metric(EARLY_CONNS), 1);
	cr_assert_eq(metric("mpshim_connections_open"), 1);
	unplug_backend();
	cr_assert_eq(h_app_end(app, 20000, out), APP_OK);
	cr_assert(file_has(out, "reply: 300 1"));
	cr_assert(file_has(out, "state=2"), "mpshim_fd_state must say multipath");
	cr_assert_eq(metric(EARLY_BYTES), 300);
	/* the connection's record names its early data */
	cr_assert(h_wait_file_has(proxyd_stats, "\"early_bytes\": 300", 5000),
		  "proxyd's stats line lacks the early bytes");
}

/* early_data = no: connect() waits for HELLO_ACK, so nothing arrives
 * before the backend is there and the counter stays 0. */
Test(early, nothing_early_when_off)
{
	const char *out = h_out_file("push");
	char *args[] = { "-s", "300", "-S", "12", NULL };
	char *env[] = { "MPSHIM_EARLY_DATA=no", NULL };
	pid_t app;

	sink_start("12", true);
	proxyd_start(sink_port, NULL);
	app = app_start("push", proxy_port, args, env, out);
	cr_assert(metric_becomes("mpshim_connections_open", 1, 5000));
	h_sleep_ms(500);
	cr_assert(!file_has(out, "connected"), "connect() returned before HELLO_ACK");
	cr_assert_eq(metric(EARLY_BYTES), 0);
	unplug_backend();
	cr_assert_eq(h_app_end(app, 20000, out), APP_OK);
	cr_assert(file_has(out, "reply: 300 1"));
	cr_assert_eq(metric(EARLY_BYTES), 0);
	cr_assert_eq(metric(EARLY_CONNS), 0);
}

/* 1 MB written at once: exactly the early window goes before HELLO_ACK,
 * not a byte more, and the rest follows intact. */
Test(early, megabyte_at_once_sends_the_early_window_only)
{
	const char *out = h_out_file("push");
	char *args[] = { "-s", "1000000", "-S", "13", NULL };
	pid_t app;

	sink_start("13", true);
	proxyd_start(sink_port, NULL);
	app = app_start("push", proxy_port, args, NULL, out);
	cr_assert(metric_becomes(EARLY_BYTES, 65536, 5000));
	h_sleep_ms(300);
	cr_assert_eq(metric(EARLY_BYTES), 65536, "more than the early window");
	unplug_backend();
	cr_assert_eq(h_app_end(app, 20000, out), APP_OK);
	cr_assert(file_has(out, "reply: 1000000 1"), "bytes lost, repeated or corrupted");
	cr_assert_eq(metric(EARLY_BYTES), 65536);
}

/* A request and its end (shutdown(SHUT_WR)) both before HELLO_ACK: the
 * backend reads the request, then EOF (the sink answers only then). */
Test(early, data_fin_in_early_data)
{
	const char *out = h_out_file("push");
	char *args[] = { "-s", "300", "-S", "14", NULL };
	pid_t app;

	sink_start("14", true);
	proxyd_start(sink_port, NULL);
	app = app_start("push", proxy_port, args, NULL, out);
	cr_assert(metric_becomes(EARLY_FINS, 1, 5000), "no DATA_FIN as early data");
	cr_assert_eq(metric(EARLY_BYTES), 300);
	unplug_backend();
	cr_assert_eq(h_app_end(app, 20000, out), APP_OK);
	cr_assert(file_has(out, "reply: 300 1"), "the backend did not see the request, then EOF");
	cr_assert(h_wait_file_has(proxyd_stats, "\"early_fin\": true", 5000));
}

/*
 * The backend refuses.  Without early data the application's connect()
 * fails with ECONNREFUSED, as over plain TCP; with early data it has
 * succeeded already, and the application reads ECONNRESET instead (or
 * its request's send fails with EPIPE), as through any TCP proxy.  (push
 * -k keeps its writing side open: a relay shut for writing cannot be
 * given a reset, mpshim(7) BUGS.)
 */
Test(early, backend_refusal_after_early_data_is_a_reset)
{
	const char *out = h_out_file("push"), *out_off = h_out_file("push-off");
	char *args[] = { "-k", "-s", "100", NULL };
	char *off[] = { "MPSHIM_EARLY_DATA=no", NULL };
	int rc;

	proxyd_start(h_free_port(), NULL);
	rc = h_app_end(app_start("push", proxy_port, args, off, out_off), 10000, out_off);
	cr_assert_eq(rc, APP_REFUSED, "early data off: outcome %d, want ECONNREFUSED", rc);
	cr_assert(file_has(out_off, "connect: Connection refused"));

	rc = h_app_end(app_start("push", proxy_port, args, NULL, out), 10000, out);
	cr_assert(file_has(out, "connected"), "connect() must succeed with early data");
	cr_assert_eq(rc, APP_RESET, "outcome %d, want ECONNRESET or EPIPE", rc);
	cr_assert(file_has(out, "failed after early data (reset)"));
}

/* ---- fallback ------------------------------------------------------------ */

/* Bytes of a whole small file; its length in *len. */
static uint8_t *slurp_bin(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/*
 * The destination is a plain server (the sink, straight): the first
 * connection carries the HELLO and the early DATA, the client gives up on
 * it after hello_timeout, and the plain connection carries exactly the
 * application's bytes, the early ones first: nothing lost, nothing twice
 * (the sink checks every byte and the count).
 */
Test(early, fallback_to_plain_server_carries_every_byte_once)
{
	const char *out = h_out_file("push");
	char *args[] = { "-s", "300000", "-S", "15", NULL };
	char *env[] = { "MPSHIM_HELLO_TIMEOUT=300ms", NULL };
	char path[600];
	uint8_t *first, *real;
	size_t first_len, real_len, pos = 0, early = 0;
	struct mps_frame f;
	uint64_t idsn_c = 0;
	uint32_t tok;
	int n;

	sink_start("15", false);
	cr_assert_eq(h_app_end(app_start("push", sink_port, args, env, out), 20000, out), APP_OK);
	cr_assert(file_has(out, "reply: 300000 1"), "the plain connection lost or repeated bytes");
	cr_assert(file_has(out, "early data first"), "no fallback after early data");
	cr_assert(file_has(out, "state=4"), "mpshim_fd_state must say plain after the fallback");

	snprintf(path, sizeof(path), "%s/conn-1", sink_dir);
	first = slurp_bin(path, &first_len);
	snprintf(path, sizeof(path), "%s/conn-2", sink_dir);
	real = slurp_bin(path, &real_len);
	cr_assert(first && real, "the sink did not see two connections");
	snprintf(path, sizeof(path), "%s/conn-3", sink_dir);
	cr_assert_neq(access(path, F_OK), 0, "a third connection");
	cr_assert_eq(real_len, 300000);
	/* the first: HELLO, then DATA from idsn_c holding the bytes the real
	 * connection carried at the same offsets */
	while (pos < first_len &&
	       (n = mps_frame_parse(first + pos, first_len - pos, 0, &f)) > 0) {
		if (f.type == MPS_FT_HELLO) {
			mps_crypto_key_derive(f.u.hello.key, &tok, &idsn_c);
		} else {
			uint64_t off = f.u.data.dsn - idsn_c;

			cr_assert_eq(f.type, MPS_FT_DATA, "frame type %u after HELLO", f.type);
			cr_assert_leq(off + f.u.data.len, 65536, "beyond the early window");
			cr_assert_arr_eq(f.u.data.payload, real + off, f.u.data.len,
					 "early bytes differ from the application's");
			early += f.u.data.len;
		}
		pos += (size_t)n;
	}
	cr_assert_gt(early, 0, "no early data on the first connection");
	cr_log_info("early bytes on the connection given up: %zu", early);
	free(first);
	free(real);
}

/* fallback = no after early data: the connection is reset. */
Test(early, fallback_off_after_early_data_resets)
{
	const char *out = h_out_file("push");
	char *args[] = { "-k", "-s", "1000", "-S", "16", NULL };
	char *env[] = { "MPSHIM_HELLO_TIMEOUT=300ms", "MPSHIM_FALLBACK=no", NULL };
	int rc;

	sink_start("16", false);
	rc = h_app_end(app_start("push", sink_port, args, env, out), 10000, out);
	cr_assert(file_has(out, "connected"));
	cr_assert_eq(rc, APP_RESET, "outcome %d, want ECONNRESET", rc);
}

/* ---- auto: destinations known to speak mpshim ----------------------------- */

/*
 * auto with an upgrade entry that names no single server (*:PORT): the
 * first connection waits for HELLO_ACK, which puts the destination in the
 * process's cache; the next one sends early data.  Shown by the backend
 * going away in between: the second connection is reset after its connect
 * succeeded, where a connect that waits for HELLO_ACK would be refused.
 */
Test(early, destination_that_answered_gets_early_data_next_time)
{
	const char *out = h_out_file("fetch");
	char port[16], up[64];
	char *serve[] = { (char *)h_stream_bin(), "serve", port, NULL };
	char *args[] = { "-n", "2", "-g", "2000", "-s", "1000", NULL };
	char *env[] = { up, NULL };
	pid_t backend, app;
	int backend_port = h_free_port(), rc;

	snprintf(port, sizeof(port), "%d", backend_port);
	backend = h_spawn(serve, NULL, NULL);
	cr_assert_gt(backend, 0);
	cr_assert(h_wait_port(backend_port, 5000));
	proxyd_start(backend_port, NULL);
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=*:%d", proxy_port);
	app = app_start("fetch", proxy_port, args, env, out);
	cr_assert(h_wait_file_has(out, "result 0: ok", 10000), "the first connection failed");
	cr_assert(!file_has(out, "connected early"), "early data to an unknown server");
	kill(backend, SIGKILL);
	h_wait(backend, 5000);
	rc = h_app_end(app, 20000, out);
	cr_assert(file_has(out, "connected early"), "no early data to a known server");
	cr_assert_eq(rc, APP_RESET, "second connection: outcome %d, want ECONNRESET", rc);
}

/* ---- the wire ------------------------------------------------------------ */

struct raw_client {
	int fd;
	uint64_t key_c, idsn_c;
	struct h_frames *rd;
};

/* Connect to port and send HELLO (flags: CRC or not). */
static void raw_hello(struct raw_client *c, int port, uint8_t flags)
{
	struct mps_frame f = { .type = MPS_FT_HELLO };
	struct mps_x25519 kx;
	uint32_t tok;

	c->rd = calloc(1, sizeof(*c->rd));
	cr_assert_not_null(c->rd);
	c->fd = h_tcp_connect("127.0.0.1", port);
	cr_assert_geq(c->fd, 0);
	cr_assert_eq(mps_crypto_x25519_new(&kx), 0);
	cr_assert_eq(mps_crypto_key_new(&c->key_c), 0);
	mps_crypto_key_derive(c->key_c, &tok, &c->idsn_c);
	f.flags = flags;
	f.u.hello.version = MPS_PROTO_VERSION;
	f.u.hello.key = c->key_c;
	memcpy(f.u.hello.pub, kx.pub, MPS_X25519_LEN);
	cr_assert(h_frame_send(c->fd, &f));
}

static void raw_data(struct raw_client *c, uint64_t off, const char *text, bool fin,
		     bool crc)
{
	struct mps_frame f = { .type = MPS_FT_DATA };

	f.flags = (uint8_t)((fin ? MPS_DATA_F_FIN : 0) | (crc ? MPS_DATA_F_CRC : 0));
	f.u.data.dsn = c->idsn_c + off;
	f.u.data.payload = (const uint8_t *)text;
	f.u.data.len = (uint16_t)strlen(text);
	cr_assert(h_frame_send(c->fd, &f));
}

/* Frames from the server until one of type; its frame in *f. */
static void raw_until(struct raw_client *c, uint8_t type, struct mps_frame *f)
{
	do
		cr_assert_gt(h_frame_next_skip_ping(c->fd, c->rd, f, 5000), 0,
			     "the server closed, went silent or sent garbage");
	while (f->type != type);
}

/* Beyond the early window is a protocol error: proxyd closes the subflow
 * and, still connecting its (plugged) backend, gives the connection up at
 * once: nothing will reach the backend. */
Test(early, early_data_beyond_the_window_is_refused)
{
	struct raw_client c;

	sink_start("17", true);
	proxyd_start(sink_port, NULL);
	raw_hello(&c, proxy_port, 0);
	raw_data(&c, 65536 - 4, "12345678", false, false);
	cr_assert(h_closed_by_peer(c.fd), "proxyd kept the subflow");
	cr_assert(metric_becomes("mpshim_refusals_total{reason=\"protocol\"}", 1, 3000));
	cr_assert_eq(metric(EARLY_BYTES), 0);
	cr_assert(metric_becomes("mpshim_connections_open", 0, 3000),
		  "the connection outlived its only subflow");
	free(c.rd);
}

/*
 * The wire after early data, with checksums that proxyd uses (its
 * checksum is on) and the client did not ask for.  The early DATA, sent
 * before the client could know, comes without CRC and is taken (it is in
 * before HELLO_ACK: the backend is plugged).  HELLO_ACK's window counts
 * from idsn_c as always, and the DATA_ACK for the early bytes follows it
 * at once.  Once the client's first DATA_ACK says it has HELLO_ACK, DATA
 * without CRC is a protocol error again.
 */
Test(early, early_data_without_crc_until_the_first_data_ack)
{
	char *penv[] = { "MPSHIM_CHECKSUM=yes", NULL };
	struct mps_frame f, a = { .type = MPS_FT_DATA_ACK };
	struct raw_client c;
	char path[600], *got;
	uint64_t idsn_s;
	uint32_t tok;

	sink_start("18", true);
	proxyd_start(sink_port, penv);
	raw_hello(&c, proxy_port, 0);
	raw_data(&c, 0, "abc", false, false);
	cr_assert(metric_becomes(EARLY_BYTES, 3, 5000), "early DATA without CRC refused");
	unplug_backend();
	raw_until(&c, MPS_FT_HELLO_ACK, &f);
	cr_assert(f.flags & MPS_HELLO_F_CRC, "proxyd's checksum is on");
	cr_assert_eq(f.u.hello_ack.window, MPS_RCV_WINDOW_START,
		     "HELLO_ACK's window counts from idsn_c");
	mps_crypto_key_derive(f.u.hello_ack.key, &tok, &idsn_s);
	cr_assert_gt(h_frame_next_skip_ping(c.fd, c.rd, &f, 5000), 0);
	cr_assert_eq(f.type, MPS_FT_DATA_ACK, "%s right after HELLO_ACK",
		     mps_frame_type_name(f.type));
	cr_assert_eq(f.u.data_ack.ack, c.idsn_c + 3, "the early bytes acked");
	cr_assert_eq(f.u.data_ack.window, MPS_RCV_WINDOW_START - 3);
	a.u.data_ack.ack = idsn_s;
	a.u.data_ack.window = 65536;
	cr_assert(h_frame_send(c.fd, &a));
	raw_data(&c, 3, "def", false, false);
	cr_assert(h_closed_by_peer(c.fd), "DATA without CRC taken after the DATA_ACK");
	cr_assert(metric_becomes("mpshim_refusals_total{reason=\"protocol\"}", 1, 3000));
	cr_assert_eq(metric(EARLY_BYTES), 3);
	/* the backend got the early bytes, and nothing else */
	snprintf(path, sizeof(path), "%s/conn-1", sink_dir);
	cr_assert(h_wait_file_has(path, "abc", 5000), "the early bytes did not reach the backend");
	got = h_slurp(path);
	cr_assert_str_eq(got, "abc");
	free(got);
	free(c.rd);
}

/*
 * A shimmed server (mps-server under the shim, accept side): a client's
 * request and DATA_FIN as early data, in the same write as its HELLO,
 * reach the application ("ping", then EOF), and its answer comes back.
 */
Test(early, shimmed_server_takes_early_data)
{
	char path[600], port[16], out[512], stats[512], pre[600], acc[64], st[600];
	char *argv[] = { path, port, NULL };
	char *env[] = { pre, acc, st, "MPSHIM_LOG=info", NULL };
	struct mps_frame f, a = { .type = MPS_FT_DATA_ACK };
	struct raw_client c;
	uint64_t idsn_s;
	uint32_t tok;
	bool pong = false, acked = false;
	int sport = h_free_port();
	pid_t srv;

	snprintf(path, sizeof(path), "%s/tests/helpers/mps-server", h_builddir());
	snprintf(port, sizeof(port), "%d", sport);
	snprintf(out, sizeof(out), "%s/server.out", h_tmpdir());
	snprintf(stats, sizeof(stats), "%s/server-stats.json", h_tmpdir());
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(acc, sizeof(acc), "MPSHIM_ACCEPT=127.0.0.1:%d", sport);
	snprintf(st, sizeof(st), "MPSHIM_STATS_FILE=%s", stats);
	srv = h_spawn(argv, env, out);
	cr_assert_gt(srv, 0);
	cr_assert(h_wait_file_has(out, "listener", 5000), "mps-server did not listen");

	raw_hello(&c, sport, 0);
	raw_data(&c, 0, "ping", true, false);
	raw_until(&c, MPS_FT_HELLO_ACK, &f);
	cr_assert_eq(f.u.hello_ack.window, MPS_RCV_WINDOW_START,
		     "HELLO_ACK's window counts from idsn_c");
	mps_crypto_key_derive(f.u.hello_ack.key, &tok, &idsn_s);
	while (!pong || !acked) {
		cr_assert_gt(h_frame_next_skip_ping(c.fd, c.rd, &f, 5000), 0, "no answer");
		if (f.type == MPS_FT_DATA_ACK && f.u.data_ack.ack == c.idsn_c + 5)
			acked = true;	/* "ping" and the FIN */
		if (f.type == MPS_FT_DATA && f.u.data.len) {
			cr_assert_eq(f.u.data.dsn, idsn_s);
			cr_assert_arr_eq(f.u.data.payload, "pong", 4);
			pong = true;
		}
	}
	/* the app read EOF after "ping" and closed: the server's DATA_FIN */
	raw_until(&c, MPS_FT_DATA, &f);
	cr_assert(f.flags & MPS_DATA_F_FIN);
	a.u.data_ack.ack = idsn_s + 5;
	a.u.data_ack.window = 65536;
	cr_assert(h_frame_send(c.fd, &a));
	/* both directions done: our FIN ends the subflow, the record follows */
	shutdown(c.fd, SHUT_WR);
	cr_assert(h_closed_by_peer(c.fd));
	cr_assert_eq(h_wait(srv, 10000), 0, "mps-server failed");
	cr_assert(h_wait_file_has(stats, "\"early_bytes\": 4, \"early_fin\": true", 5000),
		  "the server's record lacks the early data");
	free(c.rd);
}
