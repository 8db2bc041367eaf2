/*
 * text.h - a growable text buffer with a ceiling.
 *
 * Owns the bytes of one document being built (a stats record, a live
 * snapshot).  The ceiling is what keeps an engine with very many
 * connections from building an unbounded answer: an append that would
 * cross it is dropped whole and `full` is set, and every later append is
 * dropped too, so the writer checks once, after a unit it can take back
 * (mps_text_cut), instead of after every call.
 */
#ifndef MPS_TEXT_H
#define MPS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

struct mps_text {
	char *buf;		/* NUL-terminated once anything was appended */
	size_t len, cap;
	size_t max;		/* ceiling on len */
	bool full;		/* an append was dropped (ceiling or no memory) */
};

void mps_text_init(struct mps_text *t, size_t max);
void mps_text_free(struct mps_text *t);
/* Append formatted text; false (and full set) when it was dropped. */
bool mps_text_printf(struct mps_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append src as a JSON string, quotes included. */
bool mps_text_json_str(struct mps_text *t, const char *src);
/* Take back everything after len (a unit that did not fit) and clear
 * full, so the writer can still close its document. */
void mps_text_cut(struct mps_text *t, size_t len);

#endif
