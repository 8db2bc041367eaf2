/*
 * fuzz_frame.c - libFuzzer harness for the wire codec (src/core/frame.c).
 *
 * The input is a byte stream as a peer would send it.  For every frame
 * that parses:
 *  - re-encoding it gives back exactly the bytes it was parsed from, and
 *    parsing those gives the same frame again (round trip);
 *  - every strict prefix of it parses as "need more" (0), and reads no
 *    byte past the prefix (the rest of the copy is poisoned under ASan);
 *  - a caller bound (max_len) changes the verdict only into MPS_FE_TOOBIG,
 *    and only when the header announces a frame above the bound.
 * The same bytes are also handed to mps_frame_classify(), and read as a
 * struct mps_frame for mps_frame_encode(): what encodes must parse back.
 *
 * A broken invariant is a bug in the codec: the harness prints what it
 * saw and abort()s, which libFuzzer records as a crash.
 *
 * Build and run: `make fuzz` (see tests/fuzz/run.sh).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "frame.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define HAVE_ASAN_POISON 1
#endif
#endif
#ifndef HAVE_ASAN_POISON
#define ASAN_POISON_MEMORY_REGION(a, n)		((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n)	((void)(a), (void)(n))
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Caller bounds tried besides 0 (= MPS_FRAME_MAX_LEN). */
static const size_t small_max[] = { MPS_FRAME_HDR_LEN, 13, 48, 64, 1500 };

static uint8_t enc[MPS_FRAME_MAX_LEN];
static uint8_t enc2[MPS_FRAME_MAX_LEN];

static void hexdump(const char *what, const uint8_t *p, size_t n)
{
	size_t i;

	fprintf(stderr, "%s (%zu bytes):", what, n);
	for (i = 0; i < n && i < 128; i++)
		fprintf(stderr, "%s%02x", i % 32 ? " " : "\n  ", p[i]);
	fprintf(stderr, "%s\n", n > 128 ? " ..." : "");
}

