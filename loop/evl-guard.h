/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* evl-guard.h - the dispatch guard shared by evl_stream, evl_dgram and
 * evl_child (loop/ and fork/). */
#ifndef EVL_GUARD_H
#define EVL_GUARD_H

#include <stddef.h>

/* The dispatch guard (stream.c, dgram.c, fork/spawn.c).  A callback may
 * free the object that called it; each dispatch frame keeps a flag on its
 * stack, the object points at the innermost one (*slot, its "alive"
 * field), and the object's free clears it.  Leaving passes the news to
 * the enclosing frame without reading the object. */
struct evl__guard {
    unsigned alive;
    unsigned *prev;              /* the enclosing guard's flag, or NULL */
};

/* GCC 12+ sees that *slot may still hold &g->alive after the guard's
 * frame returns.  It does only on the path where the object was freed,
 * and then nothing reads it.  The warning is silenced here and nowhere
 * else. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
static inline void evl__guard_enter(unsigned **slot, struct evl__guard *g)
{
    g->alive = 1;
    g->prev = *slot;
    *slot = &g->alive;
}
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif

/* Returns 1 if the object still exists; when it does not, slot is not
 * read. */
static inline int evl__guard_leave(unsigned **slot, struct evl__guard *g)
{
    if (!g->alive) {
        if (g->prev != NULL)
            *g->prev = 0;
        return 0;
    }
    *slot = g->prev;
    return 1;
}

#endif
