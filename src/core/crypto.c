/*
 * crypto.c - handshake cryptography on OpenSSL libcrypto.
 *
 * Owns: connection keys and what is derived from them (token, IDSN), the
 * X25519 exchange of HELLO/HELLO_ACK, the HMACs that authenticate a JOIN,
 * and the pre-shared-key proofs of forward mode.  Formulas are in crypto.h; doc/PROTOCOL.md explains their role.
 *
 * Only calls present in both OpenSSL 1.1.1 and 3.x are used (configure
 * accepts libcrypto >= 1.1.1): EVP_Digest, one-shot HMAC(), raw X25519
 * keys with EVP_PKEY_derive, CRYPTO_memcmp, OPENSSL_cleanse; with 3.x
 * also EVP_PKEY_fromdata, which spares the exchange a multiplication
 * (crypto_x25519_own).  Random bytes
 * come from the kernel (getrandom), with RAND_bytes only where the kernel
 * has no getrandom (see mps_crypto_random).
 * Every function returns 0 or a negative errno and leaves errno alone.
 */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#include <openssl/params.h>
#endif
#include <sys/random.h>
#include "crypto.h"

#define SHA256_LEN		32
/* Domain separation: a join key can never equal an HMAC computed for any
 * other purpose under the same shared secret. */
#define JOIN_KEY_LABEL		"mpshim join v1"
#define JOIN_KEY_LABEL_LEN	(sizeof(JOIN_KEY_LABEL) - 1)
/* The same for forward-mode proofs, keyed with a pre-shared key that
 * might (by a careless operator) also serve elsewhere. */
#define AUTH_LABEL		"mpshim auth v1"
#define AUTH_LABEL_LEN		(sizeof(AUTH_LABEL) - 1)
#define AUTH_PSK_MAX		64

static void crypto_put_u64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t crypto_get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * RAND_bytes' fallback, for a kernel without getrandom (before 3.17).
 */
static int crypto_rand_openssl(uint8_t *p, size_t len)
{
	int chunk;

	/* RAND_bytes takes an int length */
	while (len > 0) {
		chunk = len > INT_MAX ? INT_MAX : (int)len;
		if (RAND_bytes(p, chunk) != 1)
			return -EIO;
		p += chunk;
		len -= (size_t)chunk;
	}
	return 0;
}

/*
 * The kernel's CSPRNG, which also seeds OpenSSL's DRBG: the first
 * RAND_bytes of a process instantiates that DRBG, 0.4 to 0.9 ms here,
 * and a shimmed program's first connection cannot send its HELLO before
 * its key is drawn.  getrandom has no state to set up, and none for a
 * forked child to inherit half-locked.
 */
void mps_crypto_wipe(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}

int mps_crypto_random(void *buf, size_t len)
{
	int saved_errno = errno;
	uint8_t *p = buf;
	int ret = 0;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOSYS) {
			ret = crypto_rand_openssl(p, len);
			break;
		}
		if (n <= 0) {
			ret = -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	errno = saved_errno;
	return ret;
}

int mps_crypto_sha256(const void *buf, size_t len, uint8_t out[32])
{
	unsigned int outlen = 0;

	if (EVP_Digest(buf, len, out, &outlen, EVP_sha256(), NULL) != 1 ||
	    outlen != SHA256_LEN)
		return -EIO;
	return 0;
}

static int crypto_key_digest(uint64_t key, uint32_t *token, uint64_t *idsn)
{
	uint8_t msg[8], md[SHA256_LEN];
	int ret;

	crypto_put_u64(msg, key);
	ret = mps_crypto_sha256(msg, sizeof(msg), md);
	if (ret)
		return ret;
	if (token)
		*token = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 |
			 (uint32_t)md[2] << 8 | md[3];
	if (idsn)
		*idsn = crypto_get_u64(md + SHA256_LEN - 8);
	OPENSSL_cleanse(md, sizeof(md));
	OPENSSL_cleanse(msg, sizeof(msg));
	return 0;
}

void mps_crypto_key_derive(uint64_t key, uint32_t *token, uint64_t *idsn)
{
	/* The API has no error channel: SHA-256 over 8 bytes only fails when
	 * libcrypto itself is broken, and token 0 ("no token") then makes
	 * every lookup miss instead of matching a stale connection. */
	if (crypto_key_digest(key, token, idsn)) {
		if (token)
			*token = 0;
		if (idsn)
			*idsn = 0;
	}
}

