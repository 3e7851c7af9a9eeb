/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* hook.c - iteration hooks: idle, prepare and check (libev's ev_idle,
 * ev_prepare, ev_check).
 *
 * One list per kind, in start order.  evl__hooks_run calls a list with a
 * cursor that evl_hook_stop moves past a hook it unlinks, so a callback
 * may stop any hook (its own included) or start new ones (appended: they
 * run in the same pass).  A callback that runs the loop again nests a
 * pass; stop keeps every pass's cursor valid (struct evl__hook_pass).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <errno.h>

#include "evl-internal.h"

int evl_hook_start(evl_loop *loop, evl_hook *h, int kind, evl_hook_cb cb)
{
    if (loop == NULL || h == NULL || cb == NULL || kind < EVL_HOOK_IDLE ||
        kind > EVL_HOOK_CHECK || h->active)
        return -EINVAL;
    h->loop = loop;
    h->cb = cb;
    h->kind = kind;
    h->active = 1;
    h->next = NULL;
    h->prev = loop->hook_tail[kind];
    if (h->prev != NULL)
        h->prev->next = h;
    else
        loop->hook_head[kind] = h;
    loop->hook_tail[kind] = h;
    loop->nhooks[kind]++;
    return 0;
}

int evl_hook_stop(evl_hook *h)
{
    if (h == NULL || !h->active)
        return 0;
    evl_loop *loop = h->loop;
    h->active = 0;
    h->loop = NULL;
    if (loop == NULL)
        return 1;
    int kind = h->kind;
    for (struct evl__hook_pass *p = loop->hook_pass[kind]; p != NULL; p = p->up)
        if (p->cursor == h)
            p->cursor = h->next;
    if (h->prev != NULL)
        h->prev->next = h->next;
    else
        loop->hook_head[kind] = h->next;
    if (h->next != NULL)
        h->next->prev = h->prev;
    else
        loop->hook_tail[kind] = h->prev;
    h->next = h->prev = NULL;
    loop->nhooks[kind]--;
    return 1;
}

int evl_hook_is_active(const evl_hook *h)
{
    return h != NULL && h->active;
}

int evl__hooks_run(evl_loop *loop, int kind)
{
    int n = 0;
    struct evl__hook_pass pass = { loop->hook_head[kind], loop->hook_pass[kind] };
    loop->hook_pass[kind] = &pass;
    while (pass.cursor != NULL) {
        evl_hook *h = pass.cursor;
        pass.cursor = h->next;
        n++;
        h->cb(h);
    }
    loop->hook_pass[kind] = pass.up;
    return n;
}

void evl__hooks_free(evl_loop *loop)
{
    for (int kind = EVL_HOOK_IDLE; kind <= EVL_HOOK_CHECK; kind++) {
        for (evl_hook *h = loop->hook_head[kind], *next; h != NULL; h = next) {
            next = h->next;
            h->active = 0;
            h->loop = NULL;
            h->next = h->prev = NULL;
        }
        loop->hook_head[kind] = loop->hook_tail[kind] = NULL;
        loop->nhooks[kind] = 0;
    }
}
