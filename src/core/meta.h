/*
 * meta.h - a meta connection: the byte stream the application sees,
 * carried by one or more subflows.
 *
 * Owns: the data sequence space in both directions (send queue kept until
 * DATA_ACKed, reinject set, receive/reorder ring, data-level window, the two
 * DATA_FINs), the handshake keys, and the list of subflows.  The sequence
 * logic here makes no system call, so tests/unit/test_meta.c drives it
 * directly; engine.c and subflow.c connect it to sockets.
 *
 * Sequence conventions (as RFC 8684): the first data byte a side sends has
 * DSN = its IDSN; a DATA_FIN occupies one sequence number after the last
 * byte, so DATA_ACK = fin_dsn + 1 acknowledges it.
 */
#ifndef MPS_META_H
#define MPS_META_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "addr.h"
#include "buf.h"
#include "crypto.h"
#include "engine.h"
#include "loop.h"
#include "pm.h"

struct mps_config;
#define MPS_MAX_SUBFLOWS	16
#define MPS_INITIAL_WINDOW	65536u	/* assumed until the peer advertises */
/* Our own receive window before autotuning grows it: what the kernel's
 * default receive buffer (tcp_rmem[1], 128 KiB) lets a plain socket take.
 * At 64 KiB the window, which doubles only after a whole window was read,
 * held back a slow-starting sender in its fourth round trip (S2: a 256 KB
 * download took 1 ms longer).  A slow reader holds at most this much. */
#define MPS_RCV_WINDOW_START	131072u
#define MPS_MAX_OOO_RANGES	4096u	/* reorder holes before the peer is cut off */
/* Early data: the client may send DSNs [idsn_c, idsn_c + this) right
 * after HELLO, before HELLO_ACK; every server can buffer them (its
 * receive window starts at MPS_INITIAL_WINDOW, and rcvbuf is at least
 * that).  A protocol constant, not a setting. */
#define MPS_EARLY_WINDOW	65536u

struct mps_engine;
struct mps_subflow;

/* A client's wish for a subflow between two addresses.  When its subflow
 * fails, the path waits (backoff) and opens a new one; that is how a path
 * that comes back is used again. */
struct mps_path {
	union mps_sockaddr local, remote;
	bool has_local;
	struct mps_subflow *sf;		/* current subflow, NULL while waiting */
	unsigned backoff_ms;		/* next wait after a failure */
	uint64_t retry_at_ns;		/* when to try again (sf == NULL) */
	unsigned failures;
	bool backup;			/* its subflows are backups (PRIO) */
	int local_idx;			/* entry of cfg local[] to resolve at
					 * each attempt (interfaces change
					 * addresses), or -1: use `local` */
};
struct mps_sched_ops;
struct mps_pm_ops;

enum mps_meta_role { MPS_ROLE_C = 0, MPS_ROLE_S = 1 };

/*
 * Forward mode (forward.c).  Client: the application asked for `target`;
 * meta->dest is the proxy its subflows go to.  Server: `target` is the
 * destination the client named in HELLO, meta->dest once it is allowed.
 * msg is what both AUTH proofs cover; proof_s is the server's proof, to
 * send (server) or to expect (client), computed with the client's.
 */
struct mps_meta_fwd {
	bool on;
	union mps_sockaddr target;
	struct mps_auth_msg msg;
	uint8_t proof_s[32];
};

/*
 * Early data (0-RTT, early.c): DATA frames the client sends on its
 * initial subflow after HELLO and before its first DATA_ACK, that is
 * before it has seen HELLO_ACK, within MPS_EARLY_WINDOW of idsn_c.
 */
struct mps_meta_early {
	bool on;		/* client: this connection sends early data;
				 * server: a HELLO without TARGET, so early
				 * DATA is accepted */
	bool reported;		/* client: connect() told success before
				 * HELLO_ACK */
	bool crc;		/* server: the HELLO asked for CRC, so early
				 * DATA must carry one */
	bool fin;		/* a DATA_FIN went (client) or came (server)
				 * as early data */
	bool counted;		/* the engine's counters have this connection */
	uint64_t bytes;		/* early payload bytes sent (client) or newly
				 * received (server) */
	bool syn_data;		/* the initial subflow's SYN carried HELLO
				 * (TCP Fast Open), as its TCP_INFO says */
	const char *fb_why;	/* client: a fallback waits for the RECV from
				 * the app to complete */
};

