/*
 * engine.h - the multipath engine: one event loop that owns every meta
 * connection, subflow and listener of a process.
 *
 * mpshim-proxyd runs it on its main thread; libmpshim.so starts it on a
 * thread of its own the first time an application connects somewhere the
 * policy marks as multipath.  Calls marked "any thread" may be made from
 * application threads; everything else runs on the engine's thread.
 */
#ifndef MPS_ENGINE_H
#define MPS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include "addr.h"
#include "config.h"

struct mps_engine;
struct mps_meta;
struct mps_psk_set;
struct mps_subflow;

/* True on the engine's own thread: the shim's wrappers pass its socket
 * calls straight to libc instead of interposing them. */
extern __thread bool mps_engine_thread;

int mps_engine_new(struct mps_engine **out, const struct mps_config *cfg);
void mps_engine_free(struct mps_engine *eng);
const struct mps_config *mps_engine_config(const struct mps_engine *eng);
const char *mps_engine_loop_name(const struct mps_engine *eng);

/* Reverse proxy: accept multipath (and plain) clients on `addr`, carry
 * each to a new plain TCP connection to `backend`.  backend may be NULL
 * in forward mode (config key `forward`): then only clients that name
 * their destination are served. */
int mps_engine_listen(struct mps_engine *eng, const struct sockaddr *addr,
		      const struct sockaddr *backend);
/* Forward mode (forward.c): the clients' pre-shared keys.  The engine
 * takes keys over (keys is left empty) and wipes the set it replaces.
 * Engine thread, or before the engine runs. */
void mps_engine_forward_keys(struct mps_engine *eng, struct mps_psk_set *keys);
/*
 * Shim server side (handoff.h): take the bound, listening TCP socket lfd
 * and hand what it accepts to the application through chan, the engine's
 * end of the channel socketpair.  The engine owns both descriptors from
 * here on and closes them once the application has closed its end in
 * every process.  backlog bounds the connections the application has not
 * taken yet.  local is the listening address.  any thread.
 */
int mps_engine_accept_start(struct mps_engine *eng, int lfd, int chan, int backlog,
			    const struct sockaddr *local);
/* The application closed a listener: release at once those whose channel
 * no process holds any more, so their port is free when close() returns.
 * any thread but the engine's; waits for the engine (bounded). */
void mps_engine_accept_reap(struct mps_engine *eng);

/*
 * Configuration reload (proxyd's SIGHUP): request_reload is
 * async-signal-safe and makes the engine thread call fn(eng, arg), which
 * typically reads the files again and calls mps_engine_reconfigure().
 * Connections already open keep running.
 */
typedef void (*mps_engine_reload_fn)(struct mps_engine *eng, void *arg);
void mps_engine_set_reload(struct mps_engine *eng, mps_engine_reload_fn fn, void *arg);
void mps_engine_request_reload(struct mps_engine *eng);
/* Engine thread: take cfg for what comes next.  Listen and backend
 * addresses cannot change this way (a warning says so); everything else
 * applies to new connections, timeouts and buffers also to open ones. */
int mps_engine_reconfigure(struct mps_engine *eng, const struct mps_config *cfg);

/* Run on the calling thread until mps_engine_stop().  0 or -errno. */
int mps_engine_run(struct mps_engine *eng);
/* any thread, async-signal-safe */
void mps_engine_stop(struct mps_engine *eng);

/* Start the engine on its own thread (shim).  any thread, once. */
int mps_engine_start_thread(struct mps_engine *eng);
/* Wait for the engine thread to end after mps_engine_stop(). */
void mps_engine_join_thread(struct mps_engine *eng);

/*
 * Carry a new connection to `dest` over multipath, relaying through efd,
 * the engine's end of a socketpair whose other end the application owns.
 * `filler` bytes the caller wrote into the application's end to hold back
 * POLLOUT are read and discarded before cb runs.  cb(arg, err, local) runs
 * once, on the engine thread, when the connection is established (err 0;
 * multipath false after a fallback to plain TCP) or has failed (-errno).  After a
 * failure the engine closes efd.  *meta_id (may be NULL) gets the id of the
 * connection, by which mps_engine_tcp_info() and the like find it; it is
 * written before the command is queued (0 again if that fails), so a
 * caller holding the lock cb takes sees it before any callback.  With
 * early data (key early_data) cb reports success once the first subflow
 * is up and HELLO is queued; what follows is told by the relay hooks
 * below.  ps (may be NULL): a first subflow already connecting, see
 * struct mps_presyn.  any thread.
 */
