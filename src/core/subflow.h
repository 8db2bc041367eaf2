/*
 * subflow.h - one kernel TCP connection carrying frames of a meta
 * connection.
 *
 * Owns: the subflow's socket and its two byte buffers (frames waiting for
 * the kernel, bytes waiting to be parsed), the handshake state of this
 * subflow (HELLO/JOIN), the DSN ranges it carried (for reinjection), and
 * its TCP_INFO snapshot for the scheduler.
 */
#ifndef MPS_SUBFLOW_H
#define MPS_SUBFLOW_H

#include <stdbool.h>
#include <stdint.h>
#include "addr.h"
#include "frame.h"
#include "loop.h"

struct mps_engine;
struct mps_listener;
struct mps_meta;

enum mps_sf_state {
	MPS_SF_CONNECTING,	/* client: TCP connect in flight */
	MPS_SF_HELLO_SENT,	/* client: waiting for HELLO_ACK */
	MPS_SF_JOIN_SENT,	/* client: waiting for JOIN_ACK */
	MPS_SF_CLASSIFY,	/* server: first bytes not yet seen */
	MPS_SF_JOIN_ACKED,	/* server: waiting for JOIN_CONFIRM */
	MPS_SF_ACTIVE,		/* carries data */
	MPS_SF_CLOSING,		/* meta finished: flushing, then FIN */
	MPS_SF_DEAD,		/* failed or closed; socket released */
	MPS_SF_AUTH_SENT,	/* client, forward mode: AUTH sent, waiting for the proxy's */
	MPS_SF_AUTH_WAIT,	/* server, forward mode: HELLO_ACK sent, waiting for AUTH */
};

/* Buffer sizes: ibuf starts at MPS_SF_IMIN and doubles while reads fill
 * it (to MPS_SF_IMAX, more only for one frame that does not fit); obuf is
 * allocated by the first frame, at least MPS_SF_OMIN. */
#define MPS_SF_IMIN	512u
#define MPS_SF_IMAX	(64u * 1024)
#define MPS_SF_OMIN	512u

/* A DSN range this subflow carried and the peer has not DATA_ACKed. */
struct mps_sf_map {
	uint64_t start, end;
	uint64_t wire_end;		/* wire_sent just past its last frame */
	bool fin;
	bool redone;			/* deadline reinjection already sent it */
};

/* TCP counters that outlive the socket, for the connection's TCP_INFO
 * (tcpopt.h): read once more just before the socket closes. */
struct mps_sf_totals {
	uint64_t bytes_sent, bytes_retrans;
	uint32_t total_retrans, segs_out, segs_in, data_segs_out, data_segs_in;
	uint32_t delivered, delivered_ce, dsack_dups, reord_seen, rcv_ooopack;
};

struct mps_subflow {
	struct mps_engine *eng;
	struct mps_meta *meta;		/* NULL while classifying */
	enum mps_sf_state state;
	int sfd;
	unsigned idx;			/* slot in meta->sf[] */
	uint8_t addr_id;
	bool backup;
	bool initial;
	bool bound;			/* left from a chosen local address */
	union mps_sockaddr local, remote;

	uint8_t *ibuf;			/* ibuf_small, or a larger heap block
					 * while full reads double it */
	size_t ilen, icap;
	uint8_t ibuf_small[MPS_SF_IMIN];
	bool ifull;			/* the last RECV filled ibuf */
	bool ishrink;			/* trim.c: idle, shrink ibuf at the next RECV */
	uint8_t *obuf;			/* NULL until a frame is queued */
	size_t ooff, olen, ocap;
	uint8_t *obuf_busy;		/* outgrown buffer a pending send still reads */
	struct mps_op rd, wr, conn;

	struct mps_sf_map *map;		/* ring */
	unsigned map_head, map_n, map_cap;

	uint64_t bytes_sent, bytes_recv;	/* DATA payload bytes */
	uint64_t wire_sent, wire_recv;		/* all frame bytes */
	uint64_t reinjected_bytes;		/* sent here as reinjection */
	/* deadline reinjection (path.c): how far the peer's TCP acked the
	 * stream (in wire_sent bytes), and since when that point has not
	 * moved while the kernel held bytes (0: it holds none) */
	uint64_t wire_acked, stuck_since_ns;
	/* lossy.c: the sampling window of this subflow's path: retransmissions
	 * when it began, checks made, and checks that found the subflow full,
	 * without a queue, while more data waited; when its path last grew */
	uint32_t lossy_retrans;
	uint16_t lossy_ticks, lossy_hits;
	uint64_t lossy_grown_ns;
	struct mps_sf_totals totals;		/* TCP's counters at close */

