/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* evl-syscall.h - kernel interfaces that older libc headers lack, shared
 * by loop/ and fork/ (so each fallback is written once).  Only constants:
 * the raw calls themselves are made where they are needed. */
#ifndef EVL_SYSCALL_H
#define EVL_SYSCALL_H

#include <signal.h>
#include <sys/syscall.h>

/* pidfd_send_signal(2): Linux 5.1. */
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
/* pidfd_open(2): Linux 5.3. */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
/* clone(2) returning a pidfd: Linux 5.2. */
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
/* waitid(2) on a pidfd: Linux 5.4. */
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The kernel's signal-set size for rt_sigprocmask(2) and rt_sigaction(2),
 * which glibc's 128-byte sigset_t is not. */
#define EVL__KSIGSET_SIZE (_NSIG / 8)

#endif
