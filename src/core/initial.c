/*
 * initial.c - the client's first subflow, raced across paths, and the
 * engine's memory of paths that failed (see path.h).
 *
 * A connection is only as available as its first subflow: the HELLO must
 * get through before any JOIN can.  So the first subflow is raced across
 * the path manager's candidates in the manner of Happy Eyeballs (RFC
 * 8305): attempt k+1 starts when attempt k failed for a path reason, or
 * has not connected after connect_stagger; the first TCP handshake to
 * complete carries the HELLO, the others are dropped.  A refusal ends the
 * race: the server answered, and would answer every path the same way.
 * Backup candidates are tried only once every regular one has failed, so
 * a slow regular path is never beaten by a backup one.
 *
 * The first attempt may have been started by the application's thread
 * before the engine ran (struct mps_presyn, engine.h): it is planned here
 * from the configuration alone and taken over by attempt_start.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clock.h"
#include "config.h"
#include "engine_int.h"
#include "log.h"
#include "path.h"
#include "pm.h"
#include "subflow.h"

/* ---- memory of failed paths ---------------------------------------- */

/* How long a failure counts.  Long, because a mark only orders the
 * candidates: a marked path is still tried after connect_stagger, and a
 * subflow that works on it (a JOIN of any connection) clears the mark. */
#define MPS_PATH_HEALTH_MS	60000

/* Errors that say the path, not the server, is the trouble. */
static bool path_error(int err)
{
	switch (err) {
	case -ETIMEDOUT:
	case -ENETDOWN:
	case -ENETUNREACH:
	case -EHOSTUNREACH:
	case -EHOSTDOWN:
	case -EADDRNOTAVAIL:
		return true;
	default:
		return false;
	}
}

static struct mps_path_health *health_find(struct mps_engine *eng,
					   const struct sockaddr *local,
					   const struct sockaddr *remote)
{
	for (unsigned i = 0; i < MPS_PATH_HEALTH_SLOTS; i++) {
		struct mps_path_health *h = &eng->health[i];

		if (h->until_ns && mps_addr_same_host(&h->local.sa, local) &&
		    mps_addr_same_host(&h->remote.sa, remote))
			return h;
	}
	return NULL;
}

void mps_path_health_note(struct mps_engine *eng, const union mps_sockaddr *local,
			  const union mps_sockaddr *remote, int err)
{
	struct mps_path_health *h;

	if (!local->sa.sa_family || !remote->sa.sa_family)
		return;
	h = health_find(eng, &local->sa, &remote->sa);
	if (!err) {
		if (h) {
			mps_debug("path %s: works again",
				  mps_addr_str(&local->sa, (char[MPS_ADDRSTRLEN]){0},
					       MPS_ADDRSTRLEN));
			h->until_ns = 0;
		}
		return;
	}
	if (!path_error(err))
		return;
	if (!h) {
		/* the oldest mark gives way: a table of paths, not of
		 * connections, so a handful of slots is plenty */
		h = &eng->health[eng->health_next++ % MPS_PATH_HEALTH_SLOTS];
		h->local = *local;
		h->remote = *remote;
	}
	h->until_ns = mps_clock_ns() + MPS_PATH_HEALTH_MS * 1000000ull;
}

bool mps_path_health_bad(struct mps_engine *eng, const union mps_sockaddr *local,
			 const union mps_sockaddr *remote)
{
	struct mps_path_health *h = health_find(eng, &local->sa, &remote->sa);

	return h && h->until_ns > mps_clock_ns();
}

/* ---- the first SYN from the application's thread -------------------- */

bool mps_initial_presyn_plan(const struct mps_config *cfg, const struct sockaddr *dest,
			    struct mps_presyn *ps)
{
	struct mps_pm_candidate c[MPS_PM_MAX_CANDIDATES];
	struct mps_config *own = malloc(sizeof(*own));
	const struct mps_pm_ops *pm;
	bool ok = false;

