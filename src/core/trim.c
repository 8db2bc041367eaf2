/*
 * trim.c - idle connections give their buffers back.
 *
 * Owns eng->trim_list (the metas that hold ring or subflow buffers) and
 * the engine's trim timer.  Rings and subflow buffers grow with the data
 * (meta.c, subflow.c); what is empty on a connection that stopped moving
 * data is freed here, so memory per idle connection is the structures
 * alone.  Only metas that hold something are on the list, so the timer's
 * walk costs nothing for connections that never moved a byte.
 */
#include "config.h"
#include <errno.h>
#if HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include "engine_int.h"
#include "log.h"

/* Freed heap memory returns to the kernel only when glibc is asked to
 * (malloc_trim); worth a heap walk once this much has been freed. */
#define TRIM_RETURN_BYTES	(1u << 20)

/* Grows whenever a byte moves in either direction (every term only grows),
 * so an unchanged mark means no progress since the last look. */
static uint64_t trim_mark(const struct mps_meta *meta)
{
	return meta->snd.end + meta->snd.una + meta->rcv.nxt + meta->rcv.q.base;
}

static bool trim_holds(const struct mps_meta *meta)
{
	if (meta->snd.q.cap || meta->rcv.q.cap || meta->rcv.q_busy.data)
		return true;
	for (unsigned i = 0; i < meta->n_sf; i++)
		if (mps_subflow_holds(meta->sf[i]))
			return true;
	return false;
}

static void trim_unlink(struct mps_meta *meta)
{
	struct mps_engine *eng = meta->eng;

	if (meta->trim_prev)
		meta->trim_prev->trim_next = meta->trim_next;
	else
		eng->trim_list = meta->trim_next;
	if (meta->trim_next)
		meta->trim_next->trim_prev = meta->trim_prev;
	meta->trim_next = meta->trim_prev = NULL;
	meta->on_trim_list = false;
}

void mps_trim_watch(struct mps_meta *meta)
{
	struct mps_engine *eng = meta->eng;

	if (meta->on_trim_list || meta->state != MPS_META_ESTABLISHED ||
	    !trim_holds(meta))
		return;
	meta->on_trim_list = true;
	meta->trim_mark = trim_mark(meta);
	meta->trim_prev = NULL;
	meta->trim_next = eng->trim_list;
	if (eng->trim_list)
		eng->trim_list->trim_prev = meta;
	eng->trim_list = meta;
	if (!mps_timer_armed(&eng->trim_timer))
		mps_timer_arm(eng->loop, &eng->trim_timer, MPS_TRIM_MS);
}

void mps_trim_unwatch(struct mps_meta *meta)
{
	if (meta->on_trim_list)
		trim_unlink(meta);
}

/* An idle meta: free every buffer that holds nothing. */
static void trim_meta(struct mps_meta *meta)
{
	struct mps_engine *eng = meta->eng;
	size_t freed = 0;

	if (meta->snd.q.cap && meta->snd.una == meta->snd.end) {
		if (!meta->erd.pending) {
			freed += mps_meta_snd_trim(meta);
		} else if (meta->erd.kind == MPS_OP_RECV && !meta->snd_trim) {
			/* the app's RECV writes into the ring: take it back;
			 * its completion frees the ring (mps_trim_recv_cancelled)
			 * and waits for the app with a POLL instead */
			meta->snd_trim = true;
			mps_loop_cancel(eng->loop, &meta->erd);
		}
	}
	freed += mps_meta_rcv_trim(meta);
	for (unsigned i = 0; i < meta->n_sf; i++)
		freed += mps_subflow_trim(meta->sf[i]);
	eng->trim_freed += freed;
}

void mps_trim_recv_cancelled(struct mps_meta *meta, int res)
{
	meta->snd_trim = false;
	/* a RECV that had bytes already completed with them: not idle */
	if (res == -ECANCELED)
		meta->eng->trim_freed += mps_meta_snd_trim(meta);
	mps_engine_mark_dirty(meta);
}

void mps_trim_tick(struct mps_timer *t)
{
	struct mps_engine *eng = t->ctx;
	struct mps_meta *meta, *next;

	for (meta = eng->trim_list; meta; meta = next) {
		uint64_t mark = trim_mark(meta);

		next = meta->trim_next;
		if (meta->state != MPS_META_ESTABLISHED) {
			trim_unlink(meta);	/* freed with the meta soon */
			continue;
		}
		if (mark == meta->trim_mark)
			trim_meta(meta);
		meta->trim_mark = mark;
		if (!trim_holds(meta))
			trim_unlink(meta);
	}
#if HAVE_MALLOC_TRIM
	if (eng->trim_freed >= TRIM_RETURN_BYTES) {
		malloc_trim(0);
		eng->trim_freed = 0;
	}
#endif
	if (eng->trim_list)
		mps_timer_arm(eng->loop, &eng->trim_timer, MPS_TRIM_MS);
}