int mps_crypto_key_new(uint64_t *key)
{
	uint32_t token;
	uint64_t k;
	int ret;

	/* Token 0 comes up once in 2^32 draws; redraw rather than bias. */
	do {
		ret = mps_crypto_random(&k, sizeof(k));
		if (ret)
			return ret;
		ret = crypto_key_digest(k, &token, NULL);
		if (ret)
			return ret;
	} while (token == 0);
	*key = k;
	return 0;
}

int mps_crypto_x25519_from_priv(struct mps_x25519 *kp,
				const uint8_t priv[MPS_X25519_LEN])
{
	uint8_t pub[MPS_X25519_LEN];
	size_t publen = sizeof(pub);
	EVP_PKEY *pkey;
	int ret = -EIO;

	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
					    MPS_X25519_LEN);
	if (!pkey)
		return -EIO;
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &publen) != 1 ||
	    publen != MPS_X25519_LEN)
		goto out;
	/* memmove: priv may point into kp itself */
	memmove(kp->priv, priv, MPS_X25519_LEN);
	memcpy(kp->pub, pub, MPS_X25519_LEN);
	ret = 0;
out:
	EVP_PKEY_free(pkey);
	return ret;
}

int mps_crypto_x25519_new(struct mps_x25519 *kp)
{
	uint8_t priv[MPS_X25519_LEN];
	int ret;

	/* Any 32 random bytes are a valid X25519 private key: the scalar is
	 * clamped when used (RFC 7748 section 5). */
	ret = mps_crypto_random(priv, sizeof(priv));
	if (!ret)
		ret = mps_crypto_x25519_from_priv(kp, priv);
	OPENSSL_cleanse(priv, sizeof(priv));
	return ret;
}

/*
 * Our key pair as libcrypto's.  Given the private key alone it computes
 * the public key again, an X25519 multiplication: 22 us of the 51 an
 * exchange took here, on the way from HELLO to HELLO_ACK and from
 * HELLO_ACK to the first data.  OpenSSL 3 takes both halves as they are.
 */
static EVP_PKEY *crypto_x25519_own(const struct mps_x25519 *kp)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	uint8_t priv[MPS_X25519_LEN], pub[MPS_X25519_LEN];
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, priv,
						  sizeof(priv)),
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub,
						  sizeof(pub)),
		OSSL_PARAM_construct_end(),
	};
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
	EVP_PKEY *pkey = NULL;

	/* copies: OSSL_PARAM wants buffers it may write */
	memcpy(priv, kp->priv, sizeof(priv));
	memcpy(pub, kp->pub, sizeof(pub));
	if (ctx && (EVP_PKEY_fromdata_init(ctx) != 1 ||
		    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1))
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_cleanse(priv, sizeof(priv));
	if (pkey)
		return pkey;
#endif
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, kp->priv,
					    MPS_X25519_LEN);
}

int mps_crypto_x25519_shared(const struct mps_x25519 *kp,
			     const uint8_t peer_pub[MPS_X25519_LEN],
			     uint8_t shared[MPS_X25519_LEN])
{
	static const uint8_t zero[MPS_X25519_LEN];
	uint8_t secret[MPS_X25519_LEN];
	size_t len = sizeof(secret);
	EVP_PKEY *own = NULL, *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int ret = -EIO;

	own = crypto_x25519_own(kp);
	peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_pub,
					   MPS_X25519_LEN);
	if (!own || !peer)
		goto out;
	ctx = EVP_PKEY_CTX_new(own, NULL);
	if (!ctx || EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1)
		goto out;
	/*
	 * With both keys loaded, OpenSSL's X25519 derive fails only when the
	 * result is all zero, i.e. the peer sent a low-order point (RFC 7748
	 * section 6.1): that is the peer's fault, not ours.  The explicit
	 * check below covers a provider that would return the zeros instead.
	 */
	if (EVP_PKEY_derive(ctx, secret, &len) != 1) {
		ret = -EINVAL;
		goto out;
	}
	if (len != MPS_X25519_LEN)
		goto out;
	if (CRYPTO_memcmp(secret, zero, sizeof(secret)) == 0) {
		ret = -EINVAL;
		goto out;
	}
	memcpy(shared, secret, MPS_X25519_LEN);
	ret = 0;
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(own);
	return ret;
}

static int crypto_hmac_sha256(const uint8_t *key, size_t keylen,
			      const uint8_t *msg, size_t msglen,
			      uint8_t out[SHA256_LEN])
{
	unsigned int outlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &outlen) ||
	    outlen != SHA256_LEN)
		return -EIO;
	return 0;
}

