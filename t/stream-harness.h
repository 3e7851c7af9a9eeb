/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* stream-harness.h - the recording harness both stream suites share
 * (check_stream.c on the reactor, check_stream_proactor.c on the
 * proactor): callbacks that log what a stream did and act on it, the
 * pattern bytes and their checking sink, peers, and loop pumps. */
#ifndef EVL_STREAM_HARNESS_H
#define EVL_STREAM_HARNESS_H

#include <stddef.h>

#include "evloop.h"

/* ------------------------------------------------------------ bytes */

/* A growable byte log, kept NUL-terminated so tests can compare it as
 * a string. */
struct bytes {
    char *p;
    size_t len, cap;
};

void bytes_add(struct bytes *b, const void *p, size_t n);
void bytes_free(struct bytes *b);

/* ------------------------------------------------------------ recording callbacks */

enum action {
    ACT_NONE,
    ACT_PAUSE_AT,           /* on_message: read_stop after message number pause_at */
    ACT_PAUSE_RESUME,       /* on_message: read_stop then read_start at once */
    ACT_CLOSE_FIRST,        /* on_message: evl_stream_close after the first */
    ACT_FREE,               /* on_message/on_error: free the stream and its memory */
    ACT_RECORDS,            /* on_read: consume one whole 4-byte record per call */
    ACT_KEEP,               /* on_read: record, consume nothing */
    ACT_PAUSE_READ,         /* on_read: read_stop after the first call */
    ACT_REPLY_WAIT          /* on_message: write a reply, then run the loop
                             * until it reaches the peer (wait_loop, wait_fd) */
};

/* What a stream's callbacks saw (s->data points here), and what they
 * should do.  Zero-initialise; bytes_free(&r.data) at the end. */
struct rec {
    char log[256];               /* event letters in order: m r e E c h l d */
    size_t nlog;
    struct bytes data;           /* messages joined by '|', or raw bytes */
    int n_msg, n_read, n_eof, n_err, n_close, n_high, n_low, n_drain;
    int err;
    size_t queued_at_high, queued_at_low, queued_at_drain;
    enum action action;
    int pause_at;                /* ACT_PAUSE_AT: which message (1-based) */
    size_t rbuf_in_msg;          /* rbuf length seen inside the last on_message */
    int check;                   /* on_read: compare with pattern() instead of storing */
    size_t got;                  /* raw bytes seen */
    size_t mismatch;             /* 1 + offset of the first bad byte, 0 if none */
    evl_loop *wait_loop;         /* ACT_REPLY_WAIT: the loop to run ... */
    int wait_fd;                 /* ... until this peer fd has bytes */
    int replies_seen;            /* ACT_REPLY_WAIT: replies the peer had in time */
};

void note(struct rec *r, char c);
/* Frees a heap stream and poisons it first, so a later read of s shows
 * even without valgrind. */
void free_stream(evl_stream *s);
void on_message(evl_stream *s, const char *msg, size_t len);
size_t on_read(evl_stream *s, const char *p, size_t len);
void on_eof(evl_stream *s);
void on_error(evl_stream *s, int err);
void on_close(evl_stream *s);
void on_high(evl_stream *s);
void on_low(evl_stream *s);
void on_drain(evl_stream *s);

extern const struct evl_stream_callbacks raw_cbs;
extern const struct evl_stream_callbacks msg_cbs;
/* Write-side callbacks only: such a stream does not read. */
extern const struct evl_stream_callbacks write_cbs;

/* ------------------------------------------------------------ loop pumps */

/* Runs the loop until *count reaches want; an idle 5 s wait fails. */
void run_until(evl_loop *loop, const int *count, int want);
/* Polls the loop a few times without blocking. */
void spin(evl_loop *loop);

/* Reaps what freed streams left in flight (a proactor's operations; a
 * reactor has none): evloop.h asks for it before their fds are closed
 * and before the loop is freed. */
void loop_settle(evl_loop *loop);
/* loop_settle, then frees the loop. */
void loop_done(evl_loop *loop);

/* ------------------------------------------------------------ socketpair fixtures
 *
 * Most stream tests: a socketpair (make_socketpair: sv[0] with a small
 * send buffer) with s over sv[0] and sv[1] as the test's peer, s->data
 * pointing at a struct rec. */

/* Makes the pair and starts s over sv[0] with flags and cb. */
void pair_stream(evl_loop *loop, evl_stream *s, int sv[2], unsigned flags,
                 const struct evl_stream_callbacks *cb);
/* The end on a reactor: frees s, closes both ends, frees the loop and
 * r's log. */
void stream_pair_end(evl_loop *loop, evl_stream *s, const int sv[2], struct rec *r);
/* The end on a proactor (or any loop): frees s, reaps what it left in
 * flight before closing both ends, frees r's log and the loop. */
void stream_pair_done(evl_loop *loop, evl_stream *s, const int sv[2], struct rec *r);

/* ------------------------------------------------------------ pattern and sink */

/* The byte at offset i of the test stream: no short period, so a lost,
 * duplicated or reordered chunk shows. */
unsigned char pattern(size_t i);
void fill_pattern(char *buf, size_t off, size_t n);

/* The far end of a write test: a plain fd watcher (a proactor loop keeps
 * epoll for those) that reads and checks the pattern. */
struct sink {
    evl_watcher w;
    size_t chunk;                /* bytes per read; small = slow reader */
    size_t got;
    size_t mismatch;             /* 1 + offset of the first bad byte, 0 if none */
    int eof;                     /* 1 once read returned 0 */
};

void sink_start(evl_loop *loop, struct sink *k, int fd, size_t chunk);
/* Runs the loop until the sink saw EOF; fails if the loop goes idle. */
void run_until_sink_eof(evl_loop *loop, struct sink *k);

/* ------------------------------------------------------------ peers and signals */

/* A connected loopback TCP pair: *client and *server. */
void tcp_pair(int *client, int *server);
/* Closing with SO_LINGER {1, 0} sends RST instead of FIN. */
void reset_close(int fd);
void sigpipe_default(void);
int sigpipe_pending(void);
int sigpipe_blocked(void);

/* ------------------------------------------------------------ fault injection
 *
 * t/stream-faults.c, linked into the suites that inject: it takes over
 * read/recv (FAULT_READ) and write/writev/send/sendmsg (FAULT_WRITE)
 * for the whole program, on the fds a rule names.  Rules apply in the
 * order armed; times < 0 means every call from now on.  A libcheck test
 * runs in its own child process, so rules end with the test. */

enum { FAULT_READ = 1, FAULT_WRITE = 2 };

/* The next `times` calls of ops on fd fail with errno err. */
void fault_fail(int fd, unsigned ops, int err, int times);
/* The next `times` calls of ops on fd move at most cap bytes. */
void fault_short(int fd, unsigned ops, size_t cap, int times);
/* Disarms every rule and zeroes the counts below. */
void fault_clear(void);
/* Calls a rule applied to since the last fault_clear. */
long fault_hits(void);
/* Bytes moved by the calls a cap rule applied to, since then. */
size_t fault_moved(void);

#endif
