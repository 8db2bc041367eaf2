/*
 * test_frame.c - the wire codec: layout, round trips, every refusal, and
 * robustness against partial and mutated input.
 *
 * Buffers handed to the parser are allocated to exactly the bytes that
 * are "in" them, so under AddressSanitizer a read past len is a crash.
 */
#include "config.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "crc32c.h"
#include "frame.h"

#define MAX_SAMPLES	128

/* Flag bits each type may carry, restated from frame.h on purpose: the
 * test must not trust the codec's own table. */
static const uint8_t flags_allowed[MPS_FT_MAX + 1] = {
	[MPS_FT_HELLO] = 0x07, [MPS_FT_HELLO_ACK] = 0x1c,
	[MPS_FT_JOIN] = 0x01, [MPS_FT_DATA] = 0x03, [MPS_FT_PRIO] = 0x01,
};

/* ---- helpers ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64: deterministic, so a failure replays exactly */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = (uint8_t)rng();
}

/* Hex with optional spaces -> freshly allocated bytes of exact size. */
static uint8_t *unhex(const char *hex, size_t *n)
{
	uint8_t *out = malloc(strlen(hex) / 2 + 1);
	unsigned v;
	size_t len = 0;

	cr_assert_not_null(out);
	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		cr_assert_eq(sscanf(hex, "%2x", &v), 1, "bad hex near %s", hex);
		out[len++] = (uint8_t)v;
		hex += 2;
	}
	*n = len;
	return out;
}

/* A copy of src in an allocation of exactly len bytes (never NULL). */
static uint8_t *exact_copy(const uint8_t *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	cr_assert_not_null(p);
	if (len)
		memcpy(p, src, len);
	return p;
}

/* Parse src[0..len) from an exact-size copy; the copy is freed. */
static int parse_exact(const uint8_t *src, size_t len, size_t max_len)
{
	struct mps_frame f;
	uint8_t *p = exact_copy(src, len);
	int ret = mps_frame_parse(p, len, max_len, &f);

	free(p);
	return ret;
}

static size_t addr_bytes(uint8_t family)
{
	return family == 6 ? 16 : 4;
}

static void assert_addr_eq(const struct mps_frame_addr *a,
			   const struct mps_frame_addr *b)
{
	cr_assert_eq(a->family, b->family);
	cr_assert_eq(a->port, b->port);
	cr_assert_arr_eq(a->addr, b->addr, addr_bytes(a->family));
}

/* Compare the fields a frame of this type and flags carries on the wire. */
static void assert_frame_eq(const struct mps_frame *a, const struct mps_frame *b)
{
	cr_assert_eq(a->type, b->type);
	cr_assert_eq(a->flags, b->flags);
	switch (a->type) {
	case MPS_FT_HELLO:
		cr_assert_eq(a->u.hello.version, b->u.hello.version);
		cr_assert_eq(a->u.hello.key, b->u.hello.key);
		cr_assert_arr_eq(a->u.hello.pub, b->u.hello.pub, MPS_KEY_PUB_LEN);
		if (a->flags & MPS_HELLO_F_TARGET)
			assert_addr_eq(&a->u.hello.target, &b->u.hello.target);
		if (a->flags & MPS_HELLO_F_PSK)
			cr_assert_arr_eq(a->u.hello.key_id, b->u.hello.key_id,
					 MPS_KEY_ID_LEN);
		break;
	case MPS_FT_HELLO_ACK:
		cr_assert_eq(a->u.hello_ack.version, b->u.hello_ack.version);
		cr_assert_eq(a->u.hello_ack.key, b->u.hello_ack.key);
		cr_assert_arr_eq(a->u.hello_ack.pub, b->u.hello_ack.pub,
				 MPS_KEY_PUB_LEN);
		cr_assert_eq(a->u.hello_ack.window, b->u.hello_ack.window);
		break;
	case MPS_FT_JOIN:
		cr_assert_eq(a->u.join.token, b->u.join.token);
		cr_assert_eq(a->u.join.nonce, b->u.join.nonce);
		cr_assert_eq(a->u.join.addr_id, b->u.join.addr_id);
		break;
	case MPS_FT_JOIN_ACK:
		cr_assert_eq(a->u.join_ack.nonce, b->u.join_ack.nonce);
		cr_assert_arr_eq(a->u.join_ack.hmac, b->u.join_ack.hmac,
				 MPS_HMAC_TRUNC_LEN);
		break;
	case MPS_FT_JOIN_CONFIRM:
		cr_assert_arr_eq(a->u.join_confirm.hmac, b->u.join_confirm.hmac,
				 MPS_HMAC_LEN);
		break;
	case MPS_FT_DATA:
		cr_assert_eq(a->u.data.dsn, b->u.data.dsn);
		cr_assert_eq(a->u.data.len, b->u.data.len);
		if (a->u.data.len)
			cr_assert_arr_eq(a->u.data.payload, b->u.data.payload,
					 a->u.data.len);
		break;
	case MPS_FT_DATA_ACK:
		cr_assert_eq(a->u.data_ack.ack, b->u.data_ack.ack);
		cr_assert_eq(a->u.data_ack.window, b->u.data_ack.window);
		break;
	case MPS_FT_ADD_ADDR:
		cr_assert_eq(a->u.add_addr.addr_id, b->u.add_addr.addr_id);
		assert_addr_eq(&a->u.add_addr.addr, &b->u.add_addr.addr);
		cr_assert_arr_eq(a->u.add_addr.hmac, b->u.add_addr.hmac,
				 MPS_HMAC_TRUNC_LEN);
		break;
	case MPS_FT_REMOVE_ADDR:
		cr_assert_eq(a->u.remove_addr.addr_id, b->u.remove_addr.addr_id);
		break;
	case MPS_FT_PRIO:
		break;
	case MPS_FT_PING:
	case MPS_FT_PONG:
		cr_assert_eq(a->u.ping.ts, b->u.ping.ts);
		break;
	case MPS_FT_FASTCLOSE:
		cr_assert_eq(a->u.fastclose.key, b->u.fastclose.key);
		cr_assert_eq(a->u.fastclose.code, b->u.fastclose.code);
		break;
	case MPS_FT_AUTH:
		cr_assert_arr_eq(a->u.auth.proof, b->u.auth.proof, MPS_HMAC_LEN);
		break;
	case MPS_FT_GROW:
		cr_assert_eq(a->u.grow.subflows, b->u.grow.subflows);
		break;
	default:
		cr_assert_fail("unexpected type %u", a->type);
	}
}

/* ---- sample frames: every type with every flag combination ---- */

/* room for a maximal payload at any of the small offsets used below */
static uint8_t payload_pool[MPS_DATA_MAX_PAYLOAD + 16];

