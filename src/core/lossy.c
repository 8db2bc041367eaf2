/*
 * lossy.c - a path that loses packets but has room gets more subflows.
 *
 * Under a loss-based congestion control (cubic, reno) one TCP flow on a
 * path with random loss reaches about MSS/RTT x 1.22/sqrt(loss), whatever
 * the path's rate: 3.3 Mbit/s at 60 ms and 0.5% loss, on a 20 Mbit/s
 * radio link.  Several flows carry several times that.  The sending side
 * knows when this is the limit: over a window of liveness checks its
 * subflows on the path retransmitted, their RTT stayed near the path's
 * least (no queue: the loss is not the path being full), and every check
 * found them full while more data waited.  Then the path should carry
 * another subflow.  Only the client opens subflows, so a server asks for
 * it with GROW on the path; a client grows its own path directly.  Both
 * stop at lossy_subflows per path, and a path grows at most one subflow
 * per LOSSY_SETTLE_NS, so each new one ramps up before the next decision.
 *
 * The price is fairness on a path whose losses do come from a shallow
 * full buffer, where N subflows take what N TCP connections would; the
 * RTT condition keeps it from growing on a path with a standing queue.
 */
#include "clock.h"
#include "config.h"
#include "engine_int.h"
#include "log.h"
#include "meta.h"
#include "path.h"
#include "sched.h"
#include "subflow.h"

#define LOSSY_WINDOW_TICKS	5	/* liveness checks (100 ms while busy) */
#define LOSSY_HIT_PCT		80	/* of them that must find it limited */
#define LOSSY_QUEUE_MIN_US	2000	/* RTT above the least: jitter, not a queue */
#define LOSSY_SETTLE_NS		(500 * 1000000ull)

static bool lossy_candidate(const struct mps_subflow *sf)
{
	return sf->state == MPS_SF_ACTIVE && !sf->backup && sf->min_srtt_us &&
	       sf->srtt_us != UINT32_MAX;
}

bool mps_lossy_same_path(const struct mps_subflow *a, const struct mps_subflow *b)
{
	return mps_addr_same_host(&a->local.sa, &b->local.sa) &&
	       mps_addr_same_host(&a->remote.sa, &b->remote.sa);
}

bool mps_lossy_no_queue(const struct mps_subflow *sf)
{
	uint32_t slack = sf->min_srtt_us / 4;

	if (slack < LOSSY_QUEUE_MIN_US)
		slack = LOSSY_QUEUE_MIN_US;
	return sf->srtt_us <= sf->min_srtt_us + slack;
}

/* sf is the first candidate of its path in the meta's order. */
static bool path_leader(const struct mps_meta *meta, const struct mps_subflow *sf)
{
	for (unsigned i = 0; i < meta->n_sf && meta->sf[i] != sf; i++)
		if (lossy_candidate(meta->sf[i]) && mps_lossy_same_path(meta->sf[i], sf))
			return false;
	return true;
}

/* Close the window of sf's path; true when the path should grow, with
 * *n the subflows it has. */
static bool path_window_end(struct mps_meta *meta, struct mps_subflow *sf,
			    uint64_t now, unsigned *n)
{
	uint64_t grown = 0;
	uint32_t lost = 0;
	bool limited = true;

	*n = 0;
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *m = meta->sf[i];

		if (!lossy_candidate(m) || !mps_lossy_same_path(m, sf))
			continue;
		(*n)++;
		lost += m->total_retrans - m->lossy_retrans;
		/* one that joined late has too few checks to tell */
		if (m->lossy_ticks < LOSSY_WINDOW_TICKS / 2 ||
		    m->lossy_hits * 100u < m->lossy_ticks * (unsigned)LOSSY_HIT_PCT)
			limited = false;
		if (m->lossy_grown_ns > grown)
			grown = m->lossy_grown_ns;
		m->lossy_ticks = m->lossy_hits = 0;
		m->lossy_retrans = m->total_retrans;
	}
	return limited && lost && (!grown || now - grown >= LOSSY_SETTLE_NS);
}

static void path_grow(struct mps_meta *meta, struct mps_subflow *sf, unsigned n)
{
	char a[MPS_ADDRSTRLEN], b[MPS_ADDRSTRLEN];

	sf->lossy_grown_ns = mps_clock_ns();
	meta->lossy_grows++;
	mps_info("meta %u: path %s - %s is loss-limited (SRTT %u ms, least %u ms): "
		 "subflow %u of it", meta->id,
		 mps_addr_str(&sf->local.sa, a, sizeof(a)),
		 mps_addr_str(&sf->remote.sa, b, sizeof(b)),
		 sf->srtt_us / 1000, sf->min_srtt_us / 1000, n + 1);
	if (meta->role == MPS_ROLE_C) {
		mps_path_grow(meta, sf, n + 1);
	} else {
		struct mps_frame f = { .type = MPS_FT_GROW };

		f.u.grow.subflows = (uint8_t)(n + 1);
		mps_subflow_send_frame(sf, &f);
	}
}

void mps_lossy_check(struct mps_meta *meta, uint64_t now)
{
	unsigned cap = (unsigned)meta->cfg->lossy_subflows, n;
	bool backlog;

	if (cap <= 1 || meta->state != MPS_META_ESTABLISHED ||
	    (meta->sched && meta->sched->copies))
		return;
	/* more waits to be sent than the subflows take */
	backlog = meta->snd.end - meta->snd.nxt >= meta->frame_size;
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];

		if (!lossy_candidate(sf))
			continue;
		sf->lossy_ticks++;
		if (backlog && !mps_subflow_has_room(sf, meta->frame_size) &&
		    mps_lossy_no_queue(sf))
			sf->lossy_hits++;
	}
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];

		if (!lossy_candidate(sf) || sf->lossy_ticks < LOSSY_WINDOW_TICKS ||
		    !path_leader(meta, sf))
			continue;
		if (path_window_end(meta, sf, now, &n) && n < cap)
			path_grow(meta, sf, n);
	}
}

int mps_lossy_on_grow(struct mps_subflow *sf, unsigned want)
{
	struct mps_meta *meta = sf->meta;
	unsigned cap = (unsigned)meta->cfg->lossy_subflows;

	/* only a client opens subflows; an older request is simply met */
	if (meta->role != MPS_ROLE_C || meta->state != MPS_META_ESTABLISHED ||
	    cap <= 1)
		return 0;
	if (want > cap)
		want = cap;
	if (mps_path_grow(meta, sf, want) > 0)
		meta->lossy_grows++;
	return 0;
}