typedef void (*mps_connect_cb)(void *arg, int err, const struct sockaddr *local,
			       bool multipath);
struct mps_presyn;
int mps_engine_connect(struct mps_engine *eng, const struct sockaddr *dest,
		       int efd, size_t filler, mps_connect_cb cb, void *arg,
		       unsigned *meta_id, struct mps_presyn *ps);

/*
 * The first SYN before the engine runs (initial.c).  The connect that
 * starts a process's engine would otherwise wait for it (io_uring,
 * netlink and stats sockets, a thread, the hand-off: 0.4 ms here) before
 * its SYN leaves, which delays connect() by as much on any path.  So the
 * caller opens the first subflow's socket and starts its connect itself,
 * from the address mps_initial_presyn_plan names, then passes it to
 * mps_engine_connect.  The engine takes it as the first attempt of its
 * race when that attempt leaves from the same address to the same
 * destination (always, unless a path failed in between), else closes it.
 */
struct mps_presyn {
	int sfd;			/* -1: none; mps_engine_connect takes
					 * it over (it is -1 on return) */
	union mps_sockaddr dest;	/* what sfd connects to */
	union mps_sockaddr local;	/* bound to, when has_local */
	bool has_local;
	bool fastopen;			/* plan: ask for TCP Fast Open (early
					 * data will follow HELLO) */
	bool tfo;			/* the kernel put the SYN off until the
					 * first send (struct mps_subflow's tfo) */
};
/* initial.c: where the first attempt to dest leaves from under cfg (its
 * policy applied): true and ps's dest, local and has_local set, or false
 * when the engine must choose (a proxy, only backup paths).  Reads no
 * engine state; call it before the engine exists, with no other thread
 * creating one (it registers the path managers). */
bool mps_initial_presyn_plan(const struct mps_config *cfg, const struct sockaddr *dest,
			    struct mps_presyn *ps);
/*
 * The connection meta_id (see mps_engine_connect, handoff.h) as one TCP
 * socket (tcpopt.c).  TCP_INFO: a struct tcp_info of <linux/tcp.h> merged
 * from the subflows' (tcpopt.h says how), or the plain TCP connection's
 * after a fallback, into buf: at most *len bytes, *len set to the bytes
 * written.  0, or -ENOENT when no connection has that id any more.  any
 * thread but the engine's.
 */
int mps_engine_tcp_info(struct mps_engine *eng, unsigned meta_id, void *buf,
			size_t *len);
/* TCP_CONGESTION: name (already accepted by the kernel on a socket of the
 * caller's) for every subflow of the connection, now and later; and the
 * name in use (the system default until one is set), in name[16], zero
 * padded.  0 or -ENOENT.  any thread but the engine's. */
int mps_engine_congestion_set(struct mps_engine *eng, unsigned meta_id, const char *name);
int mps_engine_congestion_get(struct mps_engine *eng, unsigned meta_id, char name[16]);
/* Is dest known not to speak mpshim (fallback cached)?  any thread. */
bool mps_engine_dest_is_plain(struct mps_engine *eng, const struct sockaddr *dest);

/*
 * The application's end of a relay and TCP's reset.  An AF_UNIX socket
 * carries no reset, but closing one whose own receive queue holds data
 * sets ECONNRESET on its peer.  So when a connection is aborted (FASTCLOSE,
 * every subflow reset, a protocol error), the engine closes its end with
 * a byte queued in it: from the application's side, by fn(arg, meta_id),
 * which writes one byte into the relay of that connection and says whether
 * it could (the shim: the relay must be a descriptor of this process).
 * Without it, or when it cannot, the application reads EOF instead.  Set
 * once, before the first connection.
 */
void mps_engine_set_relay_reset(struct mps_engine *eng,
				bool (*fn)(void *arg, unsigned meta_id), void *arg);
/*
 * Early data (key early_data): connect() succeeds before the handshake is
 * done, so how the connection settles is told afterwards: fn(arg, meta_id,
 * multipath, local) runs on the engine thread when it fell back to plain
 * TCP (multipath false, local the plain connection's address).  Set once,
 * before the first connection.
 */
void mps_engine_set_relay_settled(struct mps_engine *eng,
				  void (*fn)(void *arg, unsigned meta_id, bool multipath,
					     const struct sockaddr *local),
				  void *arg);
/* SO_LINGER {1, 0} on a relay the application closes: abort the
 * connection as TCP's reset would, FASTCLOSE to the peer and the queued
 * data dropped.  -ENOENT if it is gone.  any thread but the engine's. */
