/* layer-internal.h - private declarations shared by the layer files. */
#ifndef EVL_LAYER_INTERNAL_H
#define EVL_LAYER_INTERNAL_H

#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "perliol.h"

#include "evloop-perlio.h"

/* Internal results of the layer's fill and flush, beyond 0 and -1.
 * EVL__PIO_AGAIN: a non-blocking fd had nothing (errno EAGAIN, no error
 * flag).  EVL__PIO_GONE: a %SIG handler that ran while we waited closed
 * or popped the handle; the caller must return at once without touching
 * its layer struct, which may have been freed. */
#define EVL__PIO_AGAIN (-2)
#define EVL__PIO_GONE (-3)

/* The handle lock of perlio.c (PerlIO_lockcnt, private there): the
 * handle's table slot keeps a count in its flags word.  While it is
 * non-zero PerlIO_pop only marks layers PERLIO_F_CLEARED instead of
 * freeing them, which is what makes running Perl code in the middle of
 * a layer call survivable.  Introduced in perl 5.14 ("Make PerlIO
 * marginally reentrant", abf9167d3f); t/perlio-signals.t pins it. */
#define EVL__PIO_LOCKCNT(f) (((PerlIOl *)(void *)(f))->head->flags)

/* Takes the handle lock around code that may run Perl (a %SIG handler);
 * a die unwinds it.  Returns the slot to hand to evl__pio_unlock. */
PerlIOl *evl__pio_lock(pTHX_ PerlIO *f);
/* Drops the lock.  Returns 1 if f's layer was cleared meanwhile; when
 * the lock count reached zero, the cleared layers have then been freed,
 * f's included.  Returns 0 if f is intact. */
int evl__pio_unlock(pTHX_ PerlIO *f, PerlIOl *head);

/* Whether f's layer is :evloop (either copy of the code: the XS module
 * and libevloop-perlio may both be loaded in an embedding program). */
int evl__pio_is_evloop(PerlIO *f);

/* Whether the running op is eof(): see PerlIOEvloop_read. */
int evl__pio_in_eof_op(pTHX);

/* Warns in the "layer" category, as perl does for unknown layers. */
void evl__pio_warn(pTHX_ const char *fmt, const char *a, const char *b);

#endif
