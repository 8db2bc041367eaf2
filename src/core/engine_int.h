/*
 * engine_int.h - what engine.c, subflow.c, pump.c, stats.c, metrics.c and
 * statsock.c share inside the engine.  Not for the shim or proxyd: they
 * use engine.h.
 */
#ifndef MPS_ENGINE_INT_H
#define MPS_ENGINE_INT_H

#include <pthread.h>
#include "engine.h"
#include "frame.h"
#include "loop.h"
#include "meta.h"
#include "subflow.h"

#define MPS_TOKEN_BUCKETS	1024
#define MPS_PLAIN_CACHE		64
#define MPS_KNOWN_CACHE		64	/* early.c: destinations that answered HELLO_ACK */
#define MPS_ACK_DELAY_MS	5
/* the first read of an answer into a ring without memory (engine.c) */
#define MPS_FIRST_READ_MAX	32768u
#define MPS_CLOSE_LINGER_MS	5000
#define MPS_PATH_HEALTH_SLOTS	16

struct mps_forward;
struct mps_pump;
struct mps_statsock;
struct mps_text;

struct mps_handoff;

/* listener.c: a TCP listener, and where what it accepts goes. */
struct mps_listener {
	struct mps_engine *eng;
	int fd;
	int refs;			/* the engine's list (with the accept op),
					 * the channel op, each subflow it accepted */
	bool closed;			/* the application closed it */
	unsigned classifying;		/* shim: accepted, not yet classified */
	bool acc_paused;		/* accept op held back: the app's backlog
					 * is full, or out of descriptors */
	union mps_sockaddr addr;
	union mps_sockaddr backend;	/* proxyd: the plain TCP service */
	struct mps_handoff *ho;		/* shim: the app's accept() instead */
	struct mps_op acc;
	struct mps_timer acc_pause;	/* out of descriptors: the pause's end */
	uint64_t nofile_warn_ns;	/* last "out of descriptors" warning */
	struct mps_listener *next;
};

/* initial.c: a (local, remote) pair whose subflow failed for a path
 * reason, avoided for a first subflow until until_ns (0: slot free). */
struct mps_path_health {
	union mps_sockaddr local, remote;
	uint64_t until_ns;
};

struct mps_cmd {
	void (*fn)(struct mps_engine *eng, void *arg);
	void *arg;
	struct mps_cmd *next;
};

struct mps_engine {
	struct mps_config cfg;
	struct mps_loop *loop;
	const struct mps_sched_ops *sched;
	const struct mps_pm_ops *pm;

	struct mps_meta *metas;			/* all live metas */
	struct mps_meta *tok_hash[MPS_TOKEN_BUCKETS];	/* server metas by token */
	struct mps_meta **dirty;		/* touched this iteration */
	unsigned n_dirty, cap_dirty;
	struct mps_meta *trim_list;		/* trim.c: metas holding buffers */
	struct mps_timer trim_timer;
	struct mps_timer warm_timer;		/* proxyd: libcrypto set up, the
						 * first key pair drawn, once the
						 * loop runs (mps_engine_warm_later) */
	size_t trim_freed;			/* heap bytes freed since the last
						 * malloc_trim */
	struct mps_subflow *unclassified;	/* server: before HELLO/JOIN */
	struct mps_subflow *graveyard;		/* released, freed after the flush */
	struct mps_pump *pumps;
	struct mps_listener *listeners;
	int spare_fd;				/* nofile.c: spent to take a
						 * connection when out of
						 * descriptors; -1 */
	/* nofile.c: proxyd's descriptors in use are nofile_base plus what
	 * the counters hold (-1: not measured yet) */
	long nofile_base;
	bool nofile_none_extra;			/* the last look for an additional
						 * subflow to close found none */
	unsigned long nofile_shedding;		/* subflows closed for their
						 * descriptors, not released yet */
	unsigned long nofile_owed;		/* unclassified with owes_backend */
	uint64_t nofile_join_warn_ns, nofile_shed_warn_ns;
	unsigned next_meta_id;		/* atomic: mps_engine_connect draws too */

