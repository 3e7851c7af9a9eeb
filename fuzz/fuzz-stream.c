/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* fuzz-stream.c - libFuzzer harness for evl_stream over a socketpair.
 *
 * The first byte picks the engine (reactor; proactor on the fake backend;
 * proactor on io_uring where the kernel allows it, else fake) and the
 * framer (none or line); the rest is a program of operations, each one
 * byte plus an argument byte: the peer writes input bytes, the stream
 * writes (or writes a message), reading pauses and resumes, the loop
 * turns, the peer reads, shuts down its side or closes, the stream
 * closes or aborts.  Checked: the bytes the peer reads are exactly a
 * prefix of those the stream was asked to write, all of them once a
 * close-after-drain finished without error; the loop never needs more
 * than a bounded number of turns to settle.  ASan and UBSan watch the
 * rest.  Never sleeps: every loop turn has a zero timeout.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"

#define WIRE_MAX (1u << 20)

struct run {
    evl_stream s;
    int closed;                  /* on_close ran */
    int error;                   /* on_error's err */
    size_t got;                  /* bytes delivered to on_read / on_message */
    char *sent;                  /* what the stream was asked to write */
    size_t sent_len;
    char *peer;                  /* what the peer read */
    size_t peer_len;
};

static size_t on_read(evl_stream *s, const char *data, size_t len)
{
    struct run *r = s->data;
    (void)data;
    r->got += len;
    return len;
}

static void on_message(evl_stream *s, const char *msg, size_t len)
{
    struct run *r = s->data;
    (void)msg;
    r->got += len + 1;
}

static void on_error(evl_stream *s, int err)
{
    struct run *r = s->data;
    if (err >= 0)
        abort();
    r->error = err;
}

static void on_close(evl_stream *s)
{
    struct run *r = s->data;
    r->closed++;
}

static void peer_read(struct run *r, int fd)
{
    char buf[8192];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        if (r->peer_len + (size_t)n > WIRE_MAX)
            abort();
        memcpy(r->peer + r->peer_len, buf, (size_t)n);
        r->peer_len += (size_t)n;
    }
    /* Everything the peer reads was written by the stream, in order. */
    if (r->peer_len > r->sent_len || memcmp(r->peer, r->sent, r->peer_len) != 0)
        abort();
}

static void record(struct run *r, const void *p, size_t n, const char *head, size_t hl,
                   const char *tail, size_t tl)
{
    if (r->sent_len + hl + n + tl > WIRE_MAX)
        abort();
    memcpy(r->sent + r->sent_len, head, hl);
    memcpy(r->sent + r->sent_len + hl, p, n);
    memcpy(r->sent + r->sent_len + hl + n, tail, tl);
    r->sent_len += hl + n + tl;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    static int uring_ok = -1;
    evl_loop *loop;
    evl_framer fr;
    struct run r = { 0 };
    int sv[2];

    if (size < 1 || size > 2048)
        return 0;
    if (uring_ok < 0) {
        signal(SIGPIPE, SIG_IGN);
        uring_ok = evl_loop_new(&loop, EVL_PROACTOR, EVL_BACKEND_URING) == 0;
        if (uring_ok)
            evl_loop_free(loop);
    }
    unsigned engine = in[0] % 3;
    int framed = (in[0] >> 2) & 1;
    int rc = engine == 0 ? evl_loop_new(&loop, EVL_REACTOR, 0)
             : engine == 2 && uring_ok ? evl_loop_new(&loop, EVL_PROACTOR, EVL_BACKEND_URING)
                                       : evl_loop_new(&loop, EVL_PROACTOR, EVL_BACKEND_FAKE);
    if (rc != 0)
        abort();
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    int sz = 4096;   /* small buffers, so write-behind and watermarks happen */
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
    r.sent = malloc(WIRE_MAX);
    r.peer = malloc(WIRE_MAX);

    struct evl_stream_callbacks cb = {
        .on_read = on_read, .on_message = on_message, .on_error = on_error,
        .on_close = on_close,
    };
    r.s.data = &r;
    if (evl_stream_init(&r.s, loop, sv[0], EVL_STREAM_SOCKET, &cb) != 0)
        abort();
    if (framed) {
        evl_framer_init(&fr, EVL_FRAMER_LINE, 0, 64, NULL, 0);
        evl_stream_set_framer(&r.s, &fr);
    }
    evl_stream_set_watermarks(&r.s, 1024, 8192, 0);

    int done = 0, aborted = 0, peer_open = 1;
    for (size_t i = 1; i + 1 < size && !done; i += 2) {
        size_t arg = in[i + 1];
        const char *bytes = (const char *)in + i + 1;
        size_t avail = size - i - 1, n = arg % 64 < avail ? arg % 64 : avail;
        switch (in[i] % 10) {
        case 0:   /* the peer sends */
            if (peer_open && write(sv[1], bytes, n) < 0 && errno != EAGAIN && errno != EPIPE)
                abort();
            break;
        case 1:   /* the stream writes, n bytes times a factor */
            for (size_t k = 0; k < (arg >> 6) + 1; k++)
                if (evl_stream_write(&r.s, bytes, n) == 0)
                    record(&r, bytes, n, "", 0, "", 0);
            break;
        case 2:
            if (framed) {
                char head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
                size_t hl, tl;
                if (evl_framer_encode(&fr, n, head, &hl, tail, &tl) == 0 &&
                    evl_stream_write_message(&r.s, bytes, n) == 0)
                    record(&r, bytes, n, head, hl, tail, tl);
            }
            break;
        case 3:
            (arg & 1) ? evl_stream_read_stop(&r.s) : evl_stream_read_start(&r.s);
            break;
        case 4:
        case 5:
            for (size_t k = 0; k < arg % 4 + 1; k++)
                if (evl_loop_run_once(loop, 0) < 0)
                    abort();
            break;
        case 6:
            if (peer_open)
                peer_read(&r, sv[1]);
            break;
        case 7:
            if (peer_open && (arg & 1)) {
                shutdown(sv[1], SHUT_WR);
            } else if (peer_open && arg % 16 == 2) {
                close(sv[1]);   /* the stream sees EOF or EPIPE / ECONNRESET */
                peer_open = 0;
            }
            break;
        case 8:
            evl_stream_flush(&r.s);
            break;
        case 9:
            if (arg % 8 == 0) {
                evl_stream_abort(&r.s);
                aborted = 1;
                done = 1;
            }
            break;
        }
    }

    /* Close-after-drain, with the peer reading everything. */
    if (!aborted)
        evl_stream_close(&r.s);
    for (int turn = 0; r.closed == 0 || evl_loop_pending_ops(loop) > 0; turn++) {
        if (turn > 100000) {
            fprintf(stderr, "fuzz-stream: the close never finished\n");
            abort();
        }
        if (peer_open)
            peer_read(&r, sv[1]);
        if (evl_loop_run_once(loop, 0) < 0)
            abort();
    }
    if (r.closed != 1)
        abort();
    if (peer_open) {
        peer_read(&r, sv[1]);
        /* Nothing lost: a close that drained without error wrote it all. */
        if (!aborted && r.error == 0 && evl_stream_error(&r.s) == 0 &&
            r.peer_len != r.sent_len) {
            fprintf(stderr, "fuzz-stream: peer read %zu of %zu bytes\n", r.peer_len,
                    r.sent_len);
            abort();
        }
        close(sv[1]);
    }
    evl_stream_free(&r.s);
    evl_loop_drain(loop);
    evl_loop_free(loop);
    free(r.sent);
    free(r.peer);
    return 0;
}
