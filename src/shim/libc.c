/*
 * libc.c - real-symbol table (see libc.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include "libc.h"

int (*mps_real_socket)(int, int, int);
int (*mps_real_connect)(int, const struct sockaddr *, socklen_t);
int (*mps_real_listen)(int, int);
int (*mps_real_accept)(int, struct sockaddr *, socklen_t *);
int (*mps_real_accept4)(int, struct sockaddr *, socklen_t *, int);
int (*mps_real_close)(int);
int (*mps_real_dup)(int);
int (*mps_real_dup2)(int, int);
int (*mps_real_dup3)(int, int, int);
int (*mps_real_fcntl)(int, int, ...);
int (*mps_real_getsockname)(int, struct sockaddr *, socklen_t *);
int (*mps_real_getpeername)(int, struct sockaddr *, socklen_t *);
int (*mps_real_getsockopt)(int, int, int, void *, socklen_t *);
int (*mps_real_setsockopt)(int, int, int, const void *, socklen_t);
int (*mps_real_execve)(const char *, char *const[], char *const[]);
int (*mps_real_execvpe)(const char *, char *const[], char *const[]);
int (*mps_real_fexecve)(int, char *const[], char *const[]);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_rc;

#define RESOLVE(name)							\
	do {								\
		*(void **)&mps_real_##name = dlsym(RTLD_NEXT, #name);	\
		if (!mps_real_##name)					\
			init_rc = -ENOSYS;				\
	} while (0)

static void resolve_all(void)
{
	RESOLVE(socket);
	RESOLVE(connect);
	RESOLVE(listen);
	RESOLVE(accept);
	RESOLVE(accept4);
	RESOLVE(close);
	RESOLVE(dup);
	RESOLVE(dup2);
	RESOLVE(dup3);
	RESOLVE(fcntl);
	RESOLVE(getsockname);
	RESOLVE(getpeername);
	RESOLVE(getsockopt);
	RESOLVE(setsockopt);
	RESOLVE(execve);
	RESOLVE(execvpe);
	RESOLVE(fexecve);
}

int mps_libc_init(void)
{
	pthread_once(&once, resolve_all);
	return init_rc;
}
