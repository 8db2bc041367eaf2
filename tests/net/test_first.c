/*
 * test_first.c - a process's first connection, on loopback: what must
 * happen before what, so that it is not slower than the ones after it.
 *
 * Timing is for bench/ and doc/ARCHITECTURE.md ("The first connection");
 * these tests show the order of its steps instead:
 *
 * - the shim's engine start is held by a stats file that is a FIFO
 *   (opening it for writing blocks until someone reads): the first
 *   subflow's SYN must have left (presyn.c);
 * - some of the engine's calls are logged (tests/helpers/mps-calls.c,
 *   preloaded after the shim): connections must not look their
 *   interfaces up, which only a link event needs (engine.c,
 *   mps_engine_iface_down); and while the first SYN is unanswered (the
 *   server's accept queue full) HELLO_ACK's cryptography must have been
 *   set up (engine.c, cmd_connect);
 * - proxyd's backend is a listener the test never accepts from until the
 *   end: the backend connect must start with the HELLO, before its key
 *   exchange (engine.c, mps_meta_server_hello), which a HELLO whose key
 *   exchange fails shows;
 * - a raw client speaks to proxyd: after early data, HELLO_ACK waits for
 *   the backend's first answer and leaves with it in one segment
 *   (tcpi_data_segs_in), without early data it does not wait, and a
 *   backend that does not connect gets the client a PING; its X25519
 *   exchange (EVP_PKEY_derive, logged by mps-calls in proxyd) waits
 *   until that answer has left.
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
#include <linux/tcp.h>	/* tcpi_data_segs_in: newer than glibc's tcp_info */
#include <unistd.h>
#include "crypto.h"
#include "frame.h"
#include "harness.h"

static void fini(void)
{
	h_cleanup();
}

TestSuite(first, .fini = fini, .timeout = 60);

