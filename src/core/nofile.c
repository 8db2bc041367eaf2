/*
 * nofile.c - running out of descriptors.
 *
 * Owns the engine's spare descriptor (eng->spare_fd): one descriptor
 * taken while they are plenty, so that when accept4() fails for want of
 * one, the connection waiting in a listener's backlog can still be taken.
 * Without it that connection stays in the backlog, the listener stays
 * readable, and every poll of it returns at once: the loop spins.
 *
 * The spare is spent in two ways.  The service listeners (listener.c)
 * take the waiting client with it and reset it at once, as a server that
 * cannot serve it would, so the client learns instead of waiting.  The
 * diagnostic listeners (metrics.c, statsock.c) borrow it to serve the one
 * scrape: out of descriptors is when the numbers matter most, and a
 * scrape is short.  Either way the spare comes back when the descriptor
 * is closed.  A caller that finds no spare (lent out, or not to be had)
 * stops polling its listener for MPS_NOFILE_PAUSE_MS instead.
 *
 * And proxyd's reserve, before they run out.  A connection costs proxyd
 * one descriptor per subflow plus one for its backend.  A new connection
 * cannot be served with fewer than two; an additional subflow only makes
 * a connection that is served already faster or sturdier.  So when
 * descriptors run short, additional subflows give way to new ones:
 *
 * - admission: a connection accepted on a backend listener is reset at
 *   once unless a descriptor is left for its backend, counting one owed
 *   to every connection still classifying (a HELLO or a plain client
 *   will need it; a JOIN will not, and one whose first byte is there at
 *   the accept is known for one by a peek).
 *   Accepting every client of a burst and then finding no backend
 *   descriptor for most of them served fewer than half of what fits.
 * - with fewer than the reserve (a sixteenth of the limit, at least 16)
 *   held free, a JOIN is refused (reason "descriptors").  The connection
 *   goes on over the subflows it has; the client tries the path again
 *   after its backoff and gets it once descriptors are back.
 * - when a new connection finds no room, additional subflows are closed,
 *   one per connection per look, each connection keeping its best
 *   subflow, until half the reserve is free again.  So a burst that
 *   arrives after the first clients joined their second subflows is
 *   served at two descriptors a connection, not three.
 *
 * Closing subflows frees up to half the reserve and a JOIN needs all of
 * it, so no subflow is closed and let in again in turn.  This is nginx
 * closing idle keep-alive connections when it runs out of connections,
 * and HAProxy's maxconn (take no client that cannot be served), applied
 * to descriptors; a kernel MPTCP subflow holds no descriptor, so the
 * kernel has no such rule (its per-connection subflow limit is
 * MPS_MAX_SUBFLOWS here).
 *
 * Counting: Linux tells no process how many descriptors it holds, short
 * of reading /proc/self/fd, which is one getdents() per few hundred.  So
 * proxyd counts: a subflow socket is one descriptor, a meta connection
 * its backend's one, a plain relay two; the rest (listeners, the loop,
 * the log, the spare, scrapes) is eng->nofile_base, read from
 * /proc/self/fd at the first look and set again, exactly, whenever
 * accept4() says EMFILE (every descriptor is in use at that moment).
 * The count errs high (a meta is counted from its HELLO, before its
 * backend socket exists).  The newest subflow's descriptor number is a
 * lower bound as well: the kernel hands out the lowest free number, so
 * every one below it was in use.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include "clock.h"
#include "engine_int.h"
#include "log.h"

#define NOFILE_WARN_NS		(10 * 1000000000ull)	/* at most one warning */
#define NOFILE_RESERVE_MIN	16
#define NOFILE_RESERVE_DIV	16	/* of the limit */

