/*
 * loop.c - the backend-independent half of the event loop.
 *
 * Owns: the choice of backend, checking and counting ops, the completion
 * list, the timer heap and the order of one iteration:
 *
 *	backend wait -> op callbacks -> expired timers -> flush hook
 *
 * Backends (loop_uring.c, loop_epoll.c) only move finished ops onto the
 * completion list; every callback runs from here, so the rule "never
 * inside submit or cancel" holds for both by construction.
 *
 * Every public function leaves errno as it found it: the engine reports
 * through return values, and the shim's wrappers set errno last.
 */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "loop_int.h"

/* Queue depth asked of a backend.  Not a limit on pending ops: the
 * io_uring backend submits early when its SQ fills, and the CQ (twice
 * this) is backed by the kernel's overflow list. */
#define LOOP_DEPTH		256
#define HEAP_MIN_CAP		64
#define NS_PER_MS		1000000u

static const struct mps_loop_ops *const loop_backends[] = {
	&mps_loop_uring_ops,
	&mps_loop_epoll_ops,
};

static int loop_start(struct mps_loop *loop, const struct mps_loop_ops *ops)
{
	int ret;

	loop->ops = ops;
	loop->priv = NULL;
	ret = ops->init(loop, LOOP_DEPTH);
	if (ret)
		loop->ops = NULL;
	return ret;
}

int mps_loop_new(struct mps_loop **out, const char *backend)
{
	int saved_errno = errno;
	const struct mps_loop_ops *named = NULL;
	struct mps_loop *loop;
	bool any;
	size_t i;
	int ret = -EINVAL;

	*out = NULL;
	/* NULL reads as "auto" so an unset config value needs no special case. */
	any = !backend || !strcmp(backend, "auto");
	if (!any) {
		for (i = 0; i < sizeof(loop_backends) / sizeof(loop_backends[0]); i++)
			if (!strcmp(backend, loop_backends[i]->name))
				named = loop_backends[i];
		if (!named)
			return -EINVAL;
	}

	loop = calloc(1, sizeof(*loop));
	if (!loop) {
		errno = saved_errno;
		return -ENOMEM;
	}
	loop->done_tail = &loop->done_head;

	if (named) {
		ret = loop_start(loop, named);
	} else {
		/* In preference order; the last backend's error is the one
		 * reported, as it is the one nothing else can replace. */
		for (i = 0; i < sizeof(loop_backends) / sizeof(loop_backends[0]); i++) {
			ret = loop_start(loop, loop_backends[i]);
			if (!ret)
				break;
		}
	}
	if (ret) {
		free(loop);
		errno = saved_errno;
		return ret;
	}
	*out = loop;
	errno = saved_errno;
	return 0;
}

void mps_loop_free(struct mps_loop *loop)
{
	int saved_errno = errno;
	unsigned i;

	if (!loop)
		return;
	/* Ops still pending are dropped without callbacks (see loop.h); the
	 * caller drains first (cancel, then run until mps_loop_pending() is
	 * 0) when its buffers must be safe to reuse. */
	loop->ops->fini(loop);
	for (i = 0; i < loop->heap_len; i++)
		loop->heap[i]->heap_idx = -1;
	free(loop->heap);
	free(loop);
	errno = saved_errno;
}

const char *mps_loop_backend_name(const struct mps_loop *loop)
{
	return loop->ops->name;
}

void mps_loop_set_flush(struct mps_loop *loop, mps_loop_flush_fn fn, void *ctx)
{
	loop->flush = fn;
	loop->flush_ctx = ctx;
}

unsigned mps_loop_pending(const struct mps_loop *loop)
{
	return loop->pending;
}

/* ---- operations */