static void random_addr(struct mps_frame_addr *a, uint8_t family)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	a->port = (uint16_t)rng();
	fill(a->addr, addr_bytes(family));
}

static struct mps_frame *next_sample(struct mps_frame *s, size_t *n,
				     unsigned type, unsigned flags)
{
	struct mps_frame *f = &s[(*n)++];

	cr_assert_leq(*n, MAX_SAMPLES);
	memset(f, 0, sizeof(*f));
	f->type = (uint8_t)type;
	f->flags = (uint8_t)flags;
	return f;
}

static size_t build_samples(struct mps_frame *s)
{
	static const uint16_t data_lens[] = {
		0, 1, 7, 8, 9, 100, 1400, MPS_DATA_MAX_PAYLOAD
	};
	struct mps_frame *f;
	size_t n = 0, i;
	unsigned flags, fam, code;

	rng_state = 0x9e3779b97f4a7c15ull;
	fill(payload_pool, sizeof(payload_pool));

	for (flags = 0; flags < 8; flags++) {
		for (fam = 4; fam <= 6; fam += 2) {
			if (fam == 6 && !(flags & MPS_HELLO_F_TARGET))
				continue;
			f = next_sample(s, &n, MPS_FT_HELLO, flags);
			f->u.hello.version = MPS_PROTO_VERSION;
			f->u.hello.key = rng();
			fill(f->u.hello.pub, MPS_KEY_PUB_LEN);
			if (flags & MPS_HELLO_F_TARGET)
				random_addr(&f->u.hello.target, (uint8_t)fam);
			if (flags & MPS_HELLO_F_PSK)
				fill(f->u.hello.key_id, MPS_KEY_ID_LEN);
		}
	}
	/* every combination of CRC, AUTH and NOJOIN */
	for (flags = 0; flags <= (MPS_HELLO_F_CRC | MPS_HELLO_F_AUTH | MPS_HELLO_F_NOJOIN);
	     flags += MPS_HELLO_F_CRC) {
		f = next_sample(s, &n, MPS_FT_HELLO_ACK, flags);
		f->u.hello_ack.version = MPS_PROTO_VERSION;
		f->u.hello_ack.key = rng();
		fill(f->u.hello_ack.pub, MPS_KEY_PUB_LEN);
		f->u.hello_ack.window = (uint32_t)rng();
	}
	for (flags = 0; flags <= MPS_JOIN_F_BACKUP; flags++) {
		f = next_sample(s, &n, MPS_FT_JOIN, flags);
		f->u.join.token = (uint32_t)rng();
		f->u.join.nonce = rng();
		f->u.join.addr_id = (uint8_t)rng();
	}
	f = next_sample(s, &n, MPS_FT_JOIN_ACK, 0);
	f->u.join_ack.nonce = rng();
	fill(f->u.join_ack.hmac, MPS_HMAC_TRUNC_LEN);
	f = next_sample(s, &n, MPS_FT_JOIN_CONFIRM, 0);
	fill(f->u.join_confirm.hmac, MPS_HMAC_LEN);
	for (flags = 0; flags < 4; flags++) {
		for (i = 0; i < sizeof(data_lens) / sizeof(data_lens[0]); i++) {
			if (!data_lens[i] && !(flags & MPS_DATA_F_FIN))
				continue;
			f = next_sample(s, &n, MPS_FT_DATA, flags);
			f->u.data.dsn = rng();
			f->u.data.len = data_lens[i];
			f->u.data.payload = payload_pool + i;
		}
	}
	f = next_sample(s, &n, MPS_FT_DATA_ACK, 0);
	f->u.data_ack.ack = rng();
	f->u.data_ack.window = (uint32_t)rng();
	for (fam = 4; fam <= 6; fam += 2) {
		f = next_sample(s, &n, MPS_FT_ADD_ADDR, 0);
		f->u.add_addr.addr_id = (uint8_t)rng();
		random_addr(&f->u.add_addr.addr, (uint8_t)fam);
		fill(f->u.add_addr.hmac, MPS_HMAC_TRUNC_LEN);
	}
	f = next_sample(s, &n, MPS_FT_REMOVE_ADDR, 0);
	f->u.remove_addr.addr_id = (uint8_t)rng();
	f = next_sample(s, &n, MPS_FT_PRIO, 0);
	f = next_sample(s, &n, MPS_FT_PRIO, MPS_PRIO_F_BACKUP);
	f = next_sample(s, &n, MPS_FT_PING, 0);
	f->u.ping.ts = rng();
	f = next_sample(s, &n, MPS_FT_PONG, 0);
	f->u.ping.ts = rng();
	for (code = 0; code <= MPS_CLOSE_MAX; code++) {
		f = next_sample(s, &n, MPS_FT_FASTCLOSE, 0);
		f->u.fastclose.key = rng();
		f->u.fastclose.code = (uint8_t)code;
	}
	f = next_sample(s, &n, MPS_FT_AUTH, 0);
	fill(f->u.auth.proof, MPS_HMAC_LEN);
	f = next_sample(s, &n, MPS_FT_GROW, 0);
	f->u.grow.subflows = (uint8_t)(1 + rng() % 255);
	cr_assert_leq(n, MAX_SAMPLES);
	return n;
}

/* Encode into an exact-size allocation. */
static uint8_t *encode_alloc(const struct mps_frame *f, size_t *n)
{
	static uint8_t big[MPS_FRAME_MAX_LEN];
	int ret = mps_frame_encode(f, big, sizeof(big));

	cr_assert_gt(ret, 0, "encode %s flags %#x: %s",
		     mps_frame_type_name(f->type), f->flags,
		     mps_frame_strerror(ret));
	*n = (size_t)ret;
	return exact_copy(big, *n);
}

/* ---- golden layouts: the bytes doc/PROTOCOL.md describes ---- */

#define PUB_HEX  "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
/* key id "laptop", NUL-padded to 16 bytes */
#define KEYID_HEX "6c6170746f7000000000000000000000"
#define HMAC_HEX "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"

static void seq(uint8_t *p, uint8_t start, size_t n)
{
	while (n--)
		*p++ = start++;
}

static void check_golden(const struct mps_frame *f, const char *hex)
{
	size_t want_len, got_len;
	uint8_t *want = unhex(hex, &want_len);
	uint8_t *got = encode_alloc(f, &got_len);
	struct mps_frame g;

	cr_assert_eq(got_len, want_len, "%s: encoded %zu bytes, layout has %zu",
		     mps_frame_type_name(f->type), got_len, want_len);
	cr_assert_arr_eq(got, want, want_len, "%s: bytes differ",
			 mps_frame_type_name(f->type));
	cr_assert_eq(mps_frame_parse(want, want_len, 0, &g), (int)want_len);
	cr_assert_eq(g.body_len, want_len - MPS_FRAME_HDR_LEN);
	assert_frame_eq(f, &g);
	free(want);
	free(got);
}

