/*
 * forward.c - forward mode: the client's HELLO names the destination and
 * the proxy connects there, for clients that prove a pre-shared key.
 *
 * Owns: the forward handshake on both sides (PROTOCOL.md, "Forward
 * mode"), the clients' keys in proxyd and the shim's own key, the
 * refusals and their counters, and the client's choice between the proxy
 * and a direct connection when the proxy cannot be used.
 *
 *   client                                  proxyd --forward
 *   HELLO {TARGET, PSK key_id}     ----->   key id known?
 *                                  <-----   HELLO_ACK {AUTH}  (fresh key_s, pub_s)
 *   AUTH {proof 'C'}               ----->   proof right?  destination allowed?
 *                                           connect the destination (PING)
 *                                  <-----   AUTH {proof 'S'}  or FASTCLOSE
 *   established                             established
 *
 * Why the client's proof comes after HELLO_ACK and not in HELLO: a proof
 * in HELLO could only cover the client's own values, so a HELLO recorded
 * on the wire would pass again, and since DATA carries no MAC, whoever
 * replayed it could then send through the proxy.  The server's key and
 * public key are fresh for every HELLO, so a proof over them fits exactly
 * one handshake; the target is covered too, so it fits one destination.
 * Nothing is connected before that proof is checked.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "engine_int.h"
#include "log.h"
#include "psk.h"

struct mps_forward {
	struct mps_psk_set keys;	/* proxyd: every client's key */
	struct mps_psk client;		/* shim: ours, once loaded */
	int client_rc;			/* 1 not loaded yet, 0 loaded, -errno */
};

static const char *const refusal_names[MPS_FWD_REASONS] = {
	[MPS_FWD_DISABLED] = "disabled",
	[MPS_FWD_NO_TARGET] = "no_target",
	[MPS_FWD_PLAIN] = "plain",
	[MPS_FWD_NO_KEY] = "no_key",
	[MPS_FWD_UNKNOWN_KEY] = "unknown_key",
	[MPS_FWD_BAD_PROOF] = "bad_proof",
	[MPS_FWD_NO_AUTH] = "no_auth",
	[MPS_FWD_DENIED] = "denied",
};

const char *mps_forward_refusal_name(unsigned reason)
{
	return reason < MPS_FWD_REASONS ? refusal_names[reason] : "?";
}

static struct mps_forward *fwd_get(struct mps_engine *eng)
{
	if (!eng->fwd) {
		eng->fwd = calloc(1, sizeof(*eng->fwd));
		if (eng->fwd)
			eng->fwd->client_rc = 1;
	}
	return eng->fwd;
}

void mps_engine_forward_keys(struct mps_engine *eng, struct mps_psk_set *keys)
{
	struct mps_forward *fwd = fwd_get(eng);

	if (!fwd) {
		mps_psk_free(keys);
		return;
	}
	mps_psk_free(&fwd->keys);
	fwd->keys = *keys;
	keys->keys = NULL;
	keys->n = 0;
}

void mps_forward_free(struct mps_engine *eng)
{
	if (!eng->fwd)
		return;
	mps_psk_free(&eng->fwd->keys);
	explicit_bzero(&eng->fwd->client, sizeof(eng->fwd->client));
	free(eng->fwd);
	eng->fwd = NULL;
}

static const struct mps_psk *fwd_key(struct mps_engine *eng, const uint8_t *id)
{
	return eng->fwd ? mps_psk_find(&eng->fwd->keys, id) : NULL;
}

/* ------------------------------------------------------------------ */
/* server                                                              */

/*
 * Refuse the client: count and log why, then FASTCLOSE DENIED (its
 * connect() fails with ECONNREFUSED) and close.  The subflow is made
 * ACTIVE for a moment only so that mps_meta_abort sends the frame.
 */
static int fwd_refuse(struct mps_meta *meta, struct mps_subflow *sf,
		      enum mps_fwd_refusal reason, const char *detail)
{
	char a[MPS_ADDRSTRLEN];

	meta->eng->cnt.fwd_refused[reason]++;
	mps_warn("meta %u: forward client %s refused (%s): %s", meta->id,
		 mps_addr_str(&sf->remote.sa, a, sizeof(a)),
		 mps_forward_refusal_name(reason), detail);
	mps_timer_cancel(meta->eng->loop, &sf->timer);
	sf->state = MPS_SF_ACTIVE;
	mps_meta_abort(meta, -EACCES, MPS_CLOSE_DENIED, true);
	return 1;
}

