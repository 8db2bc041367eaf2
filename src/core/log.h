/*
 * log.h - leveled logging to stderr or a file.
 *
 * The level is checked before any formatting, so a disabled debug line
 * costs one compare.  Never log per packet above debug: count instead.
 */
#ifndef MPS_LOG_H
#define MPS_LOG_H

enum mps_log_level {
	MPS_LOG_DEBUG = 0,
	MPS_LOG_INFO = 1,
	MPS_LOG_WARN = 2,
	MPS_LOG_ERROR = 3,
	MPS_LOG_NONE = 4,
};

extern int mps_log_level;

/* file: NULL or "" or "stderr" for stderr.  prog prefixes every line.
 * Returns 0 or -errno when the file cannot be opened (then stderr is used). */
int mps_log_init(int level, const char *file, const char *prog);
void mps_log_write(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* -1 for an unknown name. */
int mps_log_level_parse(const char *name);
const char *mps_log_level_name(int level);

#define mps_log(lvl, ...) \
	do { if ((lvl) >= mps_log_level) mps_log_write((lvl), __VA_ARGS__); } while (0)
#define mps_debug(...)	mps_log(MPS_LOG_DEBUG, __VA_ARGS__)
#define mps_info(...)	mps_log(MPS_LOG_INFO, __VA_ARGS__)
#define mps_warn(...)	mps_log(MPS_LOG_WARN, __VA_ARGS__)
#define mps_err(...)	mps_log(MPS_LOG_ERROR, __VA_ARGS__)

#endif
