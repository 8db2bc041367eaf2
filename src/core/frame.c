/*
 * frame.c - the mpshim wire codec: every frame type, both directions.
 *
 * Owns: byte layout, the flag bits each type may carry, the exact body
 * length each type and flag set implies, and the order in which a peer's
 * bytes are judged (doc/PROTOCOL.md, "Wire format", is the prose twin).
 *
 * The parser decides a frame's fate from its 4-byte header (plus, for
 * address-carrying frames, one family byte) before it reads any field, in
 * the spirit of the kernel's MPTCP option parsing: a frame that is unknown,
 * carries an unknown flag, is larger than the caller allows or has a body
 * that cannot fit its type is refused at once, without waiting for (or
 * touching) bytes the peer claims will follow.
 */
#include "config.h"
#include <assert.h>
#include <string.h>
#include "crc32c.h"
#include "frame.h"

/* Fixed body sizes (bytes after the 4-byte header). */
#define HELLO_BASE_LEN		(4 + 1 + 8 + MPS_KEY_PUB_LEN)	/* magic ver key pub */
#define HELLO_ACK_LEN		(1 + 8 + MPS_KEY_PUB_LEN + 4)	/* ver key pub window */
#define JOIN_LEN		(4 + 4 + 8 + 1)			/* magic token nonce id */
#define JOIN_ACK_LEN		(8 + MPS_HMAC_TRUNC_LEN)
#define JOIN_CONFIRM_LEN	MPS_HMAC_LEN
#define DATA_ACK_LEN		(8 + 4)
#define REMOVE_ADDR_LEN		1
#define PRIO_LEN		0
#define PING_LEN		8
#define FASTCLOSE_LEN		(8 + 1)
#define AUTH_LEN		MPS_HMAC_LEN
#define GROW_LEN		1
/* An address block without its address bytes: family, port. */
#define ADDR_FIXED_LEN		(1 + 2)
/* ADD_ADDR without the address bytes: addr_id, family, port, hmac. */
#define ADD_ADDR_FIXED_LEN	(1 + ADDR_FIXED_LEN + MPS_HMAC_TRUNC_LEN)

/* Flag bits each type may carry; anything else is MPS_FE_FLAGS.  Index 0
 * is not a type and allows nothing. */
static const uint8_t frame_flags_allowed[MPS_FT_MAX + 1] = {
	[MPS_FT_HELLO] = MPS_HELLO_F_TARGET | MPS_HELLO_F_PSK | MPS_HELLO_F_CRC,
	[MPS_FT_HELLO_ACK] = MPS_HELLO_F_CRC | MPS_HELLO_F_AUTH | MPS_HELLO_F_NOJOIN,
	[MPS_FT_JOIN] = MPS_JOIN_F_BACKUP,
	[MPS_FT_DATA] = MPS_DATA_F_FIN | MPS_DATA_F_CRC,
	[MPS_FT_PRIO] = MPS_PRIO_F_BACKUP,
};

static const char *const frame_type_names[MPS_FT_MAX + 1] = {
	[MPS_FT_HELLO] = "HELLO",
	[MPS_FT_HELLO_ACK] = "HELLO_ACK",
	[MPS_FT_JOIN] = "JOIN",
	[MPS_FT_JOIN_ACK] = "JOIN_ACK",
	[MPS_FT_JOIN_CONFIRM] = "JOIN_CONFIRM",
	[MPS_FT_DATA] = "DATA",
	[MPS_FT_DATA_ACK] = "DATA_ACK",
	[MPS_FT_ADD_ADDR] = "ADD_ADDR",
	[MPS_FT_REMOVE_ADDR] = "REMOVE_ADDR",
	[MPS_FT_PRIO] = "PRIO",
	[MPS_FT_PING] = "PING",
	[MPS_FT_PONG] = "PONG",
	[MPS_FT_FASTCLOSE] = "FASTCLOSE",
	[MPS_FT_AUTH] = "AUTH",
	[MPS_FT_GROW] = "GROW",
};

static inline uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static inline uint8_t *put_u8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static inline uint8_t *put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static inline uint8_t *put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static inline uint8_t *put_u64(uint8_t *p, uint64_t v)
{
	put_u32(p, (uint32_t)(v >> 32));
	put_u32(p + 4, (uint32_t)v);
	return p + 8;
}

