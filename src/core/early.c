/*
 * early.c - early data (0-RTT): the client's first bytes ride right
 * behind its HELLO instead of waiting a round trip for HELLO_ACK.
 *
 * Owns: the client's decision to send early data (key early_data, the
 * engine's cache of destinations known to speak mpshim), the start of an
 * early connection (connect() succeeds once the initial subflow's TCP
 * connection is up and HELLO is queued), the early send pass, and the
 * server's acceptance of early DATA on the initial subflow with its
 * counters.  PROTOCOL.md ("Early data") is the prose twin.
 *
 * What makes it safe to let connect() succeed early: every byte the app
 * writes before HELLO_ACK stays in the send ring until it is DATA_ACKed,
 * so a fallback to plain TCP hands those bytes to the new connection
 * first (engine.c, mps_meta_fallback), and a refusal reaches the app as a
 * reset, as through any L4 proxy or with TCP Fast Open.
 */
#include <errno.h>
#include <string.h>
#include "config.h"
#include "engine_int.h"
#include "log.h"

/* ---- destinations known to speak mpshim (engine thread only) ---------- */

static int known_find(const struct mps_engine *eng, const struct sockaddr *dest)
{
	for (unsigned i = 0; i < eng->n_known; i++)
		if (eng->known[i].sa.sa_family && mps_addr_equal(&eng->known[i].sa, dest))
			return (int)i;
	return -1;
}

void mps_early_known_add(struct mps_engine *eng, const struct sockaddr *dest)
{
	if (known_find(eng, dest) >= 0)
		return;
	/* the oldest entry gives way, as in the plain cache */
	memset(&eng->known[eng->known_next], 0, sizeof(eng->known[0]));
	memcpy(&eng->known[eng->known_next], dest, mps_addr_len(dest));
	eng->known_next = (eng->known_next + 1) % MPS_KNOWN_CACHE;
	if (eng->n_known < MPS_KNOWN_CACHE)
		eng->n_known++;
}

void mps_early_known_del(struct mps_engine *eng, const struct sockaddr *dest)
{
	int i = known_find(eng, dest);

	/* a hole: the slot is taken again in its turn */
	if (i >= 0)
		memset(&eng->known[i], 0, sizeof(eng->known[0]));
}

/* ---- client ------------------------------------------------------------- */

bool mps_early_client_wanted(const struct mps_meta *meta)
{
	const char *mode = meta->cfg->early_data;

	/* forward mode: the proxy connects nowhere before AUTH, so nothing
	 * may travel before the handshake is done */
	if (meta->fwd.on || !strcmp(mode, "no"))
		return false;
	if (!strcmp(mode, "yes"))
		return true;
	/* auto: only where a fallback is unlikely, since a plain server
	 * sees the early bytes on the connection it is sent HELLO on */
	return known_find(meta->eng, &meta->dest.sa) >= 0 ||
	       mps_config_dest_declared(meta->cfg, &meta->dest.sa);
}

void mps_early_client_start(struct mps_meta *meta, struct mps_subflow *sf)
{
	mps_meta_snd_start(meta);
	meta->early.reported = true;
	mps_debug("meta %u: HELLO queued, connected early", meta->id);
	mps_meta_report_connect(meta, 0, &sf->local.sa);
	mps_engine_mark_dirty(meta);
}

static void early_count(struct mps_meta *meta, size_t len, bool fin)
{
	struct mps_engine_counters *c = &meta->eng->cnt;

	if (!meta->early.counted && (len || fin)) {
		meta->early.counted = true;
		c->early_conns++;
	}
	meta->early.bytes += len;
	c->early_bytes += len;
	if (fin && !meta->early.fin) {
		meta->early.fin = true;
		c->early_fins++;
	}
}

bool mps_early_fastopen_wanted(const struct mps_config *cfg, const struct sockaddr *dest)
{
	/* where clients open with a TLS ClientHello: HTTPS, SMTPS, NNTPS,
	 * LDAPS, DNS over TLS, FTPS, TELNETS, IMAPS, POP3S, SIPS, HTTPS-alt */
	static const uint16_t tls_ports[] = { 443, 465, 563, 636, 853, 989, 990, 992,
					      993, 995, 5061, 8443 };
	uint16_t port = mps_addr_port(dest);

	if (!strcmp(cfg->fastopen, "yes"))
		return true;
	if (strcmp(cfg->fastopen, "auto"))
		return false;
	for (size_t i = 0; i < sizeof(tls_ports) / sizeof(tls_ports[0]); i++)
		if (port == tls_ports[i])
			return true;
	return false;
}