int mps_forward_server_hello(struct mps_meta *meta, struct mps_subflow *sf,
			     const struct mps_frame *f)
{
	struct mps_engine *eng = meta->eng;
	struct mps_frame r = { .type = MPS_FT_HELLO_ACK };
	char id[MPS_KEY_ID_LEN + 1], why[80];
	union mps_sockaddr target;
	int rc;

	if (!(f->flags & MPS_HELLO_F_TARGET))
		return fwd_refuse(meta, sf, MPS_FWD_NO_TARGET,
				  "no destination named and no backend");
	if (!eng->cfg.forward)
		return fwd_refuse(meta, sf, MPS_FWD_DISABLED,
				  "a destination named, but forward mode is off");
	if (!(f->flags & MPS_HELLO_F_PSK))
		return fwd_refuse(meta, sf, MPS_FWD_NO_KEY, "no key id in HELLO");
	mps_psk_id_str(f->u.hello.key_id, id);
	if (!fwd_key(eng, f->u.hello.key_id)) {
		snprintf(why, sizeof(why), "no key '%s' in the key file", id);
		return fwd_refuse(meta, sf, MPS_FWD_UNKNOWN_KEY, why);
	}
	if (mps_addr_from_frame(&f->u.hello.target, &target))
		return fwd_refuse(meta, sf, MPS_FWD_DENIED, "no usable target address");

	meta->fwd.on = true;
	mps_addr_unmap(&target.sa, &meta->fwd.target);
	memcpy(meta->fwd.msg.key_id, f->u.hello.key_id, MPS_KEY_ID_LEN);
	meta->fwd.msg.key_c = meta->key_peer;
	memcpy(meta->fwd.msg.pub_c, f->u.hello.pub, MPS_X25519_LEN);
	meta->fwd.msg.key_s = meta->key_local;
	memcpy(meta->fwd.msg.pub_s, meta->kx.pub, MPS_X25519_LEN);
	/* the block as sent, not as unmapped: both sides hash the same bytes */
	meta->fwd.msg.target = f->u.hello.target;

	/* the challenge: our fresh key_s and pub_s, which the client's proof
	 * must cover; the connection is not established by it (the sequence
	 * spaces were started with the HELLO) */
	r.flags = (uint8_t)(MPS_HELLO_F_AUTH | (meta->checksum ? MPS_HELLO_F_CRC : 0) |
			    mps_meta_behind_lb(meta, sf));
	r.u.hello_ack.version = MPS_PROTO_VERSION;
	r.u.hello_ack.key = meta->key_local;
	memcpy(r.u.hello_ack.pub, meta->kx.pub, MPS_X25519_LEN);
	r.u.hello_ack.window = mps_meta_rcv_window(meta);
	rc = mps_subflow_send_frame(sf, &r);
	if (rc)
		return rc;
	mps_meta_rcv_ack_sent(meta);
	sf->state = MPS_SF_AUTH_WAIT;
	/* a client that holds the key answers within a round trip; bound the
	 * wait as JOIN_CONFIRM's is */
	mps_timer_arm(eng->loop, &sf->timer, (uint64_t)eng->cfg.connect_timeout_ms);
	mps_debug("meta %u: forward HELLO with key '%s', AUTH asked", meta->id, id);
	return 0;
}

