/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* clock.xs - Linux::Event::Clock (a cached CLOCK_MONOTONIC reader) and
 * Linux::Event::Timer's timerfd helpers (the .pm is the API). */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static uint64_t rx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct rx_clock {
	IV now_ns;
	UV gen;
};

static struct rx_clock *rx_clock_of(pTHX_ SV *sv)
{
	if (SvROK(sv) && SvPOK(SvRV(sv)) && SvCUR(SvRV(sv)) == sizeof(struct rx_clock))
		return (struct rx_clock *)SvPVX(SvRV(sv));
	evlxs_croak(aTHX_ "not a Linux::Event::Clock");
	return NULL;
}

/* a + b where b may be fractional: integer when both are integers. */
static SV *rx_add_ns(pTHX_ IV now, SV *delta, NV scale)
{
	if (SvIOK(delta) && !SvNOK(delta) && scale == 1.0)
		return newSViv(now + SvIV(delta));
	{
		NV v = (NV)now + SvNV(delta) * scale;
		if (v == (NV)(IV)v)
			return newSViv((IV)v);
		return newSVnv(v);
	}
}

MODULE = Linux::Event::Clock	PACKAGE = Linux::Event::Clock

PROTOTYPES: DISABLE

SV *
_new(const char *class)
    PREINIT:
	struct rx_clock c;
	SV *body;
    CODE:
	c.now_ns = (IV)rx_now_ns();
	c.gen = 1;
	body = newSVpvn((const char *)&c, sizeof(c));
	RETVAL = sv_bless(newRV_noinc(body), gv_stashpv(class, GV_ADD));
    OUTPUT:
	RETVAL

IV
tick(SV *self)
    PREINIT:
	struct rx_clock *c;
    CODE:
	c = rx_clock_of(aTHX_ self);
	c->now_ns = (IV)rx_now_ns();
	c->gen++;
	RETVAL = c->now_ns;
    OUTPUT:
	RETVAL

UV
generation(SV *self)
    CODE:
	RETVAL = rx_clock_of(aTHX_ self)->gen;
    OUTPUT:
	RETVAL

IV
now_ns(SV *self)
    CODE:
	RETVAL = rx_clock_of(aTHX_ self)->now_ns;
    OUTPUT:
	RETVAL

NV
now_s(SV *self)
    CODE:
	RETVAL = (NV)rx_clock_of(aTHX_ self)->now_ns / 1e9;
    OUTPUT:
	RETVAL

IV
monotonic_ns(SV *self)
    CODE:
	PERL_UNUSED_VAR(self);
	RETVAL = (IV)rx_now_ns();
    OUTPUT:
	RETVAL

SV *
deadline_after(SV *self, SV *v = &PL_sv_undef)
    ALIAS:
	deadline_after_ms = 1
	deadline_after_us = 2
	deadline_in_ns = 3
    PREINIT:
	struct rx_clock *c;
    CODE:
	c = rx_clock_of(aTHX_ self);
	if (!SvOK(v))
		evlxs_croak(aTHX_ "%s requires %s",
		      ix == 0 ? "deadline_after" : ix == 1 ? "deadline_after_ms" :
		      ix == 2 ? "deadline_after_us" : "deadline_in_ns",
		      ix == 0 ? "seconds" : ix == 1 ? "ms" : ix == 2 ? "us" : "delta_ns");
	if (ix == 0)
		RETVAL = newSViv(c->now_ns + (IV)(SvNV(v) * 1e9));
	else
		RETVAL = rx_add_ns(aTHX_ c->now_ns, v, ix == 1 ? 1e6 : ix == 2 ? 1e3 : 1.0);
    OUTPUT:
	RETVAL

SV *
expired_ns(SV *self, SV *d = &PL_sv_undef)
    ALIAS:
	remaining_ns = 1
    PREINIT:
	struct rx_clock *c;
    CODE:
	c = rx_clock_of(aTHX_ self);
	if (!SvOK(d))
		evlxs_croak(aTHX_ "%s requires deadline_ns", ix ? "remaining_ns" : "expired_ns");
	if (ix == 0) {
		RETVAL = newSViv(SvNV(d) <= (NV)c->now_ns ? 1 : 0);
	} else if (SvIOK(d) && !SvNOK(d)) {
		IV r = SvIV(d) - c->now_ns;
		RETVAL = newSViv(r > 0 ? r : 0);
	} else {
		NV r = SvNV(d) - (NV)c->now_ns;
		RETVAL = r > 0 ? newSVnv(r) : newSViv(0);
	}
    OUTPUT:
	RETVAL

MODULE = Linux::Event::Clock	PACKAGE = Linux::Event::Timer

int
_timerfd_create(int clockid, int nonblocking, int cloexec)
    CODE:
	RETVAL = timerfd_create(clockid, (nonblocking ? TFD_NONBLOCK : 0) |
					  (cloexec ? TFD_CLOEXEC : 0));
	if (RETVAL < 0)
		evlxs_croak(aTHX_ "timerfd_create failed: %s", strerror(errno));
    OUTPUT:
	RETVAL

void
_timerfd_settime(int fd, NV value, NV interval)
    PREINIT:
	struct itimerspec its;
    PPCODE:
	if (value < 0)
		value = 0;
	if (interval < 0)
		interval = 0;
	its.it_value.tv_sec = (time_t)value;
	its.it_value.tv_nsec = (long)((value - (NV)its.it_value.tv_sec) * 1e9);
	its.it_interval.tv_sec = (time_t)interval;
	its.it_interval.tv_nsec = (long)((interval - (NV)its.it_interval.tv_sec) * 1e9);
	/* A positive value that rounds to nothing would disarm: 1 ns. */
	if (value > 0 && its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(fd, 0, &its, NULL) < 0)
		evlxs_croak(aTHX_ "timerfd_settime failed: %s", strerror(errno));
	XSRETURN_EMPTY;

UV
_timerfd_read(int fd)
    PREINIT:
	uint64_t ticks = 0;
	ssize_t n;
    CODE:
	do
		n = read(fd, &ticks, sizeof(ticks));
	while (n < 0 && errno == EINTR);
	RETVAL = n == sizeof(ticks) ? (UV)ticks : 0;
    OUTPUT:
	RETVAL

int
CLOCK_MONOTONIC()
    ALIAS:
	CLOCK_REALTIME = 1
	CLOCK_BOOTTIME = 2
    CODE:
	RETVAL = ix == 0 ? CLOCK_MONOTONIC : ix == 1 ? CLOCK_REALTIME : CLOCK_BOOTTIME;
    OUTPUT:
	RETVAL

