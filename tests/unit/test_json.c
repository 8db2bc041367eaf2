/*
 * test_json.c - the tool's JSON reader (src/tools/json.c): what it
 * accepts, what it decodes, and every kind of bad input it must refuse
 * without reading past the length it was given.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "../../src/tools/json.h"

static struct mps_json *parse_ok(const char *text)
{
	struct mps_json *v = NULL;
	char err[128];
	int rc = mps_json_parse(text, strlen(text), &v, err, sizeof(err));

	cr_assert_eq(rc, 0, "'%s' refused: %s", text, err);
	cr_assert_not_null(v);
	return v;
}

static void parse_bad(const char *text, const char *why)
{
	struct mps_json *v = NULL;
	char err[128];
	int rc = mps_json_parse(text, strlen(text), &v, err, sizeof(err));

	cr_assert_eq(rc, -EINVAL, "'%s' accepted", text);
	cr_assert_null(v);
	cr_assert(strstr(err, why), "'%s': error '%s' lacks '%s'", text, err, why);
}

Test(json, object_with_every_type)
{
	struct mps_json *v = parse_ok(
		" {\"n\": null, \"t\": true, \"f\": false, \"i\": 42, \"neg\": -7,"
		" \"x\": 1.5e2, \"s\": \"hi\", \"a\": [1, [2], {}], \"o\": {\"k\": \"v\"}}\n");
	const struct mps_json *a;

	cr_assert_eq(v->type, MPS_JSON_OBJECT);
	cr_assert_eq(v->n, 9);
	cr_assert_eq(mps_json_get(v, "n")->type, MPS_JSON_NULL);
	cr_assert(mps_json_bool(v, "t", false));
	cr_assert_not(mps_json_bool(v, "f", true));
	cr_assert_eq(mps_json_u64(v, "i", 0), 42);
	/* negative and fractional numbers are no u64: the default comes back */
	cr_assert_eq(mps_json_u64(v, "neg", 99), 99);
	cr_assert_eq(mps_json_get(v, "neg")->num, -7.0);
	cr_assert_eq(mps_json_u64(v, "x", 99), 99);
	cr_assert_eq(mps_json_get(v, "x")->num, 150.0);
	cr_assert_str_eq(mps_json_str(v, "s"), "hi");
	a = mps_json_get(v, "a");
	cr_assert_eq(a->type, MPS_JSON_ARRAY);
	cr_assert_eq(a->n, 3);
	cr_assert_eq(a->child->u64, 1);
	cr_assert_eq(a->child->next->type, MPS_JSON_ARRAY);
	cr_assert_eq(a->child->next->child->u64, 2);
	cr_assert_eq(a->child->next->next->type, MPS_JSON_OBJECT);
	cr_assert_eq(a->child->next->next->n, 0);
	cr_assert_str_eq(mps_json_str(mps_json_get(v, "o"), "k"), "v");
	mps_json_free(v);
}

Test(json, helpers_give_defaults_for_missing_or_wrong_types)
{
	struct mps_json *v = parse_ok("{\"s\": 5, \"u\": \"5\", \"b\": 1}");

	cr_assert_null(mps_json_str(v, "s"));
	cr_assert_null(mps_json_str(v, "missing"));
	cr_assert_eq(mps_json_u64(v, "u", 7), 7);
	cr_assert(mps_json_bool(v, "b", true));
	cr_assert_null(mps_json_get(v, "nope"));
	/* not an object: nothing to get */
	cr_assert_null(mps_json_get(mps_json_get(v, "s"), "x"));
	cr_assert_null(mps_json_get(NULL, "x"));
	mps_json_free(v);
}

Test(json, first_of_duplicate_members_wins)
{
	struct mps_json *v = parse_ok("{\"k\": 1, \"k\": 2}");

	cr_assert_eq(mps_json_u64(v, "k", 0), 1);
	mps_json_free(v);
}

Test(json, u64_is_exact_to_the_top)
{
	struct mps_json *v = parse_ok("[18446744073709551615, 18446744073709551616, 0]");

	cr_assert(v->child->is_u64);
	cr_assert_eq(v->child->u64, UINT64_MAX);
	cr_assert_not(v->child->next->is_u64, "overflow must not pass as a u64");
	cr_assert(v->child->next->next->is_u64);
	cr_assert_eq(v->child->next->next->u64, 0);
	mps_json_free(v);
}

