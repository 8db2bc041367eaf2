/*
 * crypto.h - handshake cryptography on OpenSSL libcrypto.
 *
 * Owns: connection keys, tokens, initial data sequence numbers, the X25519
 * exchange and the HMACs that authenticate JOIN.  All functions return 0 or
 * a negative errno (-EIO when libcrypto fails) and never touch errno.
 *
 *  token(key) = first 4 bytes of SHA-256(key as 8 big-endian bytes), big-endian
 *  idsn(key)  = last 8 bytes of the same digest, big-endian
 *  join_key   = HMAC-SHA256(key = X25519 shared secret,
 *                           msg = "mpshim join v1" || key_c || key_s)  (keys BE)
 *  join_hmac  = HMAC-SHA256(key = join_key,
 *                           msg = role || nonce_own || nonce_peer)
 *               role = 'S' for the server's JOIN_ACK (truncated to 8 bytes),
 *                      'C' for the client's JOIN_CONFIRM (full 32 bytes)
 *  auth_proof = HMAC-SHA256(key = pre-shared key,
 *                           msg = "mpshim auth v1" || role || key_id ||
 *                                 key_c || pub_c || key_s || pub_s || target)
 *               (forward mode; role 'C' client, 'S' server; target is the
 *               HELLO address block as sent: family, port (BE), address)
 */
#ifndef MPS_CRYPTO_H
#define MPS_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "frame.h"

#define MPS_X25519_LEN 32

struct mps_x25519 {
	uint8_t priv[MPS_X25519_LEN];
	uint8_t pub[MPS_X25519_LEN];
};

/* Which side computes a MAC: JOIN's HMACs and the forward-mode proofs. */
enum mps_join_role { MPS_ROLE_CLIENT = 'C', MPS_ROLE_SERVER = 'S' };

/* What a forward-mode proof covers: every fresh value of the handshake
 * and the destination, so a proof fits one connection to one place. */
struct mps_auth_msg {
	uint8_t key_id[MPS_KEY_ID_LEN];	/* as in HELLO */
	uint64_t key_c, key_s;
	uint8_t pub_c[MPS_X25519_LEN], pub_s[MPS_X25519_LEN];
	struct mps_frame_addr target;	/* as in HELLO */
};

/*
 * One X25519 exchange and one join key, thrown away: libcrypto sets each
 * algorithm up at its first use in a process (0.1 to 0.2 ms here for the
 * two), so a client does this while its first SYN is out, not when
 * HELLO_ACK arrives ahead of the response.
 */
void mps_crypto_warm(void);
/* Zero a secret where the compiler cannot drop it (OPENSSL_cleanse). */
void mps_crypto_wipe(void *p, size_t len);
/* Random bytes from the kernel (getrandom), never from OpenSSL's DRBG
 * unless the kernel lacks getrandom. */
int mps_crypto_random(void *buf, size_t len);
/* A fresh connection key whose token is not 0 (0 means "no token"). */
int mps_crypto_key_new(uint64_t *key);
void mps_crypto_key_derive(uint64_t key, uint32_t *token, uint64_t *idsn);
int mps_crypto_x25519_new(struct mps_x25519 *kp);
/* Derive the public key from a given private key (for fixed test vectors). */
int mps_crypto_x25519_from_priv(struct mps_x25519 *kp,
				const uint8_t priv[MPS_X25519_LEN]);
/* -EINVAL for a peer key that yields the all-zero shared secret. */
int mps_crypto_x25519_shared(const struct mps_x25519 *kp,
			     const uint8_t peer_pub[MPS_X25519_LEN],
			     uint8_t shared[MPS_X25519_LEN]);
int mps_crypto_join_key(const uint8_t shared[MPS_X25519_LEN], uint64_t key_c,
			uint64_t key_s, uint8_t join_key[32]);
int mps_crypto_join_hmac(const uint8_t join_key[32], enum mps_join_role role,
			 uint64_t nonce_own, uint64_t nonce_peer,
			 uint8_t out[32]);
/*
 * HMAC authenticating an ADD_ADDR: HMAC-SHA256(join_key, 'A' || addr_id ||
 * family || port (BE) || addr (4 or 16 bytes)), truncated to 8 bytes by the
 * caller.  family is 4 or 6 as on the wire.  -EINVAL for another family.
 */
int mps_crypto_addr_hmac(const uint8_t join_key[32], uint8_t addr_id,
			 uint8_t family, uint16_t port, const uint8_t *addr,
			 uint8_t out[32]);
/*
 * Forward mode: the AUTH proof of role over m, keyed with the pre-shared
 * key (psk, psk_len bytes, 1..64).  -EINVAL for a target family other
 * than 4 or 6, a role other than 'C'/'S', or a key length out of range.
 */
int mps_crypto_auth_proof(const uint8_t *psk, size_t psk_len,
			  enum mps_join_role role, const struct mps_auth_msg *m,
			  uint8_t out[32]);
/* Constant-time comparison. */
bool mps_crypto_equal(const void *a, const void *b, size_t len);
/* SHA-256 of a buffer (stats, tests, demo). */
int mps_crypto_sha256(const void *buf, size_t len, uint8_t out[32]);

#endif
