/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* signal.c - signal subscriptions through one signalfd per loop.
 *
 * The signal mask is process state (per thread, strictly), so the record
 * of who blocked what is process-wide: a count of subscriptions per signal
 * over all loops, and whether the signal was already blocked before the
 * first of them.  When the count returns to zero the signal is unblocked
 * again, unless it was blocked before we came.
 *
 * Each loop reads its own subscribed signals through its signalfd.  A
 * drain reads every queued siginfo, counts them per signal, then calls the
 * subscribers in ascending signal order.  Callbacks may stop any
 * subscription; sig_cursor always points at the next one to call, and
 * evl_signal_stop advances it past a subscription it removes.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "evl-internal.h"

static pthread_mutex_t sig_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned sig_refs[EVL__NSIG];
static unsigned char sig_was_blocked[EVL__NSIG];

static int valid_signo(int signo)
{
    return signo >= 1 && signo < EVL__NSIG && signo <= SIGRTMAX && signo != SIGKILL &&
           signo != SIGSTOP;
}

/* Takes a process-wide reference on signo, blocking it on the first. */
static int block_ref(int signo)
{
    int rc = 0;
    pthread_mutex_lock(&sig_lock);
    if (sig_refs[signo] == 0) {
        sigset_t one, old;
        sigemptyset(&one);
        sigaddset(&one, signo);
        rc = -pthread_sigmask(SIG_BLOCK, &one, &old);
        if (rc == 0)
            sig_was_blocked[signo] = sigismember(&old, signo) == 1;
    }
    if (rc == 0)
        sig_refs[signo]++;
    pthread_mutex_unlock(&sig_lock);
    return rc;
}

static void block_unref(int signo)
{
    pthread_mutex_lock(&sig_lock);
    if (sig_refs[signo] > 0 && --sig_refs[signo] == 0 && !sig_was_blocked[signo]) {
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, signo);
        pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    }
    pthread_mutex_unlock(&sig_lock);
}

/* Fork: no other thread may hold sig_lock while the child is made (the
 * child would inherit it locked), and the child starts with the mask the
 * program had before any loop blocked a signal, so that whatever it
 * runs (exec, system) sees no signal blocked by us.  A loop used in the
 * child blocks its signals again when it is rebuilt. */
void evl__signal_atfork_prepare(void)
{
    pthread_mutex_lock(&sig_lock);
}

void evl__signal_atfork_parent(void)
{
    pthread_mutex_unlock(&sig_lock);
}

void evl__signal_atfork_child(void)
{
    sigset_t ours;
    sigemptyset(&ours);
    for (int signo = 1; signo < EVL__NSIG; signo++)
        if (sig_refs[signo] > 0 && !sig_was_blocked[signo])
            sigaddset(&ours, signo);
    pthread_sigmask(SIG_UNBLOCK, &ours, NULL);
    pthread_mutex_unlock(&sig_lock);
}

/* Points the loop's signalfd at its current mask, creating it first. */
static int sigfd_update(evl_loop *loop)
{
    if (loop->sigfd < 0) {
        int fd = signalfd(-1, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd < 0)
            return -errno;
        evl__watchers_fd_taken(loop, fd);
        int rc = loop->backend->ctl(loop, EPOLL_CTL_ADD, fd, EPOLLIN, EVL__KEY_SIGNALFD);
        if (rc < 0) {
            close(fd);
            return rc;
        }
        loop->sigfd = fd;
        return 0;
    }
    if (signalfd(loop->sigfd, &loop->sigmask, 0) < 0)
        return -errno;
    return 0;
}

int evl__signals_fork(evl_loop *loop)
{
    if (loop->sigfd >= 0)
        close(loop->sigfd);   /* the child's copy; the parent's keeps its mask */
    loop->sigfd = -1;
    int any = 0;
    for (int signo = 1; signo < EVL__NSIG; signo++)
        any |= loop->sig_head[signo] != NULL;
    if (!any)
        return 0;
    int rc = -pthread_sigmask(SIG_BLOCK, &loop->sigmask, NULL);
    if (rc < 0)
        return rc;
    return sigfd_update(loop);
}