static inline uint8_t *put_bytes(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

/* Address bytes for a wire family, 0 for a family we do not know. */
static size_t frame_addr_len(uint8_t family)
{
	if (family == 4)
		return 4;
	if (family == 6)
		return 16;
	return 0;
}

/*
 * Decide whether the declared body length fits type and flags.  The family
 * byte of an address block is consulted only when the declared body is long
 * enough to hold it; if it has not arrived yet, ask for more (return 0).
 * Returns 1 when the length is right, 0 for "need more", or an error.
 */
static int frame_check_len(const uint8_t *buf, size_t len, uint8_t type,
			   uint8_t flags, size_t body)
{
	size_t want, alen, min, payload;
	const size_t fam_off = MPS_FRAME_HDR_LEN + HELLO_BASE_LEN;

	switch (type) {
	case MPS_FT_HELLO:
		want = HELLO_BASE_LEN;
		if (flags & MPS_HELLO_F_TARGET) {
			if (body <= HELLO_BASE_LEN)
				return MPS_FE_LEN;
			if (len <= fam_off)
				return 0;
			alen = frame_addr_len(buf[fam_off]);
			if (!alen)
				return MPS_FE_FAMILY;
			want += ADDR_FIXED_LEN + alen;
		}
		if (flags & MPS_HELLO_F_PSK)
			want += MPS_KEY_ID_LEN;
		break;
	case MPS_FT_HELLO_ACK:
		want = HELLO_ACK_LEN;
		break;
	case MPS_FT_JOIN:
		want = JOIN_LEN;
		break;
	case MPS_FT_JOIN_ACK:
		want = JOIN_ACK_LEN;
		break;
	case MPS_FT_JOIN_CONFIRM:
		want = JOIN_CONFIRM_LEN;
		break;
	case MPS_FT_DATA:
		min = 8 + ((flags & MPS_DATA_F_CRC) ? 4 : 0);
		if (body < min)
			return MPS_FE_LEN;
		payload = body - min;
		/* An empty DATA without FIN carries nothing: refuse it so a
		 * peer cannot make us spin on zero-byte frames. */
		if (payload > MPS_DATA_MAX_PAYLOAD ||
		    (payload == 0 && !(flags & MPS_DATA_F_FIN)))
			return MPS_FE_LEN;
		return 1;
	case MPS_FT_DATA_ACK:
		want = DATA_ACK_LEN;
		break;
	case MPS_FT_ADD_ADDR:
		/* family sits right after addr_id */
		if (body < 2)
			return MPS_FE_LEN;
		if (len < MPS_FRAME_HDR_LEN + 2)
			return 0;
		alen = frame_addr_len(buf[MPS_FRAME_HDR_LEN + 1]);
		if (!alen)
			return MPS_FE_FAMILY;
		want = ADD_ADDR_FIXED_LEN + alen;
		break;
	case MPS_FT_REMOVE_ADDR:
		want = REMOVE_ADDR_LEN;
		break;
	case MPS_FT_PRIO:
		want = PRIO_LEN;
		break;
	case MPS_FT_PING:
	case MPS_FT_PONG:
		want = PING_LEN;
		break;
	case MPS_FT_FASTCLOSE:
		want = FASTCLOSE_LEN;
		break;
	case MPS_FT_AUTH:
		want = AUTH_LEN;
		break;
	case MPS_FT_GROW:
		want = GROW_LEN;
		break;
	default:
		return MPS_FE_TYPE;
	}
	return body == want ? 1 : MPS_FE_LEN;
}

static const uint8_t *frame_get_addr(const uint8_t *p, struct mps_frame_addr *a)
{
	size_t alen;

	a->family = p[0];
	a->port = get_u16(p + 1);
	alen = frame_addr_len(a->family);
	memcpy(a->addr, p + 3, alen);
	return p + ADDR_FIXED_LEN + alen;
}

/* The whole frame is in the buffer and its length is right: read fields
 * and apply the value checks, in the documented order. */
static int frame_decode(const uint8_t *buf, uint8_t type, uint8_t flags,
			uint16_t body, struct mps_frame *f)
{
	const uint8_t *p = buf + MPS_FRAME_HDR_LEN;

	memset(f, 0, sizeof(*f));
	f->type = type;
	f->flags = flags;
	f->body_len = body;

	switch (type) {
	case MPS_FT_HELLO:
		if (get_u32(p) != MPS_MAGIC)
			return MPS_FE_MAGIC;
		p += 4;
		f->u.hello.version = *p++;
		if (f->u.hello.version != MPS_PROTO_VERSION)
			return MPS_FE_VERSION;
		f->u.hello.key = get_u64(p);
		p += 8;
		memcpy(f->u.hello.pub, p, MPS_KEY_PUB_LEN);
		p += MPS_KEY_PUB_LEN;
		if (flags & MPS_HELLO_F_TARGET)
			p = frame_get_addr(p, &f->u.hello.target);
		if (flags & MPS_HELLO_F_PSK)
			memcpy(f->u.hello.key_id, p, MPS_KEY_ID_LEN);
		break;
	case MPS_FT_HELLO_ACK:
		f->u.hello_ack.version = *p++;
		if (f->u.hello_ack.version != MPS_PROTO_VERSION)
			return MPS_FE_VERSION;
		f->u.hello_ack.key = get_u64(p);
		p += 8;
		memcpy(f->u.hello_ack.pub, p, MPS_KEY_PUB_LEN);
		p += MPS_KEY_PUB_LEN;
		f->u.hello_ack.window = get_u32(p);
		break;
	case MPS_FT_JOIN:
		if (get_u32(p) != MPS_MAGIC)
			return MPS_FE_MAGIC;
		f->u.join.token = get_u32(p + 4);
		f->u.join.nonce = get_u64(p + 8);
		f->u.join.addr_id = p[16];
		break;
	case MPS_FT_JOIN_ACK:
		f->u.join_ack.nonce = get_u64(p);
		memcpy(f->u.join_ack.hmac, p + 8, MPS_HMAC_TRUNC_LEN);
		break;
	case MPS_FT_JOIN_CONFIRM:
		memcpy(f->u.join_confirm.hmac, p, MPS_HMAC_LEN);
		break;
	case MPS_FT_DATA:
		f->u.data.dsn = get_u64(p);
		p += 8;
		if (flags & MPS_DATA_F_CRC) {
			f->u.data.crc = get_u32(p);
			p += 4;
		}
		f->u.data.payload = p;
		f->u.data.len = (uint16_t)(buf + MPS_FRAME_HDR_LEN + body - p);
		if ((flags & MPS_DATA_F_CRC) &&
		    mps_crc32c(0, p, f->u.data.len) != f->u.data.crc)
			return MPS_FE_CRC;
		break;
	case MPS_FT_DATA_ACK:
		f->u.data_ack.ack = get_u64(p);
		f->u.data_ack.window = get_u32(p + 8);
		break;
	case MPS_FT_ADD_ADDR:
		f->u.add_addr.addr_id = *p++;
		p = frame_get_addr(p, &f->u.add_addr.addr);
		memcpy(f->u.add_addr.hmac, p, MPS_HMAC_TRUNC_LEN);
		break;
	case MPS_FT_REMOVE_ADDR:
		f->u.remove_addr.addr_id = p[0];
		break;
	case MPS_FT_PRIO:
		break;
	case MPS_FT_PING:
	case MPS_FT_PONG:
		f->u.ping.ts = get_u64(p);
		break;
	case MPS_FT_FASTCLOSE:
		f->u.fastclose.key = get_u64(p);
		f->u.fastclose.code = p[8];
		if (f->u.fastclose.code > MPS_CLOSE_MAX)
			return MPS_FE_VALUE;
		break;
	case MPS_FT_AUTH:
		memcpy(f->u.auth.proof, p, AUTH_LEN);
		break;
	case MPS_FT_GROW:
		f->u.grow.subflows = p[0];
		if (!f->u.grow.subflows)
			return MPS_FE_VALUE;
		break;
	default:
		return MPS_FE_TYPE;
	}
	return MPS_FRAME_HDR_LEN + body;
}

int mps_frame_parse(const uint8_t *buf, size_t len, size_t max_len,
		    struct mps_frame *f)
{
	uint8_t type, flags;
	uint16_t body;
	size_t total;
	int ret;

	if (len < MPS_FRAME_HDR_LEN)
		return 0;
	type = buf[0];
	flags = buf[1];
	body = get_u16(buf + 2);

	if (type == 0 || type > MPS_FT_MAX)
		return MPS_FE_TYPE;
	if (flags & ~frame_flags_allowed[type])
		return MPS_FE_FLAGS;
	/* Judge the size on the header alone, so an oversized frame costs us
	 * nothing: we never buffer its body waiting to refuse it. */
	total = MPS_FRAME_HDR_LEN + (size_t)body;
	if (total > (max_len ? max_len : MPS_FRAME_MAX_LEN))
		return MPS_FE_TOOBIG;
	ret = frame_check_len(buf, len, type, flags, body);
	if (ret <= 0)
		return ret;
	if (len < total)
		return 0;
	return frame_decode(buf, type, flags, body, f);
}

/* Body length f would encode to, or the error the parser would give it. */
static int frame_body_size(const struct mps_frame *f)
{
	size_t alen, size;

	if (f->type == 0 || f->type > MPS_FT_MAX)
		return MPS_FE_TYPE;
	if (f->flags & ~frame_flags_allowed[f->type])
		return MPS_FE_FLAGS;

	switch (f->type) {
	case MPS_FT_HELLO:
		size = HELLO_BASE_LEN;
		if (f->flags & MPS_HELLO_F_TARGET) {
			alen = frame_addr_len(f->u.hello.target.family);
			if (!alen)
				return MPS_FE_FAMILY;
			size += ADDR_FIXED_LEN + alen;
		}
		if (f->flags & MPS_HELLO_F_PSK)
			size += MPS_KEY_ID_LEN;
		return (int)size;
	case MPS_FT_HELLO_ACK:
		return HELLO_ACK_LEN;
	case MPS_FT_JOIN:
		return JOIN_LEN;
	case MPS_FT_JOIN_ACK:
		return JOIN_ACK_LEN;
	case MPS_FT_JOIN_CONFIRM:
		return JOIN_CONFIRM_LEN;
	case MPS_FT_DATA:
		if (f->u.data.len > MPS_DATA_MAX_PAYLOAD ||
		    (f->u.data.len == 0 && !(f->flags & MPS_DATA_F_FIN)))
			return MPS_FE_LEN;
		if (f->u.data.len && !f->u.data.payload)
			return MPS_FE_VALUE;
		return 8 + ((f->flags & MPS_DATA_F_CRC) ? 4 : 0) + f->u.data.len;
	case MPS_FT_DATA_ACK:
		return DATA_ACK_LEN;
	case MPS_FT_ADD_ADDR:
		alen = frame_addr_len(f->u.add_addr.addr.family);
		if (!alen)
			return MPS_FE_FAMILY;
		return (int)(ADD_ADDR_FIXED_LEN + alen);
	case MPS_FT_REMOVE_ADDR:
		return REMOVE_ADDR_LEN;
	case MPS_FT_PRIO:
		return PRIO_LEN;
	case MPS_FT_PING:
	case MPS_FT_PONG:
		return PING_LEN;
	case MPS_FT_FASTCLOSE:
		if (f->u.fastclose.code > MPS_CLOSE_MAX)
			return MPS_FE_VALUE;
		return FASTCLOSE_LEN;
	case MPS_FT_AUTH:
		return AUTH_LEN;
	case MPS_FT_GROW:
		if (!f->u.grow.subflows)
			return MPS_FE_VALUE;
		return GROW_LEN;
	}
	return MPS_FE_TYPE;
}

static uint8_t *frame_put_addr(uint8_t *p, const struct mps_frame_addr *a)
{
	p = put_u8(p, a->family);
	p = put_u16(p, a->port);
	return put_bytes(p, a->addr, frame_addr_len(a->family));
}

int mps_frame_encode(const struct mps_frame *f, uint8_t *buf, size_t cap)
{
	uint8_t *p = buf;
	int body;

	body = frame_body_size(f);
	if (body < 0)
		return body;
	if (cap < MPS_FRAME_HDR_LEN + (size_t)body)
		return MPS_FE_NOSPACE;

	p = put_u8(p, f->type);
	p = put_u8(p, f->flags);
	p = put_u16(p, (uint16_t)body);

	switch (f->type) {
	case MPS_FT_HELLO:
		p = put_u32(p, MPS_MAGIC);
		p = put_u8(p, f->u.hello.version);
		p = put_u64(p, f->u.hello.key);
		p = put_bytes(p, f->u.hello.pub, MPS_KEY_PUB_LEN);
		if (f->flags & MPS_HELLO_F_TARGET)
			p = frame_put_addr(p, &f->u.hello.target);
		if (f->flags & MPS_HELLO_F_PSK)
			p = put_bytes(p, f->u.hello.key_id, MPS_KEY_ID_LEN);
		break;
	case MPS_FT_HELLO_ACK:
		p = put_u8(p, f->u.hello_ack.version);
		p = put_u64(p, f->u.hello_ack.key);
		p = put_bytes(p, f->u.hello_ack.pub, MPS_KEY_PUB_LEN);
		p = put_u32(p, f->u.hello_ack.window);
		break;
	case MPS_FT_JOIN:
		p = put_u32(p, MPS_MAGIC);
		p = put_u32(p, f->u.join.token);
		p = put_u64(p, f->u.join.nonce);
		p = put_u8(p, f->u.join.addr_id);
		break;
	case MPS_FT_JOIN_ACK:
		p = put_u64(p, f->u.join_ack.nonce);
		p = put_bytes(p, f->u.join_ack.hmac, MPS_HMAC_TRUNC_LEN);
		break;
	case MPS_FT_JOIN_CONFIRM:
		p = put_bytes(p, f->u.join_confirm.hmac, MPS_HMAC_LEN);
		break;
	case MPS_FT_DATA:
		p = put_u64(p, f->u.data.dsn);
		if (f->flags & MPS_DATA_F_CRC)
			p = put_u32(p, mps_crc32c(0, f->u.data.payload,
						  f->u.data.len));
		/* memcpy from NULL is undefined even for 0 bytes */
		if (f->u.data.len)
			p = put_bytes(p, f->u.data.payload, f->u.data.len);
		break;
	case MPS_FT_DATA_ACK:
		p = put_u64(p, f->u.data_ack.ack);
		p = put_u32(p, f->u.data_ack.window);
		break;
	case MPS_FT_ADD_ADDR:
		p = put_u8(p, f->u.add_addr.addr_id);
		p = frame_put_addr(p, &f->u.add_addr.addr);
		p = put_bytes(p, f->u.add_addr.hmac, MPS_HMAC_TRUNC_LEN);
		break;
	case MPS_FT_REMOVE_ADDR:
		p = put_u8(p, f->u.remove_addr.addr_id);
		break;
	case MPS_FT_PRIO:
		break;
	case MPS_FT_PING:
	case MPS_FT_PONG:
		p = put_u64(p, f->u.ping.ts);
		break;
	case MPS_FT_FASTCLOSE:
		p = put_u64(p, f->u.fastclose.key);
		p = put_u8(p, f->u.fastclose.code);
		break;
	case MPS_FT_AUTH:
		p = put_bytes(p, f->u.auth.proof, AUTH_LEN);
		break;
	case MPS_FT_GROW:
		p = put_u8(p, f->u.grow.subflows);
		break;
	}
	assert(p == buf + MPS_FRAME_HDR_LEN + body);
	return (int)(p - buf);
}

size_t mps_frame_data_hdr(uint8_t *buf, uint64_t dsn, uint16_t payload_len,
			  uint8_t flags, const uint32_t *crc)
{
	size_t hdr = MPS_DATA_HDR_LEN + (crc ? 4 : 0);
	uint8_t *p = buf;

	/* The send path owns these values; a violation is our bug. */
	assert(payload_len <= MPS_DATA_MAX_PAYLOAD);
	assert(payload_len > 0 || (flags & MPS_DATA_F_FIN));

	/* The CRC flag follows the crc argument, never the caller's flags, so
	 * the header cannot promise a checksum it does not carry. */
	flags = (uint8_t)((flags & MPS_DATA_F_FIN) | (crc ? MPS_DATA_F_CRC : 0));
	p = put_u8(p, MPS_FT_DATA);
	p = put_u8(p, flags);
	p = put_u16(p, (uint16_t)(hdr - MPS_FRAME_HDR_LEN + payload_len));
	p = put_u64(p, dsn);
	if (crc)
		put_u32(p, *crc);
	return hdr;
}

int mps_frame_classify(const uint8_t *buf, size_t len)
{
	size_t i;
	uint8_t want;

	/* Decide on each byte as it arrives: a plain client is released to
	 * the app as soon as one byte proves it is not ours. */
	if (len < 1)
		return -1;
	if (buf[0] != MPS_FT_HELLO && buf[0] != MPS_FT_JOIN)
		return 0;
	if (len >= 2 && (buf[1] & ~frame_flags_allowed[buf[0]]))
		return 0;
	for (i = 4; i < len && i < 8; i++) {
		want = (uint8_t)(MPS_MAGIC >> (8 * (7 - i)));
		if (buf[i] != want)
			return 0;
	}
	if (len < 8)
		return -1;
	return buf[0];
}

const char *mps_frame_type_name(unsigned type)
{
	if (type == 0 || type > MPS_FT_MAX)
		return "UNKNOWN";
	return frame_type_names[type];
}

const char *mps_frame_strerror(int err)
{
	switch (err) {
	case MPS_FE_TYPE:
		return "unknown frame type";
	case MPS_FE_FLAGS:
		return "flag not defined for this frame type";
	case MPS_FE_LEN:
		return "body length does not fit type and flags";
	case MPS_FE_MAGIC:
		return "missing MPS1 magic";
	case MPS_FE_VERSION:
		return "unsupported protocol version";
	case MPS_FE_FAMILY:
		return "address family neither 4 nor 6";
	case MPS_FE_CRC:
		return "DATA checksum mismatch";
	case MPS_FE_VALUE:
		return "field value out of range";
	case MPS_FE_TOOBIG:
		return "frame larger than allowed";
	case MPS_FE_NOSPACE:
		return "output buffer too small";
	}
	return err >= 0 ? "no error" : "unknown frame error";
}