bool mps_nofile_errno(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

bool mps_nofile_warn_due(uint64_t *last_ns)
{
	uint64_t now = mps_clock_ns();

	if (*last_ns && now - *last_ns <= NOFILE_WARN_NS)
		return false;
	*last_ns = now;
	return true;
}

void mps_nofile_spare_restore(struct mps_engine *eng)
{
	if (eng->spare_fd < 0)
		eng->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int mps_nofile_accept_spare(struct mps_engine *eng, int lfd, int flags)
{
	int fd, err;

	/* a spare that could not be had before may be now: then it is
	 * spent at once, which is what it is for */
	mps_nofile_spare_restore(eng);
	if (eng->spare_fd < 0)
		return -EMFILE;
	close(eng->spare_fd);
	eng->spare_fd = -1;
	do
		fd = accept4(lfd, NULL, NULL, flags);
	while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
	if (fd >= 0)
		return fd;
	err = errno;
	mps_nofile_spare_restore(eng);
	if (err == EAGAIN || err == EWOULDBLOCK)
		return -EAGAIN;
	/* ENFILE or no memory: the spare's slot was no help */
	return mps_nofile_errno(err) ? -EMFILE : -err;
}

int mps_nofile_refuse(struct mps_engine *eng, int lfd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int fd = mps_nofile_accept_spare(eng, lfd, SOCK_CLOEXEC);

	if (fd == -EAGAIN)
		return 0;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	mps_nofile_spare_restore(eng);
	return 1;
}

/* ------------------------------------------------------------------ */
/* proxyd's reserve for new connections                                */

static unsigned long nofile_limit(void)
{
	struct rlimit rl;

	/* read every time: prlimit(1) may change it under a running proxyd */
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= ULONG_MAX)
		return ULONG_MAX;
	return (unsigned long)rl.rlim_cur;
}

static unsigned long nofile_reserve(unsigned long limit)
{
	unsigned long r = limit / NOFILE_RESERVE_DIV;

	return r < NOFILE_RESERVE_MIN ? NOFILE_RESERVE_MIN : r;
}

/* The descriptors the engine's counters stand for. */
static long nofile_counted(const struct mps_engine *eng)
{
	const struct mps_engine_counters *c = &eng->cnt;

	return (long)(c->subflows_open + c->metas_open + 2 * c->plain_relays);
}

/* Open descriptors, by /proc/self/fd (not counting the one reading it);
 * -1 when it cannot be read (then, often, for want of a descriptor). */
static long nofile_proc_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = -1;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * About how many descriptors are free once `owed` more are taken: held
 * now are the counted ones, nofile_base and held_more not counted yet,
 * and at least newest_fd + 1 when newest_fd >= 0 was the lowest free
 * number when it was handed out.  The descriptors of additional subflows
 * being closed count as free: they are back once the subflows' cancelled
 * ops complete, within a loop iteration or so.  Negative when more is
 * promised than there is.
 */
static long nofile_free(struct mps_engine *eng, int newest_fd, long held_more,
			long owed, unsigned long limit)
{
	long held = nofile_counted(eng) + held_more;

	if (eng->nofile_base < 0) {
		long n = nofile_proc_count();

		if (n >= 0)
			eng->nofile_base = n > held ? n - held : 0;
	}
	if (eng->nofile_base > 0)
		held += eng->nofile_base;
	if (newest_fd >= 0 && (long)newest_fd + 1 > held)
		held = (long)newest_fd + 1;
	if (limit > LONG_MAX / 2)
		return LONG_MAX / 2;
	return (long)limit - held - owed + (long)eng->nofile_shedding;
}

bool mps_nofile_join_ok(struct mps_engine *eng, const struct mps_subflow *sf)
{
	unsigned long limit, reserve;
	long avail;

	/* the shim's descriptors are the application's, not ours to count */
	if (!sf->listener || sf->listener->ho)
		return true;
	limit = nofile_limit();
	reserve = nofile_reserve(limit);
	/* held descriptors only, this JOIN's included: a connection still
	 * classifying was let in with its backend counted when it might
	 * need one (mps_nofile_admit), and a JOIN among them needs none;
	 * refused, a JOIN frees its descriptor before the next one is
	 * judged, so a crowd of JOINs at once is judged one by one */
	avail = nofile_free(eng, sf->sfd, 0, 0, limit);
	if (avail >= (long)reserve) {
		eng->nofile_none_extra = false;	/* one more to look at */
		return true;
	}
	if (mps_nofile_warn_due(&eng->nofile_join_warn_ns))
		mps_warn("descriptors: about %ld of %lu free, below the %lu kept for "
			 "new connections: refusing JOINs (additional subflows)",
			 avail > 0 ? avail : 0, limit, reserve);
	return false;
}

/* a is a subflow its connection can do without sooner than b */
static bool nofile_sooner(const struct mps_subflow *a, const struct mps_subflow *b)
{
	bool a_new = a->state == MPS_SF_JOIN_ACKED, b_new = b->state == MPS_SF_JOIN_ACKED;

	if (a_new != b_new)
		return a_new;		/* no data on it yet */
	if (a->backup != b->backup)
		return a->backup;
	if (a->srtt_us != b->srtt_us)
		return a->srtt_us > b->srtt_us;	/* unknown (UINT32_MAX) first */
	return a->idx > b->idx;
}

/* The subflow of a server connection it can best do without, as long as
 * one active subflow is left to it; NULL when it has none to spare. */
static struct mps_subflow *nofile_extra(const struct mps_meta *meta)
{
	struct mps_subflow *victim = NULL;
	unsigned active = 0;

	if (meta->role != MPS_ROLE_S || meta->state != MPS_META_ESTABLISHED)
		return NULL;
	for (unsigned i = 0; i < meta->n_sf; i++) {
		struct mps_subflow *sf = meta->sf[i];

		if (sf->state == MPS_SF_ACTIVE)
			active++;
		else if (sf->state != MPS_SF_JOIN_ACKED)
			continue;
		if (!victim || nofile_sooner(sf, victim))
			victim = sf;
	}
	if (!victim || active < (victim->state == MPS_SF_ACTIVE ? 2u : 1u))
		return NULL;
	return victim;
}

/* A new connection finds fewer than avail + 1 descriptors (avail < 0):
 * close additional subflows, at most one per connection, until half the
 * reserve is free again after it. */
static void nofile_shed(struct mps_engine *eng, unsigned long limit, long avail)
{
	long want = (long)nofile_reserve(limit) / 2 - avail;
	unsigned long shed = 0;

	/* refused JOINs add none, so one fruitless look holds until a JOIN
	 * is let in again */
	if (want <= 0 || eng->nofile_none_extra)
		return;
	for (struct mps_meta *m = eng->metas; m && (long)shed < want; m = m->next) {
		struct mps_subflow *sf = nofile_extra(m);

		if (!sf)
			continue;
		mps_debug("meta %u: closing subflow %u for a new connection's descriptors",
			  m->id, sf->idx);
		if (sf->sfd >= 0) {
			sf->shed = true;
			eng->nofile_shedding++;
		}
		mps_meta_subflow_lost(m, sf, -ECONNABORTED,
				      "closed to keep descriptors for new connections");
		shed++;
	}
	if (!shed) {
		eng->nofile_none_extra = true;
		return;
	}
	eng->cnt.subflows_shed += shed;
	if (mps_nofile_warn_due(&eng->nofile_shed_warn_ns))
		mps_warn("descriptors: about %ld of %lu free: closed %lu additional "
			 "subflows to keep room for new connections",
			 avail > 0 ? avail : 0, limit, shed);
}

void mps_nofile_out(struct mps_engine *eng, int err)
{
	unsigned long limit = nofile_limit();

	/* every descriptor is in use right now: the count is exact again
	 * (not ENFILE: that one is the system's table) */
	if (err == EMFILE)
		eng->nofile_base = (long)limit - nofile_counted(eng);
	/* room for the one waiting: its descriptor and its backend's */
	nofile_shed(eng, limit, nofile_free(eng, -1, 0, (long)eng->nofile_owed + 2,
					    limit));
}

bool mps_nofile_admit(struct mps_engine *eng, int fd, bool owes_backend)
{
	unsigned long limit = nofile_limit();
	/* fd is held and not counted yet; it and the connections still
	 * classifying may need a backend (a HELLO, a plain client) */
	long owed = (long)eng->nofile_owed + owes_backend;
	long avail = nofile_free(eng, fd, 1, owed, limit);

	if (avail >= 0)
		return true;
	nofile_shed(eng, limit, avail);
	return nofile_free(eng, fd, 1, owed, limit) >= 0;
}

void mps_nofile_released(struct mps_subflow *sf)
{
	if (!sf->shed)
		return;
	sf->shed = false;
	sf->eng->nofile_shedding--;
}
