/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* backend-epoll.xs - Linux::Event::Reactor::Backend::Epoll: the raw epoll
 * backend contract (_add/_mod/_del/run_once with a mask and a callback
 * per fd), standalone: it does not go through libevloop's loop.  The
 * mask bits are the reactor's (reactor-internal.h). */
#define PERL_NO_GET_CONTEXT
#include "reactor-internal.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

struct be_entry {
	SV *fh, *cb, *tag, *loop;
	UV mask;
	uint32_t gen;
	int used;
};

struct be_epoll {
	int epfd;
	int edge, oneshot;	/* defaults OR-ed into every registration */
	struct be_entry *ents;
	size_t nents;
	uint32_t gen;
};

static int be_free(pTHX_ SV *sv, MAGIC *mg);
static int be_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param);
static MGVTBL be_vtbl = { 0, 0, 0, 0, be_free, 0, be_dup, 0 };

/* A new thread's copy is not inert but empty: it watches nothing and
 * has no epoll fd, so its methods still answer (with EBADF where they
 * need the fd). */
static int be_dup(pTHX_ MAGIC *mg, CLONE_PARAMS *param)
{
	struct be_epoll *be;

	PERL_UNUSED_ARG(param);
	Newxz(be, 1, struct be_epoll);
	be->epfd = -1;
	mg->mg_ptr = (char *)be;
	return 0;
}

static struct be_epoll *be_of(pTHX_ SV *sv)
{
	MAGIC *mg = evlxs_magic(aTHX_ sv, &be_vtbl);

	if (!mg)
		evlxs_croak(aTHX_ "not a Linux::Event::Reactor::Backend::Epoll");
	return (struct be_epoll *)mg->mg_ptr;
}

static void be_entry_clear(pTHX_ struct be_entry *e)
{
	SvREFCNT_dec(e->fh);
	SvREFCNT_dec(e->cb);
	SvREFCNT_dec(e->tag);
	SvREFCNT_dec(e->loop);
	e->fh = e->cb = e->tag = e->loop = NULL;
	e->used = 0;
}

static int be_free(pTHX_ SV *sv, MAGIC *mg)
{
	struct be_epoll *be = (struct be_epoll *)mg->mg_ptr;
	size_t i;

	PERL_UNUSED_ARG(sv);
	for (i = 0; i < be->nents; i++)
		if (be->ents[i].used)
			be_entry_clear(aTHX_ &be->ents[i]);
	Safefree(be->ents);
	if (be->epfd >= 0)
		close(be->epfd);
	Safefree(be);
	return 0;
}

static uint32_t be_events(struct be_epoll *be, UV mask)
{
	uint32_t ev = 0;

	if (mask & RX_READABLE)
		ev |= EPOLLIN;
	if (mask & RX_WRITABLE)
		ev |= EPOLLOUT;
	if (mask & RX_PRIO)
		ev |= EPOLLPRI;
	if (mask & RX_RDHUP)
		ev |= EPOLLRDHUP;
	if ((mask & RX_ET) || be->edge)
		ev |= EPOLLET;
	if ((mask & RX_ONESHOT) || be->oneshot)
		ev |= EPOLLONESHOT;
	return ev;
}

static UV be_mask(uint32_t ev)
{
	UV m = 0;

	if (ev & EPOLLIN)
		m |= RX_READABLE;
	if (ev & EPOLLOUT)
		m |= RX_WRITABLE;
	if (ev & EPOLLPRI)
		m |= RX_PRIO;
	if (ev & EPOLLRDHUP)
		m |= RX_RDHUP;
	if (ev & EPOLLERR)
		m |= RX_ERR;
	if (ev & EPOLLHUP)
		m |= RX_HUP;
	return m;
}

static struct be_entry *be_entry_for(struct be_epoll *be, IV fd)
{
	if (fd < 0 || (size_t)fd >= be->nents || !be->ents[fd].used)
		return NULL;
	return &be->ents[fd];
}

MODULE = Linux::Event::Reactor::Backend::Epoll	PACKAGE = Linux::Event::Reactor::Backend::Epoll

PROTOTYPES: DISABLE

void
_init(SV *self, int edge, int oneshot)
    PREINIT:
	struct be_epoll *be;
	int fd;
    PPCODE:
	if (!SvROK(self) || SvTYPE(SvRV(self)) != SVt_PVHV)
		evlxs_croak(aTHX_ "Linux::Event::Reactor::Backend::Epoll::_init: not a hash");
	fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0)
		evlxs_croak(aTHX_ "epoll_create1 failed: %s", strerror(errno));
	Newxz(be, 1, struct be_epoll);
	be->epfd = fd;
	be->edge = edge;
	be->oneshot = oneshot;
	evlxs_magic_attach(aTHX_ SvRV(self), &be_vtbl, be);
	XSRETURN_EMPTY;

int
_exists(SV *self, IV fd)
    CODE:
	RETVAL = be_entry_for(be_of(aTHX_ self), fd) != NULL;
    OUTPUT:
	RETVAL

