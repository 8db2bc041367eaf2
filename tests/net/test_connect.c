/*
 * test_connect.c - connect() under the shim behaves as TCP's does, seen
 * from an application (tests/helpers/mps-client run with LD_PRELOAD):
 * EINPROGRESS, no POLLOUT before the multipath handshake completes (with
 * poll, select, epoll level- and edge-triggered), SO_ERROR, getpeername,
 * blocking connect, and ECONNREFUSED both ways.  Those run with
 * early_data = no: the connect they check is the one gated by HELLO_ACK.
 * With early data the connect completes once HELLO is queued, and the
 * application's first bytes reach the server right behind the HELLO,
 * before the server has said anything (the round trip saved).
 *
 * The server here is the test itself speaking the protocol with the core
 * library, so it can hold back its HELLO_ACK and check the DATA frames
 * the application's bytes become.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "crypto.h"
#include "frame.h"
#include "harness.h"

static void fini(void)
{
	h_cleanup();
}

static int listen_on(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	*port = ntohs(sin.sin_port);
	return fd;
}

static char client_pm[64] = "MPSHIM_SUBFLOWS=1";
/* the upgrade entry names the server exactly, so auto would send early
 * data: these tests choose */
static char client_early[64] = "MPSHIM_EARLY_DATA=no";
static char client_crc[64] = "MPSHIM_CHECKSUM=no";

static pid_t spawn_client(const char *mode, int port, const char *expect,
			  const char *log)
{
	static char pre[600], up[64], portstr[16];
	char *env[] = { pre, up, "MPSHIM_SUBFLOWS=1", "MPSHIM_EXIT_LINGER=300ms",
			"MPSHIM_LOG=info", client_pm, client_early, client_crc, NULL };
	char path[600];
	char *argv[] = { path, (char *)mode, "127.0.0.1", portstr, (char *)expect, NULL };

	snprintf(path, sizeof(path), "%s/tests/helpers/mps-client", h_builddir());
	snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", h_shim_lib());
	snprintf(up, sizeof(up), "MPSHIM_UPGRADE=127.0.0.1:%d", port);
	snprintf(portstr, sizeof(portstr), "%d", port);
	return h_spawn(argv, env, log);
}

/* One frame from the client, waiting up to 5 s. */
static void next_frame(int fd, struct h_frames *r, struct mps_frame *f)
{
	cr_assert_gt(h_frame_next(fd, r, f, 5000), 0,
		     "client went silent, closed, or sent a malformed frame");
}

static void send_frame(int fd, const struct mps_frame *f)
{
	uint8_t b[512];
	int n = mps_frame_encode(f, b, sizeof(b));

	cr_assert_gt(n, 0);
	cr_assert_eq(send(fd, b, (size_t)n, MSG_NOSIGNAL), n);
}

/* Sent after HELLO_ACK when set: an ADD_ADDR whose HMAC is forged. */
static bool send_forged_add_addr;

