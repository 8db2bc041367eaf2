/*
 * frame.h - the mpshim wire format: encoding and parsing of every frame.
 *
 * Owns: the byte layout of frames (doc/PROTOCOL.md is its prose twin) and
 * the rules that decide whether a byte string is a well-formed frame.
 * Does not own: what a frame means to a connection (meta.c, engine.c).
 *
 * Every frame is a 4-byte header (type:u8, flags:u8, len:u16 big-endian)
 * followed by exactly `len` body bytes.  The parser knows, from type and
 * flags alone, how long the body must be (or its bounds for DATA) before it
 * reads a single field, so a malformed frame is rejected without touching a
 * byte beyond (buf, len).
 */
#ifndef MPS_FRAME_H
#define MPS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define MPS_PROTO_VERSION	1
#define MPS_MAGIC		0x4d505331u	/* "MPS1": opens HELLO and JOIN bodies */
#define MPS_FRAME_HDR_LEN	4
#define MPS_FRAME_MAX_BODY	65535u
#define MPS_FRAME_MAX_LEN	(MPS_FRAME_HDR_LEN + MPS_FRAME_MAX_BODY)
/* DATA body = dsn(8) [+ crc32c(4)] + payload */
#define MPS_DATA_HDR_LEN	(MPS_FRAME_HDR_LEN + 8)
#define MPS_DATA_MAX_PAYLOAD	(MPS_FRAME_MAX_BODY - 8 - 4)
#define MPS_KEY_PUB_LEN		32
#define MPS_HMAC_LEN		32
#define MPS_HMAC_TRUNC_LEN	8
#define MPS_KEY_ID_LEN		16	/* HELLO PSK block: the name of the client's key */

enum mps_frame_type {
	MPS_FT_HELLO = 1,
	MPS_FT_HELLO_ACK = 2,
	MPS_FT_JOIN = 3,
	MPS_FT_JOIN_ACK = 4,
	MPS_FT_JOIN_CONFIRM = 5,
	MPS_FT_DATA = 6,
	MPS_FT_DATA_ACK = 7,
	MPS_FT_ADD_ADDR = 8,
	MPS_FT_REMOVE_ADDR = 9,
	MPS_FT_PRIO = 10,
	MPS_FT_PING = 11,
	MPS_FT_PONG = 12,
	MPS_FT_FASTCLOSE = 13,
	MPS_FT_AUTH = 14,
	MPS_FT_GROW = 15,
	MPS_FT_MAX = 15,
};

/* Header flag bits, per frame type.  Any bit not listed for a type is an
 * error (MPS_FE_FLAGS), so future flags cannot be silently misread. */
#define MPS_HELLO_F_TARGET	0x01	/* target address follows (forward proxy) */
#define MPS_HELLO_F_PSK		0x02	/* key id follows: the client will AUTH */
#define MPS_HELLO_F_CRC		0x04	/* sender asks for CRC32C on DATA */
#define MPS_HELLO_F_AUTH	0x08	/* HELLO_ACK only: prove the PSK first */
/* HELLO_ACK only: open no subflow to the address and port this connection
 * reached, only to advertised ones (RFC 8684's "C" bit; a server behind an
 * L4 load balancer) */
#define MPS_HELLO_F_NOJOIN	0x10
#define MPS_JOIN_F_BACKUP	0x01
#define MPS_PRIO_F_BACKUP	0x01
#define MPS_DATA_F_FIN		0x01	/* DATA_FIN: stream ends after this payload */
#define MPS_DATA_F_CRC		0x02	/* crc32c of the payload follows the dsn */

/* FASTCLOSE codes: why the connection is aborted.  Sent instead of
 * HELLO_ACK they tell the client what connect() should report. */
enum mps_close_code {
	MPS_CLOSE_ABORT = 0,		/* application abort / reset */
	MPS_CLOSE_REFUSED = 1,		/* backend refused -> ECONNREFUSED */
	MPS_CLOSE_TIMEDOUT = 2,		/* backend timed out -> ETIMEDOUT */
	MPS_CLOSE_UNREACH = 3,		/* backend unreachable -> ENETUNREACH */
	MPS_CLOSE_DENIED = 4,		/* policy or authentication -> ECONNREFUSED */
	MPS_CLOSE_PROTO = 5,		/* protocol error seen by the peer */
	MPS_CLOSE_RESOURCE = 6,		/* peer out of memory or descriptors */
	MPS_CLOSE_MAX = 6,
};

/* Parse errors.  Each is a distinct negative value so a caller can log and
 * count exactly why a peer's bytes were refused. */