	/* commands from other threads, woken through an eventfd */
	pthread_mutex_t lock;
	struct mps_cmd *cmd_head, *cmd_tail;
	int evfd;
	struct mps_op evop;
	uint64_t evbuf;
	bool stop;			/* atomic: mps_engine_stop may run on
					 * another thread or in a signal handler */
	volatile int reload_pending;	/* set from a signal handler */
	mps_engine_reload_fn reload_fn;
	void *reload_arg;
	bool thread_started;
	bool crypto_warm;		/* mps_crypto_warm ran (cmd_connect,
					 * proxyd's first listener) */
	struct mps_x25519 kx_spare;	/* server: the next HELLO's key pair,
					 * drawn after the last one was answered */
	bool kx_spare_ok;
	pthread_t thread;

	/* destinations that did not answer HELLO_ACK (guarded by lock) */
	union mps_sockaddr plain_cache[MPS_PLAIN_CACHE];
	unsigned n_plain, plain_next;

	/* destinations that answered HELLO_ACK (early.c, engine thread only):
	 * early_data = auto sends them early data */
	union mps_sockaddr known[MPS_KNOWN_CACHE];
	unsigned n_known, known_next;

	/* paths that failed lately (engine thread only, initial.c) */
	struct mps_path_health health[MPS_PATH_HEALTH_SLOTS];
	unsigned health_next;

	/* the shim's way to queue a byte in a relay (engine.h) */
	bool (*relay_reset)(void *arg, unsigned meta_id);
	void *relay_reset_arg;
	/* ... and to learn how an early connection settled (engine.h) */
	void (*relay_settled)(void *arg, unsigned meta_id, bool multipath,
			      const struct sockaddr *local);
	void *relay_settled_arg;

	bool draining;			/* process exit: count what is unsent */
	int drain_pending;		/* -1 unknown, else connections left */

	struct mps_metrics *metrics;	/* metrics.c, NULL when not served */
	struct mps_forward *fwd;	/* forward.c: keys, NULL until needed */
	struct mps_statsock *statsock;	/* statsock.c, NULL when not served */
	uint64_t t_start_ns;
	int nlfd;			/* rtnetlink: links and addresses */
	struct mps_op nlop;
	uint8_t *nlbuf;

	int stats_fd;
	struct mps_engine_counters cnt;
};

/* engine.c */
/* Run fn(eng, arg) on the engine thread and wait until it returned.
 * 0 or -errno (the command could not be queued).  any thread but the
 * engine's. */
int mps_engine_call(struct mps_engine *eng, void (*fn)(struct mps_engine *, void *),
		    void *arg);
void mps_engine_mark_dirty(struct mps_meta *meta);
/* The live meta with this id (any state), or NULL.  engine thread. */
struct mps_meta *mps_engine_meta_by_id(struct mps_engine *eng, unsigned id);
void mps_meta_abort(struct mps_meta *meta, int err, uint8_t code, bool tell_peer);
void mps_meta_established(struct mps_meta *meta);
/* Tell the connect()'s caller its outcome (once; later calls do nothing):
 * err 0 and the initial subflow's local address, or -errno. */
void mps_meta_report_connect(struct mps_meta *meta, int err,
			     const struct sockaddr *local);
void mps_meta_fallback(struct mps_meta *meta, const char *why);
void mps_meta_fail_connect(struct mps_meta *meta, int err);
void mps_meta_on_ack(struct mps_meta *meta, uint64_t ack, uint32_t window);
int mps_meta_on_data(struct mps_meta *meta, const struct mps_frame *f);
/* Make the close of efd, the engine's end of a relay, reach its
 * application as ECONNRESET (see mps_engine_set_relay_reset; meta_id names
 * the connection to the shim's hook): true, close it now.  false: that is
 * not possible, the relay is shut down instead (the app reads EOF). */
bool mps_engine_relay_resettable(struct mps_engine *eng, int efd, unsigned meta_id);
int mps_meta_server_hello(struct mps_subflow *sf, const struct mps_frame *f);
/* Server: connect to meta->dest, PING the client meanwhile; HELLO_ACK (or
 * forward mode's AUTH) or FASTCLOSE follows from meta_econn_cb.  0. */