Test(json, string_escapes_decode_to_utf8)
{
	struct mps_json *v = parse_ok(
		"[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u20ac\", \"\\ud83d\\ude00\", \"\xc3\xa9\"]");
	const struct mps_json *s = v->child;

	cr_assert_str_eq(s->str, "a\"b\\c/d\b\f\n\r\t");
	cr_assert_str_eq(s->next->str, "\xc3\xa9\xe2\x82\xac");
	cr_assert_str_eq(s->next->next->str, "\xf0\x9f\x98\x80");
	cr_assert_str_eq(s->next->next->next->str, "\xc3\xa9");
	mps_json_free(v);
}

Test(json, bad_strings_are_refused)
{
	parse_bad("\"abc", "unterminated");
	parse_bad("\"abc\\", "unterminated");
	parse_bad("\"a\nb\"", "control character");
	parse_bad("\"\\x\"", "unknown escape");
	parse_bad("\"\\u12\"", "\\u escape");
	parse_bad("\"\\u12g4\"", "\\u escape");
	parse_bad("\"\\ude00\"", "lone low surrogate");
	parse_bad("\"\\ud83d\"", "high surrogate");
	parse_bad("\"\\ud83d\\u0041\"", "high surrogate");
	parse_bad("\"\\u0000\"", "NUL");
}

Test(json, bad_numbers_are_refused)
{
	parse_bad("01", "bytes after");
	parse_bad("-", "bad number");
	parse_bad("+1", "unexpected character");
	parse_bad("1.", "bad fraction");
	parse_bad(".5", "unexpected character");
	parse_bad("1e", "bad exponent");
	parse_bad("1e+", "bad exponent");
	parse_bad("123456789012345678901234567890123456789012345678901234567890123456789",
		  "too long");
}

Test(json, bad_structure_is_refused)
{
	parse_bad("", "unexpected end");
	parse_bad("   ", "unexpected end");
	parse_bad("[1, 2", "expected ',' or ']'");
	parse_bad("[1, 2,]", "unexpected character");
	parse_bad("{\"a\" 1}", "expected ':'");
	parse_bad("{\"a\": 1,}", "member name");
	parse_bad("{1: 2}", "member name");
	parse_bad("{\"a\": 1} x", "bytes after");
	parse_bad("{} {}", "bytes after");
	parse_bad("tru", "unexpected character");
	parse_bad("nul", "unexpected character");
	parse_bad("@", "unexpected character");
}

Test(json, nesting_is_bounded)
{
	char deep[2 * MPS_JSON_MAX_DEPTH + 8];
	struct mps_json *v;
	size_t i;

	/* exactly the limit parses */
	for (i = 0; i < MPS_JSON_MAX_DEPTH; i++)
		deep[i] = '[';
	for (; i < 2 * MPS_JSON_MAX_DEPTH; i++)
		deep[i] = ']';
	deep[i] = '\0';
	v = parse_ok(deep);
	mps_json_free(v);
	/* one more does not */
	memmove(deep + 1, deep, strlen(deep) + 1);
	deep[0] = '[';
	strcat(deep, "]");
	parse_bad(deep, "nested too deeply");
}

/* The length is the end: bytes beyond it are never looked at. */
Test(json, length_bounds_the_input)
{
	struct mps_json *v = NULL;
	char err[128];

	cr_assert_eq(mps_json_parse("[1,2]", 3, &v, err, sizeof(err)), -EINVAL);
	cr_assert_eq(mps_json_parse("truex", 4, &v, err, sizeof(err)), 0);
	cr_assert_eq(v->type, MPS_JSON_BOOL);
	mps_json_free(v);
	cr_assert_eq(mps_json_parse("\"ab\"", 3, &v, err, sizeof(err)), -EINVAL);
	cr_assert_eq(mps_json_parse("12345", 2, &v, err, sizeof(err)), 0);
	cr_assert_eq(v->u64, 12);
	mps_json_free(v);
	/* no error buffer is fine too */
	cr_assert_eq(mps_json_parse("[", 1, &v, NULL, 0), -EINVAL);
}
