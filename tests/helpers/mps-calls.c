/*
 * mps-calls.c - a library preloaded after the shim that logs some of the
 * engine's calls to other libraries: each call of getifaddrs(),
 * EVP_PKEY_derive() or HMAC() appends its name and a newline to the file
 * named by $MPS_CALLS_LOG, then the real function runs.
 *
 * The engine looks interfaces up with getifaddrs (0.1 ms each here), and
 * libcrypto sets an algorithm up at its first use; a test reads the log
 * to see when each happens (tests/net/test_first.c).  Only the suite's
 * own helpers ever run with it, and none of them uses libcrypto itself.
 */
#include <dlfcn.h>		/* RTLD_NEXT: _GNU_SOURCE comes from configure */
#include <fcntl.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define EXPORT __attribute__((visibility("default")))

static void note(const char *name)
{
	const char *log = getenv("MPS_CALLS_LOG");
	char line[64];
	size_t len = strlen(name);
	int fd;

	if (!log || len + 1 > sizeof(line))
		return;
	memcpy(line, name, len);
	line[len++] = '\n';
	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		ssize_t n = write(fd, line, len);

		(void)n;	/* a short log fails the test that reads it */
		close(fd);
	}
}

static void *real(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

EXPORT int getifaddrs(struct ifaddrs **ifap)
{
	int (*fn)(struct ifaddrs **) = (int (*)(struct ifaddrs **))real("getifaddrs");

	note("getifaddrs");
	return fn(ifap);
}

EXPORT int EVP_PKEY_derive(EVP_PKEY_CTX *ctx, unsigned char *key, size_t *keylen)
{
	int (*fn)(EVP_PKEY_CTX *, unsigned char *, size_t *) =
		(int (*)(EVP_PKEY_CTX *, unsigned char *, size_t *))real("EVP_PKEY_derive");

	note("EVP_PKEY_derive");
	return fn(ctx, key, keylen);
}

EXPORT unsigned char *HMAC(const EVP_MD *md, const void *key, int key_len,
			   const unsigned char *data, size_t data_len,
			   unsigned char *out, unsigned int *out_len)
{
	unsigned char *(*fn)(const EVP_MD *, const void *, int, const unsigned char *,
			     size_t, unsigned char *, unsigned int *) =
		(unsigned char *(*)(const EVP_MD *, const void *, int, const unsigned char *,
				    size_t, unsigned char *, unsigned int *))real("HMAC");

	note("HMAC");
	return fn(md, key, key_len, data, data_len, out, out_len);
}