int mps_meta_server_connect(struct mps_meta *meta, struct mps_subflow *sf);
int mps_meta_server_join(struct mps_subflow *sf, const struct mps_frame *f);
/* Count a refused JOIN, in the total and by reason (metrics). */
void mps_engine_join_refused(struct mps_engine *eng, enum mps_join_refusal reason);
/* Server behind a load balancer: HELLO_ACK's NOJOIN flag for a connection
 * that came in through it (then its initial subflow sf is a backup), or 0. */
uint8_t mps_meta_behind_lb(struct mps_meta *meta, struct mps_subflow *sf);
int mps_meta_attach(struct mps_meta *meta, struct mps_subflow *sf);
void mps_meta_subflow_gone(struct mps_meta *meta, struct mps_subflow *sf);
void mps_meta_try_free(struct mps_meta *meta);
struct mps_meta *mps_engine_meta_by_token(struct mps_engine *eng, uint32_t token);
void mps_engine_plain_cache_add(struct mps_engine *eng, const struct sockaddr *dest);

/* subflow.c */
struct mps_subflow *mps_subflow_new(struct mps_engine *eng, int sfd);
void mps_subflow_free(struct mps_subflow *sf);
/* Non-blocking connect from local (may be NULL) to remote; completes via
 * the state machine.  0 or -errno. */
int mps_subflow_connect(struct mps_subflow *sf, const union mps_sockaddr *local,
			const union mps_sockaddr *remote);
/* The same with fd, a socket whose non-blocking connect from local to
 * remote someone else started (struct mps_presyn).  sf owns fd from here
 * on, even when this fails.  0 or -errno. */
int mps_subflow_adopt(struct mps_subflow *sf, int fd, const union mps_sockaddr *local,
		      const union mps_sockaddr *remote);
void mps_subflow_start_recv(struct mps_subflow *sf);
/* Queue a control frame (encoded into obuf) and start sending. */
int mps_subflow_send_frame(struct mps_subflow *sf, const struct mps_frame *f);
/* Queue a DATA frame for [dsn, dsn+len) read from the meta's send ring. */
int mps_subflow_send_data(struct mps_subflow *sf, uint64_t dsn, size_t len,
			  bool fin);
void mps_subflow_kick(struct mps_subflow *sf);
/*
 * Frames wait in obuf without a SEND: proxyd's initial subflow from HELLO
 * to the first answer, so PING, HELLO_ACK, its DATA_ACK and the first
 * DATA share segments instead of each taking one of the ten packets of
 * TCP's initial window; a client's Fast Open subflow until the app's first
 * bytes, so they share the SYN with HELLO.  mps_subflow_release sends
 * what waits (also done by mps_subflow_close).
 */
void mps_subflow_hold(struct mps_subflow *sf);
/* The connection's join key, computing it first when proxyd put the key
 * exchange off (engine.c, meta_kx_timer): 0, or -errno when the peer's
 * public key fails the exchange. */
int mps_meta_join_key(struct mps_meta *meta);
/* Draw the next server key pair (kx_spare) unless one waits: where no
 * client waits for it, after an answer or at proxyd's start. */
void mps_engine_kx_spare(struct mps_engine *eng);
/* At a listener's start: libcrypto's first-use setup and the first key
 * pair in the loop's first iteration, after proxyd's other listeners and
 * its metrics listener exist (a sanitized libcrypto takes tens of ms). */
void mps_engine_warm_later(struct mps_engine *eng);
void mps_subflow_release(struct mps_subflow *sf);
/* Fail the subflow: its unacked ranges go back to the meta for
 * reinjection, its socket is shut and released when no op is pending. */
void mps_subflow_die(struct mps_subflow *sf, int err, const char *why);
/* Orderly end: flush queued frames, then FIN, then release. */
void mps_subflow_close(struct mps_subflow *sf);
bool mps_subflow_idle(const struct mps_subflow *sf);
void mps_subflow_apply_sockopts(struct mps_subflow *sf);
/* A dead subflow whose last op completed: release its socket. */
void mps_subflow_maybe_release(struct mps_subflow *sf);

