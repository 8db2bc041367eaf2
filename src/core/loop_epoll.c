/*
 * loop_epoll.c - the epoll backend, for hosts where io_uring is disabled.
 *
 * Owns the epoll instance and one slot per fd number (an array indexed by
 * fd) holding that fd's pending RECV, SEND and POLL op.  It gives the
 * io_uring contract on a readiness API: the epoll interest of an fd is the
 * union of what its pending ops need (level-triggered), and when the fd is
 * ready we make the non-blocking syscall ourselves; EAGAIN just means keep
 * waiting.  Finished ops go on the loop's completion list, never straight
 * to their callbacks.
 *
 * Interest changes that add work (a submit) are batched and applied at the
 * start of the next wait, as io_uring applies its SQ.  Changes that remove
 * work (an op finished or cancelled) are applied at once, before any
 * callback can run: a callback may close the fd, and an fd closed while
 * still registered stays in the epoll set for as long as any other
 * reference to its file lives (a dup, a forked child), where a hung-up
 * socket would wake us forever.  So the fd leaves the set (EPOLL_CTL_DEL)
 * before its slot empties, while the fd is certainly still open.
 */
#include "config.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "loop_int.h"

#define EP_MAX_EVENTS		128
#define EP_MIN_SLOTS		64

/* poll(2) and epoll share bit values on Linux; these are the ones a POLL op
 * may ask for.  EPOLLERR and EPOLLHUP are always reported, as by poll. */
#define EP_POLL_BITS	(EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDNORM | \
			 EPOLLRDBAND | EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | \
			 EPOLLRDHUP)

struct ep_slot {
	struct mps_op *recv;
	struct mps_op *send;
	struct mps_op *poll;
	uint32_t armed;		/* events registered, valid when registered */
	bool registered;	/* the fd is in the epoll set */
	bool dirty;		/* on the dirty list: interest may need adding */
	int dirty_next;		/* next fd on the dirty list, -1 ends it */
};

struct ep_priv {
	int epfd;
	struct ep_slot *slots;
	int nslots;
	int dirty_head;		/* first fd on the dirty list, -1: empty */
	struct epoll_event events[EP_MAX_EVENTS];
};

static int ep_grow(struct ep_priv *priv, int fd)
{
	struct ep_slot *slots;
	size_t n = priv->nslots ? (size_t)priv->nslots : EP_MIN_SLOTS;

	while (n <= (size_t)fd)
		n *= 2;
	if (n > INT32_MAX)
		n = (size_t)fd + 1;
	slots = realloc(priv->slots, n * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	memset(slots + priv->nslots, 0, (n - priv->nslots) * sizeof(*slots));
	priv->slots = slots;
	priv->nslots = (int)n;
	return 0;
}

static struct mps_op **ep_slot_op(struct ep_slot *s, enum mps_op_kind kind)
{
	switch (kind) {
	case MPS_OP_RECV:
		return &s->recv;
	case MPS_OP_SEND:
		return &s->send;
	case MPS_OP_POLL:
		break;
	}
	return &s->poll;
}

static uint32_t ep_interest(const struct ep_slot *s)
{
	uint32_t ev = 0;

	if (s->recv)
		ev |= EPOLLIN;
	if (s->send)
		ev |= EPOLLOUT;
	if (s->poll)
		ev |= s->poll->poll_mask & EP_POLL_BITS;
	return ev;
}

/* Every op of the slot finishes with err: the fd cannot be watched. */
static void ep_fail_slot(struct mps_loop *loop, struct ep_slot *s, int err)
{
	struct mps_op **ops[] = { &s->recv, &s->send, &s->poll };
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (*ops[i]) {
			mps_loop_complete(loop, *ops[i], err);
			*ops[i] = NULL;
		}
	}
}

/*
 * Make the epoll set agree with the slot.  An fd with pending ops stays
 * registered even when they ask for no events (a POLL with mask 0), so
 * that, as with io_uring, an error or hang-up still completes them.
 */
static void ep_sync(struct mps_loop *loop, int fd)
{
	struct ep_priv *priv = loop->priv;
	struct ep_slot *s = &priv->slots[fd];
	struct epoll_event ev;
	int ctl, ret;

	if (!s->recv && !s->send && !s->poll) {
		if (s->registered) {
			/* EBADF / ENOENT: the fd was closed anyway and took
			 * its registration with it; nothing left to undo. */
			epoll_ctl(priv->epfd, EPOLL_CTL_DEL, fd, NULL);
			s->registered = false;
		}
		return;
	}

	memset(&ev, 0, sizeof(ev));
	ev.events = ep_interest(s);
	ev.data.fd = fd;
	if (s->registered && s->armed == ev.events)
		return;
	ctl = s->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	ret = epoll_ctl(priv->epfd, ctl, fd, &ev);
	/* Our idea of registration can be stale only if the caller closed
	 * and reused the fd number behind our back; follow the kernel's. */
	if (ret < 0 && ctl == EPOLL_CTL_MOD && errno == ENOENT)
		ret = epoll_ctl(priv->epfd, EPOLL_CTL_ADD, fd, &ev);
	else if (ret < 0 && ctl == EPOLL_CTL_ADD && errno == EEXIST)
		ret = epoll_ctl(priv->epfd, EPOLL_CTL_MOD, fd, &ev);
	if (ret < 0) {
		/* EBADF, EPERM (a file epoll cannot watch), ENOMEM, ENOSPC
		 * (max_user_watches): the ops get it, as io_uring would
		 * give them its submission error. */
		ep_fail_slot(loop, s, -errno);
		s->registered = false;
		return;
	}
	s->registered = true;
	s->armed = ev.events;
}