	/* the policy for dest, as apply_policy gives it to the meta */
	if (own && mps_config_for_dest(cfg, dest, own))
		cfg = own;
	mps_pm_init();
	pm = mps_pm_select(cfg);
	memset(&ps->dest, 0, sizeof(ps->dest));
	memcpy(&ps->dest, dest, mps_addr_len(dest));
	/* a proxy's first subflow waits for its key file: the engine's;
	 * a backup candidate first means no regular path resolves, and
	 * backups only stand in for failed ones */
	if (pm && !cfg->proxy[0] &&
	    pm->initial_locals(cfg, &ps->dest, NULL, c, MPS_PM_MAX_CANDIDATES) &&
	    !c[0].backup) {
		ps->has_local = c[0].has_local;
		ps->local = c[0].local;
		/* early data as mps_early_client_wanted decides it, with the
		 * engine's cache of known servers still empty */
		ps->fastopen = mps_early_fastopen_wanted(cfg, dest) &&
			       (!strcmp(cfg->early_data, "yes") ||
				(!strcmp(cfg->early_data, "auto") &&
				 mps_config_dest_declared(cfg, dest)));
		ok = true;
	}
	free(own);
	return ok;
}

/* The caller's SYN as the attempt for candidate c, when it is that
 * attempt: the fd, or -1 (and the socket is closed: the server sees a
 * connection begun and dropped, as with a lost race). */
static int presyn_take(struct mps_meta *meta, const struct mps_pm_candidate *c)
{
	const struct mps_presyn *ps = &meta->presyn;
	int fd = ps->sfd;

	if (fd < 0)
		return -1;
	meta->presyn.sfd = -1;
	if (mps_addr_equal(&ps->dest.sa, &meta->dest.sa) &&
	    c->has_local == ps->has_local &&
	    (!c->has_local || mps_addr_equal(&c->local.sa, &ps->local.sa)))
		return fd;
	mps_debug("meta %u: the first SYN went elsewhere: dropped", meta->id);
	close(fd);
	return -1;
}

void mps_initial_presyn_drop(struct mps_meta *meta)
{
	if (meta->presyn.sfd >= 0)
		close(meta->presyn.sfd);
	meta->presyn.sfd = -1;
}

/* ---- the race ------------------------------------------------------- */

/* Open attempt number meta->init_tries.  -ENOENT past the last candidate,
 * -EAGAIN when the next one is a backup and no attempt failed. */
static int attempt_start(struct mps_meta *meta, bool on_failure)
{
	struct mps_engine *eng = meta->eng;
	struct mps_pm_candidate c;
	struct mps_subflow *sf;
	int rc, fd;

	if (meta->init_tries >= meta->n_init_cand)
		return -ENOENT;
	c = meta->init_cand[meta->init_tries];
	/* a backup path only stands in for regular ones that failed */
	if (c.backup && !on_failure)
		return -EAGAIN;
	meta->init_tries++;
	fd = presyn_take(meta, &c);
	sf = mps_subflow_new(eng, -1);
	if (!sf) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	sf->initial = true;
	sf->backup = c.backup;
	rc = mps_meta_attach(meta, sf);
	if (rc) {
		if (fd >= 0)
			close(fd);
		mps_subflow_free(sf);
		return rc;
	}
	if (meta->init_tries > 1)
		mps_info("meta %u: first subflow: trying %s", meta->id,
			 c.has_local ? mps_addr_str(&c.local.sa, (char[MPS_ADDRSTRLEN]){0},
						    MPS_ADDRSTRLEN) : "the default route");
	if (fd >= 0) {
		sf->tfo = meta->presyn.tfo;
		rc = mps_subflow_adopt(sf, fd, c.has_local ? &c.local : NULL, &meta->dest);
	}
	else
		rc = mps_subflow_connect(sf, c.has_local ? &c.local : NULL, &meta->dest);
	if (rc) {
		sf->state = MPS_SF_DEAD;
		sf->err = rc;
		sf->why = "connect failed";
		if (c.has_local)
			mps_path_health_note(eng, &c.local, &meta->dest, rc);
		mps_subflow_maybe_release(sf);
		return rc;
	}
	meta->init_live++;
	return 0;
}

/* Start the next candidate that can start; 0 if one did. */
static int attempt_next(struct mps_meta *meta, bool on_failure, int *last_err)
{
	for (;;) {
		int rc = attempt_start(meta, on_failure);

		if (!rc) {
			if (meta->cfg->connect_stagger_ms)
				mps_timer_arm(meta->eng->loop, &meta->init_timer,
					      (uint64_t)meta->cfg->connect_stagger_ms);
			return 0;
		}
		if (rc == -ENOENT || rc == -EAGAIN)
			return rc;
		*last_err = rc;
		if (!path_error(rc))
			return rc;
	}
}

