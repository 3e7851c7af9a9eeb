/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* evl-test.h - shared helpers for the libcheck programs. */
#ifndef EVL_TEST_H
#define EVL_TEST_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"

/* Runs one suite in the libcheck way and maps the result to an automake
 * exit status (0 pass, 1 fail). */
static inline int evl_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#define ck_assert_rc(expr) ck_assert_int_eq((expr), 0)

/* fd helpers shared by the stream suites (reactor and proactor). */

/* A small send buffer makes "more than the kernel holds" a known
 * amount, whatever the host's wmem defaults are. */
static inline void make_socketpair(int sv[2])
{
    ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    int sz = 64 * 1024;
    ck_assert_rc(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)));
}

static inline void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    ck_assert_int_ge(fl, 0);
    ck_assert_rc(fcntl(fd, F_SETFL, fl | O_NONBLOCK));
}

/* Writes to a non-blocking fd until the kernel refuses; returns the
 * count.  Page-sized writes keep a pipe's pages exactly full. */
static inline size_t fill_fd(int fd)
{
    static const char junk[4096];
    size_t total = 0;
    for (;;) {
        ssize_t n = write(fd, junk, sizeof(junk));
        if (n < 0) {
            ck_assert_int_eq(errno, EAGAIN);
            return total;
        }
        total += (size_t)n;
    }
}

/* Reads and discards exactly n bytes (blocking fd). */
static inline void discard(int fd, size_t n)
{
    char buf[4096];
    while (n > 0) {
        ssize_t got = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));
        ck_assert_int_gt(got, 0);
        n -= (size_t)got;
    }
}

/* Closes both ends of a pipe or socketpair. */
static inline void close_pair(const int fds[2])
{
    close(fds[0]);
    close(fds[1]);
}

/* ------------------------------------------------------------ loops */

/* A reactor loop on the default backend. */
static inline evl_loop *new_reactor(void)
{
    evl_loop *loop;
    ck_assert_rc(evl_loop_new(&loop, EVL_REACTOR, 0));
    return loop;
}

/* A non-blocking pipe p whose read end w watches for reading (callback
 * cb, no user data), after one idle turn of the loop. */
static inline void watch_pipe(evl_loop *loop, evl_watcher *w, int p[2], evl_watcher_cb cb)
{
    ck_assert_rc(pipe2(p, O_NONBLOCK));
    evl_watcher_init(w, cb, NULL, NULL);
    ck_assert_rc(evl_watcher_start(loop, w, p[0], EVL_READ));
    ck_assert_int_eq(evl_loop_run_once(loop, 0), 0);
}

static inline int fd_is_closed(int fd)
{
    return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

/* Writes all n bytes to a blocking fd. */
static inline void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        ck_assert_int_gt(w, 0);
        p += w;
        n -= (size_t)w;
    }
}

/* Whether io_uring loops can be made here: 1 yes; 0 no, because the
 * kernel refuses (ENOSYS, EPERM, io_uring_disabled: said on stderr, and
 * the caller leaves the io_uring cases out); -1 for any other failure,
 * which fails the suite.  make check-valgrind sets EVL_TEST_BACKEND=fake
 * (valgrind does not see what io_uring writes): 0 then too. */
static inline int uring_available(void)
{
    evl_loop *probe;
    int rc = evl_loop_new(&probe, EVL_PROACTOR, EVL_BACKEND_URING);
    if (rc == 0) {
        evl_loop_free(probe);
        const char *only = getenv("EVL_TEST_BACKEND");
        return only != NULL && strcmp(only, "fake") == 0 ? 0 : 1;
    }
    if (rc == -ENOSYS || rc == -EPERM) {
        fprintf(stderr, "# io_uring unavailable (%s): its cases are left out\n", strerror(-rc));
        return 0;
    }
    fprintf(stderr, "io_uring loop: %s\n", strerror(-rc));
    return -1;
}

#endif
