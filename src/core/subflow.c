/*
 * subflow.c - one kernel TCP connection under a meta connection: its
 * socket, buffers, handshake state machine and frame dispatch.
 *
 * Lifetime: a subflow holds up to three loop ops (rd, wr, conn).  It is
 * released only when none is pending, so a callback never sees freed
 * memory; mps_subflow_die() cancels what is pending and lets the
 * callbacks finish the job.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "clock.h"
#include "config.h"
#include "crc32c.h"
#include "crypto.h"
#include "engine_int.h"
#include "log.h"
#include "path.h"
#include "pm.h"
#include "sock.h"
#include "tcpopt.h"

static void sf_on_recv(struct mps_op *op, int res);
static void sf_on_send(struct mps_op *op, int res);
static void sf_on_connect(struct mps_op *op, int res);
static void sf_on_timer(struct mps_timer *t);

struct mps_subflow *mps_subflow_new(struct mps_engine *eng, int sfd)
{
	struct mps_subflow *sf = calloc(1, sizeof(*sf));

	if (!sf)
		return NULL;
	/* small until the peer sends faster than one read of it takes:
	 * handshakes, acks and heartbeats fit */
	sf->ibuf = sf->ibuf_small;
	sf->icap = MPS_SF_IMIN;
	sf->eng = eng;
	sf->sfd = sfd;
	sf->srtt_us = UINT32_MAX;	/* unknown until the first TCP_INFO */
	sf->path = -1;
	mps_timer_init(&sf->timer, sf_on_timer, sf);
	mps_op_init(&sf->rd, MPS_OP_RECV, sf_on_recv, sf);
	mps_op_init(&sf->wr, MPS_OP_SEND, sf_on_send, sf);
	mps_op_init(&sf->conn, MPS_OP_POLL, sf_on_connect, sf);
	eng->cnt.subflows_open++;
	return sf;
}

void mps_subflow_free(struct mps_subflow *sf)
{
	if (sf->sfd >= 0) {
		close(sf->sfd);
		sf->eng->cnt.subflows_open--;
		mps_nofile_released(sf);
	}
	if (sf->ibuf != sf->ibuf_small)
		free(sf->ibuf);
	free(sf->obuf);
	free(sf->obuf_busy);
	free(sf->map);
	if (sf->listener)
		mps_listener_put(sf->listener);
	free(sf);
}

bool mps_subflow_usable(const struct mps_subflow *sf)
{
	return sf->state == MPS_SF_ACTIVE;
}

bool mps_subflow_has_room(const struct mps_subflow *sf, size_t len)
{
	/* one frame may wait in user space while the kernel takes the
	 * previous one: the scheduler decides as late as possible */
	return mps_subflow_queued(sf) < len + MPS_DATA_HDR_LEN + 4;
}

size_t mps_subflow_frame_for(const struct mps_subflow *sf, size_t cap)
{
	size_t hdr = MPS_DATA_HDR_LEN + (sf->meta && sf->meta->checksum ? 4 : 0);
	size_t mss = sf->mss ? sf->mss : 1448;
	size_t segs = sf->cwnd / 4, len;

	/* not measured yet, or past the first flights: small frames cost
	 * CPU per byte (bench S7, 1000 connections: 14% of the goodput) */
	if (!sf->cwnd || sf->bytes_sent >= MPS_FRAME_RAMP_BYTES)
		return cap;
	if (segs < 1)
		segs = 1;
	len = segs * mss;
	len = len > hdr ? len - hdr : 1;
	return len < cap ? len : cap;
}

uint32_t mps_subflow_lowat_for(uint32_t cwnd, uint32_t mss, uint32_t srtt_us,
			       uint32_t cap)
{
	uint64_t want;

	if (!srtt_us || srtt_us == UINT32_MAX || !cwnd)
		return cap;
	/* bytes per second, times the share of it kept queued */
	want = (uint64_t)cwnd * (mss ? mss : 1448) * MPS_LOWAT_US / srtt_us;
	if (want < MPS_LOWAT_MIN)
		want = MPS_LOWAT_MIN;
	return want < cap ? (uint32_t)want : cap;
}

/*
 * TCP_NOTSENT_LOWAT follows the subflow's rate (cwnd x mss / srtt): the
 * kernel keeps about MPS_LOWAT_US of sending queued, at least a frame,
 * at most notsent_lowat.  A fixed 64 KiB was 10 ms on a 50 Mbit/s path
 * but 170 ms on a 3 Mbit/s lossy one, where every frame then waited that
 * long behind the queue and held up the receiver's in-order delivery
 * until its buffer was full and the fast path stalled too (S2).  Changed
 * only when it moves by a quarter, so a steady subflow costs no syscalls.
 */
static void lowat_tune(struct mps_subflow *sf)
{
	long cap = sf->eng->cfg.notsent_lowat;
	uint32_t want;
	int v;

	if (cap <= 0 || !sf->lowat)
		return;
	want = mps_subflow_lowat_for(sf->cwnd, sf->mss, sf->srtt_us, (uint32_t)cap);
	if (want * 4 > sf->lowat * 3 && want * 4 < sf->lowat * 5)
		return;
	v = (int)want;
	if (!setsockopt(sf->sfd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof(v)))
		sf->lowat = want;
}

