/*
 * deadline.c - deadline reinjection: data a subflow's TCP has held too
 * long is also sent on another path (see sched.h).
 *
 * "Too long" counts from when the subflow stopped making progress, not
 * from when the frame was written: a slow path with a full send queue is
 * slow, not stuck, and copying its queue onto the fast path only spends
 * the fast path's capacity on duplicates.  Progress is the peer's TCP
 * acknowledging more of the subflow's stream; the kernel reports what it
 * still holds (SIOCOUTQ), the engine knows what it handed over
 * (wire_sent), so the acknowledged offset is their difference.  A map is
 * still on the subflow while its last frame lies beyond that offset.
 */
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include "engine_int.h"
#include "meta.h"
#include "path.h"
#include "sched.h"
#include "subflow.h"

#define DEADLINE_MIN_NS		(200 * 1000000ull)
#define DEADLINE_MAX_BYTES	(64 * 1024)	/* per subflow per stall */

void mps_deadline_progress(struct mps_subflow *sf, uint64_t now, uint64_t held)
{
	uint64_t given = sf->wire_sent - mps_subflow_queued(sf);
	uint64_t acked;

	/* a SEND the kernel took but whose completion is not in yet makes
	 * `given` too small for a moment: skip rather than move backwards */
	if (held > given)
		return;
	acked = given - held;
	if (!held)
		sf->stuck_since_ns = 0;
	else if (!sf->stuck_since_ns || acked > sf->wire_acked)
		sf->stuck_since_ns = now;
	if (acked > sf->wire_acked)
		sf->wire_acked = acked;
}

/* TCP itself retransmits after srtt + 4 rttvar, 200 ms at least (Linux's
 * minimum RTO): a subflow silent for a few of its own RTTs and that long
 * is in a timeout, not in a fast recovery. */
uint64_t mps_deadline_limit_ns(const struct mps_subflow *sf, unsigned rtts)
{
	uint64_t limit = (uint64_t)rtts * sf->srtt_us * 1000u;

	return limit > DEADLINE_MIN_NS ? limit : DEADLINE_MIN_NS;
}

bool mps_deadline_pick(struct mps_meta *meta, struct mps_subflow *sf,
		       uint64_t now, uint64_t limit_ns,
		       uint64_t *start, uint64_t *end)
{
	struct mps_sf_map *m = NULL;
	uint64_t unacked, s;

	if (sf->state != MPS_SF_ACTIVE || !sf->stuck_since_ns ||
	    now - sf->stuck_since_ns < limit_ns)
		return false;
	for (unsigned k = 0; k < sf->map_n; k++) {
		struct mps_sf_map *c = &sf->map[(sf->map_head + k) % sf->map_cap];

		if (c->wire_end > sf->wire_acked) {
			m = c;
			break;
		}
	}
	/* once per map: a stall that goes on is liveness's to end */
	if (!m || m->redone)
		return false;
	if (!mps_sched_fastest(meta, false, 0, sf))
		return false;	/* nowhere else to send it */
	m->redone = true;
	/* the unacked wire bytes bound the unacked payload from above
	 * (frames add headers), so this covers all of it */
	unacked = m->wire_end - sf->wire_acked;
	s = m->end - m->start > unacked ? m->end - unacked : m->start;
	if (mps_seq_before(s, meta->snd.una))
		s = meta->snd.una;
	if (!mps_seq_before(s, m->end))
		return false;
	*start = s;
	*end = m->end - s > DEADLINE_MAX_BYTES ? s + DEADLINE_MAX_BYTES : m->end;
	return true;
}

void mps_deadline_check(struct mps_meta *meta, uint64_t now, unsigned rtts)
{
	bool queued = false;

	if (!rtts)
		return;
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];
		uint64_t start, end;
		int held;

		if (sf->state != MPS_SF_ACTIVE || sf->sfd < 0)
			continue;
		if (ioctl(sf->sfd, SIOCOUTQ, &held) < 0 || held < 0)
			continue;
		mps_deadline_progress(sf, now, (uint64_t)held);
		if (!mps_deadline_pick(meta, sf, now,
				       mps_deadline_limit_ns(sf, rtts),
				       &start, &end))
			continue;
		mps_meta_snd_reinject(meta, start, end, false);
		meta->deadline_bytes += end - start;
		queued = true;
		/* the copy should leave by another path: the stalled subflow's
		 * siblings on its path (lossy.c, path_subflows) share its fate */
		for (unsigned k = 0; k < meta->n_sf; k++)
			if (mps_lossy_same_path(meta->sf[k], sf))
				meta->sf[k]->penalized_until_ns = now +
					(uint64_t)meta->sf[k]->srtt_us * 1000u;
	}
	if (queued)
		mps_engine_mark_dirty(meta);
}
