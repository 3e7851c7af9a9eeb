/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* pid.c - child exit through a pidfd.
 *
 * pidfd_open (Linux 5.3) gives an fd that polls readable once the process
 * has exited; waitid(P_PIDFD) (Linux 5.4) collects its status without a
 * SIGCHLD handler and without racing other waiters for a recycled pid.
 * The siginfo is turned back into a waitpid()-style status word so
 * callers can use WIFEXITED and friends.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evl-internal.h"
#include "evl-syscall.h"

int evl__status_from_siginfo(const siginfo_t *si)
{
    switch (si->si_code) {
    case CLD_EXITED: return (si->si_status & 0xff) << 8;
    case CLD_KILLED: return si->si_status & 0x7f;
    case CLD_DUMPED: return (si->si_status & 0x7f) | 0x80;
    default: return -EINVAL;   /* stopped/continued: we do not ask for those */
    }
}

static void pid_readable(evl_watcher *w, unsigned revents)
{
    (void)revents;
    evl_pid *p = evl__container_of(w, evl_pid, w);
    siginfo_t si = { 0 };
    int options = WEXITED | WNOHANG;
    if (p->flags & EVL_PID_NOREAP)
        options |= WNOWAIT;
    int status;
    int rc;
    do
        rc = waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, options);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        status = -errno;
    else if (si.si_pid == 0)
        return;   /* not exited after all */
    else
        status = evl__status_from_siginfo(&si);
    evl_loop *loop = w->loop;
    pid_t pid = p->pid;
    evl_pid_stop(p);   /* one shot; the callback may free p */
    p->cb(p, status);
    /* Reaped here: evl_wait watchers of the pid get the status too. */
    if (!(options & WNOWAIT) && status >= 0) {
        evl__wait_deliver(loop, pid, status);
        evl__pid_deliver(loop, pid, status);   /* other evl_pid of the pid */
    }
}

void evl__pid_deliver(evl_loop *loop, pid_t pid, int status)
{
    for (size_t fd = 0; fd < loop->nslots; fd++) {
        evl_watcher *w = loop->slots[fd].w;
        if (w == NULL || w->read_cb != pid_readable)
            continue;
        evl_pid *p = evl__container_of(w, evl_pid, w);
        if (p->pid != pid)
            continue;
        evl_pid_stop(p);
        p->cb(p, status);
    }
}

int evl_pid_start(evl_loop *loop, evl_pid *p, pid_t pid, unsigned flags, evl_pid_cb cb)
{
    if (loop == NULL || p == NULL || pid < 1 || cb == NULL || (flags & ~EVL_PID_NOREAP))
        return -EINVAL;
    if (evl_watcher_is_active(&p->w))
        return -EINVAL;
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        return -errno;
    p->pid = pid;
    p->pidfd = fd;
    p->flags = flags;
    p->cb = cb;
    evl_watcher_init(&p->w, pid_readable, NULL, NULL);
    int rc = evl_watcher_start(loop, &p->w, fd, EVL_READ);
    if (rc < 0) {
        close(fd);
        p->pidfd = -1;
        return rc;
    }
    return 0;
}

int evl_pid_stop(evl_pid *p)
{
    if (p == NULL || !evl_watcher_stop(&p->w))
        return 0;
    close(p->pidfd);
    p->pidfd = -1;
    return 1;
}

int evl__pid_fork_drop(evl_watcher *w)
{
    if (w->read_cb != pid_readable)
        return 0;
    /* The parent's child is not ours: waitid would say ECHILD, and the
     * pidfd would only become readable when it exits.  Dropped, no
     * callback (documented in evloop.h).  The pidfd is the child's copy. */
    evl_pid_stop(evl__container_of(w, evl_pid, w));
    return 1;
}

pid_t evl_pid_pid(const evl_pid *p)
{
    return p ? p->pid : -EINVAL;
}