void
_add(SV *self, SV *fh, IV fd, UV mask, SV *cb, SV *loop, SV *tag)
    PREINIT:
	struct be_epoll *be;
	struct be_entry *e;
	struct epoll_event ev;
    PPCODE:
	be = be_of(aTHX_ self);
	if (fd < 0 || fd > 0x7fffffff)
		evlxs_croak(aTHX_ "fh has no fileno");
	if ((size_t)fd >= be->nents) {
		size_t n = be->nents ? be->nents : 64;
		while (n <= (size_t)fd)
			n *= 2;
		Renew(be->ents, n, struct be_entry);
		memset(be->ents + be->nents, 0, (n - be->nents) * sizeof(*be->ents));
		be->nents = n;
	}
	e = &be->ents[fd];
	e->gen = ++be->gen;
	memset(&ev, 0, sizeof(ev));
	ev.events = be_events(be, mask);
	ev.data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)e->gen << 32;
	if (epoll_ctl(be->epfd, EPOLL_CTL_ADD, (int)fd, &ev) < 0)
		evlxs_croak(aTHX_ "Couldn't add filehandle to epoll set: %s", strerror(errno));
	e->fh = newSVsv(fh);
	e->cb = newSVsv(cb);
	e->loop = newSVsv(loop);
	e->tag = newSVsv(tag);
	e->mask = mask;
	e->used = 1;
	XSRETURN_EMPTY;

int
_mod(SV *self, IV fd, UV mask, int has_loop, SV *loop, int has_tag, SV *tag)
    PREINIT:
	struct be_epoll *be;
	struct be_entry *e;
	struct epoll_event ev;
    CODE:
	be = be_of(aTHX_ self);
	e = be_entry_for(be, fd);
	RETVAL = 0;
	if (e) {
		if (has_loop)
			sv_setsv(e->loop, loop);
		if (has_tag)
			sv_setsv(e->tag, tag);
		e->mask = mask;
		memset(&ev, 0, sizeof(ev));
		ev.events = be_events(be, mask);
		ev.data.u64 = (uint64_t)(uint32_t)fd | (uint64_t)e->gen << 32;
		/* Always a MOD, even for an unchanged mask: it re-arms ONESHOT. */
		if (epoll_ctl(be->epfd, EPOLL_CTL_MOD, (int)fd, &ev) < 0)
			evlxs_croak(aTHX_ "Couldn't modify filehandle in epoll set: %s", strerror(errno));
		RETVAL = 1;
	}
    OUTPUT:
	RETVAL

int
_del(SV *self, IV fd)
    PREINIT:
	struct be_epoll *be;
	struct be_entry *e;
    CODE:
	be = be_of(aTHX_ self);
	e = be_entry_for(be, fd);
	RETVAL = 0;
	if (e) {
		/* EBADF/ENOENT: closed behind our back, already gone. */
		(void)epoll_ctl(be->epfd, EPOLL_CTL_DEL, (int)fd, NULL);
		be_entry_clear(aTHX_ e);
		be->gen++;
		RETVAL = 1;
	}
    OUTPUT:
	RETVAL

int
run_once(SV *self, SV *loop = &PL_sv_undef, SV *timeout = &PL_sv_undef)
    PREINIT:
	struct be_epoll *be;
	struct epoll_event evs[256];
	int n, i, ms = -1;
	SV *err = NULL;
    CODE:
	PERL_UNUSED_VAR(loop);
	be = be_of(aTHX_ self);
	if (SvOK(timeout)) {
		NV t = SvNV(timeout) * 1000.0;
		NV c = t <= 0 ? 0 : (NV)(IV)t;
		if (c < t)
			c += 1;	/* round up: never wake before the deadline */
		ms = c > 2147483647.0 ? 2147483647 : (int)c;
	}
	n = epoll_wait(be->epfd, evs, 256, ms);
	if (n < 0) {
		n = 0;	/* EINTR: the %SIG handlers run below */
	}
	ENTER;
	SvREFCNT_inc_simple_void_NN(SvRV(self));
	SAVEFREESV(SvRV(self));
	for (i = 0; i < n; i++) {
		int fd = (int)(uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		struct be_entry *e = be_entry_for(be, fd);
		SV *args[5], *cb;
		dSP;
		if (!e || e->gen != gen)
			continue;	/* unwatched or replaced by an earlier callback */
		cb = sv_2mortal(newSVsv(e->cb));
		args[0] = sv_2mortal(newSVsv(e->loop));
		args[1] = sv_2mortal(newSVsv(e->fh));
		args[2] = sv_2mortal(newSViv(fd));
		args[3] = sv_2mortal(newSVuv(be_mask(evs[i].events)));
		args[4] = sv_2mortal(newSVsv(e->tag));
		PUSHMARK(SP);
		EXTEND(SP, 5);
		PUSHs(args[0]); PUSHs(args[1]); PUSHs(args[2]); PUSHs(args[3]); PUSHs(args[4]);
		PUTBACK;
		call_sv(cb, G_VOID | G_DISCARD | G_EVAL);
		if (SvTRUE(ERRSV) && !err)
			err = sv_2mortal(newSVsv(ERRSV));
	}
	LEAVE;
	if (err)
		croak_sv(err);
	rx_async_check(aTHX);
	RETVAL = n;
    OUTPUT:
	RETVAL