/* listener.c */
void mps_listener_put(struct mps_listener *lst);
/* Unlink and release every listener (engine teardown). */
void mps_listener_free_all(struct mps_engine *eng);
/* A connection on sf's listener is not multipath (first bytes, or silence
 * until the classify deadline): relay it to the backend, or give the TCP
 * socket itself to the app. */
void mps_meta_plain_client(struct mps_subflow *sf);
/* sf left its listener's classification (engine.c's unlink). */
void mps_listener_classified(struct mps_listener *lst);
/* sf's classify timer fired. */
void mps_listener_classify_timeout(struct mps_subflow *sf);
/* Shim server side: a HELLO was accepted on sf.  Hands the app its end of
 * a new relay; returns the engine's end (the meta's efd) or -errno. */
int mps_listener_handoff_meta(struct mps_meta *meta, struct mps_subflow *sf);
/* Do two listeners serve the same service (ADD_ADDR may point from one
 * to the other)? */
bool mps_listener_same_service(const struct mps_listener *a,
			       const struct mps_listener *b);
/* A subflow that cannot work any more (dead path, interface gone): tell
 * the peer with REMOVE_ADDR on another subflow, then fail it. */
void mps_meta_subflow_lost(struct mps_meta *meta, struct mps_subflow *sf, int err,
			   const char *why);
/* Interface ifindex went down, or local address addr went away (either
 * may be 0/NULL): fail the subflows that used it. */
void mps_engine_iface_down(struct mps_engine *eng, unsigned ifindex,
			   const struct sockaddr *addr);
void mps_engine_unclassified_unlink(struct mps_subflow *sf);

/*
 * pump.c: plain byte relay between socket `a` and a new TCP connection to
 * dest (fallback in the shim, plain clients of proxyd).  `pre` bytes
 * already read from `a` go to dest first.  done(arg, err, local) runs once
 * the connection to dest is up or has failed; on failure `a` is closed
 * (with a reset when it is TCP).  `why` is the fallback reason for stats
 * (NULL: a plain client, no stats line).  meta_id: the id of the shim's
 * connection it carries after a fallback (its TCP socket then answers the
 * application's TCP_INFO), else 0.
 */
int mps_pump_connect(struct mps_engine *eng, int a, const struct sockaddr *dest,
		     const void *pre, size_t pre_len, const char *why,
		     mps_connect_cb done, void *arg, unsigned meta_id);
/* The connected TCP socket of the pump carrying meta_id, or -ENOENT. */
int mps_pump_sock(const struct mps_engine *eng, unsigned meta_id);
void mps_pump_shutdown_all(struct mps_engine *eng);
/* After the loop is freed: release every relay without ceremony. */
void mps_pump_free_all(struct mps_engine *eng);
/* Relays whose application-to-peer direction has not ended yet. */
unsigned mps_pump_pending_out(const struct mps_engine *eng);
/* Append every live relay's connection object to a snapshot's
 * connections array, n entries being there already.  false when one did
 * not fit (it is taken back; the snapshot says it is truncated). */
bool mps_pump_snapshot(const struct mps_engine *eng, struct mps_text *t, unsigned n);

/*
 * trim.c: idle connections give their buffers back.  A meta that holds
 * ring or subflow buffers is on eng->trim_list; every MPS_TRIM_MS the
 * ones that moved no byte since the last look free what is empty.
 */
#define MPS_TRIM_MS		1000
void mps_trim_watch(struct mps_meta *meta);
void mps_trim_unwatch(struct mps_meta *meta);
void mps_trim_tick(struct mps_timer *t);
/* erd's RECV, cancelled to free the send ring, completed with res. */
void mps_trim_recv_cancelled(struct mps_meta *meta, int res);
/* subflow.c: free an empty obuf and DSN map, mark ibuf for shrinking.
 * Bytes freed. */
size_t mps_subflow_trim(struct mps_subflow *sf);
/* Does the subflow hold buffers above their minimum sizes? */
bool mps_subflow_holds(const struct mps_subflow *sf);