/* The server half: hold HELLO_ACK back 400 ms, expect "ping", answer "pong". */
static void serve_one(int lfd)
{
	static struct h_frames r;
	struct mps_frame f, a;
	struct mps_x25519 kx;
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	uint64_t key_s, idsn_c, idsn_s;
	uint32_t tok;
	int fd;

	r.have = 0;
	cr_assert_gt(poll(&p, 1, 5000), 0, "client never connected");
	fd = accept(lfd, NULL, NULL);
	cr_assert_geq(fd, 0);
	next_frame(fd, &r, &f);
	cr_assert_eq(f.type, MPS_FT_HELLO);
	mps_crypto_key_derive(f.u.hello.key, &tok, &idsn_c);
	usleep(400 * 1000);

	memset(&a, 0, sizeof(a));
	a.type = MPS_FT_HELLO_ACK;
	a.u.hello_ack.version = MPS_PROTO_VERSION;
	cr_assert_eq(mps_crypto_key_new(&key_s), 0);
	mps_crypto_key_derive(key_s, &tok, &idsn_s);
	cr_assert_eq(mps_crypto_x25519_new(&kx), 0);
	a.u.hello_ack.key = key_s;
	memcpy(a.u.hello_ack.pub, kx.pub, 32);
	a.u.hello_ack.window = 1 << 20;
	send_frame(fd, &a);
	if (send_forged_add_addr) {
		memset(&a, 0, sizeof(a));
		a.type = MPS_FT_ADD_ADDR;
		a.u.add_addr.addr_id = 7;
		a.u.add_addr.addr.family = 4;
		a.u.add_addr.addr.port = 9;
		a.u.add_addr.addr.addr[0] = 127;
		a.u.add_addr.addr.addr[3] = 9;
		memset(a.u.add_addr.hmac, 0x5a, sizeof(a.u.add_addr.hmac));
		send_frame(fd, &a);
	}

	/* the app's "ping" arrives as DATA at the client's IDSN */
	do
		next_frame(fd, &r, &f);
	while (f.type != MPS_FT_DATA || f.u.data.len == 0);
	cr_assert_eq(f.u.data.dsn, idsn_c, "first byte must carry the IDSN");
	cr_assert_eq(f.u.data.len, 4);
	cr_assert_arr_eq(f.u.data.payload, "ping", 4);

	memset(&a, 0, sizeof(a));
	a.type = MPS_FT_DATA_ACK;
	a.u.data_ack.ack = idsn_c + 4;
	a.u.data_ack.window = 1 << 20;
	send_frame(fd, &a);
	memset(&a, 0, sizeof(a));
	a.type = MPS_FT_DATA;
	a.u.data.dsn = idsn_s;
	a.u.data.payload = (const uint8_t *)"pong";
	a.u.data.len = 4;
	send_frame(fd, &a);
	/* stay until the client is done with us */
	p.fd = fd;
	while (poll(&p, 1, 3000) > 0 && recv(fd, r.buf, sizeof(r.buf), 0) > 0)
		;
	close(fd);
}

static void run_mode(const char *mode)
{
	char log[512];
	int port, lfd = listen_on(&port), rc;
	pid_t pid;
	char *text;

	snprintf(log, sizeof(log), "%s/client-%s.log", h_tmpdir(), mode);
	pid = spawn_client(mode, port, "ok", log);
	cr_assert_gt(pid, 0);
	serve_one(lfd);
	rc = h_wait(pid, 15000);
	text = h_slurp(log);
	cr_assert_eq(rc, 0, "mps-client %s exited %d:\n%s", mode, rc, text ? text : "");
	free(text);
	close(lfd);
}

TestSuite(connect, .fini = fini, .timeout = 30);

Test(connect, nonblocking_with_poll) { run_mode("poll"); }
Test(connect, nonblocking_with_select) { run_mode("select"); }
Test(connect, nonblocking_with_epoll_level) { run_mode("epoll-lt"); }
Test(connect, nonblocking_with_epoll_edge) { run_mode("epoll-et"); }
Test(connect, blocking_waits_for_the_handshake) { run_mode("blocking"); }

static void run_refused(const char *mode)
{
	char log[512];
	int port = h_free_port(), rc;
	char *text;

	snprintf(log, sizeof(log), "%s/client-%s.log", h_tmpdir(), mode);
	rc = h_wait(spawn_client(mode, port, "refused", log), 15000);
	text = h_slurp(log);
	cr_assert_eq(rc, 0, "mps-client %s exited %d:\n%s", mode, rc, text ? text : "");
	free(text);
}

Test(connect, refused_nonblocking_sets_so_error) { run_refused("poll"); }
Test(connect, refused_blocking_returns_econnrefused) { run_refused("blocking"); }

/* Someone who saw the connection but lacks the keys cannot steer the
 * client to another address: an ADD_ADDR with a wrong HMAC is ignored. */
Test(connect, forged_add_addr_is_ignored)
{
	char *text;
	char log[512];

	snprintf(client_pm, sizeof(client_pm), "MPSHIM_PATH_MANAGER=fullmesh");
	send_forged_add_addr = true;
	run_mode("poll");
	snprintf(log, sizeof(log), "%s/client-poll.log", h_tmpdir());
	text = h_slurp(log);
	cr_assert(text && strstr(text, "ADD_ADDR with a bad HMAC ignored"),
		  "client log:\n%s", text ? text : "");
	cr_assert(!strstr(text, "server advertised"));
	free(text);
}

/* ---- early data --------------------------------------------------------- */

