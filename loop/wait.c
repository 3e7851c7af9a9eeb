/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* wait.c - child exits through SIGCHLD: any child (pid 0) or given pids,
 * any number of watchers per pid.
 *
 * A loop with evl_wait watchers holds one internal subscription to
 * SIGCHLD (through its signalfd, like any evl_signal).  Each SIGCHLD
 * drain scans: with a pid-0 watcher, waitid(P_ALL, WNOHANG) until no
 * zombie is left; then waitid(P_PID, WNOHANG) for every watched pid not
 * settled yet.  Each child is reaped once, here, and its raw status goes
 * to every watcher of its pid and every pid-0 watcher (subscription
 * order), and to an evl_pid of the same pid.  A pid reaped by someone
 * else answers ECHILD: its watchers get -ECHILD, and nothing spins (the
 * SIGCHLD that announced it is consumed by the drain).
 *
 * A callback may stop any watcher: each delivery's cursor is the next one
 * to look at, and evl_wait_stop moves it past a watcher it unlinks.  A callback
 * that runs the loop again does not scan again (wait_busy): the outer
 * scan goes on reaping.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "evl-internal.h"

/* Calls the watchers of pid (one shot: stopped first) and every pid-0
 * watcher, in subscription order; an error goes to the pid's only. */
static void deliver_waits(evl_loop *loop, pid_t pid, int status)
{
    struct evl__wait_pass pass = { loop->wait_head, loop->wait_pass };
    loop->wait_pass = &pass;
    while (pass.cursor != NULL) {
        evl_wait *wt = pass.cursor;
        pass.cursor = wt->next;
        /* -ECHILD (reaped elsewhere) is news only to the pid's own. */
        if (wt->pid != pid && (wt->pid != 0 || status < 0))
            continue;
        if (wt->pid != 0)
            evl_wait_stop(wt);
        wt->cb(wt, pid, status);
    }
    loop->wait_pass = pass.up;
}

void evl__wait_deliver(evl_loop *loop, pid_t pid, int status)
{
    if (loop->wait_head != NULL)
        deliver_waits(loop, pid, status);
}

static int do_waitid(idtype_t type, id_t id, siginfo_t *si, int options)
{
    int rc;
    memset(si, 0, sizeof(*si));
    do
        rc = waitid(type, id, si, options);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

static void scan(evl_loop *loop)
{
    if (loop->wait_busy)
        return;
    loop->wait_busy = 1;
    siginfo_t si;
    while (loop->wait_any > 0) {
        /* ECHILD: no child left (or all reaped elsewhere); 0: none exited. */
        if (do_waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
            break;
        pid_t pid = si.si_pid;
        int status = evl__status_from_siginfo(&si);
        deliver_waits(loop, pid, status);
        evl__pid_deliver(loop, pid, status);
    }
    /* Every pid-specific watcher, once per scan; callbacks may change the
     * list, so the walk starts over after each delivery. */
    unsigned gen = ++loop->wait_scan;
again:
    for (evl_wait *wt = loop->wait_head; wt != NULL; wt = wt->next) {
        if (wt->pid == 0 || wt->scan == gen)
            continue;
        wt->scan = gen;
        pid_t pid = wt->pid;
        int rc = do_waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG);
        if (rc == 0 && si.si_pid == 0)
            continue;   /* still running */
        int status = rc < 0 ? rc : evl__status_from_siginfo(&si);
        deliver_waits(loop, pid, status);
        if (rc == 0)
            evl__pid_deliver(loop, pid, status);
        goto again;
    }
    loop->wait_busy = 0;
}

static void on_sigchld(evl_signal *s, int signo, unsigned count)
{
    (void)signo;
    (void)count;
    scan(evl__container_of(s, evl_loop, wait_sig));
}

int evl_wait_start(evl_loop *loop, evl_wait *wt, pid_t pid, evl_wait_cb cb)
{
    if (loop == NULL || wt == NULL || cb == NULL || pid < 0)
        return -EINVAL;
    if (wt->active)
        return -EINVAL;
    siginfo_t si;
    if (pid > 0) {
        /* Not a child of ours (or already reaped): it would never settle. */
        int rc = do_waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
        if (rc < 0)
            return rc;
    }
    if (loop->wait_head == NULL) {
        int rc = evl_signal_start(loop, &loop->wait_sig, SIGCHLD, on_sigchld);
        if (rc < 0)
            return rc;
    }
    wt->loop = loop;
    wt->cb = cb;
    wt->pid = pid;
    wt->scan = loop->wait_scan;
    wt->active = 1;
    wt->next = NULL;
    wt->prev = loop->wait_tail;
    if (loop->wait_tail != NULL)
        loop->wait_tail->next = wt;
    else
        loop->wait_head = wt;
    loop->wait_tail = wt;
    if (pid == 0)
        loop->wait_any++;
    loop->nwaits++;
    /* A child that exited before SIGCHLD was blocked left no signal to
     * read: send one to this thread, so the next drain scans.  Only for
     * a zombie already there (SIGCHLD is blocked by now, so a later exit
     * signals by itself): an unneeded one woke the next wait for nothing,
     * and a run_once(undef) right after returned having done nothing. */
    if (do_waitid(pid > 0 ? P_PID : P_ALL, (id_t)pid, &si,
                  WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != 0)
        pthread_kill(pthread_self(), SIGCHLD);
    return 0;
}

int evl_wait_stop(evl_wait *wt)
{
    if (wt == NULL || !wt->active)
        return 0;
    evl_loop *loop = wt->loop;
    wt->active = 0;
    wt->loop = NULL;
    if (loop == NULL)
        return 1;
    for (struct evl__wait_pass *p = loop->wait_pass; p != NULL; p = p->up)
        if (p->cursor == wt)
            p->cursor = wt->next;
    if (wt->prev != NULL)
        wt->prev->next = wt->next;
    else
        loop->wait_head = wt->next;
    if (wt->next != NULL)
        wt->next->prev = wt->prev;
    else
        loop->wait_tail = wt->prev;
    wt->next = wt->prev = NULL;
    if (wt->pid == 0)
        loop->wait_any--;
    loop->nwaits--;
    if (loop->wait_head == NULL)
        evl_signal_stop(&loop->wait_sig);
    return 1;
}

int evl_wait_is_active(const evl_wait *wt)
{
    return wt != NULL && wt->active;
}

/* Forked child: the parent's children are not ours, and a pid-0 watch
 * was the parent's too (see evloop.h): every watcher is dropped. */
void evl__waits_fork(evl_loop *loop)
{
    while (loop->wait_head != NULL)
        evl_wait_stop(loop->wait_head);
}

void evl__waits_free(evl_loop *loop)
{
    for (evl_wait *wt = loop->wait_head, *next; wt != NULL; wt = next) {
        next = wt->next;
        wt->active = 0;
        wt->loop = NULL;
        wt->next = wt->prev = NULL;
    }
    loop->wait_head = loop->wait_tail = NULL;
    loop->wait_any = 0;
    loop->nwaits = 0;
}