/*
 * early.c: early data (0-RTT).  Client: whether a connection sends early
 * data, its start once HELLO is queued (connect() succeeds), the pass
 * that maps app bytes onto the initial subflow before HELLO_ACK.  Server:
 * a HELLO's terms for early DATA, its acceptance and counting, and what
 * HELLO_ACK leaves to acknowledge.  The cache of destinations known to
 * speak mpshim.
 */
void mps_early_known_add(struct mps_engine *eng, const struct sockaddr *dest);
void mps_early_known_del(struct mps_engine *eng, const struct sockaddr *dest);
/* Client, after policy and forward setup: send early data? */
bool mps_early_client_wanted(const struct mps_meta *meta);
/* Client: HELLO is queued on sf, the winner of the first subflow race. */
void mps_early_client_start(struct mps_meta *meta, struct mps_subflow *sf);
/* Client, before HELLO_ACK: DATA frames for what the app gave. */
void mps_early_client_send(struct mps_meta *meta);
/* Ask for TCP Fast Open on the first subflow to dest (early data on)?
 * auto: where TLS is the protocol (the port says so), yes: always. */
bool mps_early_fastopen_wanted(const struct mps_config *cfg, const struct sockaddr *dest);
/* May an app's first bytes p[0..len) ride in a SYN (TCP Fast Open) under
 * the fastopen key's mode?  auto: only a TLS ClientHello, which a replay
 * of the SYN cannot turn into anything. */
bool mps_early_syn_ok(const char *mode, const uint8_t *p, size_t len);
/* Server: a valid HELLO on sf, the connection about to connect its
 * backend or be handed to the application. */
void mps_early_server_hello(struct mps_meta *meta, struct mps_subflow *sf,
			    const struct mps_frame *f);
/* Server: DATA on a subflow still open to early data.  As sf_handle. */
int mps_early_server_data(struct mps_subflow *sf, const struct mps_frame *f);
/* Server: HELLO_ACK went out. */
void mps_early_server_acked(struct mps_meta *meta);

/* metrics.c */
void mps_metrics_free(struct mps_engine *eng);

/*
 * nofile.c: out of descriptors.  A listener whose accept4() failed for
 * want of a descriptor takes the waiting connection with the engine's
 * spare (eng->spare_fd), or, with no spare to be had, stops polling for
 * MPS_NOFILE_PAUSE_MS: either way the loop does not spin on it.
 */
#define MPS_NOFILE_PAUSE_MS	100
/* EMFILE, ENFILE, or no kernel memory for the socket. */
bool mps_nofile_errno(int err);
/* Rate limit for the warnings: true at most every 10 s per *last_ns. */
bool mps_nofile_warn_due(uint64_t *last_ns);
/* The next connection waiting on lfd, accepted (accept4 flags) in the
 * spare's place: the spare is gone until mps_nofile_spare_restore after
 * the descriptor is closed.  -EAGAIN: none waiting; -EMFILE: no spare,
 * or it did not help (pause the listener). */
int mps_nofile_accept_spare(struct mps_engine *eng, int lfd, int flags);
/* Take a spare again if there is none (cheap when there is one). */
void mps_nofile_spare_restore(struct mps_engine *eng);
/* Reset the next connection waiting on lfd, with the spare: 1 one was
 * refused, try the next; 0 none waiting; -1 no spare (pause). */
int mps_nofile_refuse(struct mps_engine *eng, int lfd);
/*
 * proxyd's reserve: descriptors kept for new connections (a first
 * subflow and its backend), which additional subflows may not take.
 * join_ok: may the JOIN on sf (its own descriptor counted) be accepted?
 * Always true on the shim's listeners, whose descriptors are the
 * application's.
 * admit: fd was just accepted on a backend listener: can it be served
 * (itself, and the backend a HELLO or a plain client will need unless
 * its first bytes say JOIN)?  If not, additional subflows are closed
 * first to make room.  A subflow let in that may need a backend has
 * owes_backend set and counts in eng->nofile_owed until it leaves the
 * unclassified list.
 * out: accept4 on a backend listener failed with err (EMFILE: every
 * descriptor is taken now): make room the same way.
 */
