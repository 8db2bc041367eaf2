/*
 * fuzz_json.c - libFuzzer harness for what `mpshim stats` does with the
 * bytes another process sends it: the JSON reader (src/tools/json.c) and
 * the table printer (src/tools/stats_cmd.c), and for the JSON string
 * writer of the engine's answers (src/core/text.c).
 *
 * The input is used twice:
 *  - parsed as a document.  The only errors are -EINVAL with a message;
 *    a parsed tree is consistent (counts, names only on object members,
 *    depth within the bound); written out again with a minimal writer of
 *    this file it parses to the same tree; and the table printer prints
 *    it, whatever its shape, without crashing;
 *  - up to its first NUL, as a C string given to mps_text_json_str: the
 *    result always parses as one JSON string of the same length, equal
 *    byte for byte except where a byte >= 0x80 that is not UTF-8 became
 *    '?'.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text.h"
#include "../../src/tools/json.h"
#include "../../src/tools/stats_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_json: invariant broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void check_tree(const struct mps_json *v, int depth, bool member)
{
	size_t n = 0;

	if ((v->name != NULL) != member)
		fail("member name %s where %s", v->name ? "present" : "missing",
		     member ? "an object member" : "no member");
	if ((v->type == MPS_JSON_STRING) != (v->str != NULL))
		fail("string value and type disagree");
	if (v->type != MPS_JSON_ARRAY && v->type != MPS_JSON_OBJECT) {
		if (v->child || v->n)
			fail("a scalar with children");
		return;
	}
	if (depth > MPS_JSON_MAX_DEPTH)
		fail("depth %d beyond the bound", depth);
	for (const struct mps_json *c = v->child; c; c = c->next, n++)
		check_tree(c, depth + 1, v->type == MPS_JSON_OBJECT);
	if (n != v->n)
		fail("count %zu, children %zu", v->n, n);
}

/* Bytes as they are: the reader passes bytes >= 0x80 through unchanged,
 * so escaping only what JSON requires gives the same string back. */
static void write_str(struct mps_text *t, const char *s)
{
	mps_text_printf(t, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			mps_text_printf(t, "\\%c", c);
		else if (c < 0x20)
			mps_text_printf(t, "\\u%04x", c);
		else
			mps_text_printf(t, "%c", c);
	}
	mps_text_printf(t, "\"");
}

static void write_tree(struct mps_text *t, const struct mps_json *v)
{
	if (v->name) {
		write_str(t, v->name);
		mps_text_printf(t, ":");
	}
	switch (v->type) {
	case MPS_JSON_NULL:
		mps_text_printf(t, "null");
		break;
	case MPS_JSON_BOOL:
		mps_text_printf(t, v->boolean ? "true" : "false");
		break;
	case MPS_JSON_NUMBER:
		if (v->is_u64)
			mps_text_printf(t, "%llu", (unsigned long long)v->u64);
		else if (isinf(v->num))
			mps_text_printf(t, "%s1e999", v->num < 0 ? "-" : "");
		else	/* with an exponent: a non-integer stays one ("2.0") */
			mps_text_printf(t, "%.17e", v->num);
		break;
	case MPS_JSON_STRING:
		write_str(t, v->str);
		break;
	case MPS_JSON_ARRAY:
	case MPS_JSON_OBJECT:
		mps_text_printf(t, v->type == MPS_JSON_ARRAY ? "[" : "{");
		for (const struct mps_json *c = v->child; c; c = c->next)
			write_tree(t, c), mps_text_printf(t, "%s", c->next ? "," : "");
		mps_text_printf(t, v->type == MPS_JSON_ARRAY ? "]" : "}");
		break;
	}
}

static void same_tree(const struct mps_json *a, const struct mps_json *b)
{
	if (a->type != b->type || a->n != b->n)
		fail("type or count changed");
	if ((a->name || b->name) && (!a->name || !b->name || strcmp(a->name, b->name)))
		fail("member name changed");
	if (a->type == MPS_JSON_STRING && strcmp(a->str, b->str))
		fail("string changed");
	if (a->type == MPS_JSON_BOOL && a->boolean != b->boolean)
		fail("boolean changed");
	if (a->type == MPS_JSON_NUMBER &&
	    (a->is_u64 != b->is_u64 || (a->is_u64 ? a->u64 != b->u64 : a->num != b->num)))
		fail("number changed: %.17g -> %.17g", a->num, b->num);
	for (a = a->child, b = b->child; a && b; a = a->next, b = b->next)
		same_tree(a, b);
}

static void document(const uint8_t *data, size_t size)
{
	struct mps_json *v = NULL, *again = NULL;
	struct mps_text t;
	char err[128];
	int rc;
	FILE *devnull;

	memset(err, 'x', sizeof(err));
	rc = mps_json_parse((const char *)data, size, &v, err, sizeof(err));
	if (rc) {
		if (rc != -EINVAL && rc != -ENOMEM)
			fail("parse returned %d", rc);
		if (!memchr(err, '\0', sizeof(err)) || !err[0])
			fail("error without a terminated message");
		if (v)
			fail("a tree despite an error");
		return;
	}
	check_tree(v, 1, false);
	mps_text_init(&t, 1u << 26);
	write_tree(&t, v);
	if (t.full)
		fail("written tree too large");
	rc = mps_json_parse(t.buf, t.len, &again, err, sizeof(err));
	if (rc)
		fail("written tree does not parse (%s): %s", err, t.buf);
	same_tree(v, again);
	mps_json_free(again);
	mps_text_free(&t);
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		fail("no /dev/null");
	mps_stats_cmd_table(devnull, v);
	fclose(devnull);
	mps_json_free(v);
}

static void string_writer(const uint8_t *data, size_t size)
{
	char *in = strndup((const char *)data, size);
	struct mps_json *v = NULL;
	struct mps_text t;
	char err[128];
	size_t len;

	if (!in)
		abort();
	len = strlen(in);
	mps_text_init(&t, 16 * len + 16);
	if (!mps_text_json_str(&t, in))
		fail("json_str ran out of room");
	if (mps_json_parse(t.buf, t.len, &v, err, sizeof(err)) || v->type != MPS_JSON_STRING)
		fail("json_str wrote no JSON string (%s): %s", err, t.buf);
	if (strlen(v->str) != len)
		fail("json_str changed the length: %zu -> %zu", len, strlen(v->str));
	for (size_t i = 0; i < len; i++)
		if (v->str[i] != in[i] && !((unsigned char)in[i] >= 0x80 && v->str[i] == '?'))
			fail("json_str changed byte %zu", i);
	mps_json_free(v);
	mps_text_free(&t);
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	document(data, size);
	string_writer(data, size);
	return 0;
}