int mps_forward_server_auth(struct mps_subflow *sf, const struct mps_frame *f)
{
	struct mps_meta *meta = sf->meta;
	struct mps_engine *eng = meta->eng;
	const struct mps_psk *key;
	char id[MPS_KEY_ID_LEN + 1], a[MPS_ADDRSTRLEN], t[MPS_ADDRSTRLEN], why[192];
	uint8_t want[32];
	int rc;

	mps_psk_id_str(meta->fwd.msg.key_id, id);
	if (f->type != MPS_FT_AUTH) {
		snprintf(why, sizeof(why), "%s instead of AUTH",
			 mps_frame_type_name(f->type));
		return fwd_refuse(meta, sf, MPS_FWD_NO_AUTH, why);
	}
	/* looked up again: a reload may have taken the key away */
	key = fwd_key(eng, meta->fwd.msg.key_id);
	if (!key) {
		snprintf(why, sizeof(why), "key '%s' removed from the key file", id);
		return fwd_refuse(meta, sf, MPS_FWD_UNKNOWN_KEY, why);
	}
	rc = mps_crypto_auth_proof(key->key, key->len, MPS_ROLE_CLIENT,
				   &meta->fwd.msg, want);
	if (!rc)
		rc = mps_crypto_auth_proof(key->key, key->len, MPS_ROLE_SERVER,
					   &meta->fwd.msg, meta->fwd.proof_s);
	if (rc)
		return rc;
	if (!mps_crypto_equal(want, f->u.auth.proof, sizeof(want))) {
		snprintf(why, sizeof(why),
			 "AUTH does not verify with key '%s' (another key, or a replay)", id);
		return fwd_refuse(meta, sf, MPS_FWD_BAD_PROOF, why);
	}
	/* authenticated first, then authorised: an unauthenticated client
	 * learns nothing about the rules */
	mps_addr_str(&meta->fwd.target.sa, t, sizeof(t));
	if (!mps_config_forward_permitted(&eng->cfg, &meta->fwd.target.sa)) {
		snprintf(why, sizeof(why), "destination %s (key '%s') is denied by "
			 "forward_allow/forward_deny", t, id);
		return fwd_refuse(meta, sf, MPS_FWD_DENIED, why);
	}

	eng->cnt.fwd_accepted++;
	mps_info("meta %u: forward client %s (key '%s') to %s", meta->id,
		 mps_addr_str(&sf->remote.sa, a, sizeof(a)), id, t);
	mps_timer_cancel(eng->loop, &sf->timer);
	sf->state = MPS_SF_ACTIVE;
	meta->dest = meta->fwd.target;
	return mps_meta_server_connect(meta, sf);
}

int mps_forward_server_ready(struct mps_meta *meta, struct mps_subflow *sf)
{
	struct mps_frame f = { .type = MPS_FT_AUTH };

	memcpy(f.u.auth.proof, meta->fwd.proof_s, sizeof(f.u.auth.proof));
	return mps_subflow_send_frame(sf, &f);
}

void mps_forward_plain_refused(struct mps_subflow *sf)
{
	char a[MPS_ADDRSTRLEN];

	sf->eng->cnt.fwd_refused[MPS_FWD_PLAIN]++;
	mps_info("plain client %s closed: no backend for it in forward mode",
		 mps_addr_str(&sf->remote.sa, a, sizeof(a)));
	mps_subflow_die(sf, -ECONNREFUSED, "plain client, no backend");
}

void mps_forward_timeout(struct mps_subflow *sf)
{
	struct mps_meta *meta = sf->meta;

	if (!meta || meta->state != MPS_META_CONNECTING)
		return;
	if (sf->state == MPS_SF_AUTH_WAIT) {
		fwd_refuse(meta, sf, MPS_FWD_NO_AUTH, "no AUTH before connect_timeout");
		return;
	}
	mps_meta_fail_connect(meta, -ETIMEDOUT);
}

void mps_forward_subflow_died(struct mps_meta *meta, enum mps_sf_state was, int err)
{
	if (meta->state != MPS_META_CONNECTING)
		return;
	if (was == MPS_SF_AUTH_WAIT) {
		/* the client went away or broke the handshake */
		meta->eng->cnt.fwd_refused[MPS_FWD_NO_AUTH]++;
		mps_meta_abort(meta, err ? err : -ECONNRESET, MPS_CLOSE_ABORT, false);
		return;
	}
	/* the proxy spoke forward mode and then gave up on us */
	mps_meta_fail_connect(meta, -ECONNREFUSED);
}

/* ------------------------------------------------------------------ */
/* client                                                              */

/* Our key, read once from proxy_key_file; NULL (and one warning) when it
 * cannot be used. */
static const struct mps_psk *fwd_client_key(struct mps_engine *eng)
{
	struct mps_forward *fwd = fwd_get(eng);
	struct mps_psk_set set;
	char err[512];

	if (!fwd)
		return NULL;
	if (fwd->client_rc == 1) {
		if (!eng->cfg.proxy_key_file[0]) {
			snprintf(err, sizeof(err), "proxy_key_file is not set");
			fwd->client_rc = -ENOKEY;
		} else {
			fwd->client_rc = mps_psk_load(eng->cfg.proxy_key_file, &set,
						      err, sizeof(err));
			if (!fwd->client_rc) {
				fwd->client = set.keys[0];
				mps_psk_free(&set);
			}
		}
		if (fwd->client_rc)
			mps_warn("forward proxy unusable: %s", err);
	}
	return fwd->client_rc ? NULL : &fwd->client;
}