int mps_loop_submit(struct mps_loop *loop, struct mps_op *op)
{
	int saved_errno = errno;
	int ret;

	if (!op->cb || op->fd < 0)
		return -EINVAL;
	if (op->kind != MPS_OP_RECV && op->kind != MPS_OP_SEND &&
	    op->kind != MPS_OP_POLL)
		return -EINVAL;
	if (op->pending)
		return -EBUSY;

	op->pending = true;
	op->cancelled = false;
	op->res = 0;
	op->next = NULL;
	ret = loop->ops->submit(loop, op);
	if (ret)
		op->pending = false;
	else
		loop->pending++;
	errno = saved_errno;
	return ret;
}

/* On the completion list: finished, callback not yet run.  An op's next is
 * NULL from submit until it is queued, and again once it is taken off. */
static bool op_queued(const struct mps_loop *loop, const struct mps_op *op)
{
	return op->next || loop->done_tail == &op->next;
}

int mps_loop_cancel(struct mps_loop *loop, struct mps_op *op)
{
	int saved_errno = errno;
	int ret;

	if (!op->pending)
		return -ENOENT;
	/* Already finished (its real result wins) or already being
	 * cancelled: either way it will complete soon, which is all cancel
	 * promises. */
	if (op->cancelled || op_queued(loop, op))
		return 0;
	op->cancelled = true;
	ret = loop->ops->cancel(loop, op);
	if (ret)
		op->cancelled = false;
	errno = saved_errno;
	return ret;
}

/*
 * Run the callbacks of the ops queued when we started, not of those queued
 * by the callbacks themselves (an epoll cancel, a failed registration):
 * those wait for the next iteration, so a callback that keeps resubmitting
 * and cancelling cannot hold the loop here forever.
 */
static int loop_run_done(struct mps_loop *loop)
{
	struct mps_op *op, *last;
	int n = 0;

	if (!loop->done_head)
		return 0;
	/* done_tail points at the last queued op's next field. */
	last = (struct mps_op *)((char *)loop->done_tail -
				 offsetof(struct mps_op, next));
	do {
		mps_op_cb cb;
		int res;

		op = loop->done_head;
		loop->done_head = op->next;
		if (!loop->done_head)
			loop->done_tail = &loop->done_head;
		op->next = NULL;
		op->pending = false;
		op->cancelled = false;
		loop->pending--;
		cb = op->cb;
		res = op->res;
		n++;
		/* From here on op belongs to the caller again: the callback
		 * may resubmit it or free it. */
		cb(op, res);
	} while (op != last);
	return n;
}

/* ---- timers: a binary min-heap on when_ns, each timer knows its slot */

static void heap_place(struct mps_loop *loop, unsigned idx, struct mps_timer *t)
{
	loop->heap[idx] = t;
	t->heap_idx = (int)idx;
}

static void heap_up(struct mps_loop *loop, unsigned idx)
{
	struct mps_timer *t = loop->heap[idx];

	while (idx > 0) {
		unsigned parent = (idx - 1) / 2;

		if (loop->heap[parent]->when_ns <= t->when_ns)
			break;
		heap_place(loop, idx, loop->heap[parent]);
		idx = parent;
	}
	heap_place(loop, idx, t);
}

static void heap_down(struct mps_loop *loop, unsigned idx)
{
	struct mps_timer *t = loop->heap[idx];

	for (;;) {
		unsigned child = 2 * idx + 1;

		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    loop->heap[child + 1]->when_ns < loop->heap[child]->when_ns)
			child++;
		if (t->when_ns <= loop->heap[child]->when_ns)
			break;
		heap_place(loop, idx, loop->heap[child]);
		idx = child;
	}
	heap_place(loop, idx, t);
}

static void heap_remove(struct mps_loop *loop, struct mps_timer *t)
{
	unsigned idx = (unsigned)t->heap_idx;
	struct mps_timer *last;

	t->heap_idx = -1;
	last = loop->heap[--loop->heap_len];
	if (last == t)
		return;
	heap_place(loop, idx, last);
	/* The moved timer may belong above or below the hole. */
	heap_up(loop, idx);
	heap_down(loop, (unsigned)last->heap_idx);
}

