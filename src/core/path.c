/*
 * path.c - client paths with backoff, and subflow liveness (see path.h).
 */
#include <errno.h>
#include <string.h>
#include "clock.h"
#include "config.h"
#include "engine_int.h"
#include "log.h"
#include "path.h"
#include "sched.h"

#define MPS_LIVE_BUSY_MS	100	/* check period while data is in flight */

static const struct mps_config *cfg_of(const struct mps_meta *meta)
{
	return meta->cfg;
}

static void retry_timer_cb(struct mps_timer *t);

/* Arm the retry timer for the earliest waiting path. */
static void retry_arm(struct mps_meta *meta)
{
	uint64_t first = 0;

	for (unsigned i = 0; i < meta->n_paths; i++) {
		const struct mps_path *p = &meta->paths[i];

		if (!p->sf && p->retry_at_ns && (!first || p->retry_at_ns < first))
			first = p->retry_at_ns;
	}
	if (!first) {
		mps_timer_cancel(meta->eng->loop, &meta->retry_timer);
		return;
	}
	mps_timer_arm_ns(meta->eng->loop, &meta->retry_timer, first);
}

static void path_wait(struct mps_meta *meta, struct mps_path *p)
{
	const struct mps_config *cfg = cfg_of(meta);

	p->sf = NULL;
	p->failures++;
	p->retry_at_ns = mps_clock_ns() + (uint64_t)p->backoff_ms * 1000000u;
	p->backoff_ms = p->backoff_ms * 2 > (unsigned)cfg->retry_max_ms ?
			(unsigned)cfg->retry_max_ms : p->backoff_ms * 2;
	retry_arm(meta);
}

/*
 * May a JOIN go to remote?  Not to the address the connection reached when
 * the server said NOJOIN: it sits behind a load balancer there, which
 * could hand the JOIN to another instance than the connection's.
 */
static bool path_joinable(const struct mps_meta *meta, const union mps_sockaddr *remote)
{
	return !meta->peer_nojoin || !mps_addr_equal(&remote->sa, &meta->dest.sa);
}

static int path_open(struct mps_meta *meta, unsigned idx)
{
	struct mps_path *p = &meta->paths[idx];
	struct mps_subflow *sf;
	int rc;

	if (!path_joinable(meta, &p->remote)) {
		p->retry_at_ns = 0;	/* and never again */
		return -EPERM;
	}
	if (p->local_idx >= 0) {
		const struct mps_config *cfg = cfg_of(meta);

		rc = mps_addr_local_resolve(&cfg->local[p->local_idx],
					    p->remote.sa.sa_family, &p->local);
		if (rc) {
			path_wait(meta, p);
			return rc;
		}
		p->has_local = true;
	}
	rc = mps_engine_subflow_open(meta, p->has_local ? &p->local : NULL,
				     &p->remote, p->backup, &sf);
	if (rc) {
		path_wait(meta, p);
		return rc;
	}
	sf->path = (int)idx;
	sf->backup = p->backup;
	p->sf = sf;
	p->retry_at_ns = 0;
	return 0;
}

int mps_path_add(struct mps_meta *meta, const union mps_sockaddr *local,
		 const union mps_sockaddr *remote, bool initial, bool backup)
{
	struct mps_path *p;

	if (meta->n_paths >= MPS_MAX_SUBFLOWS)
		return -ENOSPC;
	if (!initial && !path_joinable(meta, remote))
		return -EPERM;
	p = &meta->paths[meta->n_paths];
	memset(p, 0, sizeof(*p));
	p->has_local = local != NULL;
	if (local)
		p->local = *local;
	p->remote = *remote;
	p->backup = backup;
	p->local_idx = -1;
	p->backoff_ms = (unsigned)cfg_of(meta)->retry_min_ms;
	meta->n_paths++;
	if (initial)
		return 0;	/* the engine opens the initial subflow itself */
	return path_open(meta, meta->n_paths - 1);
}

int mps_path_add_local(struct mps_meta *meta, unsigned idx,
		       const union mps_sockaddr *remote, bool backup)
{
	struct mps_path *p;
	int rc;

	if (meta->n_paths >= MPS_MAX_SUBFLOWS)
		return -ENOSPC;
	if (!path_joinable(meta, remote))
		return -EPERM;
	rc = mps_path_add(meta, NULL, remote, true, backup);
	if (rc)
		return rc;
	p = &meta->paths[meta->n_paths - 1];
	p->local_idx = (int)idx;
	return path_open(meta, meta->n_paths - 1);
}