int mps_crypto_join_key(const uint8_t shared[MPS_X25519_LEN], uint64_t key_c,
			uint64_t key_s, uint8_t join_key[32])
{
	uint8_t msg[JOIN_KEY_LABEL_LEN + 8 + 8];
	int ret;

	memcpy(msg, JOIN_KEY_LABEL, JOIN_KEY_LABEL_LEN);
	crypto_put_u64(msg + JOIN_KEY_LABEL_LEN, key_c);
	crypto_put_u64(msg + JOIN_KEY_LABEL_LEN + 8, key_s);
	ret = crypto_hmac_sha256(shared, MPS_X25519_LEN, msg, sizeof(msg),
				 join_key);
	OPENSSL_cleanse(msg, sizeof(msg));
	return ret;
}

int mps_crypto_join_hmac(const uint8_t join_key[32], enum mps_join_role role,
			 uint64_t nonce_own, uint64_t nonce_peer,
			 uint8_t out[32])
{
	uint8_t msg[1 + 8 + 8];

	/* The role byte keeps the server's JOIN_ACK from being replayed as
	 * the client's JOIN_CONFIRM with the nonces swapped. */
	if (role != MPS_ROLE_CLIENT && role != MPS_ROLE_SERVER)
		return -EINVAL;
	msg[0] = (uint8_t)role;
	crypto_put_u64(msg + 1, nonce_own);
	crypto_put_u64(msg + 9, nonce_peer);
	return crypto_hmac_sha256(join_key, 32, msg, sizeof(msg), out);
}

int mps_crypto_addr_hmac(const uint8_t join_key[32], uint8_t addr_id,
			 uint8_t family, uint16_t port, const uint8_t *addr,
			 uint8_t out[32])
{
	uint8_t msg[1 + 1 + 1 + 2 + 16];
	size_t alen = family == 4 ? 4 : family == 6 ? 16 : 0;

	/* 'A' keeps an address MAC from ever standing in for a JOIN MAC */
	if (!alen)
		return -EINVAL;
	msg[0] = 'A';
	msg[1] = addr_id;
	msg[2] = family;
	msg[3] = (uint8_t)(port >> 8);
	msg[4] = (uint8_t)port;
	memcpy(msg + 5, addr, alen);
	return crypto_hmac_sha256(join_key, 32, msg, 5 + alen, out);
}

int mps_crypto_auth_proof(const uint8_t *psk, size_t psk_len,
			  enum mps_join_role role, const struct mps_auth_msg *m,
			  uint8_t out[32])
{
	uint8_t msg[AUTH_LABEL_LEN + 1 + MPS_KEY_ID_LEN + 2 * (8 + MPS_X25519_LEN) +
		    3 + 16];
	size_t alen = m->target.family == 4 ? 4 : m->target.family == 6 ? 16 : 0;
	uint8_t *p = msg;
	int ret;

	if (!alen || !psk_len || psk_len > AUTH_PSK_MAX ||
	    (role != MPS_ROLE_CLIENT && role != MPS_ROLE_SERVER))
		return -EINVAL;
	memcpy(p, AUTH_LABEL, AUTH_LABEL_LEN);
	p += AUTH_LABEL_LEN;
	/* the role byte keeps the server's proof from being reflected back
	 * to it as a client's */
	*p++ = (uint8_t)role;
	memcpy(p, m->key_id, MPS_KEY_ID_LEN);
	p += MPS_KEY_ID_LEN;
	crypto_put_u64(p, m->key_c);
	p += 8;
	memcpy(p, m->pub_c, MPS_X25519_LEN);
	p += MPS_X25519_LEN;
	/* the server's fresh key and public key: a proof recorded from one
	 * handshake is worth nothing in the next */
	crypto_put_u64(p, m->key_s);
	p += 8;
	memcpy(p, m->pub_s, MPS_X25519_LEN);
	p += MPS_X25519_LEN;
	*p++ = m->target.family;
	*p++ = (uint8_t)(m->target.port >> 8);
	*p++ = (uint8_t)m->target.port;
	memcpy(p, m->target.addr, alen);
	p += alen;
	ret = crypto_hmac_sha256(psk, psk_len, msg, (size_t)(p - msg), out);
	OPENSSL_cleanse(msg, sizeof(msg));
	return ret;
}

void mps_crypto_warm(void)
{
	static const uint8_t priv[MPS_X25519_LEN] = { 1 };
	uint8_t shared[MPS_X25519_LEN], key[32];
	struct mps_x25519 kp;

	/* an exchange with one's own public key is as good as any */
	if (!mps_crypto_x25519_from_priv(&kp, priv) &&
	    !mps_crypto_x25519_shared(&kp, kp.pub, shared))
		mps_crypto_join_key(shared, 1, 2, key);
	OPENSSL_cleanse(&kp, sizeof(kp));
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(key, sizeof(key));
}

bool mps_crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
