/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* udp_client.c - the load of bench/udp/run.pl: keeps `window` datagrams
 * of `size` bytes in flight to a UDP echo server on 127.0.0.1:port, each
 * reply letting the next one go, until `count` replies came back.
 *
 * Protocol with the server: "RSET" (4 bytes) before the load (the server
 * takes its CPU baseline and replies), "STOP" after it (the server
 * replies with the CPU microseconds it used since RSET, as text, then
 * exits).  A datagram lost on the way is replaced after 200 ms of
 * silence and counted.
 *
 * usage: udp_client PORT COUNT [WINDOW=32] [SIZE=64]
 * prints: "dgrams_per_sec lost server_cpu_us" */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One control exchange, retried on loss; the reply goes to out. */
static void control(int fd, const char *what, char *out, size_t outlen)
{
    for (int tries = 0; tries < 50; tries++) {
        if (send(fd, what, 4, 0) < 0 && errno != ECONNREFUSED) {
            perror("send");
            exit(1);
        }
        struct pollfd p = { fd, POLLIN, 0 };
        while (poll(&p, 1, 200) == 1) {
            ssize_t n = recv(fd, out, outlen - 1, 0);
            if (n == 4 && memcmp(out, what, 4) == 0) {   /* RSET's echo */
                out[n] = 0;
                return;
            }
            if (n > 0 && n != 64 && strcmp(what, "STOP") == 0) {
                out[n] = 0;
                return;
            }
        }
    }
    fprintf(stderr, "udp_client: no answer to %s\n", what);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: udp_client PORT COUNT [WINDOW] [SIZE]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long count = atol(argv[2]);
    int window = argc > 3 ? atoi(argv[3]) : 32;
    size_t size = argc > 4 ? (size_t)atol(argv[4]) : 64;
    if (window < 1 || window > BATCH || size < 8 || size > 65000)
        return 2;

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("connect");
        return 1;
    }
    int rcv = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));

    char ctl[128];
    control(fd, "RSET", ctl, sizeof(ctl));

    static char bufs[BATCH][65536];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    for (int i = 0; i < BATCH; i++) {
        memset(bufs[i], 'x', size);
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = size;
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    long sent = 0, got = 0, lost = 0;
    double t0 = now();
    int inflight = 0;
    while (got < count) {
        /* Top the window up. */
        int want = window - inflight;
        if (want > count - sent)
            want = (int)(count - sent);
        if (want > 0) {
            for (int i = 0; i < want; i++)
                iov[i].iov_len = size;
            int n = sendmmsg(fd, msgs, (unsigned)want, 0);
            if (n > 0) {
                sent += n;
                inflight += n;
            }
        }
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 200) != 1) {
            /* Silence: what is in flight is lost; send it again. */
            lost += inflight;
            sent -= inflight;
            inflight = 0;
            continue;
        }
        for (int i = 0; i < BATCH; i++)
            iov[i].iov_len = 65536;
        int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n > 0) {
            got += n;
            inflight -= n;
            if (inflight < 0)
                inflight = 0;
        }
    }
    double t1 = now();
    control(fd, "STOP", ctl, sizeof(ctl));
    printf("%.0f %ld %s\n", count / (t1 - t0), lost, ctl);
    return 0;
}