void mps_timer_init(struct mps_timer *t, mps_timer_cb cb, void *ctx)
{
	t->when_ns = 0;
	t->cb = cb;
	t->ctx = ctx;
	t->heap_idx = -1;
}

/*
 * Arming can need memory and has no way to say it failed (loop.h returns
 * void): the heap starts with room for HEAP_MIN_CAP timers and doubles, and
 * if that ever fails the timer stays unarmed, which the caller can see
 * with mps_timer_armed().
 */
void mps_timer_arm_ns(struct mps_loop *loop, struct mps_timer *t, uint64_t when_ns)
{
	t->when_ns = when_ns;
	if (t->heap_idx >= 0) {
		heap_up(loop, (unsigned)t->heap_idx);
		heap_down(loop, (unsigned)t->heap_idx);
		return;
	}
	if (loop->heap_len == loop->heap_cap) {
		unsigned cap = loop->heap_cap ? loop->heap_cap * 2 : HEAP_MIN_CAP;
		struct mps_timer **heap;

		heap = realloc(loop->heap, cap * sizeof(*heap));
		if (!heap)
			return;
		loop->heap = heap;
		loop->heap_cap = cap;
	}
	loop->heap[loop->heap_len++] = t;
	heap_up(loop, loop->heap_len - 1);
}

void mps_timer_arm(struct mps_loop *loop, struct mps_timer *t, uint64_t delay_ms)
{
	uint64_t now = mps_clock_ns();
	uint64_t when = UINT64_MAX;

	/* Saturate: "never" is a fine reading of an absurd delay. */
	if (delay_ms < (UINT64_MAX - now) / NS_PER_MS)
		when = now + delay_ms * NS_PER_MS;
	mps_timer_arm_ns(loop, t, when);
}

void mps_timer_cancel(struct mps_loop *loop, struct mps_timer *t)
{
	if (t->heap_idx < 0)
		return;
	heap_remove(loop, t);
}

/*
 * Fire timers due now.  At most as many as were armed on entry: a callback
 * that re-arms its timer for "now" (or a test's frozen clock) must not keep
 * this loop spinning; the rest fire on the next iteration, which will not
 * sleep since the nearest timer is due.
 */
static int loop_run_timers(struct mps_loop *loop)
{
	uint64_t now;
	unsigned budget = loop->heap_len;
	int n = 0;

	if (!budget)
		return 0;
	now = mps_clock_ns();
	while (budget-- && loop->heap_len && loop->heap[0]->when_ns <= now) {
		struct mps_timer *t = loop->heap[0];

		heap_remove(loop, t);
		n++;
		t->cb(t);
	}
	return n;
}

/* The wait the caller allows, shortened to the nearest timer (rounded up,
 * so we never wake just before it is due and spin), and 0 when callbacks
 * are already waiting. */
static int loop_timeout(const struct mps_loop *loop, int timeout_ms)
{
	uint64_t now, delta, ms;

	if (mps_loop_has_done(loop))
		return 0;
	if (!loop->heap_len)
		return timeout_ms;
	now = mps_clock_ns();
	if (loop->heap[0]->when_ns <= now)
		return 0;
	delta = loop->heap[0]->when_ns - now;
	ms = delta / NS_PER_MS + (delta % NS_PER_MS != 0);
	if (timeout_ms >= 0 && (uint64_t)timeout_ms <= ms)
		return timeout_ms;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

int mps_loop_run_once(struct mps_loop *loop, int timeout_ms)
{
	int saved_errno = errno;
	int ret, n;

	ret = loop->ops->wait(loop, loop_timeout(loop, timeout_ms));
	/* Run what did finish even when the backend failed: those ops are
	 * done in the kernel and their owners must hear about it. */
	n = loop_run_done(loop);
	n += loop_run_timers(loop);
	if (loop->flush)
		loop->flush(loop->flush_ctx);
	errno = saved_errno;
	return ret < 0 ? ret : n;
}