enum mps_meta_state {
	MPS_META_CONNECTING,	/* initial subflow or HELLO in progress */
	MPS_META_ESTABLISHED,	/* keys known, data may flow */
	MPS_META_PLAIN,		/* fallback: raw bytes relayed, no framing */
	MPS_META_CLOSED,	/* both directions done or aborted; being freed */
};

/*
 * Ring sizes are tuned to what the connection moves (see "Buffer
 * autotuning" in doc/ARCHITECTURE.md): a ring starts without memory,
 * doubles from MPS_RING_MIN when it must, never beyond its bound
 * (sndbuf, rcvbuf), and is freed again when it is empty and idle.
 */
#define MPS_RING_MIN		4096u

/* Sending half: bytes from the application, kept until DATA_ACKed. */
struct mps_meta_snd {
	struct mps_ring q;		/* holds [una, end); capacity tuned */
	size_t max;			/* bound of q's capacity: sndbuf */
	uint64_t una;			/* oldest byte not DATA_ACKed */
	uint64_t nxt;			/* next new byte to map onto a subflow */
	uint64_t end;			/* one past the last byte the app gave */
	uint64_t wnd_end;		/* peer allows DSN < wnd_end */
	struct mps_rangeset reinject;	/* sent on a dead subflow, not acked */
	bool fin_queued;		/* app closed its side: FIN at dsn == end */
	bool fin_sent;			/* FIN mapped on a live subflow */
	bool fin_ever_sent;		/* once sent, the peer may ack it */
	bool fin_acked;
	uint64_t reinjected_bytes;
};

/* Receiving half: reorder ring whose base is the first undelivered byte. */
struct mps_meta_rcv {
	struct mps_ring q;		/* base = next byte to hand to the app;
					 * capacity follows the data held */
	struct mps_ring_mem q_busy;	/* outgrown buffer a pending SEND to
					 * the app still reads */
	size_t max;			/* bound of the window: rcvbuf */
	size_t wnd;			/* right edge = q.base + wnd; only grows */
	size_t taken;			/* bytes the app took, keeping up,
					 * since wnd last grew */
	uint64_t nxt;			/* one past the contiguous received bytes */
	struct mps_rangeset ooo;	/* received beyond nxt */
	bool fin;			/* peer's DATA_FIN seen */
	uint64_t fin_dsn;
	uint64_t ack_sent;		/* last DATA_ACK we sent */
	uint64_t wnd_end_sent;		/* last right edge we advertised */
	uint64_t dup_bytes;		/* received twice (reinjection overlap) */
};

struct mps_meta {
	struct mps_engine *eng;
	enum mps_meta_role role;
	enum mps_meta_state state;
	unsigned id;			/* for logs */

	/* handshake */
	uint64_t key_local, key_peer;
	uint32_t token_local, token_peer;
	uint64_t idsn_local, idsn_peer;
	struct mps_x25519 kx;
	uint8_t join_key[32];		/* see kx_pending */
	/* proxyd: the X25519 exchange and the join key wait until the first
	 * answer has left (meta_kx_timer); kx_peer holds the client's key */
	bool kx_pending;
	uint8_t kx_peer[MPS_X25519_LEN];
	struct mps_timer kx_timer;
	uint64_t seen_nonces[32];	/* JOIN replay guard, ring */
	unsigned n_seen_nonces;
	bool checksum;
	struct mps_meta_fwd fwd;	/* forward mode, when fwd.on */
	struct mps_meta_early early;	/* data before HELLO_ACK */

	struct mps_meta_snd snd;
	struct mps_meta_rcv rcv;
	size_t frame_size;

	/* the application end: relay socket (shim) or backend socket (proxyd).
	 * erd is a RECV into the send ring, or, while the ring has no
	 * memory, a POLL for the app's next byte */
	int efd;
	struct mps_op erd, ewr;
	struct mps_op econn;		/* proxyd: backend connect in flight */
	bool app_rd_eof;		/* app will send no more */
	bool app_wr_shut;		/* we shut the app's read side (EOF given) */
	bool app_gone;			/* writing to the app failed */
	bool app_readable;		/* erd's POLL saw the app end readable */
	bool snd_trim;			/* erd's RECV cancelled to free the ring */
	bool efd_reset;			/* the backend reset before its connect
					 * was seen: its EOF is a reset */
	bool app_reset_due;		/* aborted: reset the relay once no op
					 * on it is pending */