/* Do paths a and b leave from the same local entry or address? */
static bool same_local(const struct mps_path *a, const struct mps_path *b)
{
	if (a->local_idx >= 0 || b->local_idx >= 0)
		return a->local_idx == b->local_idx;
	if (a->has_local != b->has_local)
		return false;
	return !a->has_local || mps_addr_same_host(&a->local.sa, &b->local.sa);
}

int mps_path_grow(struct mps_meta *meta, const struct mps_subflow *sf,
		  unsigned want)
{
	const struct mps_path *p;
	struct mps_path *q;
	unsigned have = 0;
	int rc;

	if (sf->path < 0 || (unsigned)sf->path >= meta->n_paths)
		return -ENOENT;
	p = &meta->paths[sf->path];
	for (unsigned i = 0; i < meta->n_paths; i++)
		if (same_local(&meta->paths[i], p) &&
		    mps_addr_equal(&meta->paths[i].remote.sa, &p->remote.sa))
			have++;
	if (have >= want)
		return 0;
	rc = mps_path_add(meta, p->has_local ? &p->local : NULL, &p->remote, true,
			  p->backup);
	if (rc)
		return rc;
	q = &meta->paths[meta->n_paths - 1];
	q->local_idx = p->local_idx;
	rc = path_open(meta, meta->n_paths - 1);
	return rc ? rc : 1;
}

void mps_path_subflow_up(struct mps_subflow *sf)
{
	struct mps_meta *meta = sf->meta;

	if (!meta)
		return;
	mps_path_health_note(meta->eng, &sf->local, &sf->remote, 0);
	if (sf->path < 0)
		return;
	meta->paths[sf->path].backoff_ms = (unsigned)cfg_of(meta)->retry_min_ms;
	meta->paths[sf->path].failures = 0;
}

void mps_path_subflow_failed(struct mps_subflow *sf)
{
	struct mps_meta *meta = sf->meta;
	struct mps_path *p;

	if (meta && meta->role == MPS_ROLE_C)
		mps_path_health_note(meta->eng, &sf->local, &sf->remote, sf->err);
	if (!meta || sf->path < 0 || meta->role != MPS_ROLE_C ||
	    meta->state != MPS_META_ESTABLISHED)
		return;
	p = &meta->paths[sf->path];
	if (p->sf != sf)
		return;
	sf->path = -1;
	if (!path_joinable(meta, &p->remote)) {
		/* the initial path behind a load balancer: never again */
		p->sf = NULL;
		return;
	}
	path_wait(meta, p);
}

static void retry_timer_cb(struct mps_timer *t)
{
	struct mps_meta *meta = t->ctx;
	uint64_t now = mps_clock_ns();

	if (meta->state != MPS_META_ESTABLISHED)
		return;
	for (unsigned i = 0; i < meta->n_paths; i++) {
		struct mps_path *p = &meta->paths[i];

		if (!p->sf && p->retry_at_ns && p->retry_at_ns <= now)
			path_open(meta, i);
	}
	retry_arm(meta);
}

void mps_path_retry_all(struct mps_engine *eng)
{
	uint64_t now = mps_clock_ns();

	for (struct mps_meta *m = eng->metas; m; m = m->next) {
		bool any = false;

		if (m->role != MPS_ROLE_C || m->state != MPS_META_ESTABLISHED)
			continue;
		for (unsigned i = 0; i < m->n_paths; i++) {
			if (!m->paths[i].sf && path_joinable(m, &m->paths[i].remote)) {
				m->paths[i].retry_at_ns = now;
				any = true;
			}
		}
		if (any)
			retry_arm(m);
	}
}

/* ---- liveness ------------------------------------------------------ */

/* Anything the kernel still has to deliver, data or control frames: a
 * receiver's DATA_ACKs on a dead path matter as much as data. */
static bool meta_in_flight(const struct mps_meta *meta)
{
	if (meta->snd.una != meta->snd.nxt ||
	    (meta->snd.fin_ever_sent && !meta->snd.fin_acked))
		return true;
	for (unsigned i = 0; i < meta->n_sf; i++) {
		const struct mps_subflow *sf = meta->sf[i];

		if (sf->state == MPS_SF_ACTIVE &&
		    (sf->map_n || sf->unacked || mps_subflow_queued(sf)))
			return true;
	}
	return false;
}

