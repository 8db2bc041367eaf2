/*
 * pm_fullmesh.c - subflows from every configured local address or interface.
 *
 * The initial subflow leaves from the first entry of `local` that has an
 * address of the destination's family; once the connection is up, every
 * other entry gets a subflow to the same server address.  `path_subflows`
 * above 1 gives every pair of local entry and server address that many
 * subflows (each from its own source port): on a lossy path a loss-based
 * congestion control reaches about MSS/RTT x 1.22/sqrt(loss) per flow,
 * whatever the path's rate, so only several flows can fill it.  An interface is
 * resolved to its current address each time (getifaddrs), so a DHCP change
 * between connections is followed.  Routing a bound source address out of
 * the matching interface is the host's policy routing (see mpshim(7)).
 */
#include <string.h>
#include "config.h"
#include "engine.h"
#include "log.h"
#include "meta.h"
#include "path.h"
#include "pm.h"

/* Is this entry of `local` also listed in `backup` (same text)? */
static bool is_backup(const struct mps_config *cfg, const struct mps_local *loc)
{
	for (unsigned i = 0; i < cfg->n_backup; i++)
		if (!strcmp(cfg->backup[i].name, loc->name))
			return true;
	return false;
}

/*
 * The entries in the order a first subflow tries them: regular ones in
 * configuration order, then backups; within each, the paths that failed
 * lately (path.h) last.  An entry without an address of the destination's
 * family now is no candidate, nor is a second entry with the same address.
 */
static unsigned fm_initial_locals(const struct mps_config *cfg,
				  const union mps_sockaddr *dest, struct mps_engine *eng,
				  struct mps_pm_candidate *c, unsigned max)
{
	unsigned n = 0;

	for (unsigned pass = 0; pass < 4; pass++) {
		bool backups = pass >= 2, failed = pass & 1;

		for (unsigned i = 0; i < cfg->n_local && n < max; i++) {
			union mps_sockaddr a;
			bool dup = false;

			if (is_backup(cfg, &cfg->local[i]) != backups ||
			    mps_addr_local_resolve(&cfg->local[i],
						   dest->sa.sa_family, &a))
				continue;
			if ((eng && mps_path_health_bad(eng, &a, dest)) != failed)
				continue;
			for (unsigned k = 0; k < n && !dup; k++)
				dup = mps_addr_equal(&c[k].local.sa, &a.sa);
			if (dup)
				continue;
			c[n].local = a;
			c[n].has_local = true;
			c[n].backup = backups;
			n++;
		}
	}
	if (n)
		return n;
	/* nothing configured resolves: the kernel picks */
	c[0].has_local = false;
	c[0].backup = false;
	return 1;
}

/* "*": one path from each address of the interfaces that are up now
 * (getifaddrs), except the one the first subflow already uses. */
static void fm_discover(struct mps_meta *meta, const union mps_sockaddr *first)
{
	union mps_sockaddr found[MPS_MAX_SUBFLOWS];
	int n = mps_addr_discover(meta->dest.sa.sa_family, found, MPS_MAX_SUBFLOWS);
	long per = meta->cfg->path_subflows;

	for (int k = 0; k < n; k++) {
		long want = per;

		if (first && mps_addr_same_host(&found[k].sa, &first->sa))
			want--;
		while (want-- > 0)
			mps_path_add(meta, &found[k], &meta->dest, false, false);
	}
}

static void fm_established(struct mps_meta *meta)
{
	const struct mps_config *cfg = meta->cfg;
	/* the path the first subflow won on (initial.c) */
	const union mps_sockaddr first = meta->paths[0].local;
	bool has_first = meta->paths[0].has_local;
	union mps_sockaddr local;
	int family = meta->dest.sa.sa_family;

	for (unsigned i = 0; i < cfg->n_local; i++) {
		long want = cfg->path_subflows;

		if (cfg->local[i].any_iface) {
			fm_discover(meta, has_first ? &first : NULL);
			continue;
		}
		/* an entry without an address yet still gets its paths: they
		 * are resolved at each attempt, and tried when an address
		 * appears */
		if (!mps_addr_local_resolve(&cfg->local[i], family, &local) &&
		    has_first && mps_addr_equal(&local.sa, &first.sa))
			want--;
		while (want-- > 0)
			mps_path_add_local(meta, i, &meta->dest,
					   is_backup(cfg, &cfg->local[i]));
	}
}

/* Every local entry gets a path to an address the server advertised too:
 * the mesh is local entries x server addresses. */
static void fm_add_addr(struct mps_meta *meta, const union mps_sockaddr *remote)
{
	const struct mps_config *cfg = meta->cfg;

	for (long k = 0; k < cfg->path_subflows; k++) {
		if (!cfg->n_local)
			mps_path_add(meta, NULL, remote, false, false);
		for (unsigned i = 0; i < cfg->n_local; i++)
			mps_path_add_local(meta, i, remote,
					   is_backup(cfg, &cfg->local[i]));
	}
}

const struct mps_pm_ops mps_pm_fullmesh = {
	.name = "fullmesh",
	.initial_locals = fm_initial_locals,
	.established = fm_established,
	.add_addr = fm_add_addr,
};