int evl_signal_start(evl_loop *loop, evl_signal *s, int signo, evl_signal_cb cb)
{
    if (loop == NULL || s == NULL || cb == NULL || !valid_signo(signo))
        return -EINVAL;
    if (s->active && s->loop != NULL)
        return -EINVAL;
    int rc = evl__loop_own(loop);   /* never change a parent's signalfd */
    if (rc < 0)
        return rc;
    int first_in_loop = loop->sig_head[signo] == NULL;
    rc = block_ref(signo);
    if (rc < 0)
        return rc;
    if (first_in_loop) {
        sigaddset(&loop->sigmask, signo);
        rc = sigfd_update(loop);
        if (rc < 0) {
            sigdelset(&loop->sigmask, signo);
            block_unref(signo);
            return rc;
        }
    }
    s->loop = loop;
    s->cb = cb;
    s->signo = signo;
    s->next = NULL;
    s->active = 1;
    loop->nsignals++;
    if (loop->sig_tail[signo])
        loop->sig_tail[signo]->next = s;
    else
        loop->sig_head[signo] = s;
    loop->sig_tail[signo] = s;
    return 0;
}

int evl_signal_stop(evl_signal *s)
{
    if (s == NULL || !s->active)
        return 0;
    evl_loop *loop = s->loop;
    int signo = s->signo;
    s->active = 0;
    s->loop = NULL;
    if (loop == NULL)
        return 1;
    (void)evl__loop_own(loop);   /* the mask change below is the child's own */
    loop->nsignals--;
    /* Unlink from the singly linked list for signo. */
    evl_signal *prev = NULL, *it = loop->sig_head[signo];
    while (it != NULL && it != s) {
        prev = it;
        it = it->next;
    }
    if (it == NULL)
        return 1;
    if (loop->sig_cursor == s)
        loop->sig_cursor = s->next;
    if (prev)
        prev->next = s->next;
    else
        loop->sig_head[signo] = s->next;
    if (loop->sig_tail[signo] == s)
        loop->sig_tail[signo] = prev;
    s->next = NULL;
    if (loop->sig_head[signo] == NULL) {
        sigdelset(&loop->sigmask, signo);
        (void)sigfd_update(loop);
    }
    block_unref(signo);
    return 1;
}

void evl__signal_dispatch(evl_loop *loop)
{
    unsigned counts[EVL__NSIG] = { 0 };
    struct signalfd_siginfo si[16];
    for (;;) {
        ssize_t n = read(loop->sigfd, si, sizeof(si));
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
        for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++)
            if (si[i].ssi_signo < EVL__NSIG)
                counts[si[i].ssi_signo]++;
        /* A short read emptied the queue; a signal that lands after it
         * leaves the fd readable for the next wait.  Saves the read that
         * would only say EAGAIN. */
        if ((size_t)n < sizeof(si))
            break;
    }
    for (int signo = 1; signo < EVL__NSIG; signo++) {
        if (counts[signo] == 0)
            continue;
        loop->sig_cursor = loop->sig_head[signo];
        while (loop->sig_cursor != NULL) {
            evl_signal *s = loop->sig_cursor;
            loop->sig_cursor = s->next;
            s->cb(s, signo, counts[signo]);
        }
    }
}

void evl__signals_free(evl_loop *loop)
{
    for (int signo = 1; signo < EVL__NSIG; signo++) {
        evl_signal *s = loop->sig_head[signo];
        while (s != NULL) {
            evl_signal *next = s->next;
            s->active = 0;
            s->loop = NULL;
            s->next = NULL;
            block_unref(signo);
            s = next;
        }
        loop->sig_head[signo] = loop->sig_tail[signo] = NULL;
    }
    loop->nsignals = 0;
    if (loop->sigfd >= 0)
        close(loop->sigfd);
    loop->sigfd = -1;
}