bool mps_nofile_join_ok(struct mps_engine *eng, const struct mps_subflow *sf);
bool mps_nofile_admit(struct mps_engine *eng, int fd, bool owes_backend);
void mps_nofile_out(struct mps_engine *eng, int err);
/* sf's socket was closed (subflow.c): count a closed additional subflow's
 * descriptor as back. */
void mps_nofile_released(struct mps_subflow *sf);

/*
 * forward.c: forward mode.  Server side: a HELLO that names a target (or
 * reaches a listener without a backend) is challenged, its AUTH checked,
 * its destination judged, and only then connected.  Client side: a
 * connection whose `proxy` applies goes to the proxy and names its target.
 * Return values as sf_handle's: 1 the meta ended, 0 go on, < 0 kill.
 */
int mps_forward_server_hello(struct mps_meta *meta, struct mps_subflow *sf,
			     const struct mps_frame *f);
int mps_forward_server_auth(struct mps_subflow *sf, const struct mps_frame *f);
/* The destination answered: send the server's AUTH.  0 or -errno. */
int mps_forward_server_ready(struct mps_meta *meta, struct mps_subflow *sf);
/* A plain client reached a listener without a backend: count, close. */
void mps_forward_plain_refused(struct mps_subflow *sf);
/* Client, before any subflow: 1 when the connection goes through a
 * proxy (meta->dest is now the proxy, fwd.target the destination), 0
 * when not, -errno when it should but the proxy is unusable. */
int mps_forward_client_setup(struct mps_meta *meta);
/* Client: TARGET and PSK for the HELLO about to be sent. */
void mps_forward_client_hello(struct mps_meta *meta, struct mps_frame *f);
/* Client: HELLO_ACK with AUTH arrived (keys already taken): answer. */
int mps_forward_client_challenge(struct mps_subflow *sf, const struct mps_frame *f);
/* Client, AUTH_SENT: the proxy's AUTH. */
int mps_forward_client_auth(struct mps_subflow *sf, const struct mps_frame *f);
/* Client: the proxy cannot be used; proxy_fallback decides. */
void mps_forward_unreachable(struct mps_meta *meta, int err, const char *why);
/* A subflow in AUTH_SENT / AUTH_WAIT has died, or its timer fired. */
void mps_forward_subflow_died(struct mps_meta *meta, enum mps_sf_state was, int err);
void mps_forward_timeout(struct mps_subflow *sf);
void mps_forward_free(struct mps_engine *eng);

/* statsock.c: the live snapshot on @mpshim/stats/PID (stats_socket key).
 * open: 0 or -errno (the engine runs on without it); stop: no new
 * readers, those being answered finish; free: after the loop is gone. */
int mps_statsock_open(struct mps_engine *eng);
void mps_statsock_stop(struct mps_engine *eng);
void mps_statsock_free(struct mps_engine *eng);
void mps_statsock_atfork_child(struct mps_engine *eng);

/* stats.c: the end-of-connection record (stats file and log line) */
void mps_stats_meta_closed(struct mps_engine *eng, const struct mps_meta *meta);
void mps_stats_plain_closed(struct mps_engine *eng, const struct sockaddr *local,
			    const struct sockaddr *remote, uint64_t sent,
			    uint64_t recv, const char *why);
/* The connection object records and snapshots share, appended to t:
 * a multipath connection, or a plain relay (role "client" or "server",
 * state, peer as for a meta, its one TCP connection, why it is plain). */
void mps_stats_meta_json(struct mps_text *t, const struct mps_meta *meta);
void mps_stats_plain_json(struct mps_text *t, const char *role, const char *state,
			  const struct sockaddr *peer, const struct sockaddr *local,
			  const struct sockaddr *remote, uint64_t sent, uint64_t recv,
			  const char *why);
/* The live snapshot document, one line, within t->max.  Refreshes the
 * TCP_INFO of every subflow that has a socket. */
void mps_stats_snapshot(struct mps_engine *eng, struct mps_text *t);

#endif