bool mps_early_syn_ok(const char *mode, const uint8_t *p, size_t len)
{
	if (!strcmp(mode, "yes"))
		return true;
	if (strcmp(mode, "auto"))
		return false;
	/* a TLS record (handshake, version 3.x) holding a ClientHello */
	return len >= 6 && p[0] == 0x16 && p[1] == 0x03 && p[2] <= 0x04 && p[5] == 0x01;
}

/* HELLO waits on a TCP Fast Open subflow (subflow.c) for the first bytes
 * at dsn to share the SYN: those that may not ride in it let the SYN go
 * with HELLO alone, and follow the handshake. */
static void early_syn_check(struct mps_meta *meta, struct mps_subflow *sf, uint64_t dsn,
			    size_t len)
{
	uint8_t head[6];
	size_t n = len < sizeof(head) ? len : sizeof(head);

	if (!sf->hold || sf->bytes_sent)
		return;
	mps_ring_read(&meta->snd.q, dsn, head, n);
	if (mps_early_syn_ok(meta->cfg->fastopen, head, n))
		return;
	mps_timer_cancel(meta->eng->loop, &meta->hold_timer);
	mps_subflow_release(sf);
}

void mps_early_client_send(struct mps_meta *meta)
{
	struct mps_subflow *sf = meta->paths[0].sf;
	uint64_t dsn;
	size_t len;
	bool fin, reinject;

	/* the initial subflow alone, in order behind the HELLO: it is the
	 * only one the server can tie to this connection yet */
	while (sf && sf->state == MPS_SF_HELLO_SENT &&
	       mps_subflow_has_room(sf, meta->frame_size) &&
	       mps_meta_snd_next(meta, meta->frame_size, &dsn, &len, &fin, &reinject)) {
		early_syn_check(meta, sf, dsn, len);
		if (mps_subflow_send_data(sf, dsn, len, fin)) {
			/* kept in the ring: it goes after HELLO_ACK instead */
			mps_meta_snd_reinject(meta, dsn, dsn + len, fin);
			return;
		}
		early_count(meta, len, fin);
	}
	/* HELLO waited for these bytes to share the SYN (subflow.c) */
	if (sf && sf->hold && sf->bytes_sent) {
		mps_timer_cancel(meta->eng->loop, &meta->hold_timer);
		mps_subflow_release(sf);
	}
}

/* ---- server ------------------------------------------------------------- */

void mps_early_server_hello(struct mps_meta *meta, struct mps_subflow *sf,
			    const struct mps_frame *f)
{
	/* a HELLO that names a destination is forward mode's: AUTH first */
	meta->early.on = !(f->flags & MPS_HELLO_F_TARGET);
	meta->early.crc = f->flags & MPS_HELLO_F_CRC;
	sf->early_open = meta->early.on;
}

int mps_early_server_data(struct mps_subflow *sf, const struct mps_frame *f)
{
	struct mps_meta *meta = sf->meta;
	bool fin = f->flags & MPS_DATA_F_FIN;
	long rc;

	if (meta->state == MPS_META_CLOSED)
		return 0;
	/* the client sent it before it knew whether checksums are on: it
	 * carries a CRC exactly when the HELLO asked for one (the parser
	 * has verified it) */
	if (meta->early.crc && !(f->flags & MPS_DATA_F_CRC) && f->u.data.len)
		return -EPROTO;
	rc = mps_meta_rcv_early(meta, f->u.data.dsn, f->u.data.payload, f->u.data.len, fin);
	if (rc == -ENOMEM) {
		mps_warn("meta %u: no memory for early data", meta->id);
		return (int)rc;
	}
	if (rc < 0) {
		mps_warn("meta %u: early DATA outside the early window or contradicting FIN",
			 meta->id);
		meta->eng->cnt.proto_errors++;
		return (int)rc;
	}
	early_count(meta, (size_t)rc, fin);
	if (fin)
		meta->ack_now = true;
	mps_engine_mark_dirty(meta);
	return 0;
}

void mps_early_server_acked(struct mps_meta *meta)
{
	mps_meta_rcv_hello_sent(meta);
	/* early bytes in already: acknowledge them right behind HELLO_ACK,
	 * which cannot (its window counts from idsn_c) */
	if (meta->rcv.nxt != meta->idsn_peer || meta->rcv.fin)
		meta->ack_now = true;
}