int mps_engine_abort(struct mps_engine *eng, unsigned meta_id);
/* What the peer has not acknowledged of meta_id's sending side: bytes,
 * plus 1 until its DATA_FIN is acknowledged (SO_LINGER's wait).  0 once
 * all is, or the connection ended.  any thread but the engine's. */
unsigned long mps_engine_unacked(struct mps_engine *eng, unsigned meta_id);

/*
 * Process exit (shim): wait up to timeout_ms until every connection has
 * had the data the application wrote acknowledged by the peer, then abort
 * what remains so its stats line is still written.  The caller first
 * half-closes the application ends.  Returns the number of connections
 * that did not finish in time.  any thread but the engine's.
 */
unsigned mps_engine_drain(struct mps_engine *eng, unsigned timeout_ms);

/* For path.c: open one more subflow of an established meta. */
int mps_engine_subflow_open(struct mps_meta *meta, const union mps_sockaddr *local,
			    const union mps_sockaddr *remote, bool backup,
			    struct mps_subflow **out);

/* Why a forward-mode server refused a client (counters, logs, metrics). */
enum mps_fwd_refusal {
	MPS_FWD_DISABLED,	/* a destination named, forward mode off */
	MPS_FWD_NO_TARGET,	/* no destination named, and no backend */
	MPS_FWD_PLAIN,		/* a plain TCP client, and no backend */
	MPS_FWD_NO_KEY,		/* a destination named without a key id */
	MPS_FWD_UNKNOWN_KEY,	/* a key id not in the key file */
	MPS_FWD_BAD_PROOF,	/* AUTH does not verify: wrong key, or a replay */
	MPS_FWD_NO_AUTH,	/* no AUTH in time, or another frame instead */
	MPS_FWD_DENIED,		/* forward_allow / forward_deny refuse the destination */
	MPS_FWD_REASONS,
};
/* "disabled", "no_target", ...: the reason as metrics and logs name it. */
const char *mps_forward_refusal_name(unsigned reason);

/* Why a server refused a JOIN (counters, logs, metrics).  Behind a load
 * balancer, a JOIN balanced to the wrong instance is an unknown token. */
enum mps_join_refusal {
	MPS_JOIN_UNKNOWN_TOKEN,	/* no ESTABLISHED connection has the token */
	MPS_JOIN_REPLAY,	/* a nonce seen before for that connection */
	MPS_JOIN_LIMIT,		/* the connection holds MPS_MAX_SUBFLOWS */
	MPS_JOIN_BAD_HMAC,	/* JOIN_CONFIRM does not verify */
	MPS_JOIN_DESCRIPTORS,	/* proxyd: fewer descriptors free than its
				 * reserve for new connections */
	MPS_JOIN_REASONS,
};
/* "unknown_token", ...: the reason as metrics and logs name it. */
const char *mps_join_refusal_name(unsigned reason);

struct mps_engine_counters {
	unsigned long metas_open, metas_total, subflows_open;
	unsigned long plain_relays, fallbacks, join_refused, proto_errors;
	unsigned long handshake_failed;
	unsigned long long bytes_sent, bytes_recv, reinjected_bytes;	/* closed metas */
	unsigned long fwd_accepted;			/* forward clients let through */
	unsigned long fwd_refused[MPS_FWD_REASONS];
	unsigned long join_refused_by[MPS_JOIN_REASONS];	/* sum: join_refused */
	unsigned long subflows_shed;	/* proxyd: additional subflows closed to
					 * keep descriptors for new connections */
	unsigned long nofile_refused;	/* connections reset at accept for
					 * want of descriptors */
	/* early data, counted as it goes (sent by a client, newly received by
	 * a server): connections that carried some, payload bytes, DATA_FINs */
	unsigned long early_conns, early_fins;
	unsigned long long early_bytes;
};
void mps_engine_counters(const struct mps_engine *eng,
			 struct mps_engine_counters *out);

/*
 * In a child forked from a process whose engine runs (shim): drop the
 * child's copies of what answers for the parent's engine (its stats
 * socket), which the child will never run.  Call from the fork child
 * handler; the child then starts an engine of its own if it needs one.
 */
void mps_engine_atfork_child(struct mps_engine *eng);

/* Serve the counters in Prometheus text format to HTTP clients on addr
 * (metrics.c).  0 or -errno. */
int mps_engine_metrics_listen(struct mps_engine *eng, const struct sockaddr *addr);

#endif
