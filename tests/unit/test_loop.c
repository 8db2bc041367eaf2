/*
 * test_loop.c - the event loop contract (src/core/loop.h), checked on both
 * backends.
 *
 * Every op test is parameterised over "uring" and "epoll" and must pass
 * unchanged on each: that is what lets the engine ignore which one runs.
 * uring tests skip where io_uring cannot start (sysctl, seccomp).  Sockets
 * are socketpairs or TCP over 127.0.0.1 only.
 */
#include "config.h"
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "clock.h"
#include "loop.h"

struct backend_param {
	char name[8];
};

/* Set while the test is inside mps_loop_submit()/mps_loop_cancel(); a
 * callback that sees it set breaks the first rule of loop.h. */
static bool g_in_api;
static int g_cb_in_api;

/* A hang is a failure too (a loop spinning or sleeping forever). */
#define TEST_TIMEOUT_S	10

#define LOOP_TEST(test)							\
	ParameterizedTestParameters(loop, test)				\
	{								\
		static struct backend_param params[] = {		\
			{ "uring" }, { "epoll" },			\
		};							\
		return cr_make_param_array(struct backend_param, params,\
					   2);				\
	}								\
	ParameterizedTest(struct backend_param *bp, loop, test,		\
			  .timeout = TEST_TIMEOUT_S)

/* Run the loop until cond holds, failing the test after ms milliseconds. */
#define RUN_UNTIL(loop, cond, ms)					\
	do {								\
		uint64_t dl_ = mps_clock_ms() + (ms);			\
		while (!(cond) && mps_clock_ms() < dl_)			\
			cr_assert_geq(mps_loop_run_once((loop), 10), 0);\
		cr_assert((cond), "timed out waiting for: %s", #cond);	\
	} while (0)

static struct mps_loop *loop_open(const struct backend_param *bp)
{
	struct mps_loop *loop = NULL;
	int ret;

	ret = mps_loop_new(&loop, bp->name);
	if (ret && !strcmp(bp->name, "uring"))
		cr_skip_test("io_uring cannot start here: %s", strerror(-ret));
	cr_assert_eq(ret, 0, "mps_loop_new(%s): %s", bp->name, strerror(-ret));
	cr_assert_not_null(loop);
	cr_assert_str_eq(mps_loop_backend_name(loop), bp->name);
	g_cb_in_api = 0;
	return loop;
}

/* Every test ends here: nothing may be left pending, and no callback may
 * have run inside submit or cancel. */
static void loop_close(struct mps_loop *loop)
{
	cr_expect_eq(mps_loop_pending(loop), 0, "ops left pending: %u",
		     mps_loop_pending(loop));
	cr_expect_eq(g_cb_in_api, 0, "callback ran inside submit/cancel");
	mps_loop_free(loop);
}

static int submit(struct mps_loop *loop, struct mps_op *op)
{
	int ret;

	g_in_api = true;
	ret = mps_loop_submit(loop, op);
	g_in_api = false;
	return ret;
}

static int cancel(struct mps_loop *loop, struct mps_op *op)
{
	int ret;

	g_in_api = true;
	ret = mps_loop_cancel(loop, op);
	g_in_api = false;
	return ret;
}

/* What a callback saw. */
struct rec {
	int calls;
	int res;
};

static void rec_cb(struct mps_op *op, int res)
{
	struct rec *r = op->ctx;

	if (g_in_api)
		g_cb_in_api++;
	r->calls++;
	r->res = res;
}

static void op_init(struct mps_op *op, enum mps_op_kind kind, int fd,
		    void *buf, size_t len, mps_op_cb cb, void *ctx)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->fd = fd;
	op->buf = buf;
	op->len = len;
	op->cb = cb;
	op->ctx = ctx;
}

static void unix_pair(int fds[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
}

/* A connected TCP pair over 127.0.0.1: fds[0] connected, fds[1] accepted.
 * bufsize > 0 shrinks both ends' buffers (set on the listener so the
 * accepted socket is born with it and the window follows). */
static void tcp_pair(int fds[2], int bufsize)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int lfd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(lfd, 0);
	fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fds[0], 0);
	if (bufsize > 0) {
		cr_assert_eq(setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize)), 0);
		cr_assert_eq(setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize)), 0);
		cr_assert_eq(setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize)), 0);
	}
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(lfd, 1), 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	cr_assert_eq(connect(fds[0], (struct sockaddr *)&sa, sizeof(sa)), 0);
	fds[1] = accept(lfd, NULL, NULL);
	cr_assert_geq(fds[1], 0);
	close(lfd);
	setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void set_nonblock(int fd)
{
	cr_assert_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

/* ---- backend selection */

Test(loop, unknown_backend_is_einval, .timeout = TEST_TIMEOUT_S)
{
	struct mps_loop *loop = (struct mps_loop *)&loop;

	cr_assert_eq(mps_loop_new(&loop, "kqueue"), -EINVAL);
	cr_assert_null(loop);
	cr_assert_eq(mps_loop_new(&loop, ""), -EINVAL);
	cr_assert_eq(mps_loop_new(&loop, "URING"), -EINVAL);
}

static void exchange_once(struct mps_loop *loop)
{
	struct mps_op r, s;
	struct rec rr = { 0 }, sr = { 0 };
	char buf[16];
	int fds[2];

	unix_pair(fds);
	op_init(&r, MPS_OP_RECV, fds[0], buf, sizeof(buf), rec_cb, &rr);
	op_init(&s, MPS_OP_SEND, fds[1], "ping", 4, rec_cb, &sr);
	cr_assert_eq(submit(loop, &r), 0);
	cr_assert_eq(submit(loop, &s), 0);
	RUN_UNTIL(loop, rr.calls && sr.calls, 2000);
	cr_assert_eq(rr.res, 4);
	cr_assert_eq(sr.res, 4);
	cr_assert_eq(memcmp(buf, "ping", 4), 0);
	close(fds[0]);
	close(fds[1]);
}

Test(loop, auto_picks_working_backend, .timeout = TEST_TIMEOUT_S)
{
	struct mps_loop *loop, *probe;
	const char *name;
	bool uring_ok;

	uring_ok = mps_loop_new(&probe, "uring") == 0;
	if (uring_ok)
		mps_loop_free(probe);

	cr_assert_eq(mps_loop_new(&loop, "auto"), 0);
	name = mps_loop_backend_name(loop);
	cr_assert_str_eq(name, uring_ok ? "uring" : "epoll");
	exchange_once(loop);
	loop_close(loop);

	/* NULL is "auto" too (an unset config value). */
	cr_assert_eq(mps_loop_new(&loop, NULL), 0);
	cr_assert_str_eq(mps_loop_backend_name(loop), name);
	loop_close(loop);
}

/* Make io_uring_setup() fail with EPERM in this test's process, as a
 * container's seccomp profile does, and check that "auto" still works. */
Test(loop, auto_falls_back_when_uring_blocked, .timeout = TEST_TIMEOUT_S)
{
#if defined(__x86_64__)
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};
	struct mps_loop *loop = NULL;

	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		cr_skip_test("seccomp filters unavailable: %s", strerror(errno));

	cr_assert_eq(mps_loop_new(&loop, "uring"), -EPERM);
	cr_assert_null(loop);
	cr_assert_eq(mps_loop_new(&loop, "auto"), 0);
	cr_assert_str_eq(mps_loop_backend_name(loop), "epoll");
	exchange_once(loop);
	loop_close(loop);
#else
	cr_skip_test("seccomp filter written for x86_64 only");
#endif
}

