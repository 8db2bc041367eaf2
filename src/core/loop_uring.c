/*
 * loop_uring.c - the io_uring backend: one ring per loop.
 *
 * Owns the ring.  Each op's SQE carries the struct mps_op pointer as
 * user_data, so nothing is allocated per op and a CQE leads straight back
 * to its op.  SQEs whose CQEs mean nothing to the caller (cancel requests,
 * the start-up probe) carry URING_UDATA_IGNORE; so does liburing's own
 * timeout SQE (LIBURING_UDATA_TIMEOUT) on kernels without EXT_ARG.  Ops
 * are never at address 0 or ~0, so neither can be mistaken for an op.
 *
 * SQEs queued by submit and cancel stay in the SQ until the next wait,
 * which hands them to the kernel in the same io_uring_enter() that waits;
 * only a full SQ makes us submit early.
 */
#include "config.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <liburing.h>
#include "loop_int.h"

#define URING_UDATA_IGNORE	0

struct uring_priv {
	struct io_uring ring;
};

static struct io_uring *uring_ring(struct mps_loop *loop)
{
	return &((struct uring_priv *)loop->priv)->ring;
}

/* An SQE, pushing the queued ones to the kernel first if the SQ is full:
 * batching is a saving, not a promise worth failing a submit for. */
static int uring_sqe(struct io_uring *ring, struct io_uring_sqe **out)
{
	struct io_uring_sqe *sqe;
	int ret;

	sqe = io_uring_get_sqe(ring);
	if (!sqe) {
		ret = io_uring_submit(ring);
		if (ret < 0)
			return ret;
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			return -EBUSY;
	}
	*out = sqe;
	return 0;
}

/*
 * Refuse a ring that cannot serve us, so "auto" falls back to epoll: a
 * kernel too old for SEND/RECV (or for the probe itself, < 5.6), and a
 * seccomp profile that lets io_uring_setup() through but blocks
 * io_uring_enter() or io_uring_register() - seen in container runtimes.
 */
