/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* fuzz-layer.c - libFuzzer harness for the :evloop and :evline PerlIO
 * layers, differential against :perlio.
 *
 * An embedded perl runs the driver fuzz/fuzz-layer.pl (compiled in as a
 * string, fuzz/fuzz-layer-pl.h, made by make fuzz): it decodes each input
 * into a handle (a file in one of the six open modes, either end of a
 * pipe, a socketpair with a peer feeding bytes) and a sequence of
 * operations (print, printf, syswrite, readline with every kind of $/,
 * read, sysread, getc, eof, seek, tell, ungetc, truncate, :pop and push,
 * :evline off and on, flush, autoflush, close and reopen, blocking
 * toggles, peer writes, reads and shutdown), runs it over :perlio and
 * over :evloop (or :evloop:evline) and compares the transcripts.  A
 * difference is printed and aborts, so libFuzzer keeps the input.
 * EVL_FUZZ_LAYER_TOGGLE=0 leaves the :evline off/on toggle out.  Replay
 * an input with fuzz/layer FILE, or over the built XS module with
 * perl -Mblib and fuzz-layer.pl's EvlFuzzLayer::run.
 *
 * The layers' C (perlio/layer-*.c) and libevloop are compiled into this
 * binary with coverage instrumentation and registered with
 * PerlIO_define_layer, as the XS module PerlIO::evloop does at boot;
 * the module itself (a gcc build without coverage) is not loaded.  Core
 * XS modules (Socket, Fcntl, IO, File::Temp's helpers) load through
 * DynaLoader from perl's own directories.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include <EXTERN.h>
#include <perl.h>
#include <perliol.h>
#include <XSUB.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "evloop-perlio.h"
#include "fuzz-layer-pl.h"

/* The inputs that matter are short programs; a long one only takes
 * longer to run. */
#define INPUT_MAX 4096

/* perl's interpreter lives for the whole process: its SV arenas, its
 * string table and the caches of the modules it loads are never given
 * back to malloc between inputs, which LeakSanitizer's per-input check
 * (and its check at exit) would report as leaks of every input.  The
 * layers' own leaks are caught by make check-valgrind (t/valgrind-perl.supp
 * covers perl's) and by the C suites under ASan, so leak detection is off
 * here, not ASan. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}

static PerlInterpreter *my_perl;   /* the name aTHX expands to */

EXTERN_C void boot_DynaLoader(pTHX_ CV *cv);

static void xs_init(pTHX)
{
    newXS("DynaLoader::boot_DynaLoader", boot_DynaLoader, __FILE__);
}

/* libFuzzer ends with exit() and perl is never destructed: drop the
 * driver's temporary directory (a File::Temp object) by hand. */
static void remove_temp_dir(void)
{
    eval_pv("undef $EvlFuzzLayer::DIR", FALSE);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char *args[] = { "fuzz-layer", "-e", "0", NULL };
    static char *empty_env[] = { NULL };
    char **env = empty_env;
    (void)argc;
    (void)argv;
    PERL_SYS_INIT3(argc, argv, &env);
    my_perl = perl_alloc();
    perl_construct(my_perl);
    PL_exit_flags |= PERL_EXIT_DESTRUCT_END;
    if (perl_parse(my_perl, xs_init, 3, args, NULL) != 0 || perl_run(my_perl) != 0) {
        fprintf(stderr, "fuzz-layer: perl did not start\n");
        abort();
    }
    PerlIO_define_layer(aTHX_ PERLIO_FUNCS_CAST(&PerlIOEvloop_funcs));
    PerlIO_define_layer(aTHX_ PERLIO_FUNCS_CAST(&PerlIOEvline_funcs));
    eval_pv(fuzz_layer_pl, FALSE);
    if (SvTRUE(ERRSV)) {
        fprintf(stderr, "fuzz-layer: the driver does not compile: %s\n", SvPV_nolen(ERRSV));
        abort();
    }
    atexit(remove_temp_dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > INPUT_MAX)
        return 0;
    dSP;
    ENTER;
    SAVETMPS;
    PUSHMARK(SP);
    mXPUSHs(newSVpvn((const char *)data, size));
    PUTBACK;
    int n = call_pv("EvlFuzzLayer::run", G_SCALAR | G_EVAL);
    SPAGAIN;
    SV *res = n == 1 ? POPs : &PL_sv_undef;
    if (SvTRUE(ERRSV)) {
        /* The driver died: a layer croaked or misbehaved where :perlio
         * does not, or the driver has a bug; either way, keep the input. */
        fprintf(stderr, "fuzz-layer: the driver died: %s\n", SvPV_nolen(ERRSV));
        abort();
    }
    if (SvOK(res) && SvCUR(res) > 0) {
        fprintf(stderr, "fuzz-layer: :evloop disagrees with :perlio:\n%s", SvPV_nolen(res));
        abort();
    }
    PUTBACK;
    FREETMPS;
    LEAVE;
    return 0;
}
