/*
 * loop_int.h - what the event loop's common code and its backends share.
 *
 * Owns: struct mps_loop (the common part every backend sees), the backend
 * ops table, and the one hand-off from backend to common code:
 * mps_loop_complete().  Only loop.c, loop_uring.c and loop_epoll.c include
 * it; everyone else sees struct mps_loop as opaque through loop.h.
 */
#ifndef MPS_LOOP_INT_H
#define MPS_LOOP_INT_H

#include "loop.h"

/*
 * A backend.  Every function returns 0 (wait: >= 0) or -errno.
 *
 * init:   set up loop->priv for a queue of about depth entries; a failure
 *         here (-ENOSYS, -EPERM ...) lets "auto" try the next backend.
 * fini:   release loop->priv; ops still pending are dropped unreported.
 * submit: take a validated op (common code has checked kind, fd, cb and
 *         set op->pending).  Must not run a callback; errors of the
 *         operation itself are reported through mps_loop_complete(), the
 *         return value is only for the request being refused outright.
 * cancel: op is pending and not yet cancelled; arrange for it to complete
 *         soon (with -ECANCELED unless it already finished).
 * wait:   hand queued work to the kernel, sleep up to timeout_ms (-1:
 *         no limit, 0: do not sleep), and move every finished op onto the
 *         completion list with mps_loop_complete().  Returns how many ops
 *         it completed, or -errno for a backend failure.
 */
struct mps_loop_ops {
	const char *name;
	int (*init)(struct mps_loop *loop, unsigned depth);
	void (*fini)(struct mps_loop *loop);
	int (*submit)(struct mps_loop *loop, struct mps_op *op);
	int (*cancel)(struct mps_loop *loop, struct mps_op *op);
	int (*wait)(struct mps_loop *loop, int timeout_ms);
};

struct mps_loop {
	const struct mps_loop_ops *ops;
	void *priv;			/* the backend's state */

	/* Timers: binary min-heap on when_ns; each timer knows its index. */
	struct mps_timer **heap;
	unsigned heap_len;
	unsigned heap_cap;

	mps_loop_flush_fn flush;
	void *flush_ctx;

	unsigned pending;		/* submitted, callback not yet run */

	/* Finished ops whose callbacks run in the next mps_loop_run_once()
	 * pass; FIFO through op->next, result in op->res. */
	struct mps_op *done_head;
	struct mps_op **done_tail;
};

/* Largest byte count one RECV/SEND moves: the result must fit an int, and
 * the kernel caps a single transfer at INT_MAX rounded down to a page. */
#define MPS_LOOP_MAX_IO		((size_t)0x7ffff000)

static inline size_t mps_loop_io_len(const struct mps_op *op)
{
	return op->len < MPS_LOOP_MAX_IO ? op->len : MPS_LOOP_MAX_IO;
}

extern const struct mps_loop_ops mps_loop_uring_ops;
extern const struct mps_loop_ops mps_loop_epoll_ops;

/* Queue op's callback with result res.  Backends call it exactly once per
 * submitted op; it never runs the callback itself. */
static inline void mps_loop_complete(struct mps_loop *loop, struct mps_op *op,
				     int res)
{
	op->res = res;
	op->next = NULL;
	*loop->done_tail = op;
	loop->done_tail = &op->next;
}

static inline bool mps_loop_has_done(const struct mps_loop *loop)
{
	return loop->done_head != NULL;
}

#endif
