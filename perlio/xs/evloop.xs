/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* evloop.xs - PerlIO::evloop: registers the :evloop and :evline layers. */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"
#include "perliol.h"

#include "layer-api.h"
#include "xs-internal.h"

#include <string.h>

/* The IO of a handle argument (a glob, a reference to one, or an IO::Handle
 * object), or NULL; *is_handle says whether it was a handle at all. */
static IO *handle_io(pTHX_ SV *sv, int *is_handle)
{
    *is_handle = 0;
    if (sv == NULL)
        return NULL;
    SvGETMAGIC(sv);
    if (SvROK(sv))
        sv = SvRV(sv);
    if (isGV_with_GP(sv)) {
        *is_handle = 1;
        return GvIO((GV *)sv);
    }
    if (SvTYPE(sv) == SVt_PVIO) {
        *is_handle = 1;
        return (IO *)sv;
    }
    return NULL;
}

MODULE = PerlIO::evloop		PACKAGE = PerlIO::evloop

PROTOTYPES: DISABLE

BOOT:
    PerlIO_define_layer(aTHX_ PERLIO_FUNCS_CAST(&PerlIOEvloop_funcs));
    PerlIO_define_layer(aTHX_ PERLIO_FUNCS_CAST(&PerlIOEvline_funcs));
    EVLXS_CALL_BOOT(boot_Linux__Event__Reactor);
    EVLXS_CALL_BOOT(boot_Linux__Event__Loop);
    EVLXS_CALL_BOOT(boot_Linux__Event__Watcher);
    EVLXS_CALL_BOOT(boot_Linux__Event__Clock);
    EVLXS_CALL_BOOT(boot_Linux__Event__Reactor__Backend__Epoll);
    EVLXS_CALL_BOOT(boot_Linux__Event__Proactor);
    EVLXS_CALL_BOOT(boot_Linux__Event__Operation);
    EVLXS_CALL_BOOT(boot_Linux__Event__Proactor__Backend__Uring);
    EVLXS_CALL_BOOT(boot_Linux__Event__Stream);
    EVLXS_CALL_BOOT(boot_Linux__Event__TLS);
    EVLXS_CALL_BOOT(boot_Linux__Event__Stream__Codec);
    EVLXS_CALL_BOOT(boot_Linux__Event__Fork);
    EVLXS_CALL_BOOT(boot_Linux__Event__Subscription);
    EVLXS_CALL_BOOT(boot_Linux__Event__Resolver);
    EVLXS_CALL_BOOT(boot_Linux__Event__SockOp);
    EVLXS_CALL_BOOT(boot_Linux__Event__Datagram);
    EVLXS_CALL_BOOT(boot_AnyEvent__Impl__LinuxEvent);

void
attach(fh = &PL_sv_undef, loop = &PL_sv_undef)
        SV *fh
        SV *loop
    PREINIT:
        IO *io;
        evl_loop *l;
        PerlIO *ifp, *ofp;
        int rc, is_handle;
    PPCODE:
        io = handle_io(aTHX_ fh, &is_handle);
        if (!is_handle)
            evlxs_croak(aTHX_ "PerlIO::evloop::attach: the first argument is not a file handle");
        ifp = io != NULL ? IoIFP(io) : NULL;
        ofp = io != NULL ? IoOFP(io) : NULL;
        if (ifp == NULL && ofp == NULL)
            evlxs_croak(aTHX_ "PerlIO::evloop::attach: the handle is not open");
        if ((ifp == NULL || evl_perlio_stream(aTHX_ ifp) == NULL) &&
            (ofp == NULL || evl_perlio_stream(aTHX_ ofp) == NULL))
            evlxs_croak(aTHX_ "PerlIO::evloop::attach: the handle has no :evloop layer "
                  "(binmode($fh, ':evloop') first)");
        l = evlxs_loop_from_sv(aTHX_ loop);
        if (l == NULL)
            evlxs_croak(aTHX_ "PerlIO::evloop::attach: the second argument is not a Linux::Event loop");
        /* A socket's two PerlIOs share one stream: attaching one moves
         * both.  The loop object is kept alive while the stream is. */
        rc = 0;
        if (ifp != NULL && evl_perlio_stream(aTHX_ ifp) != NULL)
            rc = evl__pio_attach(aTHX_ ifp, l, SvRV(loop));
        if (rc == 0 && ofp != NULL && ofp != ifp && evl_perlio_stream(aTHX_ ofp) != NULL)
            rc = evl__pio_attach(aTHX_ ofp, l, SvRV(loop));
        if (rc < 0)
            evlxs_croak(aTHX_ "PerlIO::evloop::attach: %s", strerror(-rc));
        XSRETURN_YES;
