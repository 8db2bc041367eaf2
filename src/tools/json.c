/*
 * json.c - JSON reader (see json.h).  Recursive descent over RFC 8259,
 * bounded depth; the tree is one malloc per value and per string.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"

struct parser {
	const char *start, *p, *end;
	char *err;
	size_t errlen;
	int depth;
};

static int fail(struct parser *ps, const char *what)
{
	if (ps->errlen)
		snprintf(ps->err, ps->errlen, "offset %zu: %s",
			 (size_t)(ps->p - ps->start), what);
	return -EINVAL;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
				   *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A \u escape at s (past the backslash and 'u'), a pair for characters
 * beyond the BMP.  Returns the code point and how many bytes it took. */
static int unicode_escape(struct parser *ps, const char *s, unsigned *cp, size_t *used)
{
	unsigned hi, lo;

	if (ps->end - s < 4 || hex4(s, &hi))
		return fail(ps, "bad \\u escape");
	*used = 4;
	if (hi >= 0xdc00 && hi <= 0xdfff)
		return fail(ps, "lone low surrogate");
	if (hi >= 0xd800 && hi <= 0xdbff) {
		if (ps->end - s < 10 || s[4] != '\\' || s[5] != 'u' || hex4(s + 6, &lo) ||
		    lo < 0xdc00 || lo > 0xdfff)
			return fail(ps, "high surrogate without its low half");
		hi = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
		*used = 10;
	}
	if (hi == 0)
		return fail(ps, "NUL in a string");
	*cp = hi;
	return 0;
}

/* A string at ps->p (on its opening quote), decoded into *out. */
static int parse_string(struct parser *ps, char **out)
{
	const char *s = ps->p + 1, *q;
	char *buf, *o;
	int rc;

	/* find the closing quote first: the decoded text is never longer */
	for (q = s; q < ps->end && *q != '"'; q++) {
		if ((unsigned char)*q < 0x20)
			return fail(ps, "control character in a string");
		if (*q == '\\' && ++q == ps->end)
			break;
	}
	if (q >= ps->end)
		return fail(ps, "unterminated string");
	buf = malloc((size_t)(q - s) + 1);
	if (!buf)
		return -ENOMEM;
	for (o = buf; s < q; ) {
		unsigned cp;
		size_t used;

		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		ps->p = s;
		switch (s[1]) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			rc = unicode_escape(ps, s + 2, &cp, &used);
			if (rc) {
				free(buf);
				return rc;
			}
			o += put_utf8(o, cp);
			s += used;
			break;
		default:
			free(buf);
			return fail(ps, "unknown escape");
		}
		s += 2;
	}
	*o = '\0';
	ps->p = q + 1;
	*out = buf;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 8259's grammar, checked before strtod sees a byte. */
static int parse_number(struct parser *ps, struct mps_json *v)
{
	const char *s = ps->p, *q = s;
	bool integer = true;
	char tok[64];
	size_t len;

	if (q < ps->end && *q == '-')
		q++;
	if (q < ps->end && *q == '0')
		q++;
	else if (q < ps->end && is_digit(*q))
		while (q < ps->end && is_digit(*q))
			q++;
	else
		return fail(ps, "bad number");
	if (q < ps->end && *q == '.') {
		integer = false;
		if (++q >= ps->end || !is_digit(*q))
			return fail(ps, "bad fraction");
		while (q < ps->end && is_digit(*q))
			q++;
	}
	if (q < ps->end && (*q == 'e' || *q == 'E')) {
		integer = false;
		q++;
		if (q < ps->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= ps->end || !is_digit(*q))
			return fail(ps, "bad exponent");
		while (q < ps->end && is_digit(*q))
			q++;
	}
	len = (size_t)(q - s);
	if (len >= sizeof(tok))
		return fail(ps, "number too long");
	memcpy(tok, s, len);
	tok[len] = '\0';
	v->type = MPS_JSON_NUMBER;
	v->num = strtod(tok, NULL);
	if (integer && tok[0] != '-') {
		errno = 0;
		v->u64 = strtoull(tok, NULL, 10);
		v->is_u64 = errno != ERANGE;
	}
	ps->p = q;
	return 0;
}