	struct mps_subflow *sf[MPS_MAX_SUBFLOWS];
	unsigned n_sf;
	struct mps_path paths[MPS_MAX_SUBFLOWS];	/* client side */
	unsigned n_paths;
	struct mps_timer retry_timer;	/* re-creating failed paths */
	struct mps_timer init_timer;	/* first subflow: next path's turn */
	struct mps_pm_candidate init_cand[MPS_PM_MAX_CANDIDATES];
	unsigned n_init_cand;		/* listed once, when the connect starts */
	unsigned init_tries;		/* first-subflow attempts started */
	unsigned init_live;		/* ... and still connecting */
	struct mps_presyn presyn;	/* the caller's first SYN (engine.h),
					 * until mps_initial_start takes it */
	uint8_t peer_addr_ids[MPS_MAX_SUBFLOWS];	/* ADD_ADDRs already acted on */
	unsigned n_peer_addrs;
	/* client: the server's HELLO_ACK carried NOJOIN (it is behind a load
	 * balancer): no subflow to dest beyond the first, only to ADD_ADDRs */
	bool peer_nojoin;
	struct mps_timer live_timer;	/* liveness checks and heartbeats */
	uint64_t orphan_since_ns;	/* no live subflow since, 0 if some */
	unsigned sf_ever;		/* subflows created, for address ids */
	const struct mps_config *cfg;	/* the engine's, or own_cfg (policy) */
	struct mps_config *own_cfg;
	const struct mps_sched_ops *sched;
	unsigned rr_next;		/* roundrobin's turn */
	uint64_t opp_una;		/* last blocker sent again opportunistically */
	bool opp_una_valid;
	uint64_t opp_retrans_bytes;
	uint64_t deadline_bytes;	/* queued by deadline reinjection */
	unsigned lossy_grows;		/* lossy.c: paths grown for loss */
	const struct mps_pm_ops *pm;

	char congestion[16];		/* the application's TCP_CONGESTION for
					 * every subflow, "" the system's */

	union mps_sockaddr dest;	/* where the client connects */
	char fallback[64];		/* reason, "" when multipath */
	int err;			/* first fatal error, -errno */
	uint64_t t_start_ns;

	struct mps_timer ack_timer;
	struct mps_timer hs_timer;	/* HELLO_ACK wait, backend connect */
	struct mps_timer hold_timer;	/* server: end of the initial hold */
	bool ack_now;

	/* completion of a client connect (shim), see mps_engine_connect() */
	void (*on_connect)(void *arg, int err, const struct sockaddr *local,
			   bool multipath);
	void *on_connect_arg;
	size_t filler;			/* bytes to discard from efd first */
	bool in_dirty;			/* on the engine's dirty list */
	bool was_established;		/* a stats line is due at the end */

	struct mps_meta *next, *prev;	/* engine's list */
	struct mps_meta *trim_next, *trim_prev;	/* trim.c: holding buffers */
	bool on_trim_list;
	uint64_t trim_mark;		/* trim.c: progress at the last look */
	struct mps_meta *tok_next;	/* engine's token hash chain */
};

/* Sequence logic (no system calls). */
int mps_meta_seq_init(struct mps_meta *meta, size_t sndbuf, size_t rcvbuf);
void mps_meta_seq_free(struct mps_meta *meta);
/* Start the sequence spaces once both keys are known. */
void mps_meta_seq_start(struct mps_meta *meta);
/* The same, one half at a time: a client sending early data starts its
 * sending half at connect, when only its own key is known, and the
 * receiving half on HELLO_ACK. */
void mps_meta_snd_start(struct mps_meta *meta);
void mps_meta_rcv_start(struct mps_meta *meta);