enum mps_frame_err {
	MPS_FE_TYPE = -1,	/* unknown frame type */
	MPS_FE_FLAGS = -2,	/* flag bit not defined for this type */
	MPS_FE_LEN = -3,	/* body length does not fit type and flags */
	MPS_FE_MAGIC = -4,	/* HELLO/JOIN without the MPS1 magic */
	MPS_FE_VERSION = -5,	/* protocol version we do not speak */
	MPS_FE_FAMILY = -6,	/* address family neither 4 nor 6 */
	MPS_FE_CRC = -7,	/* DATA payload checksum mismatch */
	MPS_FE_VALUE = -8,	/* field value out of range (e.g. close code) */
	MPS_FE_TOOBIG = -9,	/* frame larger than the caller allows */
	MPS_FE_NOSPACE = -10,	/* encode: output buffer too small */
};

struct mps_frame_addr {
	uint8_t family;		/* 4 or 6 on the wire */
	uint16_t port;		/* host order */
	uint8_t addr[16];	/* 4 or 16 bytes used, network order */
};

struct mps_frame {
	uint8_t type;
	uint8_t flags;
	uint16_t body_len;	/* set by parse and by encode */
	union {
		struct {
			uint8_t version;
			uint64_t key;
			uint8_t pub[MPS_KEY_PUB_LEN];
			struct mps_frame_addr target;	/* MPS_HELLO_F_TARGET */
			uint8_t key_id[MPS_KEY_ID_LEN];	/* MPS_HELLO_F_PSK */
		} hello;
		struct {
			uint8_t version;
			uint64_t key;
			uint8_t pub[MPS_KEY_PUB_LEN];
			uint32_t window;
		} hello_ack;
		struct {
			uint32_t token;
			uint64_t nonce;
			uint8_t addr_id;
		} join;
		struct {
			uint64_t nonce;
			uint8_t hmac[MPS_HMAC_TRUNC_LEN];
		} join_ack;
		struct {
			uint8_t hmac[MPS_HMAC_LEN];
		} join_confirm;
		struct {
			uint64_t dsn;
			uint32_t crc;		/* valid with MPS_DATA_F_CRC */
			const uint8_t *payload;	/* points into the parsed buffer */
			uint16_t len;
		} data;
		struct {
			uint64_t ack;
			uint32_t window;
		} data_ack;
		struct {
			uint8_t addr_id;
			struct mps_frame_addr addr;
			uint8_t hmac[MPS_HMAC_TRUNC_LEN];
		} add_addr;
		struct {
			uint8_t addr_id;
		} remove_addr;
		struct {
			uint64_t ts;
		} ping;			/* PING and PONG */
		struct {
			uint64_t key;
			uint8_t code;	/* enum mps_close_code */
		} fastclose;
		struct {
			uint8_t proof[MPS_HMAC_LEN];	/* crypto.h: auth proof */
		} auth;
		struct {
			/* subflows the sender wants on the path the frame
			 * came on (lossy.c), 1..255 */
			uint8_t subflows;
		} grow;
	} u;
};

/*
 * Parse one frame from the front of (buf, len).
 * Returns the number of bytes the frame occupies (> 0), 0 when more bytes
 * are needed to decide, or an enum mps_frame_err (< 0).  max_len bounds the
 * whole frame (header included); 0 means MPS_FRAME_MAX_LEN.  DATA payload
 * checksums are verified here when MPS_DATA_F_CRC is set.
 */
int mps_frame_parse(const uint8_t *buf, size_t len, size_t max_len,
		    struct mps_frame *f);

/*
 * Encode f into (buf, cap).  For DATA the payload is copied from
 * f->u.data.payload and, with MPS_DATA_F_CRC, its crc32c computed here.
 * Returns bytes written, MPS_FE_NOSPACE (nothing written), or the error the
 * parser would give the frame: MPS_FE_TYPE / _FLAGS / _FAMILY / _LEN /
 * _VALUE.  The version field is written as given, never checked.
 */
int mps_frame_encode(const struct mps_frame *f, uint8_t *buf, size_t cap);

/*
 * Write only the header of a DATA frame (MPS_DATA_HDR_LEN bytes, plus 4 with
 * crc != NULL) for a payload the caller places right after it; avoids a
 * second copy on the send path.  Returns the header length.
 */
size_t mps_frame_data_hdr(uint8_t *buf, uint64_t dsn, uint16_t payload_len,
			  uint8_t flags, const uint32_t *crc);

/*
 * Classify the first bytes a listener receives on a new TCP connection:
 * MPS_FT_HELLO or MPS_FT_JOIN when they open a well-formed header with the
 * magic, 0 when they cannot be an mpshim frame (plain TCP client), or -1
 * when fewer than the 8 bytes needed to decide have arrived.
 */
int mps_frame_classify(const uint8_t *buf, size_t len);

const char *mps_frame_type_name(unsigned type);
const char *mps_frame_strerror(int err);

#endif
