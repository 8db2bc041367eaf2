/*
 * loop.h - the engine's event loop: asynchronous socket operations and
 * timers over a pluggable backend (io_uring or epoll).
 *
 * Owns: submission and completion of operations, timers, the choice of
 * backend.  Does not own: the sockets (callers open and close them).
 *
 * The API is completion based, as io_uring is: the caller fills a struct
 * mps_op it owns (no allocation per operation), submits it, and later its
 * callback runs with the result (bytes, revents, or a negative errno).  The
 * epoll backend gives the same contract by waiting for readiness and then
 * making the non-blocking syscall itself.
 *
 * Rules every backend keeps (tests/unit/test_loop.c checks them on both):
 *  - a callback never runs inside mps_loop_submit() or mps_loop_cancel(),
 *    only inside mps_loop_run_once();
 *  - each submitted op completes exactly once; after its callback returns
 *    the loop never touches it again, so the callback may resubmit or free it;
 *  - at most one RECV and one SEND may be pending per fd at a time, plus any
 *    number of POLL ops on distinct fds (callers keep it so);
 *  - mps_loop_cancel() makes a pending op complete soon, with -ECANCELED if
 *    it had not already completed;
 *  - submissions made during one iteration are handed to the kernel
 *    together at the start of the next wait (batched).
 */
#ifndef MPS_LOOP_H
#define MPS_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mps_loop;
struct mps_op;

typedef void (*mps_op_cb)(struct mps_op *op, int res);

enum mps_op_kind {
	MPS_OP_RECV = 1,	/* recv(fd, buf, len, msg_flags): bytes, 0 at EOF, -errno */
	MPS_OP_SEND,		/* send(fd, buf, len, msg_flags|MSG_NOSIGNAL): bytes (maybe partial), -errno */
	MPS_OP_POLL,		/* one-shot poll for poll_mask: revents (> 0), -errno */
};

struct mps_op {
	enum mps_op_kind kind;
	int fd;
	void *buf;
	size_t len;
	int msg_flags;
	unsigned poll_mask;	/* POLLIN / POLLOUT ... for MPS_OP_POLL */
	mps_op_cb cb;
	void *ctx;		/* the caller's object */
	/* private to the loop */
	bool pending;
	bool cancelled;
	int res;		/* result held between completion and callback */
	struct mps_op *next;
};

struct mps_timer;
typedef void (*mps_timer_cb)(struct mps_timer *t);

struct mps_timer {
	uint64_t when_ns;	/* absolute, mps_clock_ns() scale */
	mps_timer_cb cb;
	void *ctx;
	/* private to the loop */
	int heap_idx;		/* -1 when not armed */
};

/* Called once after each batch of completions and expired timers, before
 * the loop sleeps again: the place to flush acks and schedule data. */
typedef void (*mps_loop_flush_fn)(void *ctx);

/*
 * backend: "auto" (io_uring, falling back to epoll when io_uring cannot be
 * set up: io_uring_disabled sysctl, seccomp, old kernel), "uring" or
 * "epoll".  Returns 0 or -errno (-EINVAL for an unknown backend name, the
 * setup error when a named backend cannot start).
 */
int mps_loop_new(struct mps_loop **out, const char *backend);
void mps_loop_free(struct mps_loop *loop);
const char *mps_loop_backend_name(const struct mps_loop *loop);

int mps_loop_submit(struct mps_loop *loop, struct mps_op *op);

/* Set an op's fixed parts once, when its owner is created. */
static inline void mps_op_init(struct mps_op *op, enum mps_op_kind kind,
			       mps_op_cb cb, void *ctx)
{
	op->kind = kind;
	op->cb = cb;
	op->ctx = ctx;
}

/* Submit a one-shot poll of fd for mask. */
static inline int mps_loop_poll(struct mps_loop *loop, struct mps_op *op, int fd,
				unsigned mask)
{
	op->fd = fd;
	op->poll_mask = mask;
	return mps_loop_submit(loop, op);
}
int mps_loop_cancel(struct mps_loop *loop, struct mps_op *op);

void mps_timer_init(struct mps_timer *t, mps_timer_cb cb, void *ctx);
void mps_timer_arm(struct mps_loop *loop, struct mps_timer *t, uint64_t delay_ms);
void mps_timer_arm_ns(struct mps_loop *loop, struct mps_timer *t, uint64_t when_ns);
void mps_timer_cancel(struct mps_loop *loop, struct mps_timer *t);
static inline bool mps_timer_armed(const struct mps_timer *t) { return t->heap_idx >= 0; }

void mps_loop_set_flush(struct mps_loop *loop, mps_loop_flush_fn fn, void *ctx);

/*
 * Wait up to timeout_ms (-1: until something happens, capped by the nearest
 * timer), then run completion callbacks, expired timers and the flush hook.
 * Returns the number of callbacks run, or -errno on a backend failure.
 */
int mps_loop_run_once(struct mps_loop *loop, int timeout_ms);

/* Number of ops submitted and not yet completed (for orderly shutdown). */
unsigned mps_loop_pending(const struct mps_loop *loop);

#endif
