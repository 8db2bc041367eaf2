/*
 * exec.c - the exec family: what the shim knows about inherited
 * descriptors must cross exec, which keeps the descriptors but not the
 * shim's memory.
 *
 * A relay passed to a new program (inetd style: a connection as its
 * stdin and stdout) keeps carrying data without help: it is a socket,
 * and the engine serving it lives in the process that made it.  What the
 * new program's shim must be told is what the descriptor stands for, so
 * getpeername() and the rest answer as TCP.  A listener's channel is
 * passed the same way, with the shim's descriptor of the TCP listener,
 * unless the exec'ing process is the one whose engine serves it: that
 * engine ends with the exec, so the new program gets the TCP listener
 * itself back at the descriptor number, and its shim takes it over again
 * as it starts, when `accept` matches.
 *
 * The description travels in MPSHIM_INHERIT, added to the environment
 * given to the new program:
 *     FD,KIND,DOMAIN,MULTIPATH,LFD,LOCAL,PEER;...
 * KIND is r (relay), l (listener channel) or t (TCP listener given back).  init.c reads it back and
 * checks every descriptor is still the socket it claims to be.
 * posix_spawn(), system() and popen() use glibc's internal exec and pass
 * inherited relays undescribed (data works, addresses read as AF_UNIX).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fdtab.h"
#include "log.h"
#include "shim.h"

#define INHERIT_VAR	"MPSHIM_INHERIT"

extern char **environ;

struct inherit_buf {
	char *text;
	size_t len, cap;
	/* undone if the exec fails: lfds whose FD_CLOEXEC was cleared, and
	 * channels replaced by their TCP listener (a copy kept) */
	int restore[64];
	unsigned n_restore;
	struct { int fd, saved, lfd; } swapped[16];
	unsigned n_swapped;
};

static void buf_add(struct inherit_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len + n + 1 > b->cap) {
		size_t ncap = (b->len + n + 1) * 2;
		char *nt = realloc(b->text, ncap);

		if (!nt)
			return;
		b->text = nt;
		b->cap = ncap;
	}
	memcpy(b->text + b->len, s, n + 1);
	b->len += n;
}

static void describe(int fd, struct mps_fdent *e, void *arg)
{
	struct inherit_buf *b = arg;
	char l[MPS_ADDRSTRLEN], p[MPS_ADDRSTRLEN], item[200];
	int fdfl = mps_real_fcntl(fd, F_GETFD);

	if (fdfl < 0 || (fdfl & FD_CLOEXEC))
		return;		/* does not cross the exec */
	pthread_mutex_lock(&e->lock);
	if (e->kind == MPS_FD_RELAY && e->state == MPS_FDS_CONNECTED) {
		mps_addr_str(&e->local.sa, l, sizeof(l));
		mps_addr_str(&e->peer.sa, p, sizeof(p));
		snprintf(item, sizeof(item), "%d,r,%d,%d,-1,%s,%s;", fd, e->domain,
			 e->multipath, l, p);
		buf_add(b, item);
	} else if (e->kind == MPS_FD_LISTEN && e->owner == getpid()) {
		/* this engine ends with the exec: the TCP listener itself */
		int saved = b->n_swapped < 16 ?
			    mps_real_fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;

		int nonblock = mps_real_fcntl(fd, F_GETFL) & O_NONBLOCK;

		if (saved >= 0 && mps_real_dup3(e->lfd, fd, 0) >= 0) {
			/* the engine made the TCP socket non-blocking; the
			 * program gets it back as its channel was */
			mps_real_fcntl(fd, F_SETFL, nonblock);
			b->swapped[b->n_swapped].fd = fd;
			b->swapped[b->n_swapped].lfd = e->lfd;
			b->swapped[b->n_swapped++].saved = saved;
			mps_addr_str(&e->local.sa, l, sizeof(l));
			snprintf(item, sizeof(item), "%d,t,%d,0,-1,%s,-;", fd,
				 e->domain, l);
			buf_add(b, item);
		} else if (saved >= 0) {
			mps_real_close(saved);
		}
	} else if (e->kind == MPS_FD_LISTEN && b->n_restore < 64 &&
		   !mps_real_fcntl(e->lfd, F_SETFD, 0)) {
		b->restore[b->n_restore++] = e->lfd;
		mps_addr_str(&e->local.sa, l, sizeof(l));
		snprintf(item, sizeof(item), "%d,l,%d,0,%d,%s,-;", fd, e->domain,
			 e->lfd, l);
		buf_add(b, item);
	}
	pthread_mutex_unlock(&e->lock);
}

/* envp with MPSHIM_INHERIT replaced by what the table says, or NULL when
 * there is nothing to say (envp is used as it is).  Undo with
 * inherit_undo() if the exec fails. */
static char **inherit_env(char *const envp[], struct inherit_buf *b)
{
	const size_t vlen = strlen(INHERIT_VAR "=");
	size_t n = 0, k = 0;
	char **out;

	memset(b, 0, sizeof(*b));
	if (!mps_shim_active())
		return NULL;
	buf_add(b, INHERIT_VAR "=");
	mps_fdtab_each(describe, b);
	if (!b->text || b->len == vlen)
		return NULL;
	while (envp && envp[n])
		n++;
	out = calloc(n + 2, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], INHERIT_VAR "=", vlen))
			out[k++] = envp[i];
	out[k++] = b->text;
	out[k] = NULL;
	return out;
}