	/* TCP_INFO snapshot */
	uint32_t srtt_us, rttvar_us, cwnd, unacked, notsent_bytes;
	uint32_t total_retrans;
	uint32_t min_srtt_us;		/* smallest SRTT seen: the path without
					 * a queue (lossy.c) */
	uint32_t last_ack_ms;		/* since the kernel last got an ACK */
	uint32_t mss;
	uint32_t lowat;			/* TCP_NOTSENT_LOWAT set now, 0 none */
	uint64_t penalized_until_ns;	/* kept out of the schedule until then */
	uint64_t info_ns;
	uint64_t last_send_ns;		/* last frame handed to the kernel */
	uint64_t busy_since_ns;		/* first send after it was idle, 0 idle */

	int path;			/* client: index in meta->paths, or -1 */
	unsigned ifindex;		/* interface of the local address, 0
					 * until a link event asks (engine.c) */
	uint8_t peer_addr_id;		/* server: the id the client's JOIN gave */

	uint64_t nonce_local, nonce_peer;
	struct mps_timer timer;		/* connect / classify deadline */
	int err;			/* -errno that ended it */
	const char *why;		/* short reason, for logs */
	struct mps_subflow *lnext;	/* engine's list of unclassified, */
	struct mps_subflow *lprev;	/* then the graveyard (lnext only) */
	struct mps_listener *listener;	/* server: the listener that accepted it */
	uint64_t classify_end_ns;	/* server: deadline for the first bytes */
	bool classified;		/* server: the first bytes are ours */
	bool to_plain;			/* server: hand to a plain relay once idle */
	bool released;			/* socket gone; struct freed by its owner */
	bool was_active;		/* ever carried data: keep it for stats */
	bool shed;			/* nofile.c: closed for its descriptor,
					 * which is not released yet */
	bool owes_backend;		/* nofile.c: classifying on a backend
					 * listener, not known to be a JOIN */
	bool hold;			/* frames wait in obuf: mps_subflow_hold */
	bool tfo;			/* client, initial: the kernel put the SYN
					 * off until the first send (TCP Fast
					 * Open), which HELLO and early data share */
	bool early_open;		/* server, initial subflow: DATA on it is the
					 * client's early data until its first
					 * DATA_ACK (early.c) */
};

/* Bytes queued in user space for the kernel. */
static inline size_t mps_subflow_queued(const struct mps_subflow *sf)
{
	return sf->olen - sf->ooff;
}

bool mps_subflow_usable(const struct mps_subflow *sf);
/* Room for one more DATA frame of `len` payload bytes. */
bool mps_subflow_has_room(const struct mps_subflow *sf, size_t len);
/*
 * Payload of the next DATA frame on sf, at most cap: over its first
 * MPS_FRAME_RAMP_BYTES, a quarter of its congestion window, in whole
 * segments with the header (at least one).  The receiver delivers whole
 * frames only, so a frame larger than the flight that carries it makes
 * its first byte wait a round trip more: a 16 KiB frame does not fit in
 * TCP's initial ten segments.
 */
#define MPS_FRAME_RAMP_BYTES	65536u
size_t mps_subflow_frame_for(const struct mps_subflow *sf, size_t cap);
/* TCP_NOTSENT_LOWAT for a subflow sending cwnd x mss per srtt: about
 * MPS_LOWAT_US of it, at least MPS_LOWAT_MIN, at most cap. */
#define MPS_LOWAT_US	5000u
#define MPS_LOWAT_MIN	(16u * 1024)
uint32_t mps_subflow_lowat_for(uint32_t cwnd, uint32_t mss, uint32_t srtt_us,
			       uint32_t cap);
/* Refresh the TCP_INFO snapshot if older than max_age_ns (and retune
 * TCP_NOTSENT_LOWAT to the rate it shows).  0 or -errno. */
int mps_subflow_info_refresh(struct mps_subflow *sf, uint64_t now_ns,
			     uint64_t max_age_ns);

/* Record that DSNs [start, end) go out on sf in frames that end at stream
 * offset wire_end (wire_sent once they are queued). */
int mps_subflow_map_push(struct mps_subflow *sf, uint64_t start, uint64_t end,
			 bool fin, uint64_t wire_end);
/* Drop map entries wholly below una. */
void mps_subflow_map_ack(struct mps_subflow *sf, uint64_t una);

#endif
