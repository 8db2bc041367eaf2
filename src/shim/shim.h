/*
 * shim.h - state shared by the shim's call families: whether the shim is
 * active, its configuration, and the lazily started engine.
 */
#ifndef MPS_SHIM_H
#define MPS_SHIM_H

#include <stdbool.h>
#include "config.h"
#include "engine.h"
#include "libc.h"

#define MPS_EXPORT __attribute__((visibility("default")))

/* Is the shim interposing at all (config loaded, upgrade rules present)? */
bool mps_shim_active(void);
const struct mps_config *mps_shim_config(void);
/* The engine, started on first use; NULL if it cannot start (then the
 * caller carries on as plain TCP: fail open). */
struct mps_engine *mps_shim_engine(void);
/* The same for a connect to dest: when this call starts the engine, the
 * first subflow's connect is started before it (presyn.c) and returned
 * in ps (ps->sfd -1 otherwise), for mps_engine_connect. */
struct mps_engine *mps_shim_engine_for(const struct sockaddr *dest, struct mps_presyn *ps);
/* presyn.c: start the first subflow's connect to dest on this thread
 * (ps->sfd, -1 when the engine must choose), and close one not handed
 * over. */
void mps_shim_presyn_open(const struct sockaddr *dest, struct mps_presyn *ps);
void mps_shim_presyn_close(struct mps_presyn *ps);
/* The engine if this process started one already, else NULL. */
struct mps_engine *mps_shim_engine_running(void);
/* close.c: the engine's relay-reset hook (engine.h). */
bool mps_shim_relay_reset(void *arg, unsigned meta_id);
/* connect.c: the engine's hook for an early connection that settled. */
void mps_shim_relay_settled(void *arg, unsigned meta_id, bool multipath,
			    const struct sockaddr *local);
/* Put app_end at the app's descriptor number fd (dup3), keeping fd's
 * close-on-exec and O_NONBLOCK.  The caller still closes app_end.  0 or
 * -errno. */
int mps_shim_install_fd(int fd, int app_end);

/* Move the bound, listening TCP socket at fd (entry e) to the engine:
 * the app's number becomes the channel (listen.c).  0 or -errno, the
 * socket left as it was. */
struct mps_fdent;
int mps_shim_listen_take_over(int fd, struct mps_fdent *e,
			      const union mps_sockaddr *local, int backlog);

/* Rebuild table entries for descriptors a previous program described in
 * MPSHIM_INHERIT before it exec'ed this one (exec.c). */
void mps_shim_inherit_load(void);

/* Every wrapper starts with this: resolves libc, and tells whether to
 * pass the call straight through (engine thread, or shim inactive). */
static inline bool mps_shim_bypass(void)
{
	if (mps_libc_init())
		return true;
	return mps_engine_thread;
}

#endif
