/*
 * mps-early.c - socket calls made before the shim's constructor has run.
 *
 *   PORT=N mps-early
 *
 * A preinit_array function (run before any library is initialised, the
 * C library's environment included) connects to 127.0.0.1:PORT and
 * exchanges a few bytes with mps-sockopts' echo server; then main()
 * connects again the same way.  Lines:
 *
 *   early state=S echo=E
 *   main state=S echo=E
 *
 * where S is mpshim_fd_state() (0 plain TCP, 2 multipath; -1 the
 * connect failed) and E is 1 when the echo came back intact.  Exit 0.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "mpshim/mpshim.h"

#pragma weak mpshim_fd_state

static int port, early_state = -1, early_echo;

static int echo_conn(int *state)
{
	struct sockaddr_in s = { .sin_family = AF_INET };
	char buf[5] = "";
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	s.sin_port = htons((uint16_t)port);
	s.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*state = -1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&s, sizeof(s)))
		return 0;
	*state = mpshim_fd_state ? mpshim_fd_state(fd) : 0;
	ok = write(fd, "eping", 5) == 5;
	for (size_t got = 0; ok && got < 4;) {
		ssize_t n = read(fd, buf + got, 4 - got);

		ok = n > 0;
		got += ok ? (size_t)n : 0;
	}
	close(fd);
	return ok && !memcmp(buf, "ping", 4);
}

/* getenv() cannot work yet: the environment comes as an argument */
static void early(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	for (char **e = envp; e && *e; e++)
		if (!strncmp(*e, "PORT=", 5))
			port = atoi(*e + 5);
	early_echo = echo_conn(&early_state);
}

__attribute__((section(".preinit_array"), used))
static void (*const early_fn)(int, char **, char **) = early;

int main(void)
{
	int state, echo = echo_conn(&state);

	printf("early state=%d echo=%d\n", early_state, early_echo);
	printf("main state=%d echo=%d\n", state, echo);
	return 0;
}
