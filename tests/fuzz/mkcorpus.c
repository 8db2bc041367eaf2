/*
 * mkcorpus.c - write the binary seed corpora of the fuzz harnesses:
 * tests/fuzz/corpus/frame (valid frames of every type, encoded by
 * mps_frame_encode, and one stream of several) and tests/fuzz/corpus/meta
 * (programs for fuzz_meta.c, whose header comment defines the format).
 * The config corpus is hand-written text.
 *
 * Run once when the wire format or the meta program format changes:
 *   cc -std=gnu11 -iquote src/core -o /tmp/mkcorpus tests/fuzz/mkcorpus.c \
 *      src/core/frame.c src/core/crc32c.c -lpthread
 *   /tmp/mkcorpus tests/fuzz/corpus
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "frame.h"

static const char *outdir;

static void put(const char *sub, const char *name, const uint8_t *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, sub);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ---- frames ---- */

static uint8_t stream[4096];
static size_t stream_len;

static void frame(const char *name, const struct mps_frame *f, int in_stream)
{
	uint8_t buf[MPS_FRAME_MAX_LEN];
	int n = mps_frame_encode(f, buf, sizeof(buf));

	if (n < 0) {
		fprintf(stderr, "%s: encode: %s\n", name, mps_frame_strerror(n));
		exit(1);
	}
	put("frame", name, buf, (size_t)n);
	if (in_stream && stream_len + (size_t)n <= sizeof(stream)) {
		memcpy(stream + stream_len, buf, (size_t)n);
		stream_len += (size_t)n;
	}
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 13);
}

