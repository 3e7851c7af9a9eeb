/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* sigpipe.c - writing to pipes and sockets without dying of SIGPIPE.
 *
 * A write to a pipe (or, without MSG_NOSIGNAL, a socket) whose reader is
 * gone raises a thread-directed SIGPIPE as well as failing with EPIPE.
 * With SIGPIPE blocked around the write the signal stays pending and we
 * consume it before restoring the mask, unless one was pending already
 * (then it belongs to someone else; the two have merged).  This is the
 * technique of libcurl's sigpipe.h and OpenSSL.  io_uring writes issued
 * inline from io_uring_enter raise it the same way, so the uring backend
 * guards its submissions when a write may hit a pipe.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "evl-internal.h"

void evl__sigpipe_block(struct evl__sigpipe_guard *g)
{
    sigset_t one, pending;
    sigemptyset(&one);
    sigaddset(&one, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &one, &g->old);
    g->was_blocked = sigismember(&g->old, SIGPIPE) == 1;
    /* An unblocked pending signal would already have been delivered. */
    g->was_pending = g->was_blocked && sigpending(&pending) == 0 &&
                     sigismember(&pending, SIGPIPE) == 1;
}

void evl__sigpipe_unblock(struct evl__sigpipe_guard *g, int maybe_raised)
{
    sigset_t one, pending;
    sigemptyset(&one);
    sigaddset(&one, SIGPIPE);
    if (maybe_raised && !g->was_pending && sigpending(&pending) == 0 &&
        sigismember(&pending, SIGPIPE) == 1) {
        static const struct timespec zero = { 0, 0 };
        while (sigtimedwait(&one, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    if (!g->was_blocked)
        pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}