/*
 * The server half for early data: it answers nothing until the client's
 * "ping" has arrived, as DATA right behind the HELLO at the client's IDSN,
 * with a CRC exactly when the HELLO asked for one.  A client that waited
 * for HELLO_ACK would never send it: the request travels a round trip
 * earlier than before.  After HELLO_ACK the client's first frame must be
 * its DATA_ACK (the end of its early data for the server).
 */
static void serve_one_early(int lfd)
{
	static struct h_frames r;
	struct mps_frame f, a;
	struct mps_x25519 kx;
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	uint64_t key_s, idsn_c, idsn_s;
	uint32_t tok;
	bool crc;
	int fd;

	r.have = 0;
	cr_assert_gt(poll(&p, 1, 5000), 0, "client never connected");
	fd = accept(lfd, NULL, NULL);
	cr_assert_geq(fd, 0);
	next_frame(fd, &r, &f);
	cr_assert_eq(f.type, MPS_FT_HELLO);
	crc = f.flags & MPS_HELLO_F_CRC;
	mps_crypto_key_derive(f.u.hello.key, &tok, &idsn_c);

	/* not a byte from us yet, not even a PING */
	next_frame(fd, &r, &f);
	cr_assert_eq(f.type, MPS_FT_DATA, "frame type %u after HELLO, want early DATA",
		     f.type);
	cr_assert_eq(f.u.data.dsn, idsn_c, "early data starts at the IDSN");
	cr_assert_eq(f.u.data.len, 4);
	cr_assert_arr_eq(f.u.data.payload, "ping", 4);
	cr_assert_eq(!!(f.flags & MPS_DATA_F_CRC), crc,
		     "early DATA carries a CRC exactly when HELLO asked for one");

	memset(&a, 0, sizeof(a));
	a.type = MPS_FT_HELLO_ACK;
	a.u.hello_ack.version = MPS_PROTO_VERSION;
	cr_assert_eq(mps_crypto_key_new(&key_s), 0);
	mps_crypto_key_derive(key_s, &tok, &idsn_s);
	cr_assert_eq(mps_crypto_x25519_new(&kx), 0);
	a.u.hello_ack.key = key_s;
	memcpy(a.u.hello_ack.pub, kx.pub, 32);
	a.u.hello_ack.window = 1 << 20;
	send_frame(fd, &a);
	next_frame(fd, &r, &f);
	cr_assert_eq(f.type, MPS_FT_DATA_ACK, "frame type %u after HELLO_ACK", f.type);
	cr_assert_eq(f.u.data_ack.ack, idsn_s);

	memset(&a, 0, sizeof(a));
	a.type = MPS_FT_DATA_ACK;
	a.u.data_ack.ack = idsn_c + 4;
	a.u.data_ack.window = 1 << 20;
	send_frame(fd, &a);
	memset(&a, 0, sizeof(a));
	a.type = MPS_FT_DATA;
	a.u.data.dsn = idsn_s;
	a.u.data.payload = (const uint8_t *)"pong";
	a.u.data.len = 4;
	send_frame(fd, &a);
	p.fd = fd;
	while (poll(&p, 1, 3000) > 0 && recv(fd, r.buf, sizeof(r.buf), 0) > 0)
		;
	close(fd);
}

static void run_early(const char *mode, const char *setting)
{
	char log[512];
	int port, lfd = listen_on(&port), rc;
	pid_t pid;
	char *text;

	snprintf(client_early, sizeof(client_early), "MPSHIM_EARLY_DATA=%s", setting);
	snprintf(log, sizeof(log), "%s/client-%s.log", h_tmpdir(), mode);
	pid = spawn_client(mode, port, "early", log);
	cr_assert_gt(pid, 0);
	serve_one_early(lfd);
	rc = h_wait(pid, 15000);
	text = h_slurp(log);
	cr_assert_eq(rc, 0, "mps-client %s exited %d:\n%s", mode, rc, text ? text : "");
	free(text);
	close(lfd);
}

/* auto: the upgrade entry names this one address and port */
Test(connect, early_data_nonblocking_poll) { run_early("poll", "auto"); }
Test(connect, early_data_nonblocking_epoll_edge) { run_early("epoll-et", "auto"); }
Test(connect, early_data_blocking) { run_early("blocking", "yes"); }

Test(connect, early_data_with_checksum_asked)
{
	snprintf(client_crc, sizeof(client_crc), "MPSHIM_CHECKSUM=yes");
	run_early("poll", "auto");
}