static void inherit_undo(struct inherit_buf *b, char **env)
{
	int err = errno;

	for (unsigned i = 0; i < b->n_restore; i++)
		mps_real_fcntl(b->restore[i], F_SETFD, FD_CLOEXEC);
	for (unsigned i = 0; i < b->n_swapped; i++) {
		mps_real_fcntl(b->swapped[i].lfd, F_SETFL, O_NONBLOCK);
		mps_real_dup3(b->swapped[i].saved, b->swapped[i].fd, 0);
		mps_real_close(b->swapped[i].saved);
	}
	free(env);
	free(b->text);
	errno = err;
}

enum exec_how { EXEC_PATH, EXEC_SEARCH, EXEC_FD };

static int do_exec(enum exec_how how, const char *path, int fd, char *const argv[],
		   char *const envp[])
{
	struct inherit_buf b;
	char **env;

	if (mps_libc_init()) {
		errno = ENOSYS;
		return -1;
	}
	env = inherit_env(envp, &b);
	switch (how) {
	case EXEC_PATH:
		mps_real_execve(path, argv, env ? env : envp);
		break;
	case EXEC_SEARCH:
		mps_real_execvpe(path, argv, env ? env : envp);
		break;
	case EXEC_FD:
		mps_real_fexecve(fd, argv, env ? env : envp);
		break;
	}
	inherit_undo(&b, env);
	return -1;
}

MPS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	return do_exec(EXEC_PATH, path, -1, argv, envp);
}

MPS_EXPORT int execv(const char *path, char *const argv[])
{
	return do_exec(EXEC_PATH, path, -1, argv, environ);
}

MPS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return do_exec(EXEC_SEARCH, file, -1, argv, envp);
}

MPS_EXPORT int execvp(const char *file, char *const argv[])
{
	return do_exec(EXEC_SEARCH, file, -1, argv, environ);
}

MPS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	return do_exec(EXEC_FD, NULL, fd, argv, envp);
}

/* The execl family: the variadic arguments as an argv array (and, for
 * execle, the environment after the terminating NULL). */
static char **gather(const char *first, va_list ap, char ***envp)
{
	size_t n = 1, cap = 16;
	char **argv = malloc(cap * sizeof(*argv)), *a;

	if (!argv)
		return NULL;
	argv[0] = (char *)first;
	do {
		a = va_arg(ap, char *);
		if (n == cap) {
			char **na = realloc(argv, (cap *= 2) * sizeof(*argv));

			if (!na) {
				free(argv);
				return NULL;
			}
			argv = na;
		}
		argv[n++] = a;
	} while (a);
	if (envp)
		*envp = va_arg(ap, char **);
	return argv;
}

static int exec_list(enum exec_how how, const char *path, const char *arg,
		     va_list ap, bool with_env)
{
	char **envp = environ, **argv = gather(arg, ap, with_env ? &envp : NULL);
	int rc;

	if (!argv) {
		errno = ENOMEM;
		return -1;
	}
	rc = do_exec(how, path, -1, argv, envp);
	free(argv);
	return rc;
}

MPS_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = exec_list(EXEC_PATH, path, arg, ap, false);
	va_end(ap);
	return rc;
}

MPS_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = exec_list(EXEC_SEARCH, file, arg, ap, false);
	va_end(ap);
	return rc;
}

MPS_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = exec_list(EXEC_PATH, path, arg, ap, true);
	va_end(ap);
	return rc;
}

void mps_shim_inherit_load(void)
{
	const char *v = getenv(INHERIT_VAR);
	char *copy, *item, *save = NULL;

	if (!v || !*v || !(copy = strdup(v)))
		return;
	for (item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
		char kind, l[MPS_ADDRSTRLEN], p[MPS_ADDRSTRLEN];
		int fd, domain, mp, lfd, type = 0;
		socklen_t len = sizeof(type);
		struct mps_fdent *e;

		if (sscanf(item, "%d,%c,%d,%d,%d,%63[^,],%63s", &fd, &kind, &domain,
			   &mp, &lfd, l, p) != 7)
			continue;
		/* still the socket it was?  (a program may have closed and
		 * reused the number before exec'ing us) */
		if (mps_real_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &type, &len) ||
		    type != (kind == 't' ? domain : AF_UNIX))
			continue;
		e = mps_fdent_new(domain);
		if (!e)
			break;
		if (mps_addr_parse(l, &e->local) ||
		    (kind == 'r' && mps_addr_parse(p, &e->peer))) {
			mps_fdent_put(e);
			continue;
		}
		if (kind == 'r') {
			e->kind = MPS_FD_RELAY;
			e->state = MPS_FDS_CONNECTED;
			e->multipath = mp;
		} else if (kind == 't') {
			e->kind = MPS_FD_TCP;
			mps_fdtab_set(fd, e);
			if (mps_config_accept_match(mps_shim_config(), &e->local.sa) > 0)
				mps_shim_listen_take_over(fd, e, &e->local, SOMAXCONN);
			mps_fdent_put(e);
			continue;
		} else if (kind == 'l' && lfd >= 0) {
			e->kind = MPS_FD_LISTEN;
			e->lfd = lfd;
			e->owner = 0;	/* served by an engine elsewhere */
			mps_real_fcntl(lfd, F_SETFD, FD_CLOEXEC);
		} else {
			mps_fdent_put(e);
			continue;
		}
		mps_fdtab_set(fd, e);
		mps_fdent_put(e);
	}
	free(copy);
	/* the program's own children get a fresh description */
	unsetenv(INHERIT_VAR);
}