static void live_timer_cb(struct mps_timer *t);

static void live_arm(struct mps_meta *meta)
{
	const struct mps_config *cfg = cfg_of(meta);
	uint64_t period = MPS_LIVE_BUSY_MS;

	if (!meta_in_flight(meta)) {
		/* idle: only heartbeats are due, and only if configured */
		if (!cfg->heartbeat_ms)
			return;
		period = (uint64_t)cfg->heartbeat_ms;
	}
	mps_timer_arm(meta->eng->loop, &meta->live_timer, period);
}

void mps_live_kick(struct mps_meta *meta)
{
	uint64_t soon = mps_clock_ns() + MPS_LIVE_BUSY_MS * 1000000ull;

	/* something was just sent: check at the busy pace, not the idle one */
	if (meta->state == MPS_META_ESTABLISHED &&
	    (!mps_timer_armed(&meta->live_timer) || meta->live_timer.when_ns > soon))
		mps_timer_arm_ns(meta->eng->loop, &meta->live_timer, soon);
}

void mps_live_start(struct mps_meta *meta)
{
	if (!mps_timer_armed(&meta->live_timer))
		live_arm(meta);
}

static void live_timer_cb(struct mps_timer *t)
{
	struct mps_meta *meta = t->ctx;
	const struct mps_config *cfg = cfg_of(meta);
	uint64_t now = mps_clock_ns();

	if (meta->state != MPS_META_ESTABLISHED)
		return;
	unsigned usable = 0, healthy = 0;

	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];

		if (!mps_subflow_usable(sf) || mps_subflow_info_refresh(sf, now, 0))
			continue;
		usable++;
		/* hearing ACKs, or owing nothing: this path works */
		if (!sf->unacked || sf->last_ack_ms < (uint64_t)cfg->fail_min_ms / 2)
			healthy++;
	}
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];
		uint64_t limit_ms, stall_ms;

		if (sf->state != MPS_SF_ACTIVE)
			continue;
		if (!sf->unacked && !mps_subflow_queued(sf)) {
			sf->busy_since_ns = 0;
		} else if (!sf->busy_since_ns) {
			sf->busy_since_ns = now;
		}
		/* data in flight and the kernel hears nothing back: the path
		 * is dead, whatever the interface says.  The silence counts
		 * from when data became outstanding: an idle path's last ACK
		 * may be old without anything being wrong. */
		limit_ms = (uint64_t)cfg->fail_rtts * sf->srtt_us / 1000;
		if (limit_ms < (uint64_t)cfg->fail_min_ms)
			limit_ms = (uint64_t)cfg->fail_min_ms;
		stall_ms = sf->last_ack_ms;
		if (sf->busy_since_ns && (now - sf->busy_since_ns) / 1000000u < stall_ms)
			stall_ms = (now - sf->busy_since_ns) / 1000000u;
		/* a path fails only while another one works: there must be
		 * somewhere to move its data, and when every subflow stalls at
		 * once the cause is this host or the peer (CPU, a full
		 * receiver), not a path.  The last path is left to TCP's own
		 * retransmission, which recovers a returning path sooner than
		 * a new JOIN (the kernel's subflow_timeout ends one that does
		 * not come back). */
		if (sf->unacked && stall_ms > limit_ms && usable > 1 && healthy > 0) {
			mps_info("meta %u: subflow %u: no ACK for %llu ms (limit %llu)",
				 meta->id, sf->idx, (unsigned long long)stall_ms,
				 (unsigned long long)limit_ms);
			mps_meta_subflow_lost(meta, sf, -ETIMEDOUT, "no ACK (path dead)");
			usable--;
			continue;
		}
		if (cfg->heartbeat_ms &&
		    now - sf->last_send_ns > (uint64_t)cfg->heartbeat_ms * 1000000u) {
			struct mps_frame ping = { .type = MPS_FT_PING };

			ping.u.ping.ts = now / 1000;
			mps_subflow_send_frame(sf, &ping);
		}
	}
	mps_deadline_check(meta, now, (unsigned)cfg->reinject_rtts);
	mps_lossy_check(meta, now);
	live_arm(meta);
}

void mps_path_timers_init(struct mps_meta *meta)
{
	mps_timer_init(&meta->retry_timer, retry_timer_cb, meta);
	mps_timer_init(&meta->live_timer, live_timer_cb, meta);
	mps_initial_timer_init(meta);
}