static void fail(const uint8_t *p, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

static void fail(const uint8_t *p, size_t n, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_frame: invariant broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (p)
		hexdump("frame", p, n);
	abort();
}

/*
 * What the parser must answer for bound m, given its answer r0 for no
 * bound: the header is judged for type and flags first, then for size.
 */
static int expect_bounded(const uint8_t *p, size_t n, size_t m, int r0)
{
	if (n < MPS_FRAME_HDR_LEN || r0 == MPS_FE_TYPE || r0 == MPS_FE_FLAGS)
		return r0;
	if (MPS_FRAME_HDR_LEN + (size_t)(p[2] << 8 | p[3]) > m)
		return MPS_FE_TOOBIG;
	return r0;
}

/* Parse with no bound and with each small bound; the answers must agree. */
static int parse_all_bounds(const uint8_t *p, size_t n, struct mps_frame *f)
{
	struct mps_frame g;
	size_t i;
	int r0, rm, want;

	r0 = mps_frame_parse(p, n, 0, f);
	if (r0 > 0 && (size_t)r0 > n)
		fail(p, n, "parse claims %d bytes of %zu", r0, n);
	if (r0 == MPS_FE_TOOBIG || r0 == MPS_FE_NOSPACE)
		fail(p, n, "parse without bound returned %d (%s)", r0,
		     mps_frame_strerror(r0));
	for (i = 0; i < sizeof(small_max) / sizeof(small_max[0]); i++) {
		rm = mps_frame_parse(p, n, small_max[i], &g);
		want = expect_bounded(p, n, small_max[i], r0);
		if (rm != want)
			fail(p, n < 64 ? n : 64,
			     "max_len %zu: parse returned %d, expected %d",
			     small_max[i], rm, want);
	}
	return r0;
}

/* Every strict prefix of a well-formed frame means "need more", and the
 * parser must not look past it. */
static void check_prefixes(const uint8_t *frame, size_t n)
{
	struct mps_frame g;
	uint8_t *copy = malloc(n);
	size_t k;
	int r;

	if (!copy)
		abort();
	memcpy(copy, frame, n);
	for (k = 0; k < n; k++) {
		ASAN_POISON_MEMORY_REGION(copy + k, n - k);
		r = mps_frame_parse(copy, k, 0, &g);
		ASAN_UNPOISON_MEMORY_REGION(copy + k, n - k);
		if (r != 0)
			fail(frame, n, "prefix of %zu/%zu bytes: parse returned %d (%s)",
			     k, n, r, mps_frame_strerror(r));
	}
	free(copy);
}

/* A parsed frame encodes to the bytes it came from, and parses again. */
static void check_round_trip(const uint8_t *frame, size_t n,
			     const struct mps_frame *f)
{
	struct mps_frame g;
	int e, r, e2;

	e = mps_frame_encode(f, enc, sizeof(enc));
	if (e < 0)
		fail(frame, n, "encode of a parsed %s frame failed: %d (%s)",
		     mps_frame_type_name(f->type), e, mps_frame_strerror(e));
	if ((size_t)e != n || memcmp(enc, frame, n)) {
		hexdump("re-encoded", enc, (size_t)e);
		fail(frame, n, "%s frame does not re-encode to its own bytes",
		     mps_frame_type_name(f->type));
	}
	if (f->body_len != n - MPS_FRAME_HDR_LEN)
		fail(frame, n, "body_len %u for a %zu-byte frame",
		     f->body_len, n);
	/* an encoder that cannot fit must say so and write nothing useful */
	if (mps_frame_encode(f, enc2, n - 1) != MPS_FE_NOSPACE)
		fail(frame, n, "encode into %zu bytes did not say NOSPACE", n - 1);

	r = mps_frame_parse(enc, (size_t)e, 0, &g);
	if (r != e)
		fail(enc, (size_t)e, "re-encoded frame parses to %d", r);
	e2 = mps_frame_encode(&g, enc2, sizeof(enc2));
	if (e2 != e || memcmp(enc, enc2, (size_t)e))
		fail(enc, (size_t)e, "second round trip differs");
}

/* Encoder side: a frame built from raw bytes either encodes to something
 * the parser accepts (HELLO and HELLO_ACK may only differ in version,
 * which the encoder writes unchecked) or is refused with a parse error. */
static void check_encode_side(const uint8_t *data, size_t size)
{
	struct mps_frame f, g;
	size_t avail;
	int e, r;

	if (size < 2)
		return;
	memset(&f, 0, sizeof(f));
	f.type = data[0] & 0x0f;
	f.flags = data[1];
	avail = size - 2;
	memcpy(&f.u, data + 2, avail < sizeof(f.u) ? avail : sizeof(f.u));
	if (f.type == MPS_FT_DATA) {
		/* payload: the input bytes after the header pair, never more */
		f.u.data.payload = avail ? data + 2 : NULL;
		f.u.data.len = (uint16_t)(f.u.data.len % (avail + 1));
	}
	e = mps_frame_encode(&f, enc, sizeof(enc));
	if (e < 0) {
		if (e != MPS_FE_TYPE && e != MPS_FE_FLAGS &&
		    e != MPS_FE_FAMILY && e != MPS_FE_LEN && e != MPS_FE_VALUE)
			fail(data, size, "encode refused a frame with %d (%s)",
			     e, mps_frame_strerror(e));
		return;
	}
	if (e < MPS_FRAME_HDR_LEN || e > (int)sizeof(enc))
		fail(data, size, "encode returned %d", e);
	r = mps_frame_parse(enc, (size_t)e, 0, &g);
	if (r == MPS_FE_VERSION &&
	    (f.type == MPS_FT_HELLO || f.type == MPS_FT_HELLO_ACK))
		return;
	if (r != e) {
		hexdump("encoded", enc, (size_t)e);
		fail(data, size, "%s frame encoded to %d bytes parses to %d (%s)",
		     mps_frame_type_name(f.type), e, r, mps_frame_strerror(r));
	}
}

static void check_classify(const uint8_t *data, size_t size)
{
	int c = mps_frame_classify(data, size);
	int c8;

	if (c != -1 && c != 0 && c != MPS_FT_HELLO && c != MPS_FT_JOIN)
		fail(data, size, "classify returned %d", c);
	if (size < 8 && c > 0)
		fail(data, size, "classify decided %d on %zu bytes", c, size);
	if (size >= 8 && c == -1)
		fail(data, size, "classify undecided on %zu bytes", size);
	/* only the first 8 bytes count */
	if (size > 8) {
		c8 = mps_frame_classify(data, 8);
		if (c8 != c)
			fail(data, size, "classify: %d on 8 bytes, %d on %zu",
			     c8, c, size);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mps_frame f;
	size_t off = 0;
	int r;

	check_classify(data, size);
	check_encode_side(data, size);

	/* the input as a stream: frame after frame until one fails */
	while (off < size) {
		r = parse_all_bounds(data + off, size - off, &f);
		(void)mps_frame_strerror(r);
		if (r <= 0)
			break;
		if (!mps_frame_type_name(f.type))
			fail(data + off, (size_t)r, "no name for type %u", f.type);
		check_prefixes(data + off, (size_t)r);
		check_round_trip(data + off, (size_t)r, &f);
		off += (size_t)r;
	}
	return 0;
}
