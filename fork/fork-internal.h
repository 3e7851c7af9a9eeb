/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* fork-internal.h - what the parent side (spawn.c) hands the child side
 * (child.c), and the registry of the parent's pipe ends. */
#ifndef EVL_FORK_INTERNAL_H
#define EVL_FORK_INTERNAL_H

#include <stddef.h>

#include "evl-guard.h"
#include "evl-syscall.h"
#include "evloop-fork.h"

/* Both sides read the parent's environment. */
extern char **environ;

#define EVL__FORK_HIDDEN __attribute__((visibility("hidden")))

/* One step of the child's setup.  Pipe actions arrive here as EVL_FD_DUP
 * from the child's end of the pipe. */
struct evl__child_action {
    int kind;                    /* EVL_FD_DUP, EVL_FD_CLOSE, EVL_FD_OPEN */
    int fd;
    int src;
    const char *path;            /* EVL_FD_OPEN */
    int oflags;
    unsigned mode;
};

/* Everything the child reads.  Built by the parent before the clone; on
 * the exec path the child shares the parent's memory (CLONE_VM), so it
 * must not write here, and it must be complete before the clone. */
struct evl__spawn_plan {
    const char *file;            /* what to exec */
    char *const *argv;
    char *const *envp;           /* the child's environment */
    int envp_built;              /* envp differs from environ */
    const char *path;            /* PATH to search (EVL_SPAWN_PATH), never NULL */
    int (*fn)(void *arg);        /* fork-and-call, else NULL */
    void *arg;
    const struct evl__child_action *acts;
    size_t n_acts;
    int close_fds[3];            /* the child's pipe ends, -1 if unused */
    const char *cwd;
    unsigned umask;
    unsigned flags;              /* EVL_SPAWN_* */
    const char *diag_prefix;
    int err_fd;                  /* write end of the close-on-exec error pipe */
    int err_rd;                  /* its read end (the fork path closes it) */
};

/* The record a failing child writes to err_fd. */
struct evl__spawn_err {
    int err;                     /* positive errno */
    int stage;                   /* EVL_STAGE_* */
    int fd;                      /* dup2/open: the target fd */
    int act;                     /* index of the failing action, -1 */
};

/* Entry points of the child, both ending in exec or _exit: never return.
 * evl__child_clone_entry has clone()'s signature. */
EVL__FORK_HIDDEN int evl__child_clone_entry(void *plan);
EVL__FORK_HIDDEN _Noreturn void evl__child_run(const struct evl__spawn_plan *plan);

/* The parent's ends of every child's pipes and pidfds, as a bitmap over fd
 * numbers, so that a fork-and-call child (which does not exec, so
 * close-on-exec does not help) can close its siblings' pipe ends: a
 * sibling holding another child's stdin open would keep that child from
 * ever seeing EOF.  Lock-free (the child of a fork reads it without
 * taking any lock).  fds above the bitmap are not tracked. */
#define EVL__FDREG_BITS 65536
EVL__FORK_HIDDEN void evl__fdreg_add(int fd);
EVL__FORK_HIDDEN void evl__fdreg_del(int fd);
EVL__FORK_HIDDEN void evl__fdreg_sweep(void);   /* child side: close them all */

#endif