static int uring_probe(struct io_uring *ring)
{
	static const int needed[] = {
		IORING_OP_NOP, IORING_OP_RECV, IORING_OP_SEND,
		IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL,
	};
	struct io_uring_probe *probe;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	size_t i;
	int ret = 0;

	probe = io_uring_get_probe_ring(ring);
	if (!probe)
		return -ENOSYS;
	for (i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!io_uring_opcode_supported(probe, needed[i]))
			ret = -ENOSYS;
	io_uring_free_probe(probe);
	if (ret)
		return ret;

	sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, URING_UDATA_IGNORE);
	ret = io_uring_submit_and_wait(ring, 1);
	if (ret < 0)
		return ret;
	ret = io_uring_peek_cqe(ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res < 0 ? cqe->res : 0;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/*
 * The completion queue is larger than the submission queue: with
 * thousands of connections, a burst (every idle subflow's heartbeat, a
 * wave of new clients) completes far more ops in one wait than we submit
 * in one batch, and CQEs beyond the ring go to the kernel's slower
 * overflow list.  4096 CQEs of 16 bytes cost 64 KiB per engine.
 */
#define URING_CQ_PER_SQ		16

static int uring_setup(struct io_uring *ring, unsigned depth, unsigned flags)
{
	struct io_uring_params p = { 0 };
	int ret;

	p.flags = flags | IORING_SETUP_CQSIZE;
	p.cq_entries = depth * URING_CQ_PER_SQ;
	ret = io_uring_queue_init_params(depth, ring, &p);
	if (ret == -EINVAL)	/* before 5.5: no CQSIZE */
		ret = io_uring_queue_init(depth, ring, flags);
	return ret;
}

static int uring_init(struct mps_loop *loop, unsigned depth)
{
	struct uring_priv *priv;
	int ret;

	priv = calloc(1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	/*
	 * SUBMIT_ALL: one bad SQE must not strand the rest of the batch.
	 * COOP_TASKRUN: completions are processed when we enter the kernel,
	 * which our wait always does, instead of interrupting the engine
	 * thread.  Both need 5.18/5.19; older kernels refuse them with
	 * -EINVAL and get a plain ring.
	 */
	ret = uring_setup(&priv->ring, depth,
			  IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN);
	if (ret == -EINVAL)
		ret = uring_setup(&priv->ring, depth, 0);
	if (ret < 0)
		goto err_free;
	ret = uring_probe(&priv->ring);
	if (ret)
		goto err_exit;
	loop->priv = priv;
	return 0;

err_exit:
	io_uring_queue_exit(&priv->ring);
err_free:
	free(priv);
	return ret;
}

static void uring_fini(struct mps_loop *loop)
{
	struct uring_priv *priv = loop->priv;

	io_uring_queue_exit(&priv->ring);
	free(priv);
	loop->priv = NULL;
}

static int uring_submit(struct mps_loop *loop, struct mps_op *op)
{
	struct io_uring_sqe *sqe;
	int ret;

	ret = uring_sqe(uring_ring(loop), &sqe);
	if (ret)
		return ret;
	switch (op->kind) {
	case MPS_OP_RECV:
		io_uring_prep_recv(sqe, op->fd, op->buf, mps_loop_io_len(op),
				   op->msg_flags);
		break;
	case MPS_OP_SEND:
		io_uring_prep_send(sqe, op->fd, op->buf, mps_loop_io_len(op),
				   op->msg_flags | MSG_NOSIGNAL);
		break;
	case MPS_OP_POLL:
		/* One-shot: the kernel drops it after the first event. */
		io_uring_prep_poll_add(sqe, op->fd, op->poll_mask);
		break;
	}
	io_uring_sqe_set_data(sqe, op);
	return 0;
}

/*
 * Ask the kernel to cancel the request keyed by op's address.  The cancel
 * request's own CQE (0, -ENOENT when the op finished first, -EALREADY) is
 * ignored: the op's CQE, which always follows, is the one that counts.
 * The cancel SQE sits in the SQ ahead of anything submitted after it, so
 * it can never hit a later submission of the same op.
 */
static int uring_cancel(struct mps_loop *loop, struct mps_op *op)
{
	struct io_uring_sqe *sqe;
	int ret;

	ret = uring_sqe(uring_ring(loop), &sqe);
	if (ret)
		return ret;
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
	io_uring_sqe_set_data64(sqe, URING_UDATA_IGNORE);
	return 0;
}

static int uring_wait(struct mps_loop *loop, int timeout_ms)
{
	struct io_uring *ring = uring_ring(loop);
	struct __kernel_timespec ts, *tsp = NULL;
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int ret, n = 0;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
		tsp = &ts;
	}
	/* Submits everything queued since the last wait, then sleeps until
	 * one CQE is there or the timeout passes. */
	ret = io_uring_submit_and_wait_timeout(ring, &cqe, 1, tsp, NULL);
	/*
	 * Not failures: -ETIME (timed out), -EINTR (a signal), and -EBUSY /
	 * -EAGAIN, which an older kernel returns when its CQ overflow list
	 * is backed up - draining below is exactly what clears that.
	 */
	if (ret == -ETIME || ret == -EINTR || ret == -EBUSY || ret == -EAGAIN)
		ret = 0;

	io_uring_for_each_cqe(ring, head, cqe) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);

		seen++;
		if (ud == URING_UDATA_IGNORE || ud == LIBURING_UDATA_TIMEOUT)
			continue;
		mps_loop_complete(loop, (struct mps_op *)(uintptr_t)ud, cqe->res);
		n++;
	}
	io_uring_cq_advance(ring, seen);
	return ret < 0 ? ret : n;
}

const struct mps_loop_ops mps_loop_uring_ops = {
	.name	= "uring",
	.init	= uring_init,
	.fini	= uring_fini,
	.submit	= uring_submit,
	.cancel	= uring_cancel,
	.wait	= uring_wait,
};
