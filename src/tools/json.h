/*
 * json.h - a small JSON reader for the `mpshim` tool: parses one document
 * into a tree of values that the stats printer walks.
 *
 * Owns the tree: every value, member name and string of a document, freed
 * together by mps_json_free.  Input comes from other processes, so the
 * parser checks everything (nesting depth, string escapes, numbers, bytes
 * after the value) and never reads past len.
 */
#ifndef MPS_JSON_H
#define MPS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MPS_JSON_MAX_DEPTH	32

enum mps_json_type {
	MPS_JSON_NULL,
	MPS_JSON_BOOL,
	MPS_JSON_NUMBER,
	MPS_JSON_STRING,
	MPS_JSON_ARRAY,
	MPS_JSON_OBJECT,
};

struct mps_json {
	enum mps_json_type type;
	char *name;			/* member name inside an object, else NULL */
	bool boolean;
	double num;
	uint64_t u64;			/* exact, when the number is an integer >= 0 */
	bool is_u64;
	char *str;			/* decoded, NUL-terminated (no NUL inside) */
	struct mps_json *child;		/* first element or member */
	struct mps_json *next;		/* next sibling */
	size_t n;			/* elements or members */
};

/* Parse text[0..len) as one JSON value (whitespace around it allowed).
 * 0 with *out set, -EINVAL for bad input (err says where), -ENOMEM. */
int mps_json_parse(const char *text, size_t len, struct mps_json **out,
		   char *err, size_t errlen);
void mps_json_free(struct mps_json *v);

/* Member `name` of an object, NULL if v is no object or lacks it. */
const struct mps_json *mps_json_get(const struct mps_json *v, const char *name);
/* The member's string, or NULL if absent or not a string. */
const char *mps_json_str(const struct mps_json *v, const char *name);
/* The member's number as an unsigned integer, def if absent or not one. */
uint64_t mps_json_u64(const struct mps_json *v, const char *name, uint64_t def);
/* The member's boolean, def if absent or not a boolean. */
bool mps_json_bool(const struct mps_json *v, const char *name, bool def);

#endif