/* ---- argument checks */

LOOP_TEST(submit_rejects_bad_ops)
{
	struct mps_loop *loop = loop_open(bp);
	struct rec rr = { 0 };
	struct mps_op op;
	char buf[8];
	int fds[2];

	unix_pair(fds);
	op_init(&op, MPS_OP_RECV, fds[0], buf, sizeof(buf), NULL, &rr);
	cr_expect_eq(submit(loop, &op), -EINVAL, "no callback");
	op_init(&op, MPS_OP_RECV, -1, buf, sizeof(buf), rec_cb, &rr);
	cr_expect_eq(submit(loop, &op), -EINVAL, "negative fd");
	op_init(&op, (enum mps_op_kind)0, fds[0], buf, sizeof(buf), rec_cb, &rr);
	cr_expect_eq(submit(loop, &op), -EINVAL, "unknown kind");
	cr_expect_eq(mps_loop_pending(loop), 0);

	op_init(&op, MPS_OP_RECV, fds[0], buf, sizeof(buf), rec_cb, &rr);
	cr_expect_eq(cancel(loop, &op), -ENOENT, "cancel of an idle op");
	cr_assert_eq(submit(loop, &op), 0);
	cr_expect_eq(submit(loop, &op), -EBUSY, "op submitted twice");
	cr_expect_eq(mps_loop_pending(loop), 1);
	cr_assert_eq(cancel(loop, &op), 0);
	cr_expect_eq(cancel(loop, &op), 0, "second cancel is harmless");
	RUN_UNTIL(loop, rr.calls == 1, 2000);
	cr_expect_eq(rr.res, -ECANCELED);
	cr_expect_eq(cancel(loop, &op), -ENOENT, "cancel after completion");
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

/* ---- data */

LOOP_TEST(recv_send_socketpair)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op r, s;
	struct rec rr = { 0 }, sr = { 0 };
	char buf[64];
	int fds[2];

	unix_pair(fds);
	op_init(&r, MPS_OP_RECV, fds[0], buf, sizeof(buf), rec_cb, &rr);
	op_init(&s, MPS_OP_SEND, fds[1], "hello, world", 12, rec_cb, &sr);
	cr_assert_eq(submit(loop, &r), 0);
	cr_assert_eq(submit(loop, &s), 0);
	cr_assert_eq(mps_loop_pending(loop), 2);
	cr_assert_eq(rr.calls + sr.calls, 0, "callback ran before run_once");
	RUN_UNTIL(loop, rr.calls && sr.calls, 2000);
	cr_assert_eq(rr.calls, 1);
	cr_assert_eq(sr.calls, 1);
	cr_assert_eq(sr.res, 12);
	cr_assert_eq(rr.res, 12);
	cr_assert_eq(memcmp(buf, "hello, world", 12), 0);
	cr_assert_eq(mps_loop_pending(loop), 0);
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

LOOP_TEST(recv_send_tcp_both_ways)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op r0, s0, r1, s1;
	struct rec rr0 = { 0 }, sr0 = { 0 }, rr1 = { 0 }, sr1 = { 0 };
	char b0[32], b1[32];
	int fds[2];

	tcp_pair(fds, 0);
	/* RECV and SEND pending on the same fd at once, each way. */
	op_init(&r0, MPS_OP_RECV, fds[0], b0, sizeof(b0), rec_cb, &rr0);
	op_init(&s0, MPS_OP_SEND, fds[0], "from connector", 14, rec_cb, &sr0);
	op_init(&r1, MPS_OP_RECV, fds[1], b1, sizeof(b1), rec_cb, &rr1);
	op_init(&s1, MPS_OP_SEND, fds[1], "from acceptor", 13, rec_cb, &sr1);
	cr_assert_eq(submit(loop, &r0), 0);
	cr_assert_eq(submit(loop, &r1), 0);
	cr_assert_eq(submit(loop, &s0), 0);
	cr_assert_eq(submit(loop, &s1), 0);
	RUN_UNTIL(loop, rr0.calls && sr0.calls && rr1.calls && sr1.calls, 2000);
	cr_assert_eq(sr0.res, 14);
	cr_assert_eq(sr1.res, 13);
	cr_assert_eq(rr1.res, 14);
	cr_assert_eq(rr0.res, 13);
	cr_assert_eq(memcmp(b1, "from connector", 14), 0);
	cr_assert_eq(memcmp(b0, "from acceptor", 13), 0);
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

/* The engine's subflows may well be O_NONBLOCK: an op on such a socket
 * must still wait for data, not fail with -EAGAIN. */
LOOP_TEST(nonblocking_socket_waits)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op r;
	struct rec rr = { 0 };
	char buf[8];
	int fds[2];

	tcp_pair(fds, 0);
	set_nonblock(fds[0]);
	op_init(&r, MPS_OP_RECV, fds[0], buf, sizeof(buf), rec_cb, &rr);
	cr_assert_eq(submit(loop, &r), 0);
	cr_assert_geq(mps_loop_run_once(loop, 20), 0);
	cr_assert_eq(rr.calls, 0, "recv finished early with %d", rr.res);
	cr_assert_eq(write(fds[1], "abc", 3), 3);
	RUN_UNTIL(loop, rr.calls, 2000);
	cr_assert_eq(rr.res, 3);
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

#define BIG_LEN		(4u << 20)

struct stream {
	struct mps_loop *loop;
	struct mps_op op;
	uint8_t *buf;
	size_t len;
	size_t done;
	int first_res;
	int calls;
	int err;
};

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static void big_send_cb(struct mps_op *op, int res)
{
	struct stream *st = op->ctx;

	if (st->calls++ == 0)
		st->first_res = res;
	if (res <= 0) {
		st->err = res ? res : -EIO;
		return;
	}
	st->done += (size_t)res;
	if (st->done < st->len) {
		op->buf = st->buf + st->done;
		op->len = st->len - st->done;
		st->err = mps_loop_submit(st->loop, op);
	}
}

static void big_recv_cb(struct mps_op *op, int res)
{
	struct stream *st = op->ctx;
	const uint8_t *p = op->buf;
	int i;

	st->calls++;
	if (res <= 0) {
		st->err = res ? res : -EIO;
		return;
	}
	for (i = 0; i < res; i++) {
		if (p[i] != pattern(st->done + (size_t)i)) {
			st->err = -EILSEQ;
			return;
		}
	}
	st->done += (size_t)res;
	if (st->done < st->len)
		st->err = mps_loop_submit(st->loop, op);
}

/* A send larger than the socket can hold completes partially, with the
 * count sent; the remainder resubmitted from the callback gets through
 * intact as the peer reads. */
LOOP_TEST(partial_send_under_backpressure)
{
	struct mps_loop *loop = loop_open(bp);
	struct stream tx, rx;
	uint8_t rbuf[65536];
	size_t i;
	int fds[2];

	tcp_pair(fds, 16384);
	memset(&tx, 0, sizeof(tx));
	memset(&rx, 0, sizeof(rx));
	tx.loop = rx.loop = loop;
	tx.len = rx.len = BIG_LEN;
	tx.buf = malloc(BIG_LEN);
	cr_assert_not_null(tx.buf);
	for (i = 0; i < BIG_LEN; i++)
		tx.buf[i] = pattern(i);

	op_init(&tx.op, MPS_OP_SEND, fds[0], tx.buf, BIG_LEN, big_send_cb, &tx);
	cr_assert_eq(submit(loop, &tx.op), 0);
	/* Nobody reads yet: the first completion must be partial. */
	RUN_UNTIL(loop, tx.calls >= 1, 2000);
	cr_assert_gt(tx.first_res, 0, "first send: %d", tx.first_res);
	cr_assert_lt((size_t)tx.first_res, BIG_LEN, "send was not partial");

	op_init(&rx.op, MPS_OP_RECV, fds[1], rbuf, sizeof(rbuf), big_recv_cb, &rx);
	cr_assert_eq(submit(loop, &rx.op), 0);
	RUN_UNTIL(loop, (rx.done == BIG_LEN && tx.done == BIG_LEN) ||
		  tx.err || rx.err, 4000);
	cr_assert_eq(tx.err, 0, "sender: %d", tx.err);
	cr_assert_eq(rx.err, 0, "receiver: %d", rx.err);
	cr_assert_eq(tx.done, BIG_LEN);
	cr_assert_eq(rx.done, BIG_LEN);
	cr_assert_gt(tx.calls, 1);
	free(tx.buf);
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

LOOP_TEST(eof_after_peer_close)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op r;
	struct rec rr = { 0 };
	char buf[8];
	int fds[2];

	unix_pair(fds);
	op_init(&r, MPS_OP_RECV, fds[0], buf, sizeof(buf), rec_cb, &rr);
	cr_assert_eq(submit(loop, &r), 0);
	cr_assert_geq(mps_loop_run_once(loop, 0), 0);
	cr_assert_eq(rr.calls, 0);
	close(fds[1]);
	RUN_UNTIL(loop, rr.calls, 2000);
	cr_assert_eq(rr.calls, 1);
	cr_assert_eq(rr.res, 0);
	close(fds[0]);
	loop_close(loop);
}

LOOP_TEST(error_after_rst)
{
	struct mps_loop *loop = loop_open(bp);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct mps_op r, s;
	struct rec rr = { 0 }, sr = { 0 };
	char buf[8];
	int fds[2];

	tcp_pair(fds, 0);
	op_init(&r, MPS_OP_RECV, fds[0], buf, sizeof(buf), rec_cb, &rr);
	cr_assert_eq(submit(loop, &r), 0);
	cr_assert_geq(mps_loop_run_once(loop, 0), 0);
	cr_assert_eq(rr.calls, 0);
	/* Close with linger 0: the peer sends RST instead of FIN. */
	cr_assert_eq(setsockopt(fds[1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(fds[1]);
	RUN_UNTIL(loop, rr.calls, 2000);
	cr_assert_eq(rr.res, -ECONNRESET, "recv after RST: %d", rr.res);

	/* The connection is gone: sending must fail, without SIGPIPE. */
	op_init(&s, MPS_OP_SEND, fds[0], "x", 1, rec_cb, &sr);
	cr_assert_eq(submit(loop, &s), 0);
	RUN_UNTIL(loop, sr.calls, 2000);
	cr_assert(sr.res == -EPIPE || sr.res == -ECONNRESET, "send after RST: %d",
		  sr.res);
	close(fds[0]);
	loop_close(loop);
}

/* A fd that cannot be used reports the error through the callback on both
 * backends; submit itself succeeds and never runs the callback. */
LOOP_TEST(bad_fd_error_in_callback)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op r;
	struct rec rr = { 0 };
	uint64_t t0;
	char buf[8];
	int fd;

	fd = dup(0);
	cr_assert_geq(fd, 0);
	close(fd);		/* fd is now a number with nothing behind it */
	op_init(&r, MPS_OP_RECV, fd, buf, sizeof(buf), rec_cb, &rr);
	cr_assert_eq(submit(loop, &r), 0);
	cr_assert_eq(rr.calls, 0);
	/* Known as soon as the loop hands the op over: no sleeping on it. */
	t0 = mps_clock_ms();
	cr_assert_eq(mps_loop_run_once(loop, 2000), 1);
	cr_assert_lt(mps_clock_ms() - t0, 500);
	cr_assert_eq(rr.calls, 1);
	cr_assert_eq(rr.res, -EBADF);
	loop_close(loop);
}

/* Two fds on one socket both wake for one byte; the op that finds nothing
 * to read (EAGAIN inside the backend) keeps waiting, it does not fail. */
LOOP_TEST(spurious_wakeup_keeps_waiting)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op r1, r2;
	struct rec rr1 = { 0 }, rr2 = { 0 };
	char b1[4], b2[4];
	int fds[2], twin, i;

	unix_pair(fds);
	twin = dup(fds[0]);
	cr_assert_geq(twin, 0);
	op_init(&r1, MPS_OP_RECV, fds[0], b1, sizeof(b1), rec_cb, &rr1);
	op_init(&r2, MPS_OP_RECV, twin, b2, sizeof(b2), rec_cb, &rr2);
	cr_assert_eq(submit(loop, &r1), 0);
	cr_assert_eq(submit(loop, &r2), 0);
	cr_assert_geq(mps_loop_run_once(loop, 0), 0);
	cr_assert_eq(write(fds[1], "1", 1), 1);
	RUN_UNTIL(loop, rr1.calls + rr2.calls, 2000);
	for (i = 0; i < 3; i++)
		cr_assert_geq(mps_loop_run_once(loop, 5), 0);
	cr_assert_eq(rr1.calls + rr2.calls, 1, "both woke: %d / %d", rr1.res,
		     rr2.res);
	cr_assert_eq(rr1.calls ? rr1.res : rr2.res, 1);
	cr_assert_eq(write(fds[1], "2", 1), 1);
	RUN_UNTIL(loop, rr1.calls && rr2.calls, 2000);
	cr_assert_eq(rr1.res, 1);
	cr_assert_eq(rr2.res, 1);
	close(twin);
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

/* ---- poll */

LOOP_TEST(poll_in_and_out)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op p;
	struct rec pr = { 0 };
	int fds[2];

	unix_pair(fds);
	op_init(&p, MPS_OP_POLL, fds[0], NULL, 0, rec_cb, &pr);
	p.poll_mask = POLLOUT;
	cr_assert_eq(submit(loop, &p), 0);
	RUN_UNTIL(loop, pr.calls, 2000);
	cr_assert_gt(pr.res, 0);
	cr_assert(pr.res & POLLOUT, "revents %#x", pr.res);
	cr_assert_not(pr.res & POLLIN, "revents %#x", pr.res);

	memset(&pr, 0, sizeof(pr));
	p.poll_mask = POLLIN;
	cr_assert_eq(submit(loop, &p), 0);
	cr_assert_geq(mps_loop_run_once(loop, 20), 0);
	cr_assert_eq(pr.calls, 0, "POLLIN before any data: %#x", pr.res);
	cr_assert_eq(write(fds[1], "z", 1), 1);
	RUN_UNTIL(loop, pr.calls, 2000);
	cr_assert_eq(pr.calls, 1);
	cr_assert(pr.res & POLLIN, "revents %#x", pr.res);
	cr_assert_not(pr.res & POLLOUT, "revents %#x", pr.res);

	/* One-shot: the still-readable fd does not complete it again. */
	cr_assert_geq(mps_loop_run_once(loop, 10), 0);
	cr_assert_eq(pr.calls, 1);

	/* Hang-up shows in revents even when only POLLIN was asked. */
	memset(&pr, 0, sizeof(pr));
	cr_assert_eq(submit(loop, &p), 0);
	close(fds[1]);
	RUN_UNTIL(loop, pr.calls, 2000);
	cr_assert(pr.res & (POLLIN | POLLHUP), "revents %#x", pr.res);
	close(fds[0]);
	loop_close(loop);
}

/* ---- cancel */

LOOP_TEST(cancel_pending_recv_once)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op r;
	struct rec rr = { 0 };
	char buf[8];
	int fds[2], i;

	unix_pair(fds);
	op_init(&r, MPS_OP_RECV, fds[0], buf, sizeof(buf), rec_cb, &rr);
	cr_assert_eq(submit(loop, &r), 0);
	cr_assert_geq(mps_loop_run_once(loop, 0), 0);	/* now in the kernel */
	cr_assert_eq(cancel(loop, &r), 0);
	cr_assert_eq(rr.calls, 0, "callback ran inside cancel");
	RUN_UNTIL(loop, rr.calls, 2000);
	cr_assert_eq(rr.res, -ECANCELED);
	for (i = 0; i < 3; i++)
		cr_assert_geq(mps_loop_run_once(loop, 5), 0);
	cr_assert_eq(rr.calls, 1, "completed %d times", rr.calls);
	cr_assert_eq(mps_loop_pending(loop), 0);

	/* The cancelled recv took nothing: new data goes to the next one. */
	cr_assert_eq(write(fds[1], "after", 5), 5);
	memset(&rr, 0, sizeof(rr));
	cr_assert_eq(submit(loop, &r), 0);
	RUN_UNTIL(loop, rr.calls, 2000);
	cr_assert_eq(rr.res, 5);
	cr_assert_eq(memcmp(buf, "after", 5), 0);
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

/* Cancelled in the same iteration it was submitted (still in the batch). */
LOOP_TEST(cancel_before_first_wait)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op r, p;
	struct rec rr = { 0 }, pr = { 0 };
	char buf[8];
	int fds[2], i;

	unix_pair(fds);
	op_init(&r, MPS_OP_RECV, fds[0], buf, sizeof(buf), rec_cb, &rr);
	op_init(&p, MPS_OP_POLL, fds[1], NULL, 0, rec_cb, &pr);
	p.poll_mask = POLLIN;
	cr_assert_eq(submit(loop, &r), 0);
	cr_assert_eq(submit(loop, &p), 0);
	cr_assert_eq(cancel(loop, &r), 0);
	cr_assert_eq(cancel(loop, &p), 0);
	RUN_UNTIL(loop, rr.calls && pr.calls, 2000);
	for (i = 0; i < 3; i++)
		cr_assert_geq(mps_loop_run_once(loop, 5), 0);
	cr_assert_eq(rr.calls, 1);
	cr_assert_eq(pr.calls, 1);
	cr_assert_eq(rr.res, -ECANCELED);
	cr_assert_eq(pr.res, -ECANCELED);
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

/* Cancel racing data that is already there: either outcome is allowed,
 * but exactly one callback, and a result that is one of the two. */
LOOP_TEST(cancel_racing_completion_once)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op r;
	struct rec rr = { 0 };
	char buf[8];
	int fds[2], i;

	unix_pair(fds);
	cr_assert_eq(write(fds[1], "data", 4), 4);
	op_init(&r, MPS_OP_RECV, fds[0], buf, sizeof(buf), rec_cb, &rr);
	cr_assert_eq(submit(loop, &r), 0);
	cr_assert_eq(cancel(loop, &r), 0);
	RUN_UNTIL(loop, rr.calls, 2000);
	for (i = 0; i < 3; i++)
		cr_assert_geq(mps_loop_run_once(loop, 5), 0);
	cr_assert_eq(rr.calls, 1);
	cr_assert(rr.res == -ECANCELED || rr.res == 4, "res %d", rr.res);
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

/* ---- callbacks that resubmit or free their op */

struct echo_side {
	struct mps_loop *loop;
	struct echo_side *peer;
	struct mps_op rop;
	struct mps_op sop;
	uint32_t rbuf;
	uint32_t sbuf;
	bool send_busy;
	bool send_queued;
	uint32_t queued_val;
	bool initiator;
	unsigned rounds;
	int err;
};

#define ECHO_ROUNDS	1000

static void echo_send(struct echo_side *e, uint32_t val)
{
	if (e->send_busy) {
		/* loop.h allows one SEND per fd: hold it until ours is done. */
		e->send_queued = true;
		e->queued_val = val;
		return;
	}
	e->sbuf = val;
	e->send_busy = true;
	if (mps_loop_submit(e->loop, &e->sop))
		e->err = -EIO;
}

static void echo_send_cb(struct mps_op *op, int res)
{
	struct echo_side *e = op->ctx;

	if (g_in_api)
		g_cb_in_api++;
	e->send_busy = false;
	if (res != (int)sizeof(uint32_t))
		e->err = res < 0 ? res : -EIO;
	if (e->send_queued) {
		e->send_queued = false;
		echo_send(e, e->queued_val);
	}
}

static void echo_recv_cb(struct mps_op *op, int res)
{
	struct echo_side *e = op->ctx;

	if (g_in_api)
		g_cb_in_api++;
	if (res != (int)sizeof(uint32_t)) {
		e->err = res < 0 ? res : -EIO;
		return;
	}
	if (e->initiator) {
		if (e->rbuf != e->rounds) {
			e->err = -EILSEQ;
			return;
		}
		if (++e->rounds == ECHO_ROUNDS)
			return;		/* done: do not resubmit */
		echo_send(e, e->rounds);
	} else {
		echo_send(e, e->rbuf);
		e->rounds++;
	}
	/* Resubmit the op whose callback this is. */
	if (mps_loop_submit(e->loop, op))
		e->err = -EIO;
}

LOOP_TEST(callback_resubmits_1000_round_trips)
{
	struct mps_loop *loop = loop_open(bp);
	struct echo_side a, b;
	int fds[2];

	unix_pair(fds);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.loop = b.loop = loop;
	a.peer = &b;
	b.peer = &a;
	a.initiator = true;
	op_init(&a.rop, MPS_OP_RECV, fds[0], &a.rbuf, sizeof(a.rbuf), echo_recv_cb, &a);
	op_init(&a.sop, MPS_OP_SEND, fds[0], &a.sbuf, sizeof(a.sbuf), echo_send_cb, &a);
	op_init(&b.rop, MPS_OP_RECV, fds[1], &b.rbuf, sizeof(b.rbuf), echo_recv_cb, &b);
	op_init(&b.sop, MPS_OP_SEND, fds[1], &b.sbuf, sizeof(b.sbuf), echo_send_cb, &b);
	cr_assert_eq(submit(loop, &a.rop), 0);
	cr_assert_eq(submit(loop, &b.rop), 0);
	g_in_api = true;
	echo_send(&a, 0);
	g_in_api = false;
	RUN_UNTIL(loop, a.rounds == ECHO_ROUNDS || a.err || b.err, 4000);
	cr_assert_eq(a.err, 0, "a: %d", a.err);
	cr_assert_eq(b.err, 0, "b: %d", b.err);
	cr_assert_eq(a.rounds, ECHO_ROUNDS);
	cr_assert_eq(b.rounds, ECHO_ROUNDS);

	/* b still waits for a next ping: cancel it and drain. */
	cr_assert_eq(cancel(loop, &b.rop), 0);
	RUN_UNTIL(loop, mps_loop_pending(loop) == 0, 2000);
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

static int g_freed;

static void free_cb(struct mps_op *op, int res)
{
	int *res_out = op->ctx;

	*res_out = res;
	/* Poison first so a loop that touches op afterwards trips ASan or
	 * at least scribbles where we would notice. */
	memset(op, 0xa5, sizeof(*op));
	free(op);
	g_freed++;
}

LOOP_TEST(callback_frees_its_op)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op *r, *c;
	char buf[8];
	int fds[2], rres = 1, cres = 1;

	g_freed = 0;
	unix_pair(fds);
	r = malloc(sizeof(*r));
	c = malloc(sizeof(*c));
	cr_assert(r && c);
	op_init(r, MPS_OP_RECV, fds[0], buf, sizeof(buf), free_cb, &rres);
	op_init(c, MPS_OP_RECV, fds[1], buf, sizeof(buf), free_cb, &cres);
	cr_assert_eq(submit(loop, r), 0);
	cr_assert_eq(submit(loop, c), 0);
	cr_assert_geq(mps_loop_run_once(loop, 0), 0);
	cr_assert_eq(cancel(loop, c), 0);		/* one freed after cancel */
	cr_assert_eq(write(fds[1], "q", 1), 1);		/* one after data */
	RUN_UNTIL(loop, g_freed == 2, 2000);
	cr_assert_eq(rres, 1);
	cr_assert_eq(cres, -ECANCELED);
	cr_assert_geq(mps_loop_run_once(loop, 5), 0);
	cr_assert_eq(g_freed, 2);
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

/* The caller closes an fd in the callback of its last op while another
 * reference to the same socket lives on (as after fork): the loop must not
 * keep watching it.  Then a new socket reusing the number just works. */
static void close_cb(struct mps_op *op, int res)
{
	struct rec *r = op->ctx;

	r->calls++;
	r->res = res;
	close(op->fd);
}

LOOP_TEST(fd_closed_after_completion)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op r, r2;
	struct rec rr = { 0 }, rr2 = { 0 };
	uint64_t t0, ms;
	char buf[8];
	int fds[2], keep, fds2[2];

	unix_pair(fds);
	keep = dup(fds[0]);
	cr_assert_geq(keep, 0);
	op_init(&r, MPS_OP_RECV, fds[0], buf, sizeof(buf), close_cb, &rr);
	cr_assert_eq(submit(loop, &r), 0);
	cr_assert_eq(write(fds[1], "1", 1), 1);
	RUN_UNTIL(loop, rr.calls, 2000);
	cr_assert_eq(rr.res, 1);

	/* The file behind the closed number hangs up; nobody listens. */
	close(fds[1]);
	t0 = mps_clock_ms();
	cr_assert_eq(mps_loop_run_once(loop, 50), 0);
	ms = mps_clock_ms() - t0;
	cr_assert_geq(ms, 40, "woke after %llu ms: stale fd still watched",
		      (unsigned long long)ms);

	unix_pair(fds2);	/* most likely reuses fds[0]'s number */
	op_init(&r2, MPS_OP_RECV, fds2[0], buf, sizeof(buf), rec_cb, &rr2);
	cr_assert_eq(submit(loop, &r2), 0);
	cr_assert_eq(write(fds2[1], "22", 2), 2);
	RUN_UNTIL(loop, rr2.calls, 2000);
	cr_assert_eq(rr2.res, 2);
	close(keep);
	close(fds2[0]);
	close(fds2[1]);
	loop_close(loop);
}

/* Data already waiting when the op is submitted: the callback still waits
 * for run_once. */
LOOP_TEST(callbacks_never_inside_submit)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op r, p;
	struct rec rr = { 0 }, pr = { 0 };
	char buf[8];
	int fds[2];

	unix_pair(fds);
	cr_assert_eq(write(fds[1], "ready", 5), 5);
	op_init(&r, MPS_OP_RECV, fds[0], buf, sizeof(buf), rec_cb, &rr);
	op_init(&p, MPS_OP_POLL, fds[1], NULL, 0, rec_cb, &pr);
	p.poll_mask = POLLOUT;
	cr_assert_eq(submit(loop, &r), 0);
	cr_assert_eq(submit(loop, &p), 0);
	cr_assert_eq(rr.calls + pr.calls, 0);
	RUN_UNTIL(loop, rr.calls && pr.calls, 2000);
	cr_assert_eq(rr.res, 5);
	cr_assert(pr.res & POLLOUT);
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

/* ---- timers, timeouts, flush */

struct order {
	int seq[16];
	int n;
	bool early;
};

struct order_timer {
	struct mps_timer t;
	struct order *o;
	int id;
};

static void order_cb(struct mps_timer *t)
{
	struct order_timer *ot = t->ctx;

	if (mps_clock_ns() < t->when_ns)
		ot->o->early = true;
	if (mps_timer_armed(t))
		ot->o->early = true;	/* must be disarmed before its callback */
	if (ot->o->n < 16)
		ot->o->seq[ot->o->n++] = ot->id;
}

LOOP_TEST(timers_fire_in_order)
{
	struct mps_loop *loop = loop_open(bp);
	static const int delays[] = { 30, 10, 20, 0, 5, 1 };
	struct order_timer ts[6];
	struct order o;
	size_t i;

	memset(&o, 0, sizeof(o));
	for (i = 0; i < 6; i++) {
		ts[i].o = &o;
		ts[i].id = delays[i];
		mps_timer_init(&ts[i].t, order_cb, &ts[i]);
		cr_assert_not(mps_timer_armed(&ts[i].t));
		mps_timer_arm(loop, &ts[i].t, (uint64_t)delays[i]);
		cr_assert(mps_timer_armed(&ts[i].t));
	}
	mps_timer_cancel(loop, &ts[4].t);		/* the 5 ms one never fires */
	cr_assert_not(mps_timer_armed(&ts[4].t));
	mps_timer_cancel(loop, &ts[4].t);		/* twice is harmless */
	mps_timer_arm(loop, &ts[5].t, 15);		/* re-armed: 1 ms -> 15 ms */
	ts[5].id = 15;

	RUN_UNTIL(loop, o.n >= 5, 2000);
	cr_assert_geq(mps_loop_run_once(loop, 20), 0);	/* a late straggler? */
	cr_assert_eq(o.n, 5);
	cr_assert_eq(o.seq[0], 0);
	cr_assert_eq(o.seq[1], 10);
	cr_assert_eq(o.seq[2], 15);
	cr_assert_eq(o.seq[3], 20);
	cr_assert_eq(o.seq[4], 30);
	cr_assert_not(o.early, "a timer fired early or still armed");
	for (i = 0; i < 6; i++)
		cr_assert_not(mps_timer_armed(&ts[i].t));
	loop_close(loop);
}

static uint64_t g_fake_ns;

static uint64_t fake_clock(void)
{
	return g_fake_ns;
}

struct heap_timer {
	struct mps_timer t;
	uint64_t *last;
	int *fired;
	bool *bad;
	bool cancelled;
};

static void heap_cb(struct mps_timer *t)
{
	struct heap_timer *ht = t->ctx;

	if (ht->cancelled || t->when_ns < *ht->last)
		*ht->bad = true;
	*ht->last = t->when_ns;
	(*ht->fired)++;
}

/* Many timers on an injected clock: every armed one fires, in deadline
 * order, cancelled and re-armed ones behave. */
LOOP_TEST(timer_heap_many)
{
	struct mps_loop *loop = loop_open(bp);
	enum { N = 500 };
	struct heap_timer *ts;
	uint64_t last = 0, seed = 12345;
	int i, fired = 0, expect = 0;
	bool bad = false;

	ts = calloc(N, sizeof(*ts));
	cr_assert_not_null(ts);
	g_fake_ns = 1000000000ull;
	mps_clock_inject(fake_clock);
	for (i = 0; i < N; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		ts[i].last = &last;
		ts[i].fired = &fired;
		ts[i].bad = &bad;
		mps_timer_init(&ts[i].t, heap_cb, &ts[i]);
		mps_timer_arm_ns(loop, &ts[i].t, g_fake_ns + (seed >> 40) % 100000);
	}
	for (i = 0; i < N; i++) {
		if (i % 7 == 0) {
			mps_timer_cancel(loop, &ts[i].t);
			ts[i].cancelled = true;
		} else if (i % 5 == 0) {
			mps_timer_arm_ns(loop, &ts[i].t, g_fake_ns + (uint64_t)(N - i) * 3);
		}
		if (!ts[i].cancelled)
			expect++;
	}
	/* Nothing due yet. */
	cr_assert_geq(mps_loop_run_once(loop, 0), 0);
	cr_assert_eq(fired, 0);
	g_fake_ns += 100000;
	cr_assert_eq(mps_loop_run_once(loop, 0), expect);
	mps_clock_inject(NULL);
	cr_assert_eq(fired, expect);
	cr_assert_not(bad, "out of order or cancelled timer fired");
	free(ts);
	loop_close(loop);
}

static int g_rearms;

static void rearm_now_cb(struct mps_timer *t)
{
	g_rearms++;
	mps_timer_arm(t->ctx, t, 0);
}

/* A timer that re-arms itself for "now" on a frozen clock fires once per
 * iteration instead of spinning inside run_once. */
LOOP_TEST(timer_rearm_now_does_not_spin)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_timer t;

	g_fake_ns = 5000000000ull;
	mps_clock_inject(fake_clock);
	g_rearms = 0;
	mps_timer_init(&t, rearm_now_cb, loop);
	mps_timer_arm(loop, &t, 0);
	cr_assert_eq(mps_loop_run_once(loop, 0), 1);
	cr_assert_eq(g_rearms, 1);
	cr_assert_eq(mps_loop_run_once(loop, 1000), 1);	/* due: no sleep */
	cr_assert_eq(g_rearms, 2);
	mps_timer_cancel(loop, &t);
	mps_clock_inject(NULL);
	loop_close(loop);
}

LOOP_TEST(idle_timeout_honoured)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_op r;
	struct rec rr = { 0 };
	uint64_t t0, ms;
	char buf[4];
	int fds[2];

	t0 = mps_clock_ms();
	cr_assert_eq(mps_loop_run_once(loop, 50), 0);
	ms = mps_clock_ms() - t0;
	cr_assert(ms >= 45 && ms < 1000, "idle wait took %llu ms",
		  (unsigned long long)ms);

	/* Same with an op pending that never completes. */
	unix_pair(fds);
	op_init(&r, MPS_OP_RECV, fds[0], buf, sizeof(buf), rec_cb, &rr);
	cr_assert_eq(submit(loop, &r), 0);
	t0 = mps_clock_ms();
	cr_assert_eq(mps_loop_run_once(loop, 50), 0);
	ms = mps_clock_ms() - t0;
	cr_assert(ms >= 45 && ms < 1000, "wait with a pending op took %llu ms",
		  (unsigned long long)ms);

	/* 0 does not sleep. */
	t0 = mps_clock_ms();
	cr_assert_eq(mps_loop_run_once(loop, 0), 0);
	cr_assert_lt(mps_clock_ms() - t0, 20);

	cr_assert_eq(cancel(loop, &r), 0);
	RUN_UNTIL(loop, rr.calls, 2000);
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

static void count_timer_cb(struct mps_timer *t)
{
	(*(int *)t->ctx)++;
}

/* run_once(-1) sleeps only until the nearest timer. */
LOOP_TEST(timer_caps_infinite_wait)
{
	struct mps_loop *loop = loop_open(bp);
	struct mps_timer t;
	uint64_t t0, ms;
	int fired = 0, iters = 0;

	mps_timer_init(&t, count_timer_cb, &fired);
	mps_timer_arm(loop, &t, 30);
	t0 = mps_clock_ms();
	while (!fired && iters++ < 5)
		cr_assert_geq(mps_loop_run_once(loop, -1), 0);
	ms = mps_clock_ms() - t0;
	cr_assert_eq(fired, 1);
	cr_assert_leq(iters, 2, "%d iterations to reach a 30 ms timer", iters);
	cr_assert(ms >= 29 && ms < 1000, "took %llu ms", (unsigned long long)ms);
	loop_close(loop);
}

struct flush_state {
	int flushes;
	int flushes_at_cb;
	int cb_calls;
};

static void flush_fn(void *ctx)
{
	((struct flush_state *)ctx)->flushes++;
}

static void flush_op_cb(struct mps_op *op, int res)
{
	struct flush_state *fs = op->ctx;

	fs->cb_calls++;
	fs->flushes_at_cb = fs->flushes;
}

LOOP_TEST(flush_hook_every_iteration)
{
	struct mps_loop *loop = loop_open(bp);
	struct flush_state fs = { 0 };
	struct mps_op s;
	int fds[2], i, before = 0;

	mps_loop_set_flush(loop, flush_fn, &fs);
	for (i = 0; i < 5; i++)
		cr_assert_geq(mps_loop_run_once(loop, 0), 0);
	cr_assert_eq(fs.flushes, 5);

	/* After the callbacks of the same iteration, not before. */
	unix_pair(fds);
	op_init(&s, MPS_OP_SEND, fds[0], "f", 1, flush_op_cb, &fs);
	cr_assert_eq(submit(loop, &s), 0);
	while (!fs.cb_calls && fs.flushes < 200) {
		before = fs.flushes;
		cr_assert_geq(mps_loop_run_once(loop, 10), 0);
		cr_assert_eq(fs.flushes, before + 1);
	}
	cr_assert_eq(fs.cb_calls, 1);
	cr_assert_eq(fs.flushes_at_cb, before, "flush ran before the callback");

	mps_loop_set_flush(loop, NULL, NULL);
	cr_assert_geq(mps_loop_run_once(loop, 0), 0);
	cr_assert_eq(fs.flushes, before + 1);
	close(fds[0]);
	close(fds[1]);
	loop_close(loop);
}

/* Many ops at once, more than one SQ's worth on io_uring. */
LOOP_TEST(many_pending_ops_drain_to_zero)
{
	struct mps_loop *loop = loop_open(bp);
	enum { PAIRS = 300 };
	struct mps_op *ops;
	struct rec *recs;
	int (*fds)[2];
	char (*bufs)[4];
	int i, done;

	ops = calloc(PAIRS, sizeof(*ops));
	recs = calloc(PAIRS, sizeof(*recs));
	fds = calloc(PAIRS, sizeof(*fds));
	bufs = calloc(PAIRS, sizeof(*bufs));
	cr_assert(ops && recs && fds && bufs);
	for (i = 0; i < PAIRS; i++) {
		unix_pair(fds[i]);
		op_init(&ops[i], MPS_OP_RECV, fds[i][0], bufs[i], sizeof(bufs[i]),
			rec_cb, &recs[i]);
		cr_assert_eq(submit(loop, &ops[i]), 0);
	}
	cr_assert_eq(mps_loop_pending(loop), PAIRS);
	cr_assert_geq(mps_loop_run_once(loop, 0), 0);
	for (i = 0; i < PAIRS; i++) {
		if (i % 2)
			cr_assert_eq(write(fds[i][1], "m", 1), 1);
		else
			cr_assert_eq(cancel(loop, &ops[i]), 0);
	}
	RUN_UNTIL(loop, mps_loop_pending(loop) == 0, 3000);
	for (i = 0, done = 0; i < PAIRS; i++) {
		cr_assert_eq(recs[i].calls, 1, "op %d: %d calls", i, recs[i].calls);
		cr_assert_eq(recs[i].res, i % 2 ? 1 : -ECANCELED, "op %d: %d", i,
			     recs[i].res);
		done++;
		close(fds[i][0]);
		close(fds[i][1]);
	}
	cr_assert_eq(done, PAIRS);
	free(ops);
	free(recs);
	free(fds);
	free(bufs);
	loop_close(loop);
}
