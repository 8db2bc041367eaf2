/*
 * fdtab.h - what the shim knows about the application's descriptors.
 *
 * Owns: one entry per descriptor the shim cares about: a TCP socket that
 * may still be upgraded, a relay descriptor standing in for a multipath
 * connection, or the channel standing in for a listening socket whose
 * TCP listener the engine serves (handoff.h).  Entries are reference counted because dup() makes two
 * descriptor numbers share one connection, exactly as they share one open
 * file.  One mutex guards the table; an entry's fields are guarded by the
 * entry's own mutex, which other threads take to read them (the engine's
 * relay-reset hook, exec, the exit drain): a published entry's kind,
 * owner and meta_id change only with it held.  kind alone is also read
 * without it, on every interposed call, hence mps_fdent_kind.
 */
#ifndef MPS_SHIM_FDTAB_H
#define MPS_SHIM_FDTAB_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include "addr.h"

enum mps_fd_kind {
	MPS_FD_TCP,		/* a TCP socket not yet connected through us */
	MPS_FD_RELAY,		/* a relay for a multipath (or fallback) connection */
	MPS_FD_LISTEN,		/* a channel from the engine's TCP listener */
};

enum mps_fd_state {
	MPS_FDS_IDLE,
	MPS_FDS_CONNECTING,
	MPS_FDS_CONNECTED,
	MPS_FDS_FAILED,
};

#define MPS_FD_OPTS 12

struct mps_fdent {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;
	enum mps_fd_kind kind;
	enum mps_fd_state state;
	int domain;			/* as the app created it */
	int error;			/* pending SO_ERROR, positive errno */
	bool multipath;			/* false: fell back to plain TCP */
	union mps_sockaddr peer;	/* as the app passed it to connect() */
	union mps_sockaddr local;	/* of the initial subflow, in app's family;
					 * a listener's bound address */
	int lfd;			/* listener: the shim's own descriptor of the
					 * TCP listener (socket options), else -1 */
	pid_t owner;			/* listener, relay: the process whose engine
					 * serves it (a forked child's is not) */
	unsigned meta_id;		/* relay: the engine's connection, 0 unknown
					 * (inherited through an exec) */
	int relay_app;			/* blocking connect in progress: the app's
					 * end of the relay until it is installed
					 * at the app's number, else -1 */
	struct { int level, opt, val; } opts[MPS_FD_OPTS];	/* TCP and IP ints */
	char congestion[16];		/* TCP_CONGESTION set before connect (for
					 * the engine), or on a relay no engine of
					 * this process carries; "" none */
	unsigned n_opts;
};

/* kind without the entry's lock (atomic); set it with the lock held once
 * the entry is in the table. */
static inline enum mps_fd_kind mps_fdent_kind(const struct mps_fdent *e)
{
	return __atomic_load_n(&e->kind, __ATOMIC_ACQUIRE);
}

static inline void mps_fdent_set_kind(struct mps_fdent *e, enum mps_fd_kind kind)
{
	__atomic_store_n(&e->kind, kind, __ATOMIC_RELEASE);
}

struct mps_fdent *mps_fdent_new(int domain);
void mps_fdent_get(struct mps_fdent *e);
void mps_fdent_put(struct mps_fdent *e);

/* Install e at fd (taking a reference), replacing whatever was there. */
int mps_fdtab_set(int fd, struct mps_fdent *e);
/* The entry at fd with a reference the caller must put, or NULL. */
struct mps_fdent *mps_fdtab_get(int fd);
void mps_fdtab_clear(int fd);
/* newfd shares oldfd's entry (dup family). */
void mps_fdtab_dup(int oldfd, int newfd);

/* Call fn for every descriptor holding a relay (table lock held: fn must
 * not call back into the table). */
void mps_fdtab_each_relay(void (*fn)(int fd, void *arg), void *arg);

/* Call fn for every descriptor in the table (same rule). */
void mps_fdtab_each(void (*fn)(int fd, struct mps_fdent *e, void *arg), void *arg);

/* Integer options of the TCP and IP levels remembered for a relay, as the
 * kernel normalised them (entry lock held).  false: not set, or no room
 * (MPS_FD_OPTS distinct options). */
bool mps_fdent_opt_set(struct mps_fdent *e, int level, int opt, int val);
bool mps_fdent_opt_get(const struct mps_fdent *e, int level, int opt, int *val);

#endif