int mps_subflow_info_refresh(struct mps_subflow *sf, uint64_t now_ns,
			     uint64_t max_age_ns)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (sf->sfd < 0 || (sf->info_ns && max_age_ns && now_ns - sf->info_ns < max_age_ns))
		return 0;
	if (getsockopt(sf->sfd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -errno;
	sf->srtt_us = ti.tcpi_rtt;
	if (ti.tcpi_rtt && (!sf->min_srtt_us || ti.tcpi_rtt < sf->min_srtt_us))
		sf->min_srtt_us = ti.tcpi_rtt;
	sf->total_retrans = ti.tcpi_total_retrans;
	sf->rttvar_us = ti.tcpi_rttvar;
	sf->cwnd = ti.tcpi_snd_cwnd;
	sf->unacked = ti.tcpi_unacked;
	sf->last_ack_ms = ti.tcpi_last_ack_recv;
	sf->mss = ti.tcpi_snd_mss;
	sf->info_ns = now_ns;
	lowat_tune(sf);
	return 0;
}

int mps_subflow_map_push(struct mps_subflow *sf, uint64_t start, uint64_t end,
			 bool fin, uint64_t wire_end)
{
	struct mps_sf_map *m;

	/* extend the last entry when the stream continues it */
	if (sf->map_n) {
		m = &sf->map[(sf->map_head + sf->map_n - 1) % sf->map_cap];
		if (m->end == start && !m->fin) {
			m->end = end;
			m->fin = fin;
			m->wire_end = wire_end;
			return 0;
		}
	}
	if (sf->map_n == sf->map_cap) {
		unsigned ncap = sf->map_cap ? sf->map_cap * 2 : 16;
		struct mps_sf_map *nm = malloc(ncap * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		for (unsigned i = 0; i < sf->map_n; i++)
			nm[i] = sf->map[(sf->map_head + i) % sf->map_cap];
		free(sf->map);
		sf->map = nm;
		sf->map_cap = ncap;
		sf->map_head = 0;
	}
	m = &sf->map[(sf->map_head + sf->map_n) % sf->map_cap];
	m->start = start;
	m->end = end;
	m->fin = fin;
	m->redone = false;
	m->wire_end = wire_end;
	sf->map_n++;
	return 0;
}

void mps_subflow_map_ack(struct mps_subflow *sf, uint64_t una)
{
	while (sf->map_n) {
		struct mps_sf_map *m = &sf->map[sf->map_head];

		/* a FIN entry is acked only by una past the FIN itself */
		if (mps_seq_before(una, m->end + (m->fin ? 1 : 0)))
			break;
		sf->map_head = (sf->map_head + 1) % sf->map_cap;
		sf->map_n--;
	}
}

void mps_subflow_apply_sockopts(struct mps_subflow *sf)
{
	const struct mps_config *cfg = &sf->eng->cfg;
	int one = 1;

	/* frames are already batched; Nagle would only add delay */
	setsockopt(sf->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (cfg->notsent_lowat > 0) {
		int v = (int)cfg->notsent_lowat;

		if (!setsockopt(sf->sfd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof(v)))
			sf->lowat = (uint32_t)v;
	}
	if (cfg->subflow_timeout_ms > 0) {
		unsigned v = (unsigned)cfg->subflow_timeout_ms;

		setsockopt(sf->sfd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v));
	}
	mps_tcpopt_subflow_apply(sf);
}

static int obuf_reserve(struct mps_subflow *sf, size_t need)
{
	uint8_t *nb;
	size_t ncap;

	if (sf->ooff && sf->olen + need > sf->ocap && !sf->wr.pending) {
		memmove(sf->obuf, sf->obuf + sf->ooff, sf->olen - sf->ooff);
		sf->olen -= sf->ooff;
		sf->ooff = 0;
	}
	if (sf->olen + need <= sf->ocap)
		return 0;
	/* doubling, or straight to what is needed (a first DATA frame) */
	ncap = sf->ocap ? sf->ocap * 2 : MPS_SF_OMIN;
	if (ncap < sf->olen + need)
		ncap = sf->olen + need;
	if (!sf->wr.pending) {
		nb = realloc(sf->obuf, ncap);
		if (!nb)
			return -ENOMEM;
	} else {
		/* a pending send still reads the old buffer (io_uring and the
		 * epoll backend both touch it later): copy, keep it alive
		 * until that send completes; same offsets in the new one */
		nb = malloc(ncap);
		if (!nb)
			return -ENOMEM;
		memcpy(nb, sf->obuf, sf->olen);
		if (sf->obuf_busy)
			free(sf->obuf);	/* an intermediate copy nobody reads */
		else
			sf->obuf_busy = sf->obuf;
	}
	sf->obuf = nb;
	sf->ocap = ncap;
	return 0;
}

void mps_subflow_hold(struct mps_subflow *sf)
{
	sf->hold = true;
}

void mps_subflow_release(struct mps_subflow *sf)
{
	if (!sf->hold)
		return;
	sf->hold = false;
	mps_subflow_kick(sf);
}

void mps_subflow_kick(struct mps_subflow *sf)
{
	if (sf->hold || sf->wr.pending || sf->sfd < 0 || sf->olen == sf->ooff)
		return;
	if (sf->state == MPS_SF_DEAD || sf->state == MPS_SF_CONNECTING)
		return;
	sf->last_send_ns = mps_clock_ns();
	if (!sf->busy_since_ns)
		sf->busy_since_ns = sf->last_send_ns;
	sf->wr.fd = sf->sfd;
	sf->wr.buf = sf->obuf + sf->ooff;
	sf->wr.len = sf->olen - sf->ooff;
	sf->wr.msg_flags = 0;
	if (mps_loop_submit(sf->eng->loop, &sf->wr))
		mps_subflow_die(sf, -EIO, "submit failed");
}

int mps_subflow_send_frame(struct mps_subflow *sf, const struct mps_frame *f)
{
	int n, rc;

	rc = obuf_reserve(sf, MPS_FRAME_HDR_LEN + 256);
	if (rc)
		return rc;
	n = mps_frame_encode(f, sf->obuf + sf->olen, sf->ocap - sf->olen);
	if (n < 0)
		return -EINVAL;
	sf->olen += (size_t)n;
	sf->wire_sent += (size_t)n;
	mps_subflow_kick(sf);
	return 0;
}

int mps_subflow_send_data(struct mps_subflow *sf, uint64_t dsn, size_t len,
			  bool fin)
{
	struct mps_meta *meta = sf->meta;
	size_t hdr = MPS_DATA_HDR_LEN + (meta->checksum ? 4 : 0);
	uint8_t *p;
	uint32_t crc;
	int rc;

	rc = obuf_reserve(sf, hdr + len);
	if (rc)
		return rc;
	p = sf->obuf + sf->olen;
	if (len)
		mps_ring_read(&meta->snd.q, dsn, p + hdr, len);
	if (meta->checksum) {
		crc = mps_crc32c(0, p + hdr, len);
		mps_frame_data_hdr(p, dsn, (uint16_t)len, fin ? MPS_DATA_F_FIN : 0, &crc);
	} else {
		mps_frame_data_hdr(p, dsn, (uint16_t)len, fin ? MPS_DATA_F_FIN : 0, NULL);
	}
	rc = mps_subflow_map_push(sf, dsn, dsn + len, fin, sf->wire_sent + hdr + len);
	if (rc)
		return rc;
	sf->olen += hdr + len;
	sf->wire_sent += hdr + len;
	sf->bytes_sent += len;
	mps_subflow_kick(sf);
	return 0;
}

/* The size of ibuf for the next RECV, or 0 to keep it. */
static size_t ibuf_next_cap(const struct mps_subflow *sf)
{
	if (sf->ilen == sf->icap) {
		/* a frame larger than the buffer: double, and beyond
		 * MPS_SF_IMAX straight to the protocol's largest frame */
		if (sf->icap < MPS_SF_IMAX)
			return sf->icap * 2;
		return sf->icap < MPS_FRAME_MAX_LEN + 1024 ? MPS_FRAME_MAX_LEN + 1024 : 0;
	}
	/* a read that filled the buffer: more was waiting */
	if (sf->ifull && sf->icap < MPS_SF_IMAX)
		return sf->icap * 2;
	/* trim.c found the connection idle: back to the minimum */
	if (sf->ishrink && !sf->ifull && sf->icap > MPS_SF_IMIN && sf->ilen <= MPS_SF_IMIN / 2)
		return MPS_SF_IMIN;
	return 0;
}

void mps_subflow_start_recv(struct mps_subflow *sf)
{
	size_t ncap;

	if (sf->rd.pending || sf->sfd < 0)
		return;
	ncap = ibuf_next_cap(sf);
	sf->ishrink = false;
	if (ncap == MPS_SF_IMIN) {
		/* back into the struct: a small heap block left behind would
		 * pin a page of the heap that the trim freed around it */
		memcpy(sf->ibuf_small, sf->ibuf, sf->ilen);
		free(sf->ibuf);
		sf->eng->trim_freed += sf->icap;
		sf->ibuf = sf->ibuf_small;
		sf->icap = ncap;
	} else if (ncap) {
		uint8_t *nb = malloc(ncap);

		if (nb) {
			memcpy(nb, sf->ibuf, sf->ilen);
			if (sf->ibuf != sf->ibuf_small)
				free(sf->ibuf);
			sf->ibuf = nb;
			sf->icap = ncap;
		}
	}
	if (sf->ilen == sf->icap) {	/* no room, and none to be had */
		mps_subflow_die(sf, -ENOMEM, "receive buffer");
		return;
	}
	sf->rd.fd = sf->sfd;
	sf->rd.buf = sf->ibuf + sf->ilen;
	sf->rd.len = sf->icap - sf->ilen;
	sf->rd.msg_flags = 0;
	if (mps_loop_submit(sf->eng->loop, &sf->rd))
		mps_subflow_die(sf, -EIO, "submit failed");
}

static int send_hello(struct mps_subflow *sf)
{
	struct mps_meta *meta = sf->meta;
	struct mps_frame f = { .type = MPS_FT_HELLO };

	f.flags = meta->checksum ? MPS_HELLO_F_CRC : 0;
	f.u.hello.version = MPS_PROTO_VERSION;
	f.u.hello.key = meta->key_local;
	memcpy(f.u.hello.pub, meta->kx.pub, sizeof(f.u.hello.pub));
	if (meta->fwd.on)
		mps_forward_client_hello(meta, &f);
	return mps_subflow_send_frame(sf, &f);
}

static int send_join(struct mps_subflow *sf)
{
	struct mps_frame f = { .type = MPS_FT_JOIN };
	int rc;

	rc = mps_crypto_random(&sf->nonce_local, sizeof(sf->nonce_local));
	if (rc)
		return rc;
	f.flags = sf->backup ? MPS_JOIN_F_BACKUP : 0;
	f.u.join.token = sf->meta->token_peer;
	f.u.join.nonce = sf->nonce_local;
	f.u.join.addr_id = sf->addr_id;
	return mps_subflow_send_frame(sf, &f);
}

/* An extra subflow is worth less than the connection: a path that does
 * not answer is retried (path.c) rather than waited for long. */
static uint64_t join_timeout_ms(const struct mps_config *cfg)
{
	return cfg->connect_timeout_ms < 3000 ? (uint64_t)cfg->connect_timeout_ms : 3000;
}

int mps_subflow_connect(struct mps_subflow *sf, const union mps_sockaddr *local,
			const union mps_sockaddr *remote)
{
	const struct sockaddr *src = local ? &local->sa : NULL;
	int fd;

	if (sf->initial && sf->meta && sf->meta->early.on &&
	    mps_early_fastopen_wanted(sf->meta->cfg, &remote->sa))
		fd = mps_sock_connect_fastopen(&remote->sa, src, &sf->tfo);
	else
		fd = mps_sock_connect_start(&remote->sa, src);

	if (fd < 0) {
		/* known even so: the failure is noted against it */
		sf->bound = local != NULL;
		if (local)
			sf->local = *local;
		return fd;
	}
	return mps_subflow_adopt(sf, fd, local, remote);
}

int mps_subflow_adopt(struct mps_subflow *sf, int fd, const union mps_sockaddr *local,
		      const union mps_sockaddr *remote)
{
	const struct mps_config *cfg = &sf->eng->cfg;
	int rc;

	/* known before the connect ends: a failure is noted against it */
	sf->bound = local != NULL;
	if (local)
		sf->local = *local;
	sf->sfd = fd;
	sf->remote = *remote;
	mps_subflow_apply_sockopts(sf);
	sf->state = MPS_SF_CONNECTING;
	rc = mps_loop_poll(sf->eng->loop, &sf->conn, fd, POLLOUT);
	if (rc) {
		close(fd);
		sf->sfd = -1;
		return rc;
	}
	mps_timer_arm(sf->eng->loop, &sf->timer, sf->initial ?
		      (uint64_t)cfg->connect_timeout_ms : join_timeout_ms(cfg));
	return 0;
}

static void sf_connected(struct mps_subflow *sf)
{
	const struct mps_config *cfg = &sf->eng->cfg;
	socklen_t len = sizeof(sf->local);
	int rc;

	getsockname(sf->sfd, &sf->local.sa, &len);
	mps_timer_cancel(sf->eng->loop, &sf->timer);
	if (sf->initial) {
		mps_initial_connected(sf);
		sf->state = MPS_SF_HELLO_SENT;
		if (sf->tfo && sf->meta->early.on && cfg->fastopen_wait_ms > 0) {
			/* the SYN leaves with the first send: HELLO waits for
			 * the app's first bytes (mps_early_client_send), which
			 * its connect() returning below lets it write, so the
			 * request rides in the SYN too */
			mps_subflow_hold(sf);
			mps_timer_arm(sf->eng->loop, &sf->meta->hold_timer,
				      (uint64_t)cfg->fastopen_wait_ms);
		}
		rc = send_hello(sf);
		mps_timer_arm(sf->eng->loop, &sf->timer,
			      (uint64_t)cfg->hello_timeout_ms);
	} else {
		sf->state = MPS_SF_JOIN_SENT;
		rc = send_join(sf);
		mps_timer_arm(sf->eng->loop, &sf->timer, join_timeout_ms(cfg));
	}
	if (rc) {
		mps_subflow_die(sf, rc, "handshake send");
		return;
	}
	mps_subflow_start_recv(sf);
	/* not if the receive could not start: the subflow died, and with it
	 * went the connection (a fallback) */
	if (sf->initial && sf->meta->early.on && sf->state == MPS_SF_HELLO_SENT &&
	    sf->meta->state == MPS_META_CONNECTING)
		mps_early_client_start(sf->meta, sf);
}

static void sf_on_connect(struct mps_op *op, int res)
{
	struct mps_subflow *sf = op->ctx;
	int err;

	if (sf->state != MPS_SF_CONNECTING) {
		mps_subflow_maybe_release(sf);
		return;
	}
	err = -mps_sock_connect_result(sf->sfd, res);
	if (err) {
		mps_timer_cancel(sf->eng->loop, &sf->timer);
		if (sf->initial && sf->meta->state == MPS_META_CONNECTING) {
			mps_initial_failed(sf, -err, "connect failed");
		} else {
			mps_subflow_die(sf, -err, "connect failed");
		}
		return;
	}
	sf_connected(sf);
}

static void sf_on_timer(struct mps_timer *t)
{
	struct mps_subflow *sf = t->ctx;

	switch (sf->state) {
	case MPS_SF_CONNECTING:
		if (sf->initial && sf->meta->state == MPS_META_CONNECTING) {
			mps_loop_cancel(sf->eng->loop, &sf->conn);
			mps_initial_failed(sf, -ETIMEDOUT, "connect timeout");
		} else {
			mps_subflow_die(sf, -ETIMEDOUT, "connect timeout");
		}
		break;
	case MPS_SF_HELLO_SENT:
		mps_meta_fallback(sf->meta, "no HELLO_ACK before hello_timeout");
		break;
	case MPS_SF_CLASSIFY:
		mps_listener_classify_timeout(sf);
		break;
	case MPS_SF_JOIN_SENT:
	case MPS_SF_JOIN_ACKED:
		mps_subflow_die(sf, -ETIMEDOUT, "join timeout");
		break;
	case MPS_SF_CLOSING:
		mps_subflow_die(sf, 0, "close linger expired");
		break;
	case MPS_SF_AUTH_SENT:
	case MPS_SF_AUTH_WAIT:
		mps_forward_timeout(sf);
		break;
	default:
		break;
	}
}

static int sf_handle_hello_ack(struct mps_subflow *sf, const struct mps_frame *f)
{
	struct mps_meta *meta = sf->meta;
	uint8_t shared[MPS_X25519_LEN];
	int rc;

	meta->early.syn_data = sf->tfo && mps_sock_syn_data(sf->sfd);

	if (f->type == MPS_FT_FASTCLOSE) {
		static const int code_errno[] = {
			[MPS_CLOSE_ABORT] = ECONNRESET,
			[MPS_CLOSE_REFUSED] = ECONNREFUSED,
			[MPS_CLOSE_TIMEDOUT] = ETIMEDOUT,
			[MPS_CLOSE_UNREACH] = ENETUNREACH,
			[MPS_CLOSE_DENIED] = ECONNREFUSED,
			[MPS_CLOSE_PROTO] = ECONNRESET,
			[MPS_CLOSE_RESOURCE] = ECONNREFUSED,
		};
		mps_timer_cancel(sf->eng->loop, &sf->timer);
		sf->state = MPS_SF_DEAD;
		sf->why = "refused by peer";
		mps_meta_fail_connect(meta, -code_errno[f->u.fastclose.code]);
		return 1;
	}
	if (f->type == MPS_FT_PING) {
		/* the server is mpshim and waits for its backend: wait as
		 * long as a connect may take, no longer hello_timeout */
		mps_timer_arm(sf->eng->loop, &sf->timer,
			      (uint64_t)sf->eng->cfg.connect_timeout_ms);
		return 0;
	}
	if (f->type != MPS_FT_HELLO_ACK) {
		mps_meta_fallback(meta, "peer answered HELLO with another frame");
		return 1;
	}
	if (meta->fwd.on && !(f->flags & MPS_HELLO_F_AUTH)) {
		/* an mpshim server that took no notice of the target */
		mps_forward_unreachable(meta, -ECONNREFUSED,
					"proxy does not speak forward mode");
		return 1;
	}
	if (!meta->fwd.on && (f->flags & MPS_HELLO_F_AUTH)) {
		mps_warn("meta %u: the server asks for a key this client has not got",
			 meta->id);
		mps_meta_fail_connect(meta, -ECONNREFUSED);
		return 1;
	}
	meta->key_peer = f->u.hello_ack.key;
	mps_crypto_key_derive(meta->key_peer, &meta->token_peer, &meta->idsn_peer);
	rc = mps_crypto_x25519_shared(&meta->kx, f->u.hello_ack.pub, shared);
	if (!rc)
		rc = mps_crypto_join_key(shared, meta->key_local, meta->key_peer,
					 meta->join_key);
	if (rc) {
		mps_meta_fail_connect(meta, -ECONNREFUSED);
		return 1;
	}
	/* the server decides: on when either side asked for it */
	meta->checksum = f->flags & MPS_HELLO_F_CRC;
	meta->peer_nojoin = f->flags & MPS_HELLO_F_NOJOIN;
	mps_timer_cancel(sf->eng->loop, &sf->timer);
	if (meta->early.reported) {
		/* the sending half runs since the connect; the window only
		 * grows, and the server's covers the early window anyway */
		uint64_t wnd_end = meta->idsn_local + f->u.hello_ack.window;

		mps_meta_rcv_start(meta);
		if (mps_seq_after(wnd_end, meta->snd.wnd_end))
			meta->snd.wnd_end = wnd_end;
	} else {
		mps_meta_seq_start(meta);
		meta->snd.wnd_end = meta->idsn_local + f->u.hello_ack.window;
	}
	if (meta->fwd.on)	/* a challenge: established only by AUTH */
		return mps_forward_client_challenge(sf, f);
	sf->state = MPS_SF_ACTIVE;
	sf->was_active = true;
	mps_meta_established(meta);
	return 0;
}

static int sf_handle_join_ack(struct mps_subflow *sf, const struct mps_frame *f)
{
	struct mps_meta *meta = sf->meta;
	struct mps_frame c = { .type = MPS_FT_JOIN_CONFIRM };
	uint8_t mac[32];

	if (f->type != MPS_FT_JOIN_ACK)
		return -EPROTO;
	sf->nonce_peer = f->u.join_ack.nonce;
	if (mps_crypto_join_hmac(meta->join_key, MPS_ROLE_SERVER, sf->nonce_peer,
				 sf->nonce_local, mac) ||
	    !mps_crypto_equal(mac, f->u.join_ack.hmac, MPS_HMAC_TRUNC_LEN)) {
		mps_warn("meta %u: JOIN_ACK with a bad HMAC from %s", meta->id,
			 mps_addr_str(&sf->remote.sa, (char[MPS_ADDRSTRLEN]){0},
				      MPS_ADDRSTRLEN));
		return -EACCES;
	}
	if (mps_crypto_join_hmac(meta->join_key, MPS_ROLE_CLIENT, sf->nonce_local,
				 sf->nonce_peer, c.u.join_confirm.hmac))
		return -EIO;
	mps_timer_cancel(sf->eng->loop, &sf->timer);
	sf->state = MPS_SF_ACTIVE;
	sf->was_active = true;
	mps_path_subflow_up(sf);
	mps_engine_mark_dirty(meta);
	return mps_subflow_send_frame(sf, &c);
}

static int sf_handle_join_confirm(struct mps_subflow *sf, const struct mps_frame *f)
{
	struct mps_meta *meta = sf->meta;
	uint8_t mac[32];
	char a[MPS_ADDRSTRLEN];

	if (f->type != MPS_FT_JOIN_CONFIRM)
		return -EPROTO;
	if (mps_crypto_join_hmac(meta->join_key, MPS_ROLE_CLIENT, sf->nonce_peer,
				 sf->nonce_local, mac) ||
	    !mps_crypto_equal(mac, f->u.join_confirm.hmac, MPS_HMAC_LEN)) {
		mps_warn("meta %u: JOIN refused from %s: bad HMAC in JOIN_CONFIRM",
			 meta->id, mps_addr_str(&sf->remote.sa, a, sizeof(a)));
		mps_engine_join_refused(sf->eng, MPS_JOIN_BAD_HMAC);
		return -EACCES;
	}
	mps_timer_cancel(sf->eng->loop, &sf->timer);
	sf->state = MPS_SF_ACTIVE;
	sf->was_active = true;
	mps_info("meta %u: subflow %u joined from %s", meta->id, sf->idx,
		 mps_addr_str(&sf->remote.sa, a, sizeof(a)));
	mps_engine_mark_dirty(meta);
	return 0;
}

/* The server advertised another address: authenticate, then let the path
 * manager decide.  A forged one is dropped and logged, not fatal: the
 * subflow it came on is still good. */
static int sf_handle_add_addr(struct mps_subflow *sf, const struct mps_frame *f)
{
	struct mps_meta *meta = sf->meta;
	const struct mps_frame_addr *fa = &f->u.add_addr.addr;
	union mps_sockaddr remote;
	uint8_t mac[32];
	char a[MPS_ADDRSTRLEN];

	if (meta->role != MPS_ROLE_C || meta->state != MPS_META_ESTABLISHED)
		return 0;
	if (mps_crypto_addr_hmac(meta->join_key, f->u.add_addr.addr_id, fa->family,
				 fa->port, fa->addr, mac) ||
	    !mps_crypto_equal(mac, f->u.add_addr.hmac, MPS_HMAC_TRUNC_LEN) ||
	    mps_addr_from_frame(fa, &remote)) {
		mps_warn("meta %u: ADD_ADDR with a bad HMAC ignored", meta->id);
		return 0;
	}
	for (unsigned i = 0; i < meta->n_peer_addrs; i++)
		if (meta->peer_addr_ids[i] == f->u.add_addr.addr_id)
			return 0;	/* already known */
	if (meta->n_peer_addrs == MPS_MAX_SUBFLOWS)
		return 0;
	meta->peer_addr_ids[meta->n_peer_addrs++] = f->u.add_addr.addr_id;
	mps_info("meta %u: server advertised %s", meta->id,
		 mps_addr_str(&remote.sa, a, sizeof(a)));
	if (meta->pm->add_addr)
		meta->pm->add_addr(meta, &remote);
	return 0;
}

static int sf_handle_active(struct mps_subflow *sf, const struct mps_frame *f)
{
	struct mps_meta *meta = sf->meta;
	struct mps_frame r;

	switch (f->type) {
	case MPS_FT_DATA:
		sf->bytes_recv += f->u.data.len;
		if (sf->early_open)
			return mps_early_server_data(sf, f);
		return mps_meta_on_data(meta, f);
	case MPS_FT_DATA_ACK:
		/* the client's first: it has seen HELLO_ACK, the rest is not
		 * early data */
		sf->early_open = false;
		mps_meta_on_ack(meta, f->u.data_ack.ack, f->u.data_ack.window);
		return 0;
	case MPS_FT_PING:
		memset(&r, 0, sizeof(r));
		r.type = MPS_FT_PONG;
		r.u.ping.ts = f->u.ping.ts;
		return mps_subflow_send_frame(sf, &r);
	case MPS_FT_PONG:
		return 0;
	case MPS_FT_PRIO:
		sf->backup = f->flags & MPS_PRIO_F_BACKUP;
		mps_engine_mark_dirty(meta);
		return 0;
	case MPS_FT_REMOVE_ADDR:
		/* the client lost the address of one of its subflows: stop
		 * sending there now rather than after our liveness check */
		if (meta->role == MPS_ROLE_S) {
			for (unsigned i = 0; i < meta->n_sf; i++) {
				struct mps_subflow *o = meta->sf[i];

				if (o != sf && o->peer_addr_id == f->u.remove_addr.addr_id)
					mps_subflow_die(o, -ENETDOWN, "peer removed its address");
			}
		}
		return 0;
	case MPS_FT_ADD_ADDR:
		return sf_handle_add_addr(sf, f);
	case MPS_FT_GROW:
		return mps_lossy_on_grow(sf, f->u.grow.subflows);
	case MPS_FT_FASTCLOSE:
		if (f->u.fastclose.key != meta->key_local) {
			mps_warn("meta %u: FASTCLOSE with a wrong key ignored", meta->id);
			return 0;
		}
		mps_meta_abort(meta, -ECONNRESET, 0, false);
		return 1;
	default:
		return -EPROTO;
	}
}

/* Returns 1 when the subflow was handed off or its meta ended and the
 * caller must not touch it further, 0 to go on, < 0 to kill it. */
static int sf_handle(struct mps_subflow *sf, const struct mps_frame *f)
{
	switch (sf->state) {
	case MPS_SF_CLASSIFY:
		if (f->type == MPS_FT_HELLO)
			return mps_meta_server_hello(sf, f);
		if (f->type == MPS_FT_JOIN)
			return mps_meta_server_join(sf, f);
		return -EPROTO;
	case MPS_SF_HELLO_SENT:
		return sf_handle_hello_ack(sf, f);
	case MPS_SF_AUTH_SENT:
		/* FASTCLOSE and PING mean what they mean after HELLO */
		if (f->type == MPS_FT_FASTCLOSE || f->type == MPS_FT_PING)
			return sf_handle_hello_ack(sf, f);
		return mps_forward_client_auth(sf, f);
	case MPS_SF_AUTH_WAIT:
		return mps_forward_server_auth(sf, f);
	case MPS_SF_JOIN_SENT:
		return sf_handle_join_ack(sf, f);
	case MPS_SF_JOIN_ACKED:
		return sf_handle_join_confirm(sf, f);
	case MPS_SF_ACTIVE:
	case MPS_SF_CLOSING:
		return sf_handle_active(sf, f);
	default:
		return 0;
	}
}

static void sf_process(struct mps_subflow *sf)
{
	size_t pos = 0;
	struct mps_frame f;
	int n, rc;

	if (sf->state == MPS_SF_CLASSIFY) {
		rc = mps_frame_classify(sf->ibuf, sf->ilen);
		if (rc < 0)
			return;		/* wait for more, the timer bounds it */
		if (rc == 0) {
			mps_meta_plain_client(sf);
			return;
		}
	}
	while (pos < sf->ilen) {
		n = mps_frame_parse(sf->ibuf + pos, sf->ilen - pos, 0, &f);
		if (n == 0)
			break;
		if (n < 0) {
			char a[MPS_ADDRSTRLEN];

			sf->eng->cnt.proto_errors++;
			if (sf->state == MPS_SF_HELLO_SENT) {
				mps_meta_fallback(sf->meta, "peer is not mpshim");
				return;
			}
			mps_warn("subflow from %s: malformed frame (%s), closing",
				 mps_addr_str(&sf->remote.sa, a, sizeof(a)),
				 mps_frame_strerror(n));
			mps_subflow_die(sf, -EPROTO, mps_frame_strerror(n));
			return;
		}
		pos += (size_t)n;
		rc = sf_handle(sf, &f);
		if (rc > 0)
			return;
		if (rc < 0) {
			if (sf->state == MPS_SF_CLASSIFY)
				sf->eng->cnt.handshake_failed++;
			mps_subflow_die(sf, rc, "frame rejected");
			return;
		}
		if (sf->state == MPS_SF_DEAD)
			return;
	}
	if (pos) {
		memmove(sf->ibuf, sf->ibuf + pos, sf->ilen - pos);
		sf->ilen -= pos;
	}
}

static void sf_on_recv(struct mps_op *op, int res)
{
	struct mps_subflow *sf = op->ctx;

	if (sf->to_plain && sf->state != MPS_SF_DEAD) {
		/* a plain client: bytes that raced the hand-off still belong
		 * to it, in order */
		if (res > 0)
			sf->ilen += (size_t)res;
		mps_meta_plain_client(sf);
		mps_subflow_maybe_release(sf);
		return;
	}
	if (sf->state == MPS_SF_DEAD) {
		mps_subflow_maybe_release(sf);
		return;
	}
	if (res <= 0) {
		if (sf->state == MPS_SF_HELLO_SENT) {
			mps_meta_fallback(sf->meta, res == 0 ? "peer closed after HELLO" :
					  "peer reset after HELLO");
			return;
		}
		if (sf->state == MPS_SF_CLASSIFY && res == 0 && sf->ilen &&
		    mps_frame_classify(sf->ibuf, sf->ilen) <= 0) {
			/* a short plain request, then a half-close: relay it */
			mps_meta_plain_client(sf);
			mps_subflow_maybe_release(sf);
			return;
		}
		mps_subflow_die(sf, res ? res : -EPIPE,
				res ? "receive error" : "peer closed");
		return;
	}
	sf->ifull = (size_t)res == sf->rd.len;
	sf->ilen += (size_t)res;
	sf->wire_recv += (size_t)res;
	sf_process(sf);
	/* sf_process may have handed the subflow off (plain client) */
	if (sf->state == MPS_SF_DEAD) {
		mps_subflow_maybe_release(sf);
		return;
	}
	mps_subflow_start_recv(sf);
}

static void sf_on_send(struct mps_op *op, int res)
{
	struct mps_subflow *sf = op->ctx;

	free(sf->obuf_busy);
	sf->obuf_busy = NULL;
	if (sf->state == MPS_SF_DEAD) {
		mps_subflow_maybe_release(sf);
		return;
	}
	if (res < 0) {
		mps_subflow_die(sf, res, "send error");
		return;
	}
	sf->ooff += (size_t)res;
	if (sf->ooff == sf->olen) {
		sf->ooff = sf->olen = 0;
		if (sf->state == MPS_SF_CLOSING) {
			shutdown(sf->sfd, SHUT_WR);
			return;
		}
	} else if (sf->ooff > sf->ocap / 2) {
		memmove(sf->obuf, sf->obuf + sf->ooff, sf->olen - sf->ooff);
		sf->olen -= sf->ooff;
		sf->ooff = 0;
	}
	mps_subflow_kick(sf);
	if (sf->meta)
		mps_engine_mark_dirty(sf->meta);
}

size_t mps_subflow_trim(struct mps_subflow *sf)
{
	size_t freed = 0;

	if (sf->obuf && !sf->wr.pending && sf->olen == sf->ooff && !sf->obuf_busy) {
		freed += sf->ocap;
		free(sf->obuf);
		sf->obuf = NULL;
		sf->ocap = sf->olen = sf->ooff = 0;
	}
	if (sf->map && !sf->map_n) {
		freed += sf->map_cap * sizeof(*sf->map);
		free(sf->map);
		sf->map = NULL;
		sf->map_cap = sf->map_head = 0;
	}
	/* a RECV is pending into ibuf: it shrinks when that one completes */
	if (sf->icap > MPS_SF_IMIN)
		sf->ishrink = true;
	return freed;
}

bool mps_subflow_holds(const struct mps_subflow *sf)
{
	return sf->ocap > MPS_SF_OMIN || sf->icap > MPS_SF_IMIN || sf->map;
}

bool mps_subflow_idle(const struct mps_subflow *sf)
{
	return !sf->rd.pending && !sf->wr.pending && !sf->conn.pending;
}

/*
 * Release the socket of a dead subflow once no op is pending.  The struct
 * itself is never freed here, since a callback up the stack may still hold
 * it: a meta frees its subflows with itself, and a subflow without a meta
 * goes to the engine's graveyard, emptied after the flush.
 */
void mps_subflow_maybe_release(struct mps_subflow *sf)
{
	if (sf->state != MPS_SF_DEAD || !mps_subflow_idle(sf) || sf->released)
		return;
	sf->released = true;
	mps_timer_cancel(sf->eng->loop, &sf->timer);
	if (sf->sfd >= 0) {
		mps_tcpinfo_subflow_final(sf);
		close(sf->sfd);
		sf->sfd = -1;
		sf->eng->cnt.subflows_open--;
		mps_nofile_released(sf);
	}
	if (sf->meta) {
		mps_meta_subflow_gone(sf->meta, sf);
	} else {
		mps_engine_unclassified_unlink(sf);
		sf->lnext = sf->eng->graveyard;
		sf->eng->graveyard = sf;
	}
}

void mps_subflow_die(struct mps_subflow *sf, int err, const char *why)
{
	struct mps_meta *meta = sf->meta;
	enum mps_sf_state was = sf->state;
	bool was_active = sf->state == MPS_SF_ACTIVE;

	if (sf->state == MPS_SF_DEAD)
		return;
	if (!sf->err)
		sf->err = err;
	sf->why = why;
	sf->state = MPS_SF_DEAD;
	mps_timer_cancel(sf->eng->loop, &sf->timer);
	if (meta && meta->state == MPS_META_ESTABLISHED) {
		char a[MPS_ADDRSTRLEN];

		mps_path_subflow_failed(sf);
		/* DATA_ACKs it carried may be lost with it: the peer would
		 * wait for them forever while we think they were sent */
		meta->ack_now = true;
		/* a peer that finished its side closes its subflows: an end,
		 * not a failure, once its DATA_FIN is in */
		if (was_active && meta->rcv.fin && err == -EPIPE)
			mps_debug("meta %u: subflow %u closed by the peer", meta->id,
				  sf->idx);
		else if (was_active)
			mps_info("meta %u: subflow %u to %s failed (%s): reinjecting",
				 meta->id, sf->idx,
				 mps_addr_str(&sf->remote.sa, a, sizeof(a)), why);
		/* every range the peer has not DATA_ACKed goes back */
		while (sf->map_n) {
			struct mps_sf_map *m = &sf->map[sf->map_head];

			mps_meta_snd_reinject(meta, m->start, m->end, m->fin);
			sf->map_head = (sf->map_head + 1) % sf->map_cap;
			sf->map_n--;
		}
		mps_engine_mark_dirty(meta);
	}
	/* a forward handshake has no other subflow and no timer of the meta
	 * that would end it */
	if (meta && (was == MPS_SF_AUTH_SENT || was == MPS_SF_AUTH_WAIT))
		mps_forward_subflow_died(meta, was, err);
	/* nor has the client's HELLO wait once its subflow is gone (the
	 * timer went with it): a reset that the HELLO's send sees first is
	 * the reset the receive would have seen, and falls back the same */
	if (meta && sf->initial && was == MPS_SF_HELLO_SENT &&
	    meta->state == MPS_META_CONNECTING)
		mps_meta_fallback(meta, "peer reset after HELLO");
	/* a server still connecting its backend has this one subflow (JOINs
	 * wait for ESTABLISHED): without it nobody would get an answer, and
	 * early data must not reach a backend for a client that is gone */
	if (meta && meta->role == MPS_ROLE_S && was == MPS_SF_ACTIVE &&
	    meta->state == MPS_META_CONNECTING)
		mps_meta_abort(meta, err ? err : -ECONNRESET, MPS_CLOSE_ABORT, false);
	if (sf->sfd >= 0) {
		/* wakes a pending recv/send on both backends */
		shutdown(sf->sfd, SHUT_RDWR);
		if (sf->rd.pending)
			mps_loop_cancel(sf->eng->loop, &sf->rd);
		if (sf->wr.pending)
			mps_loop_cancel(sf->eng->loop, &sf->wr);
		if (sf->conn.pending)
			mps_loop_cancel(sf->eng->loop, &sf->conn);
	}
	mps_subflow_maybe_release(sf);
}

void mps_subflow_close(struct mps_subflow *sf)
{
	if (sf->state == MPS_SF_DEAD || sf->state == MPS_SF_CLOSING)
		return;
	if (sf->state != MPS_SF_ACTIVE) {
		mps_subflow_die(sf, 0, "meta closed");
		return;
	}
	mps_subflow_release(sf);
	sf->state = MPS_SF_CLOSING;
	mps_timer_arm(sf->eng->loop, &sf->timer, MPS_CLOSE_LINGER_MS);
	if (mps_subflow_queued(sf) == 0)
		shutdown(sf->sfd, SHUT_WR);
}
