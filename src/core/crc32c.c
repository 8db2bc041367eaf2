/*
 * crc32c.c - CRC32C (Castagnoli), the optional checksum on DATA payloads.
 *
 * Owns: the lookup tables and the slicing-by-8 loop.  Portable C only: no
 * SSE4.2 or ARMv8 CRC instructions, so every host computes the same value
 * the same way, and the code never depends on the byte order of the host.
 *
 * The value is the usual reflected CRC (poly 0x1edc6f41, reflected form
 * 0x82f63b78), initial ~0 and final xor ~0, so it matches iSCSI, SCTP and
 * ext4.  The crc argument is a previous result, which lets a caller
 * checksum a payload in pieces: crc(crc(0, a), b) == crc(0, a || b).
 */
#include "config.h"
#include <pthread.h>
#include "crc32c.h"

#define CRC32C_POLY_REFLECTED	0x82f63b78u

/* crc32c_table[k][b]: the CRC of byte b followed by k zero bytes; lets the
 * loop fold 8 input bytes with 8 independent lookups. */
static uint32_t crc32c_table[8][256];
/* Filled at first use rather than by a constructor: the shim's own
 * constructors may run first and there is no portable ordering. */
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init_tables(void)
{
	unsigned b, k, bit;
	uint32_t c;

	for (b = 0; b < 256; b++) {
		c = b;
		for (bit = 0; bit < 8; bit++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
		crc32c_table[0][b] = c;
	}
	for (b = 0; b < 256; b++) {
		c = crc32c_table[0][b];
		for (k = 1; k < 8; k++) {
			c = (c >> 8) ^ crc32c_table[0][c & 0xff];
			crc32c_table[k][b] = c;
		}
	}
}

/* Assemble little-endian words byte by byte: correct on any host and any
 * alignment; compilers turn it into one load where that is legal. */
static inline uint32_t crc32c_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	       (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t mps_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t lo, hi;

	pthread_once(&crc32c_once, crc32c_init_tables);
	crc = ~crc;
	while (len >= 8) {
		lo = crc32c_le32(p) ^ crc;
		hi = crc32c_le32(p + 4);
		crc = crc32c_table[7][lo & 0xff] ^
		      crc32c_table[6][(lo >> 8) & 0xff] ^
		      crc32c_table[5][(lo >> 16) & 0xff] ^
		      crc32c_table[4][lo >> 24] ^
		      crc32c_table[3][hi & 0xff] ^
		      crc32c_table[2][(hi >> 8) & 0xff] ^
		      crc32c_table[1][(hi >> 16) & 0xff] ^
		      crc32c_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}
