/*
 * psk.c - pre-shared key files of forward mode (see psk.h).
 *
 * Format: one key per line, "ID HEX": ID is 1..16 of A-Z a-z 0-9 . _ -,
 * HEX the key as 32..128 hex digits (16..64 bytes).  '#' starts a comment
 * at the start of a line or after white space; blank lines are skipped.
 *
 * The file is read whole into one buffer with read(2) rather than through
 * stdio, so the only copies of the secrets are ours and are wiped.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "psk.h"

#define PSK_FILE_MAX	(1024 * 1024)	/* far above 4096 keys of 64 bytes */

static void psk_msg(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void psk_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool id_char(int c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '-';
}

/* The file's bytes, checked for who may read it; NUL-terminated. */
static int psk_read(const char *path, char **out, size_t *outlen, char *err,
		    size_t errlen)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		psk_msg(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		psk_msg(err, errlen, "%s: %s", path, strerror(-ret));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		psk_msg(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	/* a key anyone else can read is no longer pre-shared with one
	 * client; one anyone else can write lets them in */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		ret = -EPERM;
		psk_msg(err, errlen,
			"%s: permissions %04o are too open: a key file must be "
			"accessible by its owner only (chmod 600 %s)",
			path, (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		ret = -EPERM;
		psk_msg(err, errlen, "%s: owned by uid %u, neither this user nor root",
			path, (unsigned)st.st_uid);
		goto fail;
	}
	if (st.st_size > PSK_FILE_MAX) {
		ret = -EFBIG;
		psk_msg(err, errlen, "%s: larger than %d bytes", path, PSK_FILE_MAX);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		psk_msg(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			psk_msg(err, errlen, "%s: read error", path);
			explicit_bzero(buf, got);
			free(buf);
			goto fail;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*outlen = got;
	return 0;
fail:
	close(fd);
	return ret;
}

/* One non-empty line without its comment: "ID HEX".  0 or -EINVAL. */
static int psk_parse_line(char *line, struct mps_psk *k, char *msg, size_t msglen)
{
	char *id, *hex, *rest;
	size_t idlen, hexlen, i;

	id = line;
	idlen = strcspn(id, " \t");
	hex = id + idlen;
	hex += strspn(hex, " \t");
	hexlen = strcspn(hex, " \t");
	rest = hex + hexlen;
	rest += strspn(rest, " \t");
	if (!hexlen || *rest) {
		psk_msg(msg, msglen, "expected 'ID HEXKEY'");
		return -EINVAL;
	}
	if (idlen > MPS_KEY_ID_LEN) {
		psk_msg(msg, msglen, "key id longer than %d characters", MPS_KEY_ID_LEN);
		return -EINVAL;
	}
	for (i = 0; i < idlen; i++) {
		if (!id_char((unsigned char)id[i])) {
			psk_msg(msg, msglen,
				"key id '%.*s' may only hold A-Z a-z 0-9 . _ -",
				(int)idlen, id);
			return -EINVAL;
		}
	}
	if (hexlen % 2 || hexlen < 2 * MPS_PSK_MIN_LEN || hexlen > 2 * MPS_PSK_MAX_LEN) {
		psk_msg(msg, msglen,
			"key '%.*s': want %d to %d bytes as an even number of hex digits",
			(int)idlen, id, MPS_PSK_MIN_LEN, MPS_PSK_MAX_LEN);
		return -EINVAL;
	}
	memset(k, 0, sizeof(*k));
	for (i = 0; i < hexlen; i += 2) {
		int hi = hexval((unsigned char)hex[i]), lo = hexval((unsigned char)hex[i + 1]);

		if (hi < 0 || lo < 0) {
			explicit_bzero(k, sizeof(*k));
			psk_msg(msg, msglen, "key '%.*s' is not hexadecimal",
				(int)idlen, id);
			return -EINVAL;
		}
		k->key[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	k->len = hexlen / 2;
	memcpy(k->id, id, idlen);
	return 0;
}

static void strip_comment(char *line)
{
	for (char *p = line; *p; p++) {
		if (*p == '#' && (p == line || *(p - 1) == ' ' || *(p - 1) == '\t')) {
			*p = '\0';
			return;
		}
	}
}

int mps_psk_load(const char *path, struct mps_psk_set *set, char *err,
		 size_t errlen)
{
	struct mps_psk_set tmp = { 0 };
	char msg[160];
	char *buf = NULL, *line, *next;
	size_t len = 0;
	unsigned lineno = 0, cap = 0;
	int ret;

	set->keys = NULL;
	set->n = 0;
	ret = psk_read(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	for (line = buf; line && *line; line = next) {
		struct mps_psk k;
		char *e;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		strip_comment(line);
		line += strspn(line, " \t\r");
		e = line + strlen(line);
		while (e > line && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = '\0';
		if (!*line)
			continue;
		ret = psk_parse_line(line, &k, msg, sizeof(msg));
		if (!ret && mps_psk_find(&tmp, k.id)) {
			psk_msg(msg, sizeof(msg), "key id '%.*s' given twice",
				MPS_KEY_ID_LEN, (const char *)k.id);
			ret = -EINVAL;
		}
		if (!ret && tmp.n == MPS_PSK_MAX_KEYS) {
			psk_msg(msg, sizeof(msg), "more than %d keys", MPS_PSK_MAX_KEYS);
			ret = -EINVAL;
		}
		if (!ret && tmp.n == cap) {
			unsigned ncap = cap ? cap * 2 : 8;
			struct mps_psk *nk = calloc(ncap, sizeof(*nk));

			if (!nk) {
				psk_msg(msg, sizeof(msg), "out of memory");
				ret = -ENOMEM;
			} else {
				/* copy and wipe rather than realloc, which would
				 * leave the old block's secrets in the heap */
				if (tmp.n)
					memcpy(nk, tmp.keys, tmp.n * sizeof(*nk));
				if (tmp.keys) {
					explicit_bzero(tmp.keys, cap * sizeof(*tmp.keys));
					free(tmp.keys);
				}
				tmp.keys = nk;
				cap = ncap;
			}
		}
		if (ret) {
			psk_msg(err, errlen, "%s:%u: %s", path, lineno, msg);
			explicit_bzero(&k, sizeof(k));
			goto out;
		}
		tmp.keys[tmp.n++] = k;
		explicit_bzero(&k, sizeof(k));
	}
	if (!tmp.n) {
		psk_msg(err, errlen, "%s: no key in the file", path);
		ret = -EINVAL;
		goto out;
	}
	*set = tmp;
	tmp.keys = NULL;
	tmp.n = 0;
out:
	explicit_bzero(buf, len);
	free(buf);
	mps_psk_free(&tmp);
	return ret;
}

const struct mps_psk *mps_psk_find(const struct mps_psk_set *set,
				   const uint8_t id[MPS_KEY_ID_LEN])
{
	for (unsigned i = 0; i < set->n; i++)
		if (!memcmp(set->keys[i].id, id, MPS_KEY_ID_LEN))
			return &set->keys[i];
	return NULL;
}

void mps_psk_free(struct mps_psk_set *set)
{
	if (set->keys) {
		explicit_bzero(set->keys, set->n * sizeof(*set->keys));
		free(set->keys);
	}
	set->keys = NULL;
	set->n = 0;
}

void mps_psk_id_str(const uint8_t id[MPS_KEY_ID_LEN], char out[MPS_KEY_ID_LEN + 1])
{
	size_t i;

	for (i = 0; i < MPS_KEY_ID_LEN && id[i]; i++)
		out[i] = isprint(id[i]) ? (char)id[i] : '?';
	out[i] = '\0';
}
