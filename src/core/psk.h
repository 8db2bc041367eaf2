/*
 * psk.h - pre-shared key files of forward mode.
 *
 * Owns: the key file format (one "ID HEX" line per key), the rule that a
 * key file is private to its owner (as ssh has it for private keys), and
 * finding a key by the id a client names in HELLO.  proxyd loads every
 * key of its file; the shim uses the first key of its own.
 *
 * Functions return 0 or a negative errno and never touch errno.
 */
#ifndef MPS_PSK_H
#define MPS_PSK_H

#include <stddef.h>
#include <stdint.h>
#include "frame.h"

#define MPS_PSK_MIN_LEN		16	/* 128 bits: anything less is guessable */
#define MPS_PSK_MAX_LEN		64	/* one HMAC-SHA256 block */
#define MPS_PSK_MAX_KEYS	4096

struct mps_psk {
	uint8_t id[MPS_KEY_ID_LEN];	/* as on the wire: the name, NUL-padded */
	uint8_t key[MPS_PSK_MAX_LEN];
	size_t len;
};

struct mps_psk_set {
	struct mps_psk *keys;
	unsigned n;
};

/*
 * Read every key of path into set (which must be empty or freed).  All or
 * nothing: on error set is left empty and err says why, "FILE: ..." or
 * "FILE:LINE: ...".  -EPERM when group or others have any access to the
 * file or it belongs to someone other than this user or root; -EINVAL for
 * a line that does not parse, a duplicate id or a file without keys;
 * -errno of open/read otherwise.
 */
int mps_psk_load(const char *path, struct mps_psk_set *set, char *err,
		 size_t errlen);
/* The key named id, or NULL. */
const struct mps_psk *mps_psk_find(const struct mps_psk_set *set,
				   const uint8_t id[MPS_KEY_ID_LEN]);
/* Wipe and release the keys; set becomes empty. */
void mps_psk_free(struct mps_psk_set *set);
/* An id from the wire as text for a log line: its bytes up to the first
 * NUL, anything not printable shown as '?'. */
void mps_psk_id_str(const uint8_t id[MPS_KEY_ID_LEN], char out[MPS_KEY_ID_LEN + 1]);

#endif
