/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* buf.c - a contiguous byte buffer with a consumed prefix.
 *
 * Data lives in [head, tail).  Consuming moves head; reserving space
 * first slides the data back to offset 0 when that frees enough room
 * (one memmove, amortised by the consumption that preceded it), and only
 * then grows the allocation geometrically.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evl-internal.h"

void evl_buf_init(evl_buf *b)
{
    if (b != NULL)
        *b = (evl_buf){ 0 };
}

void evl_buf_free(evl_buf *b)
{
    if (b == NULL)
        return;
    free(b->base);
    *b = (evl_buf){ 0 };
}

size_t evl_buf_space(const evl_buf *b)
{
    return b != NULL ? b->cap - b->tail : 0;
}

char *evl_buf_reserve(evl_buf *b, size_t n)
{
    if (b == NULL)
        return NULL;
    if (b->cap - b->tail >= n)
        return b->base + b->tail;
    size_t len = b->tail - b->head;
    if (b->head > 0 && b->cap - len >= n) {
        memmove(b->base, b->base + b->head, len);
        b->head = 0;
        b->tail = len;
        return b->base + b->tail;
    }
    if (n > SIZE_MAX / 2 - len)
        return NULL;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < len + n)
        cap *= 2;
    /* Cache-line aligned, and only the live bytes copied: some CPUs copy
     * into a buffer that is 8..32 bytes off the source's cache-line
     * offset (where malloc's land) many times slower, and the kernel's
     * read() into this buffer is such a copy. */
    char *p = NULL;
    if (posix_memalign((void **)&p, 64, cap) != 0 || p == NULL)
        return NULL;
    if (len > 0)
        memcpy(p, b->base + b->head, len);
    free(b->base);
    b->base = p;
    b->cap = cap;
    b->head = 0;
    b->tail = len;
    return b->base + b->tail;
}

char *evl__buf_reserve_exact(evl_buf *b, size_t n)
{
    if (b->base != NULL || n == 0 || n > SIZE_MAX - 63)
        return evl_buf_reserve(b, n);
    size_t cap = (n + 63) & ~(size_t)63;
    char *p = NULL;
    if (posix_memalign((void **)&p, 64, cap) != 0 || p == NULL)
        return NULL;
    *b = (evl_buf){ .base = p, .cap = cap };
    return p;
}

void evl_buf_commit(evl_buf *b, size_t n)
{
    b->tail += n;
}

int evl_buf_append(evl_buf *b, const void *p, size_t n)
{
    if (b == NULL || (p == NULL && n > 0))
        return -EINVAL;
    if (n == 0)
        return 0;
    char *dst = evl_buf_reserve(b, n);
    if (dst == NULL)
        return -ENOMEM;
    memcpy(dst, p, n);
    b->tail += n;
    return 0;
}

void evl_buf_consume(evl_buf *b, size_t n)
{
    evl__buf_consume(b, n);
}

int evl_buf_prepend(evl_buf *b, const void *p, size_t n)
{
    if (b == NULL || (p == NULL && n > 0))
        return -EINVAL;
    if (n == 0)
        return 0;
    if (b->head >= n) {
        b->head -= n;
        memcpy(b->base + b->head, p, n);
        return 0;
    }
    size_t len = b->tail - b->head;
    if (evl_buf_reserve(b, n) == NULL)
        return -ENOMEM;
    /* reserve may have moved the data; head is where it now starts. */
    memmove(b->base + b->head + n, b->base + b->head, len);
    memcpy(b->base + b->head, p, n);
    b->tail += n;
    return 0;
}

/* ------------------------------------------------------------ whole buffers */

void evl__buf_swap(evl_buf *a, evl_buf *b)
{
    evl_buf t = *a;
    *a = *b;
    *b = t;
}

char *evl__buf_steal(evl_buf *b, size_t *cap)
{
    char *mem = b->base;
    if (cap != NULL)
        *cap = b->cap;
    *b = (evl_buf){ 0 };
    return mem;
}

void evl__buf_adopt(evl_buf *b, char *mem, size_t cap, size_t len)
{
    assert(b->base == NULL && len <= cap);
    *b = (evl_buf){ .base = mem, .head = 0, .tail = len, .cap = cap };
}

int evl__buf_move(evl_buf *dst, evl_buf *src)
{
    if (evl_buf_len(dst) == 0) {
        evl_buf_free(dst);
        evl__buf_swap(dst, src);
        return 0;
    }
    if (evl_buf_append(dst, evl_buf_data(src), evl_buf_len(src)) < 0)
        return -ENOMEM;
    evl_buf_free(src);
    return 0;
}