Test(frame_layout, hello)
{
	struct mps_frame f = { .type = MPS_FT_HELLO };

	f.u.hello.version = 1;
	f.u.hello.key = 0x0102030405060708ull;
	seq(f.u.hello.pub, 0xa0, 32);
	check_golden(&f, "01 00 002d 4d505331 01 0102030405060708 " PUB_HEX);

	f.flags = MPS_HELLO_F_TARGET;
	f.u.hello.target.family = 4;
	f.u.hello.target.port = 8080;
	memcpy(f.u.hello.target.addr, "\x0a\x00\x00\x01", 4);
	check_golden(&f, "01 01 0034 4d505331 01 0102030405060708 " PUB_HEX
		     " 04 1f90 0a000001");

	f.flags = MPS_HELLO_F_TARGET | MPS_HELLO_F_PSK | MPS_HELLO_F_CRC;
	f.u.hello.target.family = 6;
	f.u.hello.target.port = 443;
	memcpy(f.u.hello.target.addr,
	       "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	memcpy(f.u.hello.key_id, "laptop", 6);
	check_golden(&f, "01 07 0050 4d505331 01 0102030405060708 " PUB_HEX
		     " 06 01bb 20010db8000000000000000000000001 " KEYID_HEX);

	f.flags = MPS_HELLO_F_PSK;
	check_golden(&f, "01 02 003d 4d505331 01 0102030405060708 " PUB_HEX
		     " " KEYID_HEX);

	f.flags = MPS_HELLO_F_TARGET | MPS_HELLO_F_PSK;
	f.u.hello.target.family = 4;
	memcpy(f.u.hello.target.addr, "\xc0\x00\x02\x01", 4);
	check_golden(&f, "01 03 0044 4d505331 01 0102030405060708 " PUB_HEX
		     " 04 01bb c0000201 " KEYID_HEX);
}

Test(frame_layout, hello_ack)
{
	struct mps_frame f = { .type = MPS_FT_HELLO_ACK, .flags = MPS_HELLO_F_CRC };

	f.u.hello_ack.version = 1;
	f.u.hello_ack.key = 0x1112131415161718ull;
	seq(f.u.hello_ack.pub, 0xa0, 32);
	f.u.hello_ack.window = 0x00010000;
	check_golden(&f, "02 04 002d 01 1112131415161718 " PUB_HEX " 00010000");

	/* a forward proxy's challenge: the same body, AUTH set */
	f.flags = MPS_HELLO_F_AUTH;
	check_golden(&f, "02 08 002d 01 1112131415161718 " PUB_HEX " 00010000");
}

Test(frame_layout, auth)
{
	struct mps_frame f = { .type = MPS_FT_AUTH };

	seq(f.u.auth.proof, 0xe0, 32);
	check_golden(&f, "0e 00 0020 " HMAC_HEX);
}

Test(frame_layout, join_family)
{
	struct mps_frame f = { .type = MPS_FT_JOIN, .flags = MPS_JOIN_F_BACKUP };

	f.u.join.token = 0xdeadbeef;
	f.u.join.nonce = 0x1122334455667788ull;
	f.u.join.addr_id = 5;
	check_golden(&f, "03 01 0011 4d505331 deadbeef 1122334455667788 05");

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_JOIN_ACK;
	f.u.join_ack.nonce = 0x8877665544332211ull;
	seq(f.u.join_ack.hmac, 0, 8);
	check_golden(&f, "04 00 0010 8877665544332211 0001020304050607");

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_JOIN_CONFIRM;
	seq(f.u.join_confirm.hmac, 0xe0, 32);
	check_golden(&f, "05 00 0020 " HMAC_HEX);
}

Test(frame_layout, data)
{
	struct mps_frame f = { .type = MPS_FT_DATA };

	f.flags = MPS_DATA_F_FIN | MPS_DATA_F_CRC;
	f.u.data.dsn = 0x0000000100000002ull;
	f.u.data.payload = (const uint8_t *)"123456789";
	f.u.data.len = 9;
	/* crc32c("123456789") = e3069283, the standard check value */
	check_golden(&f, "06 03 0015 0000000100000002 e3069283 313233343536373839");

	f.flags = 0;
	f.u.data.payload = (const uint8_t *)"hi";
	f.u.data.len = 2;
	check_golden(&f, "06 00 000a 0000000100000002 6869");

	f.flags = MPS_DATA_F_FIN;
	f.u.data.payload = NULL;
	f.u.data.len = 0;
	check_golden(&f, "06 01 0008 0000000100000002");

	/* empty payload with crc: crc32c of nothing is 0 */
	f.flags = MPS_DATA_F_FIN | MPS_DATA_F_CRC;
	check_golden(&f, "06 03 000c 0000000100000002 00000000");
}

Test(frame_layout, control)
{
	struct mps_frame f = { .type = MPS_FT_DATA_ACK };

	f.u.data_ack.ack = 0x0102030405060708ull;
	f.u.data_ack.window = 0xffff;
	check_golden(&f, "07 00 000c 0102030405060708 0000ffff");

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_ADD_ADDR;
	f.u.add_addr.addr_id = 2;
	f.u.add_addr.addr.family = 4;
	f.u.add_addr.addr.port = 80;
	memcpy(f.u.add_addr.addr.addr, "\xc0\x00\x02\x01", 4);
	seq(f.u.add_addr.hmac, 0xe0, 8);
	check_golden(&f, "08 00 0010 02 04 0050 c0000201 e0e1e2e3e4e5e6e7");

	f.u.add_addr.addr_id = 3;
	f.u.add_addr.addr.family = 6;
	memcpy(f.u.add_addr.addr.addr,
	       "\xfe\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	check_golden(&f, "08 00 001c 03 06 0050 fe800000000000000000000000000001"
		     " e0e1e2e3e4e5e6e7");

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_REMOVE_ADDR;
	f.u.remove_addr.addr_id = 7;
	check_golden(&f, "09 00 0001 07");

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_PRIO;
	check_golden(&f, "0a 00 0000");
	f.flags = MPS_PRIO_F_BACKUP;
	check_golden(&f, "0a 01 0000");

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_PING;
	f.u.ping.ts = 0x00000000075bcd15ull;
	check_golden(&f, "0b 00 0008 00000000075bcd15");
	f.type = MPS_FT_PONG;
	check_golden(&f, "0c 00 0008 00000000075bcd15");

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_FASTCLOSE;
	f.u.fastclose.key = 0xcafebabe00000001ull;
	f.u.fastclose.code = MPS_CLOSE_UNREACH;
	check_golden(&f, "0d 00 0009 cafebabe00000001 03");

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_GROW;
	f.u.grow.subflows = 3;
	check_golden(&f, "0f 00 0001 03");
}

/* ---- round trips ---- */

Test(frame_roundtrip, every_type_and_flag_combination)
{
	static struct mps_frame s[MAX_SAMPLES];
	size_t n = build_samples(s), i, len, len2;
	unsigned seen_types = 0;
	struct mps_frame g;
	uint8_t *buf, *again;

	for (i = 0; i < n; i++) {
		buf = encode_alloc(&s[i], &len);
		cr_assert_eq(buf[0], s[i].type);
		cr_assert_eq(buf[1], s[i].flags);
		cr_assert_eq((size_t)(buf[2] << 8 | buf[3]),
			     len - MPS_FRAME_HDR_LEN, "sample %zu: len field", i);
		cr_assert_eq(mps_frame_parse(buf, len, 0, &g), (int)len,
			     "sample %zu (%s flags %#x)", i,
			     mps_frame_type_name(s[i].type), s[i].flags);
		cr_assert_eq(g.body_len, len - MPS_FRAME_HDR_LEN);
		assert_frame_eq(&s[i], &g);
		if (s[i].type == MPS_FT_DATA) {
			/* payload points into the parsed buffer, not a copy */
			if (g.u.data.len)
				cr_assert_eq(g.u.data.payload,
					     buf + len - g.u.data.len);
			if (g.flags & MPS_DATA_F_CRC)
				cr_assert_eq(g.u.data.crc,
					     mps_crc32c(0, g.u.data.payload,
							g.u.data.len));
		}
		/* the parsed struct encodes to the very same bytes */
		again = encode_alloc(&g, &len2);
		cr_assert_eq(len2, len);
		cr_assert_arr_eq(again, buf, len);
		/* max_len equal to the frame size is enough */
		cr_assert_eq(parse_exact(buf, len, len), (int)len);
		seen_types |= 1u << s[i].type;
		free(again);
		free(buf);
	}
	cr_assert_eq(seen_types, ((1u << (MPS_FT_MAX + 1)) - 1) & ~1u,
		     "a frame type has no sample");
}

Test(frame_roundtrip, back_to_back_frames)
{
	static struct mps_frame s[MAX_SAMPLES];
	static uint8_t stream[1 << 20];
	size_t n = build_samples(s), i, off = 0, pos = 0;
	struct mps_frame g;
	int ret;

	for (i = 0; i < n; i++) {
		ret = mps_frame_encode(&s[i], stream + off, sizeof(stream) - off);
		cr_assert_gt(ret, 0);
		off += (size_t)ret;
	}
	for (i = 0; i < n; i++) {
		ret = mps_frame_parse(stream + pos, off - pos, 0, &g);
		cr_assert_gt(ret, 0, "frame %zu: %d", i, ret);
		assert_frame_eq(&s[i], &g);
		pos += (size_t)ret;
	}
	cr_assert_eq(pos, off);
}

Test(frame_roundtrip, data_hdr_matches_encode)
{
	static const uint8_t payload[] = "zero-copy payload";
	uint16_t plen = sizeof(payload) - 1;
	uint8_t a[64], b[64];
	struct mps_frame f = { .type = MPS_FT_DATA }, g;
	uint32_t crc = mps_crc32c(0, payload, plen);
	unsigned fl;
	size_t hdr;
	int ret;

	for (fl = 0; fl < 4; fl++) {
		f.flags = (uint8_t)fl;
		f.u.data.dsn = 0x0123456789abcdefull + fl;
		f.u.data.payload = payload;
		f.u.data.len = plen;
		ret = mps_frame_encode(&f, a, sizeof(a));
		cr_assert_gt(ret, 0);

		memset(b, 0, sizeof(b));
		hdr = mps_frame_data_hdr(b, f.u.data.dsn, plen,
					 (uint8_t)(fl & MPS_DATA_F_FIN),
					 (fl & MPS_DATA_F_CRC) ? &crc : NULL);
		cr_assert_eq(hdr, MPS_DATA_HDR_LEN +
				  ((fl & MPS_DATA_F_CRC) ? 4u : 0u));
		memcpy(b + hdr, payload, plen);
		cr_assert_eq(hdr + plen, (size_t)ret);
		cr_assert_arr_eq(a, b, (size_t)ret, "flags %#x", fl);
		cr_assert_eq(mps_frame_parse(b, hdr + plen, 0, &g), ret);
	}
	/* a CRC flag without a crc is dropped: the header never promises a
	 * checksum it does not carry */
	hdr = mps_frame_data_hdr(b, 1, plen, MPS_DATA_F_CRC | MPS_DATA_F_FIN,
				 NULL);
	cr_assert_eq(hdr, MPS_DATA_HDR_LEN);
	cr_assert_eq(b[1], MPS_DATA_F_FIN);
	/* DATA_FIN alone */
	hdr = mps_frame_data_hdr(b, 9, 0, MPS_DATA_F_FIN, NULL);
	cr_assert_eq(mps_frame_parse(b, hdr, 0, &g), (int)hdr);
	cr_assert_eq(g.u.data.len, 0);
	cr_assert_eq(g.u.data.dsn, 9);
}

/* ---- partial input ---- */

Test(frame_partial, every_prefix_needs_more)
{
	static struct mps_frame s[MAX_SAMPLES];
	size_t n = build_samples(s), i, len, k;
	uint8_t *buf;

	for (i = 0; i < n; i++) {
		buf = encode_alloc(&s[i], &len);
		for (k = 0; k < len; k++) {
			/* a 64 KiB frame: the head, a stride and the tail */
			if (len > 512 && k > 256 && k < len - 256 && k % 997)
				continue;
			cr_assert_eq(parse_exact(buf, k, 0), 0,
				     "sample %zu (%s) prefix %zu of %zu", i,
				     mps_frame_type_name(s[i].type), k, len);
		}
		cr_assert_eq(parse_exact(buf, len, 0), (int)len);
		free(buf);
	}
}

Test(frame_partial, short_header_is_never_judged)
{
	/* under 4 bytes nothing is decided, even for an impossible type */
	cr_assert_eq(parse_exact((const uint8_t *)"\xff\xff\xff", 3, 0), 0);
	cr_assert_eq(parse_exact((const uint8_t *)"\x00", 1, 0), 0);
	cr_assert_eq(parse_exact((const uint8_t *)"", 0, 0), 0);
}

/* ---- rejections ---- */

Test(frame_reject, bad_type)
{
	static const uint8_t types[] = { 0, MPS_FT_MAX + 1, 0x47, 0x80, 0xff };
	uint8_t hdr[4] = { 0, 0, 0, 8 };
	size_t i;

	for (i = 0; i < sizeof(types); i++) {
		hdr[0] = types[i];
		cr_assert_eq(parse_exact(hdr, 4, 0), MPS_FE_TYPE, "type %u",
			     types[i]);
	}
}

Test(frame_reject, bad_flags_every_type)
{
	static struct mps_frame s[MAX_SAMPLES];
	size_t n = build_samples(s), i, len;
	unsigned bit;
	uint8_t *buf;

	for (i = 0; i < n; i++) {
		buf = encode_alloc(&s[i], &len);
		for (bit = 0; bit < 8; bit++) {
			if (flags_allowed[s[i].type] & (1u << bit))
				continue;
			buf[1] ^= (uint8_t)(1u << bit);
			cr_assert_eq(parse_exact(buf, len, 0), MPS_FE_FLAGS,
				     "%s flags %#x", mps_frame_type_name(s[i].type),
				     buf[1]);
			buf[1] ^= (uint8_t)(1u << bit);
		}
		free(buf);
	}
}

Test(frame_reject, undefined_flag_bits_are_flags_error)
{
	uint8_t hdr[4] = { 0, 0, 0, 0 };
	unsigned t, bit;

	for (t = 1; t <= MPS_FT_MAX; t++) {
		for (bit = 0; bit < 8; bit++) {
			if (flags_allowed[t] & (1u << bit))
				continue;
			hdr[0] = (uint8_t)t;
			hdr[1] = (uint8_t)(1u << bit);
			/* only the header is needed to refuse */
			cr_assert_eq(parse_exact(hdr, 4, 0), MPS_FE_FLAGS,
				     "%s bit %u", mps_frame_type_name(t), bit);
		}
	}
}

/* Declare one byte more / less than the body the type needs. */
Test(frame_reject, wrong_body_length_every_type)
{
	static struct mps_frame s[MAX_SAMPLES];
	static uint8_t tmp[MPS_FRAME_MAX_LEN + 1];
	size_t n = build_samples(s), i, len;
	unsigned body;
	uint8_t *buf;

	for (i = 0; i < n; i++) {
		if (s[i].type == MPS_FT_DATA)
			continue;	/* variable length: own test */
		buf = encode_alloc(&s[i], &len);
		body = (unsigned)(len - MPS_FRAME_HDR_LEN);

		memcpy(tmp, buf, len);
		tmp[len] = 0x5a;
		tmp[2] = (uint8_t)((body + 1) >> 8);
		tmp[3] = (uint8_t)(body + 1);
		cr_assert_eq(parse_exact(tmp, len + 1, 0), MPS_FE_LEN,
			     "%s flags %#x long", mps_frame_type_name(s[i].type),
			     s[i].flags);
		/* refused without waiting for the rest of the body */
		cr_assert_eq(parse_exact(tmp, len, 0), MPS_FE_LEN);

		if (body > 0) {
			memcpy(tmp, buf, len);
			tmp[2] = (uint8_t)((body - 1) >> 8);
			tmp[3] = (uint8_t)(body - 1);
			cr_assert_eq(parse_exact(tmp, len - 1, 0), MPS_FE_LEN,
				     "%s flags %#x short",
				     mps_frame_type_name(s[i].type), s[i].flags);
		}
		free(buf);
	}
}

static void put_len(uint8_t *hdr, unsigned body)
{
	hdr[2] = (uint8_t)(body >> 8);
	hdr[3] = (uint8_t)body;
}

Test(frame_reject, data_length_rules)
{
	static uint8_t buf[MPS_FRAME_MAX_LEN];
	struct mps_frame g;

	memset(buf, 0, sizeof(buf));
	buf[0] = MPS_FT_DATA;

	/* body shorter than the dsn */
	put_len(buf, 7);
	cr_assert_eq(parse_exact(buf, 11, 0), MPS_FE_LEN);
	put_len(buf, 0);
	cr_assert_eq(parse_exact(buf, 4, 0), MPS_FE_LEN);
	buf[1] = MPS_DATA_F_FIN;
	cr_assert_eq(parse_exact(buf, 4, 0), MPS_FE_LEN);
	/* with crc: shorter than dsn + crc */
	buf[1] = MPS_DATA_F_CRC | MPS_DATA_F_FIN;
	put_len(buf, 11);
	cr_assert_eq(parse_exact(buf, 15, 0), MPS_FE_LEN);
	put_len(buf, 8);
	cr_assert_eq(parse_exact(buf, 12, 0), MPS_FE_LEN);

	/* empty and not FIN: useless, refused */
	buf[1] = 0;
	put_len(buf, 8);
	cr_assert_eq(parse_exact(buf, 12, 0), MPS_FE_LEN);
	buf[1] = MPS_DATA_F_CRC;
	put_len(buf, 12);
	cr_assert_eq(parse_exact(buf, 16, 0), MPS_FE_LEN);
	/* empty with FIN is the DATA_FIN */
	buf[1] = MPS_DATA_F_FIN;
	put_len(buf, 8);
	cr_assert_eq(parse_exact(buf, 12, 0), 12);

	/* payload over MPS_DATA_MAX_PAYLOAD without crc */
	buf[1] = 0;
	put_len(buf, 8 + MPS_DATA_MAX_PAYLOAD + 1);
	cr_assert_eq(parse_exact(buf, 4, 0), MPS_FE_LEN);
	put_len(buf, 0xffff);
	cr_assert_eq(parse_exact(buf, 4, 0), MPS_FE_LEN);
	put_len(buf, 8 + MPS_DATA_MAX_PAYLOAD);
	cr_assert_eq(mps_frame_parse(buf, 12 + MPS_DATA_MAX_PAYLOAD, 0, &g),
		     (int)(12 + MPS_DATA_MAX_PAYLOAD));
	cr_assert_eq(g.u.data.len, MPS_DATA_MAX_PAYLOAD);
}

Test(frame_reject, oversized_refused_from_header)
{
	uint8_t hdr[4] = { MPS_FT_DATA, 0, 0x03, 0xe8 };	/* body 1000 */

	cr_assert_eq(parse_exact(hdr, 4, 500), MPS_FE_TOOBIG);
	cr_assert_eq(parse_exact(hdr, 4, 1003), MPS_FE_TOOBIG);
	cr_assert_eq(parse_exact(hdr, 4, 1004), 0);	/* fits: need more */
	cr_assert_eq(parse_exact(hdr, 4, 0), 0);
	/* a caller may forbid everything but empty frames */
	hdr[0] = MPS_FT_PRIO;
	hdr[2] = hdr[3] = 0;
	cr_assert_eq(parse_exact(hdr, 4, 4), 4);
	cr_assert_eq(parse_exact(hdr, 4, 3), MPS_FE_TOOBIG);
}

Test(frame_reject, bad_magic)
{
	static struct mps_frame s[MAX_SAMPLES];
	size_t n = build_samples(s), i, len, b;
	uint8_t *buf;

	for (i = 0; i < n; i++) {
		if (s[i].type != MPS_FT_HELLO && s[i].type != MPS_FT_JOIN)
			continue;
		buf = encode_alloc(&s[i], &len);
		for (b = 4; b < 8; b++) {
			buf[b] ^= 0x20;
			cr_assert_eq(parse_exact(buf, len, 0), MPS_FE_MAGIC);
			buf[b] ^= 0x20;
		}
		free(buf);
	}
}

Test(frame_reject, bad_version)
{
	static const uint8_t versions[] = { 0, 2, 0x7f, 0xff };
	static struct mps_frame s[MAX_SAMPLES];
	size_t n = build_samples(s), i, len, v, off;
	uint8_t *buf;

	for (i = 0; i < n; i++) {
		if (s[i].type == MPS_FT_HELLO)
			off = 8;	/* after the magic */
		else if (s[i].type == MPS_FT_HELLO_ACK)
			off = 4;
		else
			continue;
		buf = encode_alloc(&s[i], &len);
		cr_assert_eq(buf[off], MPS_PROTO_VERSION);
		for (v = 0; v < sizeof(versions); v++) {
			buf[off] = versions[v];
			cr_assert_eq(parse_exact(buf, len, 0), MPS_FE_VERSION);
		}
		free(buf);
	}
}

Test(frame_reject, bad_family)
{
	static const uint8_t fams[] = { 0, 2, 5, 10, 0xff };
	struct mps_frame f = { .type = MPS_FT_HELLO, .flags = MPS_HELLO_F_TARGET };
	uint8_t *buf;
	size_t len, i;

	f.u.hello.version = MPS_PROTO_VERSION;
	f.u.hello.target.family = 4;
	buf = encode_alloc(&f, &len);
	for (i = 0; i < sizeof(fams); i++) {
		buf[49] = fams[i];	/* 4 header + 45 fixed body bytes */
		cr_assert_eq(parse_exact(buf, len, 0), MPS_FE_FAMILY);
		/* decided as soon as the family byte is in */
		cr_assert_eq(parse_exact(buf, 50, 0), MPS_FE_FAMILY);
	}
	free(buf);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_ADD_ADDR;
	f.u.add_addr.addr.family = 6;
	buf = encode_alloc(&f, &len);
	for (i = 0; i < sizeof(fams); i++) {
		buf[5] = fams[i];
		cr_assert_eq(parse_exact(buf, len, 0), MPS_FE_FAMILY);
		cr_assert_eq(parse_exact(buf, 6, 0), MPS_FE_FAMILY);
	}
	free(buf);
}

/* The family byte decides the length; it is read only inside the body. */
Test(frame_reject, family_and_length)
{
	static uint8_t buf[256];

	memset(buf, 0, sizeof(buf));
	buf[0] = MPS_FT_HELLO;
	buf[1] = MPS_HELLO_F_TARGET;
	/* declared body has no room for the family byte */
	put_len(buf, 45);
	cr_assert_eq(parse_exact(buf, 4, 0), MPS_FE_LEN);
	/* room for it, but it has not arrived */
	put_len(buf, 52);
	cr_assert_eq(parse_exact(buf, 49, 0), 0);
	buf[49] = 4;
	cr_assert_eq(parse_exact(buf, 50, 0), 0);
	buf[49] = 6;
	cr_assert_eq(parse_exact(buf, 50, 0), MPS_FE_LEN);
	put_len(buf, 64);
	cr_assert_eq(parse_exact(buf, 50, 0), 0);
	buf[49] = 4;
	cr_assert_eq(parse_exact(buf, 50, 0), MPS_FE_LEN);
	/* TARGET + PSK */
	buf[1] = MPS_HELLO_F_TARGET | MPS_HELLO_F_PSK;
	put_len(buf, 52);
	cr_assert_eq(parse_exact(buf, 50, 0), MPS_FE_LEN);
	put_len(buf, 68);
	cr_assert_eq(parse_exact(buf, 50, 0), 0);
	put_len(buf, 84);	/* the 32-byte tag of an earlier draft */
	cr_assert_eq(parse_exact(buf, 50, 0), MPS_FE_LEN);

	memset(buf, 0, sizeof(buf));
	buf[0] = MPS_FT_ADD_ADDR;
	put_len(buf, 1);
	cr_assert_eq(parse_exact(buf, 4, 0), MPS_FE_LEN);
	put_len(buf, 16);
	cr_assert_eq(parse_exact(buf, 5, 0), 0);
	buf[5] = 6;
	cr_assert_eq(parse_exact(buf, 6, 0), MPS_FE_LEN);
	buf[5] = 4;
	cr_assert_eq(parse_exact(buf, 6, 0), 0);
	cr_assert_eq(parse_exact(buf, 20, 0), 20);
}

Test(frame_reject, bad_close_code)
{
	struct mps_frame f = { .type = MPS_FT_FASTCLOSE };
	uint8_t *buf;
	size_t len;
	unsigned code;

	f.u.fastclose.key = 42;
	buf = encode_alloc(&f, &len);
	for (code = 0; code < 256; code++) {
		buf[len - 1] = (uint8_t)code;
		cr_assert_eq(parse_exact(buf, len, 0),
			     code <= MPS_CLOSE_MAX ? (int)len : MPS_FE_VALUE,
			     "code %u", code);
	}
	free(buf);
}

/* GROW asks for at least one subflow: 0 means nothing and is refused,
 * by the parser and by the encoder alike. */
Test(frame_reject, grow_of_no_subflows)
{
	struct mps_frame f = { .type = MPS_FT_GROW };
	uint8_t buf[8] = { MPS_FT_GROW, 0, 0, 1, 0 };

	cr_assert_eq(mps_frame_encode(&f, buf + 5, 3), MPS_FE_VALUE);
	cr_assert_eq(parse_exact(buf, 5, 0), MPS_FE_VALUE);
	buf[4] = 1;
	cr_assert_eq(parse_exact(buf, 5, 0), 5);
}

Test(frame_reject, crc_mismatch)
{
	static const uint8_t payload[] = "the quick brown fox";
	struct mps_frame f = { .type = MPS_FT_DATA, .flags = MPS_DATA_F_CRC };
	uint8_t *buf;
	size_t len, b;

	f.u.data.dsn = 77;
	f.u.data.payload = payload;
	f.u.data.len = sizeof(payload) - 1;
	buf = encode_alloc(&f, &len);
	cr_assert_eq(parse_exact(buf, len, 0), (int)len);
	/* any flipped bit in crc or payload */
	for (b = 12; b < len; b++) {
		buf[b] ^= 0x01;
		cr_assert_eq(parse_exact(buf, len, 0), MPS_FE_CRC, "byte %zu", b);
		buf[b] ^= 0x01;
	}
	/* the dsn is not covered: flipping it still parses */
	buf[4] ^= 0x80;
	cr_assert_eq(parse_exact(buf, len, 0), (int)len);
	free(buf);
}

/* When several things are wrong, the documented order decides. */
Test(frame_reject, error_order)
{
	static uint8_t buf[128];
	struct mps_frame f = { .type = MPS_FT_HELLO };
	int n;

	/* TYPE before FLAGS */
	memcpy(buf, "\x10\xff\xff\xff", 4);
	cr_assert_eq(parse_exact(buf, 4, 8), MPS_FE_TYPE);
	/* FLAGS before TOOBIG */
	memcpy(buf, "\x06\x80\xff\xff", 4);
	cr_assert_eq(parse_exact(buf, 4, 8), MPS_FE_FLAGS);
	/* TOOBIG before LEN (a JOIN body can only be 17) */
	memcpy(buf, "\x03\x00\x00\xff", 4);
	cr_assert_eq(parse_exact(buf, 4, 64), MPS_FE_TOOBIG);
	cr_assert_eq(parse_exact(buf, 4, 0), MPS_FE_LEN);
	/* FAMILY before need-more */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, "\x08\x00\x00\x10\x01\x07", 6);
	cr_assert_eq(parse_exact(buf, 6, 0), MPS_FE_FAMILY);

	/* MAGIC before VERSION */
	f.u.hello.version = 9;
	n = mps_frame_encode(&f, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(parse_exact(buf, (size_t)n, 0), MPS_FE_VERSION);
	buf[4] = 'X';
	cr_assert_eq(parse_exact(buf, (size_t)n, 0), MPS_FE_MAGIC);
	/* need-more before MAGIC: a bad magic in an incomplete frame waits */
	cr_assert_eq(parse_exact(buf, (size_t)n - 1, 0), 0);
}

/* ---- encode errors ---- */

Test(frame_encode, too_small_buffer)
{
	static struct mps_frame s[MAX_SAMPLES];
	size_t n = build_samples(s), i, len, k;
	uint8_t *buf, *out;

	for (i = 0; i < n; i++) {
		buf = encode_alloc(&s[i], &len);
		/* exact-size output: one short must not write at all */
		out = malloc(len);
		cr_assert_not_null(out);
		memset(out, 0x5a, len);
		cr_assert_eq(mps_frame_encode(&s[i], out, len - 1), MPS_FE_NOSPACE);
		for (k = 0; k < len; k++)
			cr_assert_eq(out[k], 0x5a, "wrote byte %zu", k);
		cr_assert_eq(mps_frame_encode(&s[i], out, 0), MPS_FE_NOSPACE);
		cr_assert_eq(mps_frame_encode(&s[i], out, len), (int)len);
		cr_assert_arr_eq(out, buf, len);
		free(out);
		free(buf);
	}
}

Test(frame_encode, refuses_what_the_parser_would)
{
	uint8_t buf[256];
	struct mps_frame f;

	memset(&f, 0, sizeof(f));
	cr_assert_eq(mps_frame_encode(&f, buf, sizeof(buf)), MPS_FE_TYPE);
	f.type = MPS_FT_MAX + 1;
	cr_assert_eq(mps_frame_encode(&f, buf, sizeof(buf)), MPS_FE_TYPE);

	f.type = MPS_FT_JOIN_ACK;
	f.flags = 0x01;
	cr_assert_eq(mps_frame_encode(&f, buf, sizeof(buf)), MPS_FE_FLAGS);
	f.type = MPS_FT_HELLO_ACK;
	f.flags = MPS_HELLO_F_PSK;
	cr_assert_eq(mps_frame_encode(&f, buf, sizeof(buf)), MPS_FE_FLAGS);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_HELLO;
	f.flags = MPS_HELLO_F_TARGET;
	f.u.hello.target.family = 5;
	cr_assert_eq(mps_frame_encode(&f, buf, sizeof(buf)), MPS_FE_FAMILY);
	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_ADD_ADDR;
	cr_assert_eq(mps_frame_encode(&f, buf, sizeof(buf)), MPS_FE_FAMILY);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_DATA;
	cr_assert_eq(mps_frame_encode(&f, buf, sizeof(buf)), MPS_FE_LEN);
	f.flags = MPS_DATA_F_CRC;
	cr_assert_eq(mps_frame_encode(&f, buf, sizeof(buf)), MPS_FE_LEN);
	f.u.data.payload = buf;
	f.u.data.len = MPS_DATA_MAX_PAYLOAD + 1;
	cr_assert_eq(mps_frame_encode(&f, buf, sizeof(buf)), MPS_FE_LEN);
	f.u.data.payload = NULL;
	f.u.data.len = 5;
	cr_assert_eq(mps_frame_encode(&f, buf, sizeof(buf)), MPS_FE_VALUE);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_FASTCLOSE;
	f.u.fastclose.code = MPS_CLOSE_MAX + 1;
	cr_assert_eq(mps_frame_encode(&f, buf, sizeof(buf)), MPS_FE_VALUE);
}

Test(frame_encode, largest_data_frame)
{
	static uint8_t payload[MPS_DATA_MAX_PAYLOAD];
	static uint8_t out[MPS_FRAME_MAX_LEN];
	struct mps_frame f = { .type = MPS_FT_DATA, .flags = MPS_DATA_F_CRC }, g;

	memset(payload, 0xab, sizeof(payload));
	f.u.data.payload = payload;
	f.u.data.len = MPS_DATA_MAX_PAYLOAD;
	cr_assert_eq(mps_frame_encode(&f, out, sizeof(out)), (int)MPS_FRAME_MAX_LEN);
	cr_assert_eq(out[2], 0xff);
	cr_assert_eq(out[3], 0xff);
	cr_assert_eq(mps_frame_parse(out, sizeof(out), 0, &g),
		     (int)MPS_FRAME_MAX_LEN);
	cr_assert_eq(mps_frame_parse(out, sizeof(out), MPS_FRAME_MAX_LEN - 1, &g),
		     MPS_FE_TOOBIG);
}

/* ---- robustness ---- */

static bool is_frame_error(int ret)
{
	return ret <= MPS_FE_TYPE && ret >= MPS_FE_TOOBIG;
}

/* Whatever the parser accepts re-encodes to exactly the bytes it read. */
static void check_parse_invariants(const uint8_t *src, size_t len)
{
	uint8_t *p = exact_copy(src, len);
	static uint8_t again[MPS_FRAME_MAX_LEN];
	struct mps_frame g;
	int ret = mps_frame_parse(p, len, 0, &g), n;

	cr_assert(ret == 0 || is_frame_error(ret) ||
		  (ret >= MPS_FRAME_HDR_LEN && (size_t)ret <= len),
		  "parse returned %d for %zu bytes", ret, len);
	if (ret > 0) {
		cr_assert_eq(g.body_len, (size_t)ret - MPS_FRAME_HDR_LEN);
		n = mps_frame_encode(&g, again, sizeof(again));
		cr_assert_eq(n, ret, "accepted frame does not re-encode");
		cr_assert_arr_eq(again, p, (size_t)n);
	}
	free(p);
}

Test(frame_robust, byte_mutations, .timeout = 300)
{
	static struct mps_frame s[MAX_SAMPLES];
	size_t n = build_samples(s), i, len, pos;
	unsigned v;
	uint8_t *buf, orig;

	for (i = 0; i < n; i++) {
		buf = encode_alloc(&s[i], &len);
		for (pos = 0; pos < len; pos++) {
			/* big DATA frames: header, dsn, crc, the first
			 * payload bytes and the tail; the middle is just
			 * more of the same and costs a checksum each */
			if (len > 2048 && pos >= 20 && pos + 2 < len)
				continue;
			orig = buf[pos];
			for (v = 0; v < 256; v++) {
				buf[pos] = (uint8_t)v;
				check_parse_invariants(buf, len);
				/* and cut right after the mutated byte */
				if (pos + 1 < len)
					check_parse_invariants(buf, pos + 1);
			}
			buf[pos] = orig;
		}
		free(buf);
	}
}

Test(frame_robust, random_buffers, .timeout = 300)
{
	static uint8_t buf[160];
	size_t len, round;

	rng_state = 12345;
	for (round = 0; round < 200000; round++) {
		len = rng() % sizeof(buf);
		fill(buf, len);
		/* bias toward real types, real flags, plausible lengths and
		 * the magic, so the decoders are reached, not just refused */
		if (len > 0 && (rng() & 3))
			buf[0] = (uint8_t)(1 + rng() % MPS_FT_MAX);
		if (len > 1 && (rng() & 1))
			buf[1] &= 0x07;
		if (len > 3 && (rng() & 3)) {
			buf[2] = 0;
			buf[3] = (uint8_t)(rng() % (len - 3));
		}
		if (len > 7 && (rng() & 1))
			memcpy(buf + 4, "MPS1", 4);
		if (len > 8 && (rng() & 1))
			buf[8] = MPS_PROTO_VERSION;
		check_parse_invariants(buf, len);
	}
}

/* ---- classify ---- */

Test(frame_classify, hello_and_join)
{
	static struct mps_frame s[MAX_SAMPLES];
	size_t n = build_samples(s), i, len, k;
	uint8_t *buf;
	int want;

	for (i = 0; i < n; i++) {
		buf = encode_alloc(&s[i], &len);
		want = (s[i].type == MPS_FT_HELLO || s[i].type == MPS_FT_JOIN) ?
		       s[i].type : 0;
		cr_assert_eq(mps_frame_classify(buf, len), want, "%s",
			     mps_frame_type_name(s[i].type));
		if (want) {
			for (k = 0; k < 8; k++) {
				uint8_t *p = exact_copy(buf, k);

				cr_assert_eq(mps_frame_classify(p, k), -1,
					     "prefix %zu", k);
				free(p);
			}
			cr_assert_eq(mps_frame_classify(buf, 8), want);
		} else {
			/* every other type is refused on its first byte */
			cr_assert_eq(mps_frame_classify(buf, 1), 0);
		}
		free(buf);
	}
}

Test(frame_classify, plain_clients)
{
	static const char *const plain[] = {
		"GET / HTTP/1.1\r\n", "G", "SSH-2.0-OpenSSH_9.2",
		"\x16\x03\x01\x02\x00\x01\x00\x01", "*1\r\n$4\r\nPING\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		cr_assert_eq(mps_frame_classify((const uint8_t *)plain[i],
						strlen(plain[i])), 0, "%s",
			     plain[i]);
	cr_assert_eq(mps_frame_classify((const uint8_t *)"", 0), -1);
}