/* A listener on 127.0.0.1 that nobody accepts from: its port. */
static int listener(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A listener whose accept queue is full (backlog 0, and a connection of
 * its own in it): the kernel drops every SYN to it.  Its port. */
static int plugged_listener(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = listener(port), c;

	cr_assert_eq(listen(fd, 0), 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(c, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)*port);
	cr_assert_eq(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* A connection waits in lfd's accept queue within ms. */
static bool pending(int lfd, int ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static const char *fifo(const char *name)
{
	static char path[2][512];
	static int turn;
	char *p = path[turn++ % 2];

	snprintf(p, sizeof(path[0]), "%s/%s", h_tmpdir(), name);
	cr_assert_eq(mkfifo(p, 0600), 0, "mkfifo %s: %s", p, strerror(errno));
	return p;
}

/* tests/helpers/mps-client under the shim (and the library preload after
 * it, if any), connecting to 127.0.0.1:port (blocking), with its stats
 * file at stats and an extra env entry. */
static pid_t client_start(int port, const char *stats, const char *preload,
			  const char *extra)
{
	static char pre[1200], up[64], st[600], path[600];
	char *env[] = { pre, up, st, "MPSHIM_LOG=debug", (char *)extra, NULL };
	char portstr[16];
	char *argv[] = { path, "blocking", "127.0.0.1", portstr, "ok", NULL };

	snprintf(path, sizeof(path), "%s/tests/helpers/mps-client", h_builddir());
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s%s%s", h_shim_lib(), preload ? " " : "",
		 preload ? preload : "");
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%d", port);
	snprintf(st, sizeof(st), "MPSHIM_STATS_FILE=%s", stats);
	snprintf(portstr, sizeof(portstr), "%d", port);
	return h_spawn(argv, env, h_out_file("client"));
}

/*
 * The connect that starts the engine sends its SYN first (presyn.c), and
 * the engine takes that connection as its first subflow: with the
 * engine's start held up, the server has a connection to accept, and
 * once the start goes on, HELLO arrives on it.
 */
Test(first, syn_leaves_before_engine_starts)
{
	const char *stats = fifo("stats");
	struct h_frames *rd = calloc(1, sizeof(*rd));
	struct mps_frame f;
	int lfd, port, fd, sfd;

	cr_assert_not_null(rd);
	lfd = listener(&port);
	cr_assert_gt(client_start(port, stats, NULL, NULL), 0);
	cr_assert(pending(lfd, 5000), "no SYN while the engine's start was held up");
	fd = accept(lfd, NULL, NULL);
	cr_assert_geq(fd, 0);
	/* a reader lets the engine's open of its stats file through */
	sfd = open(stats, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert_geq(sfd, 0);
	cr_assert_gt(h_frame_next(fd, rd, &f, 5000), 0, "nothing on the first connection");
	cr_assert_eq(f.type, MPS_FT_HELLO, "frame type %u, want HELLO", f.type);
	cr_assert_not(pending(lfd, 0), "the engine opened a first subflow of its own");
	close(fd);
	close(sfd);
	close(lfd);
	free(rd);
}

/* proxyd on a free port in front of 127.0.0.1:backend_port: its port. */
/* proxyd in front of 127.0.0.1:backend_port with extra environment
 * entries (env may be NULL); its port. */
static int proxyd_start_env(int backend_port, char *const env[])
{
	char listen_arg[64], backend_arg[64];
	char *argv[] = { (char *)h_proxyd(), "--listen", listen_arg, "--backend", backend_arg,
			 "--log-level", "debug", NULL };
	int port = h_free_port();

	snprintf(listen_arg, sizeof(listen_arg), "127.0.0.1:%d", port);
	snprintf(backend_arg, sizeof(backend_arg), "127.0.0.1:%d", backend_port);
	cr_assert_gt(h_spawn(argv, env, h_out_file("proxyd")), 0);
	cr_assert(h_wait_port(port, 5000), "proxyd did not start");
	return port;
}

static int proxyd_start_hold(int backend_port, const char *hold)
{
	char hold_env[64];
	char *env[] = { hold_env, NULL };

	snprintf(hold_env, sizeof(hold_env), "MPSHIM_HELLO_HOLD=%s", hold);
	return proxyd_start_env(backend_port, env);
}

static int proxyd_start(int backend_port)
{
	return proxyd_start_env(backend_port, NULL);
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

	snprintf(lib, sizeof(lib), "%s/tests/helpers/.libs/mps-calls.so", h_builddir());
	cr_assert_eq(access(lib, R_OK), 0, "%s: %s", lib, strerror(errno));
	snprintf(sport, sizeof(sport), "%d", serve_port);
	cr_assert_gt(h_spawn(serve, NULL, h_out_file("serve")), 0);
	cr_assert(h_wait_port(serve_port, 5000), "the server did not start");
	snprintf(port, sizeof(port), "%d", proxyd_start(serve_port));
	snprintf(log, sizeof(log), "%s/calls.log", h_tmpdir());
	snprintf(logenv, sizeof(logenv), "MPS_CALLS_LOG=%s", log);
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s %s", h_shim_lib(), lib);
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%s", port);
	app = h_spawn(fetch, env, out);
	cr_assert_gt(app, 0);
	cr_assert_eq(h_app_end(app, 30000, out), 0, "the transfers failed");
	text = h_slurp(log);
	cr_assert_not_null(text, "no handshake was logged");
	cr_assert_null(strstr(text, "getifaddrs"), "the connections looked interfaces up");
	free(text);
}

/*
 * While the first SYN is out, the engine sets up the cryptography of
 * HELLO_ACK's half of the handshake (X25519 derive, HMAC), whose
 * first-use cost would otherwise fall between HELLO_ACK and the
 * response: with the SYN dropped, both have run.
 */
Test(first, handshake_crypto_set_up_while_syn_is_out)
{
	char lib[600], log[600], env[700];
	int lfd, port;

	snprintf(lib, sizeof(lib), "%s/tests/helpers/.libs/mps-calls.so", h_builddir());
	cr_assert_eq(access(lib, R_OK), 0, "%s: %s", lib, strerror(errno));
	snprintf(log, sizeof(log), "%s/calls.log", h_tmpdir());
	snprintf(env, sizeof(env), "MPS_CALLS_LOG=%s", log);
	lfd = plugged_listener(&port);
	cr_assert_gt(client_start(port, "", lib, env), 0);
	cr_assert(h_wait_file_has(log, "HMAC", 5000), "no HMAC while the SYN was out");
	cr_assert(h_wait_file_has(log, "EVP_PKEY_derive", 0), "no X25519 exchange while the SYN was out");
	close(lfd);
}

/*
 * proxyd starts the backend connect when the HELLO arrives, before the
 * key exchange, so the two overlap.  A HELLO whose public key is a
 * low-order point (all zeros) fails that exchange: the backend still sees
 * the connection come, and then reset.
 */
Test(first, proxyd_connects_backend_before_key_exchange)
{
	struct mps_frame f = { .type = MPS_FT_HELLO };
	int lfd, backend_port, proxy_port, c, b;
	char byte;

	lfd = listener(&backend_port);
	proxy_port = proxyd_start(backend_port);

	c = h_tcp_connect("127.0.0.1", proxy_port);
	cr_assert_geq(c, 0);
	f.u.hello.version = MPS_PROTO_VERSION;
	cr_assert_eq(mps_crypto_key_new(&f.u.hello.key), 0);
	memset(f.u.hello.pub, 0, sizeof(f.u.hello.pub));
	cr_assert(h_frame_send(c, &f));
	cr_assert(h_closed_by_peer(c), "proxyd kept a HELLO whose key exchange failed");
	cr_assert(pending(lfd, 5000), "no backend connection for the HELLO");
	b = accept(lfd, NULL, NULL);
	cr_assert_geq(b, 0);
	/* reset, not served: no FIN after data, nothing at all */
	cr_assert_lt(recv(b, &byte, 1, 0), 0, "the backend connection was not reset");
	cr_assert_eq(errno, ECONNRESET);
	close(b);
	close(lfd);
}

/* ---- proxyd's first answer (engine.c, mps_subflow_hold) ---------------- */

/* A raw client on proxy_port: HELLO, and "ping" as early DATA in the same
 * write when early is true. */
static int raw_hello(int proxy_port, bool early)
{
	struct mps_frame f = { .type = MPS_FT_HELLO };
	uint8_t buf[256];
	uint32_t tok;
	uint64_t idsn;
	int c, n, m = 0;

	c = h_tcp_connect("127.0.0.1", proxy_port);
	cr_assert_geq(c, 0);
	f.u.hello.version = MPS_PROTO_VERSION;
	cr_assert_eq(mps_crypto_key_new(&f.u.hello.key), 0);
	struct mps_x25519 kx;
	cr_assert_eq(mps_crypto_x25519_new(&kx), 0);
	memcpy(f.u.hello.pub, kx.pub, sizeof(f.u.hello.pub));
	n = mps_frame_encode(&f, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	if (early) {
		struct mps_frame d = { .type = MPS_FT_DATA };

		mps_crypto_key_derive(f.u.hello.key, &tok, &idsn);
		d.u.data.dsn = idsn;
		d.u.data.payload = (const uint8_t *)"ping";
		d.u.data.len = 4;
		m = mps_frame_encode(&d, buf + n, sizeof(buf) - (size_t)n);
		cr_assert_gt(m, 0);
	}
	cr_assert_eq(send(c, buf, (size_t)(n + m), MSG_NOSIGNAL), n + m);
	return c;
}

/* Segments with data that arrived on fd (tcpi_data_segs_in). */
static unsigned data_segs_in(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	cr_assert_eq(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	return ti.tcpi_data_segs_in;
}

/*
 * After early data, HELLO_ACK, the DATA_ACK of the early data and the
 * backend's first answer leave proxyd in one write: one segment, though
 * the backend answers 300 ms after its connect (hello_hold 5 s).  Sent as
 * they are ready, each would take a packet of TCP's initial window.
 */
Test(first, hello_ack_leaves_with_the_first_answer)
{
	static struct h_frames r;
	struct mps_frame f;
	char req[4];
	int lfd, backend_port, proxy_port, c, b;

	lfd = listener(&backend_port);
	proxy_port = proxyd_start_hold(backend_port, "5s");
	c = raw_hello(proxy_port, true);
	cr_assert(pending(lfd, 5000), "no backend connection for the HELLO");
	b = accept(lfd, NULL, NULL);
	cr_assert_geq(b, 0);
	cr_assert_eq(recv(b, req, sizeof(req), MSG_WAITALL), 4);
	cr_assert_arr_eq(req, "ping", 4);
	usleep(300 * 1000);
	cr_assert_eq(send(b, "pong", 4, MSG_NOSIGNAL), 4);

	cr_assert_gt(h_frame_next(c, &r, &f, 5000), 0);
	cr_assert_eq(f.type, MPS_FT_HELLO_ACK, "first frame is type %d, not HELLO_ACK "
		     "(a PING: the backend's connect was not seen)", f.type);
	cr_assert_gt(h_frame_next(c, &r, &f, 5000), 0);
	cr_assert_eq(f.type, MPS_FT_DATA_ACK);
	do
		cr_assert_gt(h_frame_next(c, &r, &f, 5000), 0);
	while (f.type != MPS_FT_DATA);
	cr_assert_eq(f.u.data.len, 4);
	cr_assert_arr_eq(f.u.data.payload, "pong", 4);
	cr_assert_eq(data_segs_in(c), 1, "HELLO_ACK and the answer came in %u segments",
		     data_segs_in(c));
	close(b);
	close(c);
	close(lfd);
}

/* Without early data no answer is on its way: HELLO_ACK goes as soon as
 * the backend is connected, not after hello_hold (10 s here). */
Test(first, hello_ack_without_early_data_is_not_held)
{
	static struct h_frames r;
	struct mps_frame f;
	int lfd, backend_port, proxy_port, c;

	lfd = listener(&backend_port);
	proxy_port = proxyd_start_hold(backend_port, "10s");
	c = raw_hello(proxy_port, false);
	cr_assert_gt(h_frame_next(c, &r, &f, 3000), 0, "no answer within 3 s");
	cr_assert_eq(f.type, MPS_FT_HELLO_ACK);
	close(c);
	close(lfd);
}

/* A backend that does not connect (its SYNs dropped): after hello_hold the
 * client hears a PING, so it waits for the backend instead of taking a
 * silent server for one that does not speak mpshim. */
Test(first, slow_backend_gets_the_client_a_ping)
{
	static struct h_frames r;
	struct mps_frame f;
	int lfd, backend_port, proxy_port, c;

	lfd = plugged_listener(&backend_port);
	proxy_port = proxyd_start_hold(backend_port, "50ms");
	c = raw_hello(proxy_port, true);
	cr_assert_gt(h_frame_next(c, &r, &f, 3000), 0, "nothing within 3 s");
	cr_assert_eq(f.type, MPS_FT_PING);
	/* and nothing else while the backend has not answered */
	cr_assert_lt(h_frame_next(c, &r, &f, 300), 0);
	close(c);
	close(lfd);
}

/* Lines of path that are exactly what. */
static int count_lines(const char *path, const char *what)
{
	char line[128];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		n += !strcmp(line, what);
	}
	fclose(f);
	return n;
}

/*
 * The X25519 exchange of a HELLO waits until the backend's first answer
 * has left for the client: when the backend has the early data, proxyd
 * has made no exchange beyond its warm-up at start; once the client has
 * the answer, it has made the HELLO's.
 */
Test(first, proxyd_puts_the_key_exchange_after_the_first_answer)
{
	static struct h_frames r;
	struct mps_frame f;
	char lib[600], pre[700], log[600], logenv[700], asan[700], req[4];
	char *env[] = { pre, logenv, "MPSHIM_HELLO_HOLD=5s", asan, NULL };
	const char *asan_was = getenv("ASAN_OPTIONS");
	int lfd, backend_port, proxy_port, c, b, warm;

	snprintf(lib, sizeof(lib), "%s/tests/helpers/.libs/mps-calls.so", h_builddir());
	cr_assert_eq(access(lib, R_OK), 0, "%s: %s", lib, strerror(errno));
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", lib);
	snprintf(log, sizeof(log), "%s/proxyd-calls.log", h_tmpdir());
	snprintf(logenv, sizeof(logenv), "MPS_CALLS_LOG=%s", log);
	/* an ASan proxyd takes the preload ahead of its runtime */
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
		 asan_was ? asan_was : "", asan_was && *asan_was ? ":" : "");
	lfd = listener(&backend_port);
	proxy_port = proxyd_start_env(backend_port, env);
	/* proxyd's warm-up, in its loop's first turn */
	cr_assert(h_wait_file_has(log, "EVP_PKEY_derive", 10000), "no warm-up exchange");
	warm = count_lines(log, "EVP_PKEY_derive");
	cr_assert_eq(warm, 1, "proxyd's warm-up at start made %d exchanges", warm);

	c = raw_hello(proxy_port, true);
	cr_assert(pending(lfd, 5000), "no backend connection for the HELLO");
	b = accept(lfd, NULL, NULL);
	cr_assert_geq(b, 0);
	cr_assert_eq(recv(b, req, sizeof(req), MSG_WAITALL), 4);
	usleep(100 * 1000);
	cr_assert_eq(count_lines(log, "EVP_PKEY_derive"), warm,
		     "the exchange ran before the backend answered");
	cr_assert_eq(send(b, "pong", 4, MSG_NOSIGNAL), 4);
	do
		cr_assert_gt(h_frame_next(c, &r, &f, 5000), 0);
	while (f.type != MPS_FT_DATA);
	for (int i = 0; i < 50 && count_lines(log, "EVP_PKEY_derive") == warm; i++)
		usleep(20 * 1000);
	cr_assert_eq(count_lines(log, "EVP_PKEY_derive"), warm + 1,
		     "no exchange after the first answer");
	close(b);
	close(c);
	close(lfd);
}