/* Try a RECV or SEND now that its fd looks ready.  Returns 1 if the op
 * finished, 0 if it keeps waiting. */
static int ep_try_io(struct mps_loop *loop, struct mps_op **slot_op)
{
	struct mps_op *op = *slot_op;
	ssize_t r;

	if (op->kind == MPS_OP_RECV)
		r = recv(op->fd, op->buf, mps_loop_io_len(op),
			 op->msg_flags | MSG_DONTWAIT);
	else
		r = send(op->fd, op->buf, mps_loop_io_len(op),
			 op->msg_flags | MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	*slot_op = NULL;
	mps_loop_complete(loop, op, r < 0 ? -errno : (int)r);
	return 1;
}

static int ep_init(struct mps_loop *loop, unsigned depth)
{
	struct ep_priv *priv;

	priv = calloc(1, sizeof(*priv));
	if (!priv)
		return -ENOMEM;
	priv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (priv->epfd < 0) {
		int err = -errno;

		free(priv);
		return err;
	}
	priv->dirty_head = -1;
	loop->priv = priv;
	return 0;
}

static void ep_fini(struct mps_loop *loop)
{
	struct ep_priv *priv = loop->priv;

	close(priv->epfd);
	free(priv->slots);
	free(priv);
	loop->priv = NULL;
}

static int ep_submit(struct mps_loop *loop, struct mps_op *op)
{
	struct ep_priv *priv = loop->priv;
	struct mps_op **slot_op;
	struct ep_slot *s;
	int ret;

	if (op->fd >= priv->nslots) {
		ret = ep_grow(priv, op->fd);
		if (ret)
			return ret;
	}
	s = &priv->slots[op->fd];
	slot_op = ep_slot_op(s, op->kind);
	/* loop.h: one RECV, one SEND and one POLL per fd at a time. */
	if (*slot_op)
		return -EBUSY;
	*slot_op = op;
	if (!s->dirty) {
		s->dirty = true;
		s->dirty_next = priv->dirty_head;
		priv->dirty_head = op->fd;
	}
	return 0;
}

static int ep_cancel(struct mps_loop *loop, struct mps_op *op)
{
	struct ep_priv *priv = loop->priv;
	struct mps_op **slot_op;

	if (op->fd >= priv->nslots)
		return -ENOENT;
	slot_op = ep_slot_op(&priv->slots[op->fd], op->kind);
	if (*slot_op != op)
		return -ENOENT;
	*slot_op = NULL;
	mps_loop_complete(loop, op, -ECANCELED);
	ep_sync(loop, op->fd);
	return 0;
}

static int ep_handle(struct mps_loop *loop, int fd, uint32_t ev)
{
	struct ep_priv *priv = loop->priv;
	struct ep_slot *s;
	int n = 0;

	if (fd < 0 || fd >= priv->nslots)
		return 0;
	s = &priv->slots[fd];
	/* On an error or hang-up the syscall itself reports the error, or 0
	 * for EOF, which is what the op's owner needs to hear. */
	if (s->recv && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
		n += ep_try_io(loop, &s->recv);
	if (s->send && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		n += ep_try_io(loop, &s->send);
	if (s->poll) {
		uint32_t rev = ev & ((s->poll->poll_mask & EP_POLL_BITS) |
				     EPOLLERR | EPOLLHUP);

		if (rev) {
			mps_loop_complete(loop, s->poll, (int)rev);
			s->poll = NULL;
			n++;
		}
	}
	/* Drop interest now, while the fd is surely open (see top). */
	ep_sync(loop, fd);
	return n;
}

static int ep_wait(struct mps_loop *loop, int timeout_ms)
{
	struct ep_priv *priv = loop->priv;
	int i, nev, n = 0;

	while (priv->dirty_head >= 0) {
		int fd = priv->dirty_head;
		struct ep_slot *s = &priv->slots[fd];

		priv->dirty_head = s->dirty_next;
		s->dirty = false;
		ep_sync(loop, fd);
	}
	/* A registration that failed just queued completions: collect what
	 * is ready without sleeping, so they run now. */
	if (mps_loop_has_done(loop))
		timeout_ms = 0;

	nev = epoll_wait(priv->epfd, priv->events, EP_MAX_EVENTS, timeout_ms);
	if (nev < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < nev; i++)
		n += ep_handle(loop, priv->events[i].data.fd,
			       priv->events[i].events);
	return n;
}

const struct mps_loop_ops mps_loop_epoll_ops = {
	.name	= "epoll",
	.init	= ep_init,
	.fini	= ep_fini,
	.submit	= ep_submit,
	.cancel	= ep_cancel,
	.wait	= ep_wait,
};