Test(frame_classify, decides_as_early_as_possible)
{
	uint8_t b[8] = { MPS_FT_HELLO, 0, 0, 45, 'M', 'P', 'S', '1' };
	size_t i;

	/* undefined flag: ruled out with two bytes */
	b[1] = 0x80;
	cr_assert_eq(mps_frame_classify(b, 2), 0);
	b[0] = MPS_FT_JOIN;
	b[1] = MPS_JOIN_F_BACKUP;
	cr_assert_eq(mps_frame_classify(b, 8), MPS_FT_JOIN);
	b[1] = 0x02;
	cr_assert_eq(mps_frame_classify(b, 2), 0);
	/* wrong magic: ruled out at the first wrong byte */
	b[1] = 0;
	b[5] = 'X';
	cr_assert_eq(mps_frame_classify(b, 6), 0);
	cr_assert_eq(mps_frame_classify(b, 5), -1);
	b[5] = 'P';
	/* every magic byte counts */
	for (i = 4; i < 8; i++) {
		b[i] ^= 0x01;
		cr_assert_eq(mps_frame_classify(b, 8), 0, "magic byte %zu", i);
		cr_assert_eq(mps_frame_classify(b, i + 1), 0);
		b[i] ^= 0x01;
	}
	cr_assert_eq(mps_frame_classify(b, 8), MPS_FT_JOIN);
}

/* ---- names ---- */

Test(frame_names, types_and_errors)
{
	unsigned t;
	int e;

	cr_assert_str_eq(mps_frame_type_name(MPS_FT_HELLO), "HELLO");
	cr_assert_str_eq(mps_frame_type_name(MPS_FT_FASTCLOSE), "FASTCLOSE");
	for (t = 1; t <= MPS_FT_MAX; t++)
		cr_assert_str_neq(mps_frame_type_name(t), "UNKNOWN");
	cr_assert_str_eq(mps_frame_type_name(0), "UNKNOWN");
	cr_assert_str_eq(mps_frame_type_name(200), "UNKNOWN");
	for (e = MPS_FE_NOSPACE; e <= MPS_FE_TYPE; e++)
		cr_assert_str_neq(mps_frame_strerror(e), "unknown frame error");
	cr_assert_str_eq(mps_frame_strerror(-99), "unknown frame error");
}
