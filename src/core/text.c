/*
 * text.c - growable text buffer with a ceiling (see text.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text.h"

void mps_text_init(struct mps_text *t, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->max = max;
}

void mps_text_free(struct mps_text *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

/* Room for len more bytes and the terminating NUL, within the ceiling. */
static bool text_reserve(struct mps_text *t, size_t len)
{
	size_t need = t->len + len + 1, ncap;
	char *nb;

	if (t->full || len > t->max - t->len) {
		t->full = true;
		return false;
	}
	if (need <= t->cap)
		return true;
	ncap = t->cap ? t->cap : 1024;
	while (ncap < need)
		ncap *= 2;
	if (ncap > t->max + 1)
		ncap = t->max + 1;
	nb = realloc(t->buf, ncap);
	if (!nb) {
		t->full = true;
		return false;
	}
	t->buf = nb;
	t->cap = ncap;
	return true;
}

bool mps_text_printf(struct mps_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return false;
	/* try in the room there is; most appends fit and format once */
	va_start(ap, fmt);
	n = vsnprintf(t->cap ? t->buf + t->len : NULL, t->cap ? t->cap - t->len : 0,
		      fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->full = true;
		return false;
	}
	if (t->len + (size_t)n + 1 > t->cap) {
		if (!text_reserve(t, (size_t)n)) {
			if (t->buf)
				t->buf[t->len] = '\0';
			return false;
		}
		va_start(ap, fmt);
		vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
	}
	t->len += (size_t)n;
	return true;
}

/* Length of the valid UTF-8 sequence starting at s, 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates and beyond U+10FFFF are not text */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * Strings come from places we do not control (a program's name, an
 * address text): control characters are escaped and bytes that are not
 * UTF-8 become '?', so the document is always valid JSON.
 */
bool mps_text_json_str(struct mps_text *t, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;

	if (!mps_text_printf(t, "\""))
		return false;
	while (*s) {
		size_t n;

		if (*s == '"' || *s == '\\') {
			mps_text_printf(t, "\\%c", *s);
			s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			mps_text_printf(t, "\\u%04x", *s);
			s++;
		} else if (*s < 0x80) {
			mps_text_printf(t, "%c", *s);
			s++;
		} else if ((n = utf8_seq(s)) > 0) {
			mps_text_printf(t, "%.*s", (int)n, (const char *)s);
			s += n;
		} else {
			mps_text_printf(t, "?");
			s++;
		}
	}
	return mps_text_printf(t, "\"");
}

void mps_text_cut(struct mps_text *t, size_t len)
{
	if (len < t->len)
		t->len = len;
	if (t->buf)
		t->buf[t->len] = '\0';
	t->full = false;
}
