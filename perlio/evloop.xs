/* evloop.xs - PerlIO::evloop: registers the :evloop and :evline layers. */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"
#include "perliol.h"

#include "evloop-perlio.h"
#include "xs-internal.h"

MODULE = PerlIO::evloop		PACKAGE = PerlIO::evloop

PROTOTYPES: DISABLE

BOOT:
    PerlIO_define_layer(aTHX_ PERLIO_FUNCS_CAST(&PerlIOEvloop_funcs));
    PerlIO_define_layer(aTHX_ PERLIO_FUNCS_CAST(&PerlIOEvline_funcs));
    EVLXS_CALL_BOOT(boot_Linux__Event__Reactor);
    EVLXS_CALL_BOOT(boot_Linux__Event__Proactor);
    EVLXS_CALL_BOOT(boot_Linux__Event__Fork);
