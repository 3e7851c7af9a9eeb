/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* check_sockopt.c - the evl_sock_* helpers: each option read back with
 * getsockopt, SO_REUSEPORT shown by two listeners on one port that both
 * get connections, and the errors of bad fds and values.  Loopback only,
 * port 0. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evl-test.h"
#include "evloop.h"

static int tcp_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    return fd;
}

static int get_int(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    ck_assert_rc(getsockopt(fd, level, name, &v, &len));
    return v;
}

static void bind_loopback(int fd, uint16_t port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_rc(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
}

static uint16_t port_of(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    ck_assert_rc(getsockname(fd, (struct sockaddr *)&sa, &len));
    return ntohs(sa.sin_port);
}

/* Accepts everything queued on a non-blocking listener; returns the count. */
static int accept_all(int lfd)
{
    int n = 0;
    for (;;) {
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c < 0) {
            ck_assert_int_eq(errno, EAGAIN);
            return n;
        }
        close(c);
        n++;
    }
}

START_TEST(test_reuseport_two_listeners_on_one_port_both_accept)
{
    int a = tcp_socket(), b = tcp_socket();
    ck_assert_rc(evl_sock_set_reuseport(a, 1));
    ck_assert_int_eq(get_int(a, SOL_SOCKET, SO_REUSEPORT), 1);
    bind_loopback(a, 0);
    uint16_t port = port_of(a);
    ck_assert_rc(evl_sock_listen(a, 64));
    ck_assert_rc(evl_sock_set_reuseport(b, 1));
    bind_loopback(b, port);
    ck_assert_rc(evl_sock_listen(b, 0));   /* 0: SOMAXCONN */
    ck_assert_int_eq(get_int(b, SOL_SOCKET, SO_ACCEPTCONN), 1);
    set_nonblock(a);
    set_nonblock(b);
    /* The kernel spreads connections by a hash of the 4-tuple: 32 of
     * them all landing on one listener has odds of 2^-31. */
    int clients[32];
    for (int i = 0; i < 32; i++) {
        clients[i] = tcp_socket();
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_rc(connect(clients[i], (struct sockaddr *)&sa, sizeof(sa)));
    }
    int na = accept_all(a), nb = accept_all(b);
    ck_assert_int_eq(na + nb, 32);
    ck_assert_int_gt(na, 0);
    ck_assert_int_gt(nb, 0);
    for (int i = 0; i < 32; i++)
        close(clients[i]);
    close(a);
    close(b);
}
END_TEST

START_TEST(test_without_reuseport_the_second_bind_fails)
{
    int a = tcp_socket(), b = tcp_socket();
    bind_loopback(a, 0);
    ck_assert_rc(evl_sock_listen(a, 16));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port_of(a)) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(b, (struct sockaddr *)&sa, sizeof(sa)), -1);
    ck_assert_int_eq(errno, EADDRINUSE);
    close(a);
    close(b);
}
END_TEST

START_TEST(test_tcp_options_read_back)
{
    int fd = tcp_socket();
    ck_assert_rc(evl_sock_set_nodelay(fd, 1));
    ck_assert_int_eq(get_int(fd, IPPROTO_TCP, TCP_NODELAY), 1);
    ck_assert_rc(evl_sock_set_nodelay(fd, 0));
    ck_assert_int_eq(get_int(fd, IPPROTO_TCP, TCP_NODELAY), 0);

    ck_assert_rc(evl_sock_set_keepalive(fd, 1, 30, 5, 3));
    ck_assert_int_eq(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    ck_assert_int_eq(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 30);
    ck_assert_int_eq(get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL), 5);
    ck_assert_int_eq(get_int(fd, IPPROTO_TCP, TCP_KEEPCNT), 3);
    /* 0 keeps what is set. */
    ck_assert_rc(evl_sock_set_keepalive(fd, 0, 0, 0, 0));
    ck_assert_int_eq(get_int(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
    ck_assert_int_eq(get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 30);

    ck_assert_rc(evl_sock_set_user_timeout(fd, 5000));
    ck_assert_int_eq(get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 5000);

    ck_assert_rc(evl_sock_set_rcvbuf(fd, 65536));
    ck_assert_int_ge(get_int(fd, SOL_SOCKET, SO_RCVBUF), 65536);   /* doubled */
    ck_assert_rc(evl_sock_set_sndbuf(fd, 32768));
    ck_assert_int_ge(get_int(fd, SOL_SOCKET, SO_SNDBUF), 32768);

    bind_loopback(fd, 0);
    ck_assert_rc(evl_sock_set_defer_accept(fd, 5));
    ck_assert_int_ge(get_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT), 5);
    ck_assert_rc(evl_sock_listen(fd, 8));
    close(fd);
}
END_TEST

START_TEST(test_bind_device_lo_or_a_clear_eperm)
{
    int fd = tcp_socket();
    int rc = evl_sock_set_bind_device(fd, "lo");
    if (rc == -EPERM) {
        /* No CAP_NET_RAW on a kernel before 5.7: the error is clear. */
        close(fd);
        return;
    }
    ck_assert_rc(rc);
    char name[16] = "";
    socklen_t len = sizeof(name);
    ck_assert_rc(getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, &len));
    ck_assert_str_eq(name, "lo");
    /* "" removes the binding. */
    ck_assert_rc(evl_sock_set_bind_device(fd, ""));
    len = sizeof(name);
    memset(name, 'x', sizeof(name));
    ck_assert_rc(getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, &len));
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(evl_sock_set_bind_device(fd, "no-such-if0"), -ENODEV);
    ck_assert_int_eq(evl_sock_set_bind_device(fd, "a-name-far-too-long-for-ifnamsiz"), -ENODEV);
    close(fd);
}
END_TEST

START_TEST(test_errors_are_negative_errnos)
{
    int p[2];
    ck_assert_rc(pipe(p));
    ck_assert_int_eq(evl_sock_set_nodelay(p[0], 1), -ENOTSOCK);
    ck_assert_int_eq(evl_sock_set_reuseport(p[0], 1), -ENOTSOCK);
    ck_assert_int_eq(evl_sock_listen(p[0], 1), -ENOTSOCK);
    ck_assert_int_eq(evl_sock_set_rcvbuf(-1, 4096), -EBADF);
    close(p[0]);
    close(p[1]);

    int fd = tcp_socket();
    ck_assert_int_eq(evl_sock_set_keepalive(fd, 1, -1, 0, 0), -EINVAL);
    ck_assert_int_eq(evl_sock_set_rcvbuf(fd, 0), -EINVAL);
    ck_assert_int_eq(evl_sock_set_sndbuf(fd, -5), -EINVAL);
    ck_assert_int_eq(evl_sock_set_defer_accept(fd, -1), -EINVAL);
    close(fd);

    /* A TCP option on a unix socket is the kernel's refusal. */
    int sv[2];
    ck_assert_rc(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    ck_assert_int_lt(evl_sock_set_nodelay(sv[0], 1), 0);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

static Suite *sockopt_suite(void)
{
    Suite *s = suite_create("sockopt");
    TCase *tc = tcase_create("listen");
    tcase_add_test(tc, test_reuseport_two_listeners_on_one_port_both_accept);
    tcase_add_test(tc, test_without_reuseport_the_second_bind_fails);
    suite_add_tcase(s, tc);
    tc = tcase_create("options");
    tcase_add_test(tc, test_tcp_options_read_back);
    tcase_add_test(tc, test_bind_device_lo_or_a_clear_eperm);
    tcase_add_test(tc, test_errors_are_negative_errnos);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return evl_test_run(sockopt_suite());
}
