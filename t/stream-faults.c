/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* stream-faults.c - error injection for the stream suites (see the
 * "fault injection" section of stream-harness.h).
 *
 * The test program defines read, write, writev, recv, send and sendmsg
 * itself: libevloop is linked in statically (libevloop-conv.la), so its
 * calls resolve here, both the reactor stream's (loop/stream.c) and the
 * fake proactor backend's (loop/backend-fake.c).  A call on an fd with
 * an armed rule fails with the rule's errno or moves at most the rule's
 * cap; every other call goes to the kernel through syscall(2), so the
 * rest of the program (libcheck's pipes included) is untouched.  io_uring
 * does its I/O in the kernel, out of reach: the suites inject on the
 * reactor and the fake backend only.
 *
 * A build with _FORTIFY_SOURCE may route some reads through __read_chk,
 * past this file: fault_shim_works() lets a suite find out and skip.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "stream-harness.h"

#ifndef IOV_MAX
#define IOV_MAX 1024   /* Linux's UIO_MAXIOV */
#endif

#define MAX_RULES 8

struct fault_rule {
    int fd;
    unsigned ops;                /* FAULT_READ, FAULT_WRITE */
    int err;                     /* errno to fail with, 0 for a cap */
    size_t cap;                  /* with err 0: most bytes per call */
    int times;                   /* calls left, < 0 for every call */
};

static struct fault_rule rules[MAX_RULES];
static int nrules;
static long hits;               /* calls a rule applied to */
static size_t moved;             /* bytes those calls moved */

static void add_rule(struct fault_rule r)
{
    if (nrules < MAX_RULES)
        rules[nrules++] = r;
}

void fault_fail(int fd, unsigned ops, int err, int times)
{
    add_rule((struct fault_rule){ .fd = fd, .ops = ops, .err = err, .times = times });
}

void fault_short(int fd, unsigned ops, size_t cap, int times)
{
    add_rule((struct fault_rule){ .fd = fd, .ops = ops, .cap = cap, .times = times });
}

void fault_clear(void)
{
    nrules = 0;
    hits = 0;
    moved = 0;
}

long fault_hits(void)
{
    return hits;
}

size_t fault_moved(void)
{
    return moved;
}

/* The first live rule for fd and op, used up by one call; NULL if none.
 * Rules apply in the order they were armed. */
static struct fault_rule *take(int fd, unsigned op)
{
    for (int i = 0; i < nrules; i++) {
        struct fault_rule *r = &rules[i];
        if (r->fd != fd || !(r->ops & op) || r->times == 0)
            continue;
        if (r->times > 0)
            r->times--;
        hits++;
        return r;
    }
    return NULL;
}

/* Applies a rule to a transfer of len bytes: returns -1 with errno set
 * for an error rule, 1 with *len capped for a cap rule, 0 if no rule
 * applies. */
static int apply(int fd, unsigned op, size_t *len)
{
    struct fault_rule *r = take(fd, op);
    if (r == NULL)
        return 0;
    if (r->err != 0) {
        errno = r->err;
        return -1;
    }
    if (*len > r->cap)
        *len = r->cap;
    return 1;
}

/* Counts what a capped call moved. */
static ssize_t count(int applied, ssize_t n)
{
    if (applied > 0 && n > 0)
        moved += (size_t)n;
    return n;
}

ssize_t read(int fd, void *buf, size_t len)
{
    int a = apply(fd, FAULT_READ, &len);
    if (a < 0)
        return -1;
    return count(a, syscall(SYS_read, fd, buf, len));
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    int a = apply(fd, FAULT_READ, &len);
    if (a < 0)
        return -1;
    return count(a, syscall(SYS_recvfrom, fd, buf, len, flags, NULL, NULL));
}

ssize_t write(int fd, const void *buf, size_t len)
{
    int a = apply(fd, FAULT_WRITE, &len);
    if (a < 0)
        return -1;
    return count(a, syscall(SYS_write, fd, buf, len));
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    int a = apply(fd, FAULT_WRITE, &len);
    if (a < 0)
        return -1;
    return count(a, syscall(SYS_sendto, fd, buf, len, flags, NULL, 0));
}

/* The vector calls: a cap keeps the leading pieces that fit, the last
 * one cut short, in a copy of the vector. */
static int cap_iov(const struct iovec *iov, int iovcnt, size_t cap, struct iovec *out)
{
    int n = 0;
    for (int i = 0; i < iovcnt && i < IOV_MAX && cap > 0; i++) {
        out[n] = iov[i];
        if (out[n].iov_len > cap)
            out[n].iov_len = cap;
        cap -= out[n].iov_len;
        n++;
    }
    return n;
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
    size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    return total;
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    size_t total = iovcnt > 0 ? iov_total(iov, iovcnt) : 0, len = total;
    int a = apply(fd, FAULT_WRITE, &len);
    if (a < 0)
        return -1;
    if (len < total) {
        struct iovec cut[IOV_MAX];
        int n = cap_iov(iov, iovcnt, len, cut);
        return count(a, syscall(SYS_writev, fd, cut, n));
    }
    return count(a, syscall(SYS_writev, fd, iov, iovcnt));
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    size_t total = iov_total(msg->msg_iov, (int)msg->msg_iovlen), len = total;
    int a = apply(fd, FAULT_WRITE, &len);
    if (a < 0)
        return -1;
    if (len < total) {
        struct iovec cut[IOV_MAX];
        struct msghdr m = *msg;
        m.msg_iov = cut;
        m.msg_iovlen = (size_t)cap_iov(msg->msg_iov, (int)msg->msg_iovlen, len, cut);
        return count(a, syscall(SYS_sendmsg, fd, &m, flags));
    }
    return count(a, syscall(SYS_sendmsg, fd, msg, flags));
}