/* Room for app bytes in the send queue as it is allocated now. */
size_t mps_meta_snd_space(const struct mps_meta *meta);
/* Contiguous free span at the send queue's tail for a recv from the app.
 * Grows the ring first when the app fills it and the peer's window could
 * take more, so call it only while no operation reads or writes the ring.
 * 0 when the queue is full, or when memory for an empty one is lacking. */
size_t mps_meta_snd_tail(struct mps_meta *meta, uint8_t **ptr);
/* An empty send ring without memory gets room for want bytes at once
 * (a power of two from MPS_RING_MIN, within sndbuf and the peer's
 * window) instead of doubling its way there one read at a time. */
void mps_meta_snd_reserve(struct mps_meta *meta, size_t want);
void mps_meta_snd_commit(struct mps_meta *meta, size_t len);

/*
 * Next piece to send: reinjections first, then new data inside the peer's
 * window, at most max bytes.  Returns true with (dsn, len) set; len 0 with
 * *fin set means a bare DATA_FIN is due.  Marks the piece as sent.
 */
bool mps_meta_snd_next(struct mps_meta *meta, size_t max, uint64_t *dsn,
		       size_t *len, bool *fin, bool *reinject);
/* Data the subflow that carried [start, end) can no longer deliver. */
void mps_meta_snd_reinject(struct mps_meta *meta, uint64_t start, uint64_t end,
			   bool fin);
/* A DATA_ACK arrived.  Returns bytes newly acknowledged, or -EPROTO for an
 * ack of data never sent (ignored by the caller, counted). */
long mps_meta_snd_ack(struct mps_meta *meta, uint64_t ack, uint32_t window);
bool mps_meta_snd_done(const struct mps_meta *meta);

/* A DATA frame arrived.  Returns new bytes accepted (>= 0) or -EPROTO for a
 * frame beyond the advertised window or a FIN that contradicts an earlier
 * one, -ENOSPC when the peer fragments the window past the hole bound,
 * -ENOMEM when the ring cannot grow to hold it. */
long mps_meta_rcv_data(struct mps_meta *meta, uint64_t dsn, const uint8_t *buf,
		       size_t len, bool fin);
/*
 * Server: a DATA frame of the client's early data (see struct
 * mps_meta_early).  Refused with -EPROTO unless early.on (a HELLO without
 * TARGET: never in forward mode) and [dsn, dsn + len) lies within
 * [idsn_peer, idsn_peer + MPS_EARLY_WINDOW); otherwise as
 * mps_meta_rcv_data.  The receiving half must be started.
 */
long mps_meta_rcv_early(struct mps_meta *meta, uint64_t dsn, const uint8_t *buf,
			size_t len, bool fin);
/* Client sending early data: room left in the early window for bytes
 * from the app (what the send ring may hold before HELLO_ACK). */
size_t mps_meta_snd_early_room(const struct mps_meta *meta);
/* Contiguous bytes ready for the app. */
size_t mps_meta_rcv_ready(struct mps_meta *meta, uint8_t **ptr);
void mps_meta_rcv_consume(struct mps_meta *meta, size_t len);
/* The cumulative DATA_ACK and window to advertise now. */
uint64_t mps_meta_rcv_ack(const struct mps_meta *meta);
uint32_t mps_meta_rcv_window(const struct mps_meta *meta);
/* Everything up to the peer's DATA_FIN delivered to the app. */
bool mps_meta_rcv_done(const struct mps_meta *meta);
/* Should a DATA_ACK go out now (ack or window moved enough)? */
bool mps_meta_rcv_ack_due(const struct mps_meta *meta);
void mps_meta_rcv_ack_sent(struct mps_meta *meta);
/* Server: HELLO_ACK's window, counted from idsn_peer as the client takes
 * it, whatever early data arrived; and the record that HELLO_ACK told the
 * peer that much (its ack is idsn_peer), so early data is acked next. */
uint32_t mps_meta_rcv_hello_window(const struct mps_meta *meta);
void mps_meta_rcv_hello_sent(struct mps_meta *meta);

/* Idle connections: free a ring that holds no byte.  The send ring only
 * while no RECV from the app writes into it, the receive ring only while no
 * SEND to the app reads it (checked here: meta->ewr).  Bytes freed. */
size_t mps_meta_snd_trim(struct mps_meta *meta);
size_t mps_meta_rcv_trim(struct mps_meta *meta);

#endif