static void frames(void)
{
	static const uint8_t payload[] = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
	struct mps_frame f;

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_HELLO;
	f.u.hello.version = MPS_PROTO_VERSION;
	f.u.hello.key = 0x0123456789abcdefull;
	fill(f.u.hello.pub, sizeof(f.u.hello.pub), 1);
	frame("hello", &f, 1);
	f.flags = MPS_HELLO_F_CRC;
	frame("hello-crc", &f, 0);
	f.flags = MPS_HELLO_F_TARGET;
	f.u.hello.target.family = 4;
	f.u.hello.target.port = 443;
	memcpy(f.u.hello.target.addr, "\xc0\x00\x02\x01", 4);
	frame("hello-target4", &f, 0);
	f.flags = MPS_HELLO_F_TARGET | MPS_HELLO_F_PSK | MPS_HELLO_F_CRC;
	f.u.hello.target.family = 6;
	memcpy(f.u.hello.target.addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	memcpy(f.u.hello.key_id, "laptop", 6);
	frame("hello-target6-psk-crc", &f, 0);
	f.flags = MPS_HELLO_F_PSK;
	frame("hello-psk", &f, 0);
	f.flags = MPS_HELLO_F_TARGET | MPS_HELLO_F_PSK;
	f.u.hello.target.family = 4;
	memcpy(f.u.hello.target.addr, "\xc0\x00\x02\x01", 4);
	frame("hello-target4-psk", &f, 0);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_HELLO_ACK;
	f.u.hello_ack.version = MPS_PROTO_VERSION;
	f.u.hello_ack.key = 0xfedcba9876543210ull;
	fill(f.u.hello_ack.pub, sizeof(f.u.hello_ack.pub), 3);
	f.u.hello_ack.window = 4u << 20;
	frame("hello-ack", &f, 1);
	f.flags = MPS_HELLO_F_CRC;
	frame("hello-ack-crc", &f, 0);
	f.flags = MPS_HELLO_F_AUTH;
	frame("hello-ack-auth", &f, 0);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_JOIN;
	f.u.join.token = 0xdeadbeef;
	f.u.join.nonce = 42;
	f.u.join.addr_id = 1;
	frame("join", &f, 0);
	f.flags = MPS_JOIN_F_BACKUP;
	frame("join-backup", &f, 0);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_JOIN_ACK;
	f.u.join_ack.nonce = 43;
	fill(f.u.join_ack.hmac, sizeof(f.u.join_ack.hmac), 5);
	frame("join-ack", &f, 0);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_JOIN_CONFIRM;
	fill(f.u.join_confirm.hmac, sizeof(f.u.join_confirm.hmac), 9);
	frame("join-confirm", &f, 0);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_DATA;
	f.u.data.dsn = 1000;
	f.u.data.payload = payload;
	f.u.data.len = sizeof(payload) - 1;
	frame("data", &f, 1);
	f.flags = MPS_DATA_F_CRC;
	f.u.data.dsn = UINT64_MAX - 10;
	frame("data-crc", &f, 1);
	f.flags = MPS_DATA_F_FIN | MPS_DATA_F_CRC;
	f.u.data.len = 5;
	frame("data-fin-crc", &f, 0);
	f.flags = MPS_DATA_F_FIN;
	f.u.data.len = 0;
	f.u.data.payload = NULL;
	frame("data-fin-empty", &f, 1);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_DATA_ACK;
	f.u.data_ack.ack = 1034;
	f.u.data_ack.window = 65536;
	frame("data-ack", &f, 1);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_ADD_ADDR;
	f.u.add_addr.addr_id = 2;
	f.u.add_addr.addr.family = 4;
	f.u.add_addr.addr.port = 8443;
	memcpy(f.u.add_addr.addr.addr, "\x0a\x00\x02\x01", 4);
	fill(f.u.add_addr.hmac, sizeof(f.u.add_addr.hmac), 11);
	frame("add-addr4", &f, 1);
	f.u.add_addr.addr.family = 6;
	memcpy(f.u.add_addr.addr.addr, "\xfe\x80\0\0\0\0\0\0\0\0\0\0\0\0\0\x02", 16);
	frame("add-addr6", &f, 0);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_REMOVE_ADDR;
	f.u.remove_addr.addr_id = 2;
	frame("remove-addr", &f, 1);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_PRIO;
	frame("prio", &f, 0);
	f.flags = MPS_PRIO_F_BACKUP;
	frame("prio-backup", &f, 1);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_PING;
	f.u.ping.ts = 123456789;
	frame("ping", &f, 1);
	f.type = MPS_FT_PONG;
	frame("pong", &f, 1);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_FASTCLOSE;
	f.u.fastclose.key = 0x0123456789abcdefull;
	f.u.fastclose.code = MPS_CLOSE_REFUSED;
	frame("fastclose-refused", &f, 0);
	f.u.fastclose.code = MPS_CLOSE_PROTO;
	frame("fastclose-proto", &f, 1);
	f.u.fastclose.code = MPS_CLOSE_DENIED;
	frame("fastclose-denied", &f, 0);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_AUTH;
	fill(f.u.auth.proof, sizeof(f.u.auth.proof), 17);
	frame("auth", &f, 1);

	memset(&f, 0, sizeof(f));
	f.type = MPS_FT_GROW;
	f.u.grow.subflows = 3;
	frame("grow", &f, 1);

	put("frame", "stream", stream, stream_len);
	/* a plain TCP client, for mps_frame_classify */
	put("frame", "plain-http", payload, sizeof(payload) - 1);
}

/* ---- meta programs (format: fuzz_meta.c) ---- */

static uint8_t prog[4096];
static size_t prog_len;

static void b8(unsigned v)
{
	prog[prog_len++] = (uint8_t)v;
}

static void b16(unsigned v)
{
	b8(v >> 8);
	b8(v);
}

static void b64(uint64_t v)
{
	for (int i = 56; i >= 0; i -= 8)
		b8((unsigned)(v >> i));
}

static void hdr(unsigned rcv_idx, unsigned snd_idx, uint64_t idsn_local,
		uint64_t idsn_peer)
{
	prog_len = 0;
	b8(rcv_idx);
	b8(snd_idx);
	b64(idsn_local);
	b64(idsn_peer);
}

enum { A_NXT = 0, A_BASE = 1, A_RIGHT = 2, A_FIN = 3 };

static void rcv_data(int anchor, int delta, unsigned len, int fin)
{
	b8(0 | (unsigned)fin << 3 | (unsigned)anchor << 4);
	b16((unsigned)(uint16_t)(int16_t)delta);
	b16(len);
}

/* early data (server, before HELLO_ACK); fwd: as if in forward mode */
static void rcv_early(int anchor, int delta, unsigned len, int fin, int fwd)
{
	b8(0 | (unsigned)fin << 3 | (unsigned)anchor << 4 | 1u << 6 | (unsigned)fwd << 7);
	b16((unsigned)(uint16_t)(int16_t)delta);
	b16(len);
}

static void rcv_hello_ack(void) { b8(2 | 1u << 4); }
static void snd_write_early(unsigned len) { b8(3 | 1u << 4); b16(len); }
static void rcv_read(unsigned max) { b8(1); b16(max); }
static void rcv_ack(int force) { b8(2 | (unsigned)force << 3); }
static void snd_write(unsigned len, int close) { b8(3 | (unsigned)close << 3); b16(len); }
static void snd_next(unsigned max) { b8(4); b16(max); }
static void snd_ack_piece(unsigned idx, unsigned win, int shift)
{
	b8(5 | 1u << 3 | (unsigned)shift << 4);
	b16(idx);
	b16(win);
}
static void snd_ack_rel(int delta, unsigned win)
{
	b8(5);
	b16((unsigned)(uint16_t)(int16_t)delta);
	b16(win);
}
static void snd_lost(unsigned idx) { b8(6); b8(idx); }
static void snd_lost_una(unsigned n16) { b8(6 | 1u << 3); b8(n16); }
static void snd_close(void) { b8(7); }

static void metas(void)
{
	static const int order[] = { 3, 1, 0, 7, 5, 2, 6, 4 };

	/* in order, across the 2^64 wrap, then the FIN */
	hdr(11, 11, 1000, UINT64_MAX - 100);
	rcv_data(A_NXT, 0, 1000, 0);
	rcv_read(600);
	rcv_ack(0);
	rcv_data(A_NXT, 0, 500, 0);
	rcv_read(2000);
	rcv_data(A_NXT, 0, 0, 1);
	rcv_ack(0);
	put("meta", "rcv-in-order-fin", prog, prog_len);

	/* shuffled segments, duplicates, overlaps, data past the window */
	hdr(9, 9, 0, 5000);
	for (int i = 0; i < 8; i++) {
		rcv_data(A_BASE, order[i] * 400, 400, 0);
		rcv_read(0);
	}
	rcv_data(A_BASE, 100, 900, 0);
	rcv_data(A_RIGHT, -100, 200, 0);
	rcv_data(A_RIGHT, -100, 100, 0);
	rcv_read(5000);
	rcv_data(A_NXT, 300, 100, 1);
	rcv_data(A_NXT, 0, 300, 0);
	rcv_data(A_FIN, 0, 0, 1);
	rcv_read(5000);
	rcv_ack(1);
	put("meta", "rcv-reorder", prog, prog_len);

	/* tiny ring: wrap inside the buffer many times */
	hdr(3, 2, UINT64_MAX - 3, UINT64_MAX - 2);
	for (int i = 0; i < 12; i++) {
		rcv_data(A_NXT, i % 2, 2, 0);
		rcv_data(A_NXT, 0, 7, 0);
		rcv_read(i % 3 + 1);
		snd_write(5, 0);
		snd_next(1);
		snd_ack_piece(0, 8, 0);
	}
	put("meta", "tiny-rings", prog, prog_len);

	/* send: pieces, a lost subflow, reinjection, acks, FIN */
	hdr(8, 9, 77777, 0);
	snd_write(3000, 0);
	snd_next(1000);
	snd_next(1000);
	snd_lost(1);
	snd_ack_piece(0, 4096, 0);
	snd_next(600);
	snd_next(600);
	snd_close();
	snd_next(1500);
	snd_next(1500);
	snd_lost_una(20);
	snd_next(100);
	snd_ack_rel(-5, 100);
	snd_ack_piece(5, 0, 0);
	snd_next(1500);
	snd_ack_piece(6, 1, 1);
	put("meta", "snd-reinject-fin", prog, prog_len);

	/* send: window limits, a bogus ack, the FIN lost and acked late */
	hdr(11, 11, 1ull << 63, 1ull << 63);
	snd_write(65535, 0);
	snd_write(65535, 1);
	for (int i = 0; i < 6; i++)
		snd_next(16384);
	snd_ack_rel(30000, 2);
	snd_ack_piece(1, 1, 1);
	snd_next(65535);
	snd_next(65535);
	snd_lost(4);
	snd_next(65535);
	snd_next(1);
	snd_ack_piece(7, 65535, 1);
	put("meta", "snd-window", prog, prog_len);

	/* early data: within the window, out of order, past its edge, in
	 * forward mode, a FIN; HELLO_ACK; then the stream goes on.  The
	 * client: an early write capped at the early window */
	hdr(11, 11, UINT64_MAX - 20000, UINT64_MAX - 30000);
	rcv_early(A_BASE, 30000, 10000, 0, 0);
	rcv_early(A_BASE, 0, 30000, 0, 0);
	rcv_early(A_BASE, 60000, 6000, 0, 0);
	rcv_early(A_BASE, 0, 100, 0, 1);
	rcv_early(A_BASE, -1, 10, 0, 0);
	rcv_hello_ack();
	rcv_read(20000);
	rcv_ack(0);
	rcv_early(A_NXT, 0, 5536, 1, 0);
	rcv_read(65535);
	snd_write_early(65535);
	snd_write_early(65535);
	snd_next(16384);
	snd_next(65535);
	put("meta", "early", prog, prog_len);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	frames();
	metas();
	return 0;
}