static int parse_literal(struct parser *ps, const char *word)
{
	size_t len = strlen(word);

	if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len))
		return fail(ps, "unexpected character");
	ps->p += len;
	return 0;
}

static int parse_value(struct parser *ps, struct mps_json **out);

/* Elements of an array or members of an object, after its opening. */
static int parse_container(struct parser *ps, struct mps_json *v)
{
	bool object = v->type == MPS_JSON_OBJECT;
	char close = object ? '}' : ']';
	struct mps_json **tail = &v->child;
	int rc;

	if (++ps->depth > MPS_JSON_MAX_DEPTH)
		return fail(ps, "nested too deeply");
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return 0;
	}
	for (;;) {
		char *name = NULL;
		struct mps_json *item;

		skip_ws(ps);
		if (object) {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, "expected a member name");
			rc = parse_string(ps, &name);
			if (rc)
				return rc;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(name);
				return fail(ps, "expected ':'");
			}
			ps->p++;
		}
		rc = parse_value(ps, &item);
		if (rc) {
			free(name);
			return rc;
		}
		item->name = name;
		*tail = item;
		tail = &item->next;
		v->n++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			ps->depth--;
			return 0;
		}
		return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int parse_value(struct parser *ps, struct mps_json **out)
{
	struct mps_json *v = calloc(1, sizeof(*v));
	int rc;

	if (!v)
		return -ENOMEM;
	skip_ws(ps);
	if (ps->p >= ps->end) {
		rc = fail(ps, "unexpected end");
	} else if (*ps->p == '{' || *ps->p == '[') {
		v->type = *ps->p == '{' ? MPS_JSON_OBJECT : MPS_JSON_ARRAY;
		ps->p++;
		rc = parse_container(ps, v);
	} else if (*ps->p == '"') {
		v->type = MPS_JSON_STRING;
		rc = parse_string(ps, &v->str);
	} else if (*ps->p == 't' || *ps->p == 'f') {
		v->type = MPS_JSON_BOOL;
		v->boolean = *ps->p == 't';
		rc = parse_literal(ps, v->boolean ? "true" : "false");
	} else if (*ps->p == 'n') {
		v->type = MPS_JSON_NULL;
		rc = parse_literal(ps, "null");
	} else if (*ps->p == '-' || is_digit(*ps->p)) {
		rc = parse_number(ps, v);
	} else {
		rc = fail(ps, "unexpected character");
	}
	if (rc) {
		mps_json_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int mps_json_parse(const char *text, size_t len, struct mps_json **out,
		   char *err, size_t errlen)
{
	struct parser ps = { .start = text, .p = text, .end = text + len,
			     .err = err, .errlen = errlen };
	struct mps_json *v;
	int rc;

	if (errlen)
		err[0] = '\0';
	rc = parse_value(&ps, &v);
	if (rc)
		return rc;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		mps_json_free(v);
		return fail(&ps, "bytes after the value");
	}
	*out = v;
	return 0;
}

void mps_json_free(struct mps_json *v)
{
	while (v) {
		struct mps_json *next = v->next;

		mps_json_free(v->child);
		free(v->name);
		free(v->str);
		free(v);
		v = next;
	}
}

const struct mps_json *mps_json_get(const struct mps_json *v, const char *name)
{
	if (!v || v->type != MPS_JSON_OBJECT)
		return NULL;
	for (const struct mps_json *m = v->child; m; m = m->next)
		if (!strcmp(m->name, name))
			return m;
	return NULL;
}

const char *mps_json_str(const struct mps_json *v, const char *name)
{
	const struct mps_json *m = mps_json_get(v, name);

	return m && m->type == MPS_JSON_STRING ? m->str : NULL;
}

uint64_t mps_json_u64(const struct mps_json *v, const char *name, uint64_t def)
{
	const struct mps_json *m = mps_json_get(v, name);

	return m && m->type == MPS_JSON_NUMBER && m->is_u64 ? m->u64 : def;
}

bool mps_json_bool(const struct mps_json *v, const char *name, bool def)
{
	const struct mps_json *m = mps_json_get(v, name);

	return m && m->type == MPS_JSON_BOOL ? m->boolean : def;
}