static void init_timer_cb(struct mps_timer *t)
{
	struct mps_meta *meta = t->ctx;
	int err = 0;

	if (meta->state != MPS_META_CONNECTING || !meta->on_connect)
		return;
	/* still no handshake: give the next path its chance beside this one */
	attempt_next(meta, false, &err);
}

static void connect_failed(struct mps_meta *meta, int err)
{
	if (meta->fwd.on)
		mps_forward_unreachable(meta, err, "proxy unreachable");
	else
		mps_meta_fail_connect(meta, err);
}

void mps_initial_timer_init(struct mps_meta *meta)
{
	mps_timer_init(&meta->init_timer, init_timer_cb, meta);
}

int mps_initial_start(struct mps_meta *meta)
{
	int err = 0, rc;

	/* listed once: a failure reorders the engine's memory, not this race */
	meta->n_init_cand = meta->pm->initial_locals(meta->cfg, &meta->dest, meta->eng,
						     meta->init_cand,
						     MPS_PM_MAX_CANDIDATES);
	rc = mps_path_add(meta, NULL, &meta->dest, true, false);
	if (!rc)
		rc = attempt_next(meta, true, &err);
	/* not taken: its candidate was not the first one to start */
	mps_initial_presyn_drop(meta);
	if (rc) {
		connect_failed(meta, err ? err : (rc == -ENOENT ? -ENETUNREACH : rc));
		return rc;
	}
	return 0;
}

bool mps_initial_answered(const struct mps_meta *meta)
{
	for (unsigned i = 0; i < meta->n_sf; i++) {
		const struct mps_subflow *sf = meta->sf[i];
		struct pollfd p = { .fd = sf->sfd, .events = POLLOUT };

		if (sf->initial && sf->state == MPS_SF_CONNECTING && sf->sfd >= 0 &&
		    poll(&p, 1, 0) == 1)
			return true;
	}
	return false;
}

void mps_initial_failed(struct mps_subflow *sf, int err, const char *why)
{
	struct mps_meta *meta = sf->meta;
	int last = err;

	sf->state = MPS_SF_DEAD;
	sf->err = err;
	sf->why = why;
	meta->init_live--;
	if (sf->local.sa.sa_family)
		mps_path_health_note(meta->eng, &sf->local, &meta->dest, err);
	if (path_error(err)) {
		mps_info("meta %u: first subflow from %s: %s (%s)", meta->id,
			 sf->local.sa.sa_family ?
			 mps_addr_str(&sf->local.sa, (char[MPS_ADDRSTRLEN]){0},
				      MPS_ADDRSTRLEN) : "the default route", why,
			 strerror(-err));
		/* another attempt in flight goes on; else the next path */
		if (meta->init_live || !attempt_next(meta, true, &last)) {
			mps_subflow_maybe_release(sf);
			return;
		}
	}
	mps_timer_cancel(meta->eng->loop, &meta->init_timer);
	for (unsigned i = 0; i < meta->n_sf; i++)
		if (meta->sf[i] != sf && meta->sf[i]->initial)
			mps_subflow_die(meta->sf[i], err, "another path failed for good");
	connect_failed(meta, path_error(err) ? last : err);
	mps_subflow_maybe_release(sf);
}

void mps_initial_connected(struct mps_subflow *sf)
{
	struct mps_meta *meta = sf->meta;
	struct mps_path *p = &meta->paths[0];

	mps_timer_cancel(meta->eng->loop, &meta->init_timer);
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *o = meta->sf[i];

		if (o != sf && o->initial && o->state == MPS_SF_CONNECTING)
			mps_subflow_die(o, -ECANCELED, "another path connected first");
	}
	meta->init_live = 1;
	/* the winner is the connection's first path: the path manager opens
	 * the others, and a retry of this one leaves from the same address */
	p->has_local = sf->bound;
	if (sf->bound) {
		p->local = sf->local;
		mps_addr_set_port(&p->local, 0);	/* a retry gets its own */
	}
	p->backup = sf->backup;
	p->sf = sf;
	sf->path = 0;
}
