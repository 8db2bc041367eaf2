/*
 * libc.h - the real libc functions behind every call the shim interposes.
 *
 * Internal code calls these pointers, never the exported wrappers, so the
 * shim cannot recurse into itself.  They are resolved with
 * dlsym(RTLD_NEXT) on first use, which also covers calls made before the
 * shim's constructor has run (another library's constructor, say).
 */
#ifndef MPS_SHIM_LIBC_H
#define MPS_SHIM_LIBC_H

#include <sys/socket.h>

extern int (*mps_real_socket)(int, int, int);
extern int (*mps_real_connect)(int, const struct sockaddr *, socklen_t);
extern int (*mps_real_listen)(int, int);
extern int (*mps_real_accept)(int, struct sockaddr *, socklen_t *);
extern int (*mps_real_accept4)(int, struct sockaddr *, socklen_t *, int);
extern int (*mps_real_close)(int);
extern int (*mps_real_dup)(int);
extern int (*mps_real_dup2)(int, int);
extern int (*mps_real_dup3)(int, int, int);
extern int (*mps_real_fcntl)(int, int, ...);
extern int (*mps_real_getsockname)(int, struct sockaddr *, socklen_t *);
extern int (*mps_real_getpeername)(int, struct sockaddr *, socklen_t *);
extern int (*mps_real_getsockopt)(int, int, int, void *, socklen_t *);
extern int (*mps_real_setsockopt)(int, int, int, const void *, socklen_t);
extern int (*mps_real_execve)(const char *, char *const[], char *const[]);
extern int (*mps_real_execvpe)(const char *, char *const[], char *const[]);
extern int (*mps_real_fexecve)(int, char *const[], char *const[]);

/* Resolve every pointer (idempotent, thread-safe).  0 or -ENOSYS when a
 * symbol cannot be found, in which case the shim stays out of the way. */
int mps_libc_init(void);

#endif
