/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* sockopt.c - the socket options of evloop.h's sockopt section.
 *
 * Thin on purpose: each helper is the setsockopt() a server would write
 * by hand, with the errno convention of the library, so that the C
 * callers and the Perl modules name the same options the same way.
 * Kernel notes: SO_BINDTODEVICE needs CAP_NET_RAW before Linux 5.7
 * (commit c427bfec18f2, "net: core: enable SO_BINDTODEVICE for non-root
 * users"); TCP_DEFER_ACCEPT takes seconds and rounds them to its
 * retransmission schedule, so getsockopt may read back a larger value.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "evl-internal.h"

static int set_int(int fd, int level, int name, int value)
{
    if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
        return -errno;
    return 0;
}

int evl_sock_set_reuseport(int fd, int on)
{
    return set_int(fd, SOL_SOCKET, SO_REUSEPORT, on ? 1 : 0);
}

int evl_sock_listen(int fd, int backlog)
{
    if (listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0)
        return -errno;
    return 0;
}

int evl_sock_set_defer_accept(int fd, int seconds)
{
    if (seconds < 0)
        return -EINVAL;
    return set_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, seconds);
}

int evl_sock_set_nodelay(int fd, int on)
{
    return set_int(fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
}

int evl_sock_set_keepalive(int fd, int on, int idle_s, int interval_s, int count)
{
    if (idle_s < 0 || interval_s < 0 || count < 0)
        return -EINVAL;
    int rc = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0);
    /* The timings are set even with keepalive off: they wait for it. */
    if (rc == 0 && idle_s > 0)
        rc = set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle_s);
    if (rc == 0 && interval_s > 0)
        rc = set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, interval_s);
    if (rc == 0 && count > 0)
        rc = set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, count);
    return rc;
}

int evl_sock_set_user_timeout(int fd, unsigned ms)
{
    if (ms > (unsigned)INT32_MAX)
        return -EINVAL;
    return set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, (int)ms);
}

int evl_sock_set_rcvbuf(int fd, int bytes)
{
    if (bytes <= 0)
        return -EINVAL;
    return set_int(fd, SOL_SOCKET, SO_RCVBUF, bytes);
}

int evl_sock_set_sndbuf(int fd, int bytes)
{
    if (bytes <= 0)
        return -EINVAL;
    return set_int(fd, SOL_SOCKET, SO_SNDBUF, bytes);
}

int evl_sock_set_bind_device(int fd, const char *ifname)
{
    const char *name = ifname != NULL ? ifname : "";
    size_t len = strlen(name);
    if (len >= 16)   /* IFNAMSIZ, with its NUL */
        return -ENODEV;
    /* An empty name (length 0) removes the binding. */
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)len) < 0)
        return -errno;
    return 0;
}
