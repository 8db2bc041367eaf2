/*
 * log.c - leveled log lines, each written with one write(2).
 *
 * Owns the log level, the program prefix and the log fd.
 *
 * The shim lives inside other programs, so:
 *  - no stdio: a FILE buffer would interleave with the app's own stderr
 *    buffer and could be lost on _exit(); one write(2) per line with
 *    O_APPEND is atomic between our threads and processes for lines this
 *    short;
 *  - never fd 2 directly: the app may close fd 2 and reuse the number for
 *    a socket or a data file.  The first init (or the first line, if init
 *    never ran) duplicates fd 2 to a number >= MPS_LOG_FD_MIN with
 *    F_DUPFD_CLOEXEC and writes there for the rest of the process.  Apps
 *    rarely touch such numbers; the shim's close()/dup2() wrappers must
 *    still refuse to let the app close or replace it.  Under a descriptor
 *    limit at or below that number (ulimit -n 64) a number in the top
 *    quarter of the limit is taken instead, rather than losing every
 *    line; under a limit below 16 none is: so tight a process needs every
 *    descriptor more than our lines;
 *  - the fd number never changes once chosen: a later mps_log_init()
 *    installs the new target on the same number with dup3(), so a thread
 *    writing concurrently never writes to a freed (and maybe reused) fd;
 *  - errno is preserved: lines are written from inside interposed calls
 *    whose wrappers set errno afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>
#include "log.h"

#define MPS_LOG_FD_MIN	100
#define MPS_LOG_FD_LIMIT_MIN	16	/* below this descriptor limit: no log fd */
#define MPS_LOG_LINE	1024

#define LOG_FD_UNSET	(-1)	/* not captured yet */
#define LOG_FD_NONE	(-2)	/* fd 2 was closed at capture: drop lines */

int mps_log_level = MPS_LOG_WARN;

static int log_fd = LOG_FD_UNSET;
static char log_prog[32] = "mpshim";

static const char *const level_names[] = {
	[MPS_LOG_DEBUG] = "debug",
	[MPS_LOG_INFO] = "info",
	[MPS_LOG_WARN] = "warn",
	[MPS_LOG_ERROR] = "error",
	[MPS_LOG_NONE] = "none",
};

const char *mps_log_level_name(int level)
{
	if (level < MPS_LOG_DEBUG || level > MPS_LOG_NONE)
		return "?";
	return level_names[level];
}

int mps_log_level_parse(const char *name)
{
	int i;

	if (!name)
		return -1;
	for (i = MPS_LOG_DEBUG; i <= MPS_LOG_NONE; i++)
		if (!strcasecmp(name, level_names[i]))
			return i;
	/* spellings people type out of habit */
	if (!strcasecmp(name, "warning"))
		return MPS_LOG_WARN;
	if (!strcasecmp(name, "err"))
		return MPS_LOG_ERROR;
	if (!strcasecmp(name, "off"))
		return MPS_LOG_NONE;
	return -1;
}

/* F_DUPFD_CLOEXEC at MPS_LOG_FD_MIN or, when the descriptor limit does
 * not reach it (EINVAL), in the top quarter of the limit. */
static int log_dup(int fd)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, MPS_LOG_FD_MIN);
	struct rlimit rl;

	if (nfd >= 0 || errno != EINVAL || getrlimit(RLIMIT_NOFILE, &rl) ||
	    rl.rlim_cur < MPS_LOG_FD_LIMIT_MIN)
		return nfd;
	return fcntl(fd, F_DUPFD_CLOEXEC, (int)(rl.rlim_cur - rl.rlim_cur / 4));
}

/*
 * The fd lines go to, capturing stderr on first use.  Two threads racing
 * here both dup; the loser closes its copy, so the number stays unique.
 */
static int log_get_fd(void)
{
	int fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	int expected = LOG_FD_UNSET;
	int nfd;

	if (fd != LOG_FD_UNSET)
		return fd;
	nfd = log_dup(STDERR_FILENO);
	if (nfd < 0)
		nfd = LOG_FD_NONE;
	if (__atomic_compare_exchange_n(&log_fd, &expected, nfd, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return nfd;
	if (nfd >= 0)
		close(nfd);
	return expected;
}

/* Point our fd number at target (an fd we own), keeping the number. */
static int log_install(int target)
{
	int fd = log_get_fd();
	int nfd;

	if (fd >= 0) {
		if (target == fd)
			return 0;
		if (dup3(target, fd, O_CLOEXEC) < 0)
			return -errno;
		return 0;
	}
	/* stderr was closed at capture: this is our first real fd */
	nfd = log_dup(target);
	if (nfd < 0)
		return -errno;
	__atomic_store_n(&log_fd, nfd, __ATOMIC_RELEASE);
	return 0;
}

int mps_log_init(int level, const char *file, const char *prog)
{
	int saved_errno = errno;
	int ret = 0;
	int fd;

	if (level < MPS_LOG_DEBUG)
		level = MPS_LOG_DEBUG;
	if (level > MPS_LOG_NONE)
		level = MPS_LOG_NONE;
	if (prog && *prog) {
		strncpy(log_prog, prog, sizeof(log_prog) - 1);
		log_prog[sizeof(log_prog) - 1] = '\0';
	}

	if (!file || !*file || !strcmp(file, "stderr")) {
		/*
		 * Capture stderr now if not done yet.  After a file was
		 * installed, going back to stderr means re-duplicating fd 2,
		 * which may no longer be stderr; keep the file instead.
		 */
		log_get_fd();
		goto out;
	}

	fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY,
		  0600);
	if (fd < 0) {
		ret = -errno;
		log_get_fd();
		goto out;
	}
	ret = log_install(fd);
	close(fd);
out:
	__atomic_store_n(&mps_log_level, level, __ATOMIC_RELAXED);
	errno = saved_errno;
	return ret;
}

void mps_log_write(int level, const char *fmt, ...)
{
	int saved_errno = errno;
	char line[MPS_LOG_LINE];
	size_t len, room;
	va_list ap;
	ssize_t n;
	int fd, ret;

	fd = log_get_fd();
	if (fd < 0)
		goto out;

	ret = snprintf(line, sizeof(line), "%s[%ld]: %s: ", log_prog,
		       (long)getpid(), mps_log_level_name(level));
	if (ret < 0)
		goto out;
	len = (size_t)ret;
	/* keep one byte for the newline that snprintf's NUL occupies */
	room = sizeof(line) - len;
	errno = saved_errno;	/* so %m reports the caller's errno */
	va_start(ap, fmt);
	ret = vsnprintf(line + len, room, fmt, ap);
	va_end(ap);
	if (ret < 0)
		goto out;
	if ((size_t)ret >= room) {
		/* truncated: mark it so nobody trusts the tail */
		len = sizeof(line) - 1;
		memcpy(line + len - 3, "...", 3);
	} else {
		len += (size_t)ret;
	}
	while (len > 0 && line[len - 1] == '\n')
		len--;
	line[len++] = '\n';

	do
		n = write(fd, line, len);
	while (n < 0 && errno == EINTR);
out:
	errno = saved_errno;
}