int mps_forward_client_setup(struct mps_meta *meta)
{
	const struct mps_config *cfg = meta->cfg;
	const struct mps_psk *key;
	union mps_sockaddr proxy;

	if (!cfg->proxy[0])
		return 0;
	if (mps_addr_parse(cfg->proxy, &proxy))
		return -EINVAL;		/* checked when it was set */
	/* a program talking to the proxy itself is its own business */
	if (mps_addr_equal(&proxy.sa, &meta->dest.sa))
		return 0;
	/* from here on a direct fallback goes to the destination */
	meta->fwd.on = true;
	meta->fwd.target = meta->dest;
	meta->dest = proxy;
	if (mps_addr_to_frame(&meta->fwd.target.sa, &meta->fwd.msg.target))
		return -EAFNOSUPPORT;
	key = fwd_client_key(meta->eng);
	if (!key)
		return -ENOKEY;
	memcpy(meta->fwd.msg.key_id, key->id, MPS_KEY_ID_LEN);
	return 1;
}

void mps_forward_client_hello(struct mps_meta *meta, struct mps_frame *f)
{
	f->flags |= MPS_HELLO_F_TARGET | MPS_HELLO_F_PSK;
	f->u.hello.target = meta->fwd.msg.target;
	memcpy(f->u.hello.key_id, meta->fwd.msg.key_id, MPS_KEY_ID_LEN);
	meta->fwd.msg.key_c = meta->key_local;
	memcpy(meta->fwd.msg.pub_c, meta->kx.pub, MPS_X25519_LEN);
}

int mps_forward_client_challenge(struct mps_subflow *sf, const struct mps_frame *f)
{
	struct mps_meta *meta = sf->meta;
	const struct mps_psk *key = fwd_client_key(meta->eng);
	struct mps_frame r = { .type = MPS_FT_AUTH };
	int rc;

	if (!key) {		/* loaded at setup; cannot be lost since */
		mps_meta_fail_connect(meta, -ECONNREFUSED);
		return 1;
	}
	meta->fwd.msg.key_s = f->u.hello_ack.key;
	memcpy(meta->fwd.msg.pub_s, f->u.hello_ack.pub, MPS_X25519_LEN);
	rc = mps_crypto_auth_proof(key->key, key->len, MPS_ROLE_CLIENT, &meta->fwd.msg,
				   r.u.auth.proof);
	if (!rc)
		rc = mps_crypto_auth_proof(key->key, key->len, MPS_ROLE_SERVER,
					   &meta->fwd.msg, meta->fwd.proof_s);
	if (!rc)
		rc = mps_subflow_send_frame(sf, &r);
	if (rc) {
		mps_meta_fail_connect(meta, rc);
		return 1;
	}
	sf->state = MPS_SF_AUTH_SENT;
	/* the proxy connects to the destination now; its PING re-arms this
	 * and its own connect_timeout ends in a FASTCLOSE */
	mps_timer_arm(sf->eng->loop, &sf->timer, (uint64_t)sf->eng->cfg.connect_timeout_ms);
	return 0;
}

int mps_forward_client_auth(struct mps_subflow *sf, const struct mps_frame *f)
{
	struct mps_meta *meta = sf->meta;
	char a[MPS_ADDRSTRLEN], p[MPS_ADDRSTRLEN];

	if (f->type != MPS_FT_AUTH)
		return -EPROTO;
	if (!mps_crypto_equal(f->u.auth.proof, meta->fwd.proof_s, sizeof(meta->fwd.proof_s))) {
		/* not our proxy, or not our key there: nothing to fall back to */
		mps_warn("meta %u: the proxy's AUTH does not verify (another key?)",
			 meta->id);
		mps_meta_fail_connect(meta, -ECONNREFUSED);
		return 1;
	}
	mps_timer_cancel(sf->eng->loop, &sf->timer);
	sf->state = MPS_SF_ACTIVE;
	sf->was_active = true;
	mps_info("meta %u: %s reached through proxy %s", meta->id,
		 mps_addr_str(&meta->fwd.target.sa, a, sizeof(a)),
		 mps_addr_str(&meta->dest.sa, p, sizeof(p)));
	mps_meta_established(meta);
	return 0;
}

void mps_forward_unreachable(struct mps_meta *meta, int err, const char *why)
{
	if (mps_config_proxy_direct(meta->cfg)) {
		mps_meta_fallback(meta, why);
		return;
	}
	mps_info("meta %u: %s, and proxy_fallback is fail", meta->id, why);
	mps_meta_fail_connect(meta, err < 0 ? err : -ECONNREFUSED);
}
