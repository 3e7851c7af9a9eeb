/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* fork.xs - Linux::Event::Fork's C half: evl_child (fork/) on a
 * Linux::Event loop, with Perl callbacks.
 *
 * The policy (argument checking, max_children, the queue, drain, the
 * Child / Request / Exit objects) is Perl, in Linux/Event/Fork.pm; what
 * runs per chunk and per child is here.  Linux::Event::Fork::XS::spawn
 * takes a Child object (a blessed hash) and a spec the Perl side has
 * already checked and normalised, starts the child, and attaches a
 * struct fx_child to the hash as ext magic.
 *
 * Lifetime.  While the child runs, fx holds a reference to its Child
 * object, to the loop object and to the callbacks, so a running child
 * keeps itself and its loop alive whatever the program drops.  All of
 * them are let go when on_exit has been called (or on cancel), which
 * breaks the cycle Child -> magic -> fx -> Child.  The magic's free hook
 * frees fx: with evl_child_free (kill and reap) normally, with
 * evl_child_detach during global destruction (the loop may be gone
 * already, and a program that exits should not kill what it started).
 *
 * Callbacks run through evlxs_call: an exception stops the loop and
 * leaves run() with it, and libevloop is never unwound through.  Every
 * SV handed to a callback is held across the call, since the callback
 * may cancel the child and so release fx's references.
 *
 * child => sub {...}: the fork path of evl_child_spawn calls
 * fx_child_main in the child after the setup; it runs the sub and, if
 * the sub dies or returns, writes the diagnostic and _exits 127.  An
 * `exit` in the sub leaves through perl's own exit, END blocks and all,
 * as with the seed's fork.
 */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"
#include "evloop-fork.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define FX_DIAG "Linux::Event::Fork child error: "

struct fx_child {
	evl_child c;		/* first: the C callbacks cast back */
#ifdef MULTIPLICITY
	PerlInterpreter *perl;
#endif
	struct evlxs_engine *eng;
	SV *self;		/* RV to the Child object, while running */
	SV *loop;		/* the loop object, while running */
	SV *on_out[3];		/* [1] on_stdout, [2] on_stderr */
	SV *chunk[3];		/* the SV chunks are passed in (fx_chunk_sv) */
	char *given[3];		/* the buffer of ours chunk[fd] holds, or NULL */
	size_t given_cap[3];
	int zero_copy;		/* a reactor: chunks may take the read buffer */
	SV *on_exit;
	SV *on_timeout;
	SV *on_stdin_error;
	SV *child_cb;		/* fork path: what the child runs */
};

static int fx_mg_free(pTHX_ SV *sv, MAGIC *mg);
/* A thread's clone of a Child shares nothing with the original: it is
 * inert, and the XS calls on it do nothing. */
static MGVTBL fx_vtbl = { 0, 0, 0, 0, fx_mg_free, 0, evlxs_dup_inert, 0 };

static struct fx_child *fx_of(pTHX_ SV *sv)
{
	MAGIC *mg = evlxs_magic(aTHX_ sv, &fx_vtbl);

	return mg ? (struct fx_child *)mg->mg_ptr : NULL;
}

/* Lets go of everything fx holds but self (the caller's to release
 * last, since that may free fx). */
static void fx_release(pTHX_ struct fx_child *fx)
{
	int i;
	SV *loop = fx->loop;

	for (i = 0; i < 3; i++) {
		SvREFCNT_dec(fx->on_out[i]);
		SvREFCNT_dec(fx->chunk[i]);
		fx->on_out[i] = fx->chunk[i] = NULL;
	}
	SvREFCNT_dec(fx->on_exit);
	SvREFCNT_dec(fx->on_timeout);
	SvREFCNT_dec(fx->on_stdin_error);
	SvREFCNT_dec(fx->child_cb);
	fx->on_exit = fx->on_timeout = fx->on_stdin_error = fx->child_cb = NULL;
	fx->loop = NULL;
	SvREFCNT_dec(loop);
}

static int fx_mg_free(pTHX_ SV *sv, MAGIC *mg)
{
	struct fx_child *fx = (struct fx_child *)mg->mg_ptr;

	PERL_UNUSED_ARG(sv);
	if (!fx)
		return 0;
	mg->mg_ptr = NULL;
	if (PL_phase == PERL_PHASE_DESTRUCT && evl_child_is_active(&fx->c)) {
		/* Objects die in no particular order now: the loop may be
		 * freed already, and so may the SVs fx points at; or the loop
		 * is freed later and still lists fx's watcher and timers.
		 * So: close the fds, leave the child be, and leave fx to the
		 * process's exit. */
		evl_child_detach(&fx->c);
		return 0;
	}
	evl_child_free(&fx->c);
	fx->self = NULL;	/* it is the SV being freed */
	if (PL_phase != PERL_PHASE_DESTRUCT)
		fx_release(aTHX_ fx);
	Safefree(fx);
	return 0;
}

/* ------------------------------------------------------------ callbacks */

/* Zero-copy hand-over of chunks needs perl to free PV buffers with the
 * system's free(), which a perl with its own malloc, or with a header in
 * front of every allocation, does not. */
#if !defined(MYMALLOC) && !defined(PERL_TRACK_MEMPOOL)
#define FX_ZERO_COPY 1
#else
#define FX_ZERO_COPY 0
#endif

/* The SV a chunk of child fd `fd` is passed in.  One SV per pipe carries
 * every chunk while the callbacks let it go; one that was kept (a
 * reference to $_[1], a copy sharing its buffer) is perl's from then on,
 * and the next chunk gets a new SV.
 *
 * On a reactor the bytes are not copied at all: the stream's read buffer
 * (filled by read(), cache-line aligned) becomes the SV's buffer, and the
 * SV's previous buffer, if perl left it alone, goes back to the stream
 * for the next read.  One copy, the kernel's, as with sysread; and no
 * copy from the aligned buffer into a malloc'd one, which some CPUs do
 * many times slower (see loop/buf.c).  A proactor may have a read in
 * flight into that buffer, so there the bytes are copied. */
static SV *fx_chunk_sv(pTHX_ struct fx_child *fx, int fd, const char *data, size_t len)
{
	SV *sv = fx->chunk[fd];
	evl_buf *rb = NULL;

	if (sv && (SvREFCNT(sv) > 1 || SvREADONLY(sv) || SvMAGICAL(sv) || SvIsCOW(sv) ||
		   SvTYPE(sv) != SVt_PV)) {
		SvREFCNT_dec(sv);
		sv = NULL;
	}
	if (!sv) {
		sv = fx->chunk[fd] = newSV_type(SVt_PV);
		fx->given[fd] = NULL;
	}
	if (FX_ZERO_COPY && fx->zero_copy) {
		evl_stream *s = evl_child_stream(&fx->c, fd);
		rb = s ? evl_stream_rbuf(s) : NULL;
		if (rb && !(rb->base == data && rb->head == 0 && rb->tail == len && rb->cap > len))
			rb = NULL;
	}
	if (!rb) {
		sv_setpvn(sv, data, len);
		fx->given[fd] = NULL;
		return sv;
	}
	{
		char *spare = NULL, *buf = rb->base;
		size_t spare_cap = 0, cap = rb->cap;

		if (SvLEN(sv) > 0 && !SvOOK(sv) && SvPVX(sv) == fx->given[fd] &&
		    SvLEN(sv) == fx->given_cap[fd]) {
			/* Ours, untouched: back to the stream. */
			spare = SvPVX(sv);
			spare_cap = SvLEN(sv);
			SvPV_set(sv, NULL);
			SvLEN_set(sv, 0);
		} else if (SvLEN(sv) > 0) {
			SvPV_free(sv);
			SvPV_set(sv, NULL);
			SvLEN_set(sv, 0);
		}
		rb->base = spare;
		rb->cap = spare_cap;
		rb->head = rb->tail = 0;
		buf[len] = '\0';
		SvPV_set(sv, buf);
		SvCUR_set(sv, len);
		SvLEN_set(sv, cap);
		SvPOK_only(sv);
		fx->given[fd] = buf;
		fx->given_cap[fd] = cap;
	}
	return sv;
}

static void fx_output(evl_child *c, int fd, const char *data, size_t len)
{
	struct fx_child *fx = (struct fx_child *)c;
	dEVLXS_THX(fx->perl);
	SV *args[2];
	SV *cb = fx->on_out[fd];

	if (!cb || !fx->self)
		return;
	args[1] = fx_chunk_sv(aTHX_ fx, fd, data, len);
	SvREFCNT_inc_simple_void_NN(args[1]);
	args[0] = SvREFCNT_inc_simple_NN(fx->self);
	SvREFCNT_inc_simple_void_NN(cb);
	evlxs_call(aTHX_ fx->eng, cb, args, 2);
	SvREFCNT_dec(cb);
	SvREFCNT_dec(args[1]);
	SvREFCNT_dec(args[0]);	/* may free fx */
}

static void fx_exit(evl_child *c, int status)
{
	struct fx_child *fx = (struct fx_child *)c;
	dEVLXS_THX(fx->perl);
	SV *self = fx->self, *cb = fx->on_exit;
	SV *args[2];

	fx->self = NULL;
	fx->on_exit = NULL;
	fx_release(aTHX_ fx);
	if (cb && self) {
		args[0] = self;
		args[1] = newSViv(status);
		evlxs_call(aTHX_ fx->eng, cb, args, 2);
		SvREFCNT_dec(args[1]);
	}
	SvREFCNT_dec(cb);
	SvREFCNT_dec(self);	/* may free fx */
}

static void fx_timeout(evl_child *c)
{
	struct fx_child *fx = (struct fx_child *)c;
	dEVLXS_THX(fx->perl);
	SV *cb = fx->on_timeout;
	SV *args[1];

	if (!cb || !fx->self)
		return;
	args[0] = SvREFCNT_inc_simple_NN(fx->self);
	SvREFCNT_inc_simple_void_NN(cb);
	evlxs_call(aTHX_ fx->eng, cb, args, 1);
	SvREFCNT_dec(cb);
	SvREFCNT_dec(args[0]);
}

static void fx_error(evl_child *c, int fd, int err)
{
	struct fx_child *fx = (struct fx_child *)c;
	dEVLXS_THX(fx->perl);
	SV *cb = fx->on_stdin_error;
	SV *args[2];

	if (fd != 0 || !cb || !fx->self)
		return;
	args[0] = SvREFCNT_inc_simple_NN(fx->self);
	args[1] = newSViv(-err);
	SvREFCNT_inc_simple_void_NN(cb);
	evlxs_call(aTHX_ fx->eng, cb, args, 2);
	SvREFCNT_dec(cb);
	SvREFCNT_dec(args[1]);
	SvREFCNT_dec(args[0]);
}

static const struct evl_child_callbacks fx_callbacks = {
	fx_output, fx_exit, fx_error, fx_timeout
};

/* In the forked child, after the setup: runs the code, and if it dies or
 * returns, says so on fd 2 ("Linux::Event::Fork child error: <msg>",
 * trailing whitespace made one newline) and exits 127 without END
 * blocks or stdio flushes. */
static int fx_child_main(void *arg)
{
	struct fx_child *fx = (struct fx_child *)arg;
	dEVLXS_THX(fx->perl);
	const char *msg = "child callback returned";
	STRLEN len = strlen(msg);
	struct iovec iov[3];

	{
		dSP;
		ENTER;
		SAVETMPS;
		PUSHMARK(SP);
		PUTBACK;
		call_sv(fx->child_cb, G_VOID | G_DISCARD | G_NOARGS | G_EVAL);
		if (SvTRUE(ERRSV))
			msg = SvPV(ERRSV, len);
		/* No FREETMPS/LEAVE: nothing here outlives the _exit. */
	}
	while (len > 0 && isSPACE(msg[len - 1]))
		len--;
	if (len > 0) {
		iov[0].iov_base = (void *)FX_DIAG;
		iov[0].iov_len = sizeof(FX_DIAG) - 1;
		iov[1].iov_base = (void *)msg;
		iov[1].iov_len = len;
		iov[2].iov_base = (void *)"\n";
		iov[2].iov_len = 1;
		if (writev(2, iov, 3) < 0) {
			/* nothing left to tell it to */
		}
	}
	_exit(127);
	return 127;
}

/* ------------------------------------------------------------ spawn */

static SV *spec_get(pTHX_ HV *hv, const char *key)
{
	SV **svp = hv_fetch(hv, key, (I32)strlen(key), 0);

	return svp && SvOK(*svp) ? *svp : NULL;
}

static SV *code_or_null(pTHX_ SV *sv)
{
	return evlxs_is_code(sv) ? newSVsv(sv) : NULL;
}

/* The strings of av as a NULL-terminated char ** (freed with the
 * caller's scope; the strings are av's own); *lenp gets the count. */
static char **strv_of_av(pTHX_ AV *av, SSize_t *lenp)
{
	SSize_t i, len = av_len(av) + 1;
	char **v;

	Newx(v, len + 1, char *);
	SAVEFREEPV(v);
	for (i = 0; i < len; i++) {
		SV **e = av_fetch(av, i, 0);
		v[i] = e ? SvPV_nolen(*e) : (char *)"";
	}
	v[len] = NULL;
	*lenp = len;
	return v;
}

/* What the child runs: cmd (an argv, exec'd through PATH) or child (a
 * sub).  Returns the sub, or NULL for cmd. */
static SV *spawn_program(pTHX_ HV *hv, evl_spawn_options *o)
{
	SV *sv;
	SSize_t len;

	if ((sv = spec_get(aTHX_ hv, "cmd")) && SvROK(sv) && SvTYPE(SvRV(sv)) == SVt_PVAV) {
		if (av_len((AV *)SvRV(sv)) < 0)
			evlxs_croak(aTHX_ "cmd must be an arrayref");
		o->argv = strv_of_av(aTHX_ (AV *)SvRV(sv), &len);
		o->flags |= EVL_SPAWN_PATH;
		return NULL;
	}
	if ((sv = spec_get(aTHX_ hv, "child")) && evlxs_is_code(sv)) {
		/* perl's handlers stay: the child runs perl code. */
		o->flags |= EVL_SPAWN_KEEP_SIGHANDLERS;
		return sv;
	}
	evlxs_croak(aTHX_ "cmd or child is required");
	return NULL;
}

/* The child's environment, directory, umask and process group. */
static void spawn_setting(pTHX_ HV *hv, evl_spawn_options *o)
{
	SV *sv;
	SSize_t len;

	if ((sv = spec_get(aTHX_ hv, "env")) && SvROK(sv) && SvTYPE(SvRV(sv)) == SVt_PVAV) {
		o->env = strv_of_av(aTHX_ (AV *)SvRV(sv), &len);
		o->n_env = (size_t)len;
	}
	if ((sv = spec_get(aTHX_ hv, "clear_env")) && SvTRUE(sv))
		o->flags |= EVL_SPAWN_CLEAR_ENV;
	if ((sv = spec_get(aTHX_ hv, "cwd")))
		o->cwd = SvPV_nolen(sv);
	if ((sv = spec_get(aTHX_ hv, "umask"))) {
		IV m = SvIV(sv);
		if (m < 0 || m > 0777)
			evlxs_croak(aTHX_ "umask out of range: %" IVdf, m);
		o->umask = (unsigned)m;
		o->flags |= EVL_SPAWN_UMASK;
	}
	if ((sv = spec_get(aTHX_ hv, "process_group")) && SvTRUE(sv))
		o->flags |= EVL_SPAWN_SETPGID;
}

/* The child's fds 0-2 into acts[0..2]; returns how many.  cb_out[1..2]
 * get the on_stdout/on_stderr of captured outputs. */
static size_t spawn_stdio(pTHX_ HV *hv, evl_fd_action acts[3], SV *cb_out[3])
{
	SV *sv;
	size_t n = 0;

	/* stdin: "pipe", "null" (the default) or "inherit". */
	sv = spec_get(aTHX_ hv, "stdin_mode");
	if (sv && strEQ(SvPV_nolen(sv), "pipe"))
		acts[n++] = (evl_fd_action){ .kind = EVL_FD_PIPE_IN, .fd = 0 };
	else if (!sv || !strEQ(SvPV_nolen(sv), "inherit"))
		acts[n++] = (evl_fd_action){ .kind = EVL_FD_DEVNULL, .fd = 0 };
	/* Output: a stream with callbacks (capture_*), or a raw pipe end
	 * for take_fd (*_raw, for a handle of the program's own). */
	if ((sv = spec_get(aTHX_ hv, "stdout_raw")) && SvTRUE(sv)) {
		acts[n++] = (evl_fd_action){ .kind = EVL_FD_PIPE_OUT, .fd = 1, .flags = EVL_FD_RAW };
	} else if ((sv = spec_get(aTHX_ hv, "capture_stdout")) && SvTRUE(sv)) {
		acts[n++] = (evl_fd_action){ .kind = EVL_FD_PIPE_OUT, .fd = 1 };
		cb_out[1] = spec_get(aTHX_ hv, "on_stdout");
	}
	if ((sv = spec_get(aTHX_ hv, "stderr_raw")) && SvTRUE(sv)) {
		acts[n++] = (evl_fd_action){ .kind = EVL_FD_PIPE_OUT, .fd = 2, .flags = EVL_FD_RAW };
	} else if ((sv = spec_get(aTHX_ hv, "capture_stderr")) && SvTRUE(sv)) {
		acts[n++] = (evl_fd_action){ .kind = EVL_FD_PIPE_OUT, .fd = 2 };
		cb_out[2] = spec_get(aTHX_ hv, "on_stderr");
	}
	return n;
}

/* Ties a started fx to the Child object: its callbacks, references and
 * magic (which owns fx from here), and its timeout. */
static void fx_adopt(pTHX_ struct fx_child *fx, SV *child, SV *loop, HV *hv,
		     SV *cb_out[3], NV tmo, NV tmo_kill)
{
	int i;

	for (i = 1; i <= 2; i++)
		fx->on_out[i] = code_or_null(aTHX_ cb_out[i]);
	fx->on_exit = code_or_null(aTHX_ spec_get(aTHX_ hv, "on_exit"));
	fx->on_timeout = code_or_null(aTHX_ spec_get(aTHX_ hv, "on_timeout"));
	fx->on_stdin_error = code_or_null(aTHX_ spec_get(aTHX_ hv, "on_stdin_error"));
	fx->self = newRV_inc(SvRV(child));
	fx->loop = newSVsv(loop);
	evlxs_magic_attach(aTHX_ SvRV(child), &fx_vtbl, fx);
	if (tmo > 0) {
		uint64_t ns = (uint64_t)(tmo * 1e9);
		evl_child_set_timeout(&fx->c, ns > 0 ? ns : 1,
				      tmo_kill > 0 ? (uint64_t)(tmo_kill * 1e9) : 0);
	}
}

/* The name of the step evl_child_exec_stage reports, as
 * Linux::Event::Fork::Exit's exec_stage gives it. */
static const char *fx_stage_name(int stage)
{
	switch (stage) {
	case EVL_STAGE_SETSID: return "setsid";
	case EVL_STAGE_SETPGID: return "setpgid";
	case EVL_STAGE_DUP2: return "dup2";
	case EVL_STAGE_OPEN: return "open";
	case EVL_STAGE_CHDIR: return "chdir";
	case EVL_STAGE_EXEC: return "exec";
	default: return "setup";	/* a stage newer than this file */
	}
}

MODULE = Linux::Event::Fork	PACKAGE = Linux::Event::Fork::XS

PROTOTYPES: DISABLE

 # Starts the child described by spec (checked by Fork.pm) and ties it to
 # the Child object child.  Returns the pid; croaks "fork: <strerror>"
 # (or "pipe: ..." when out of descriptors) on failure.
IV
spawn(SV *child, SV *loop, SV *spec)
    PREINIT:
	struct evlxs_engine *eng;
	struct fx_child *fx;
	HV *hv;
	SV *sv, *child_cb, *cb_out[3] = { NULL, NULL, NULL };
	evl_fd_action acts[3];
	evl_spawn_options o;
	int rc;
	NV tmo = 0, tmo_kill = 0;
    CODE:
	if (!SvROK(child) || SvTYPE(SvRV(child)) != SVt_PVHV)
		evlxs_croak(aTHX_ "Linux::Event::Fork::XS::spawn: child must be a hash reference");
	if (fx_of(aTHX_ child))
		evlxs_croak(aTHX_ "Linux::Event::Fork::XS::spawn: child already started");
	eng = evlxs_engine_from_sv(aTHX_ loop);
	if (!eng || !eng->loop)
		evlxs_croak(aTHX_ "Linux::Event::Fork::XS::spawn: loop is not a Linux::Event loop");
	if (!SvROK(spec) || SvTYPE(SvRV(spec)) != SVt_PVHV)
		evlxs_croak(aTHX_ "Linux::Event::Fork::XS::spawn: spec must be a hash reference");
	hv = (HV *)SvRV(spec);
	memset(&o, 0, sizeof(o));
	o.flags = EVL_SPAWN_EXIT_127;
	o.diag_prefix = FX_DIAG;

	/* Everything that can croak comes before fx exists; the arrays
	 * are freed when this call's scope ends. */
	child_cb = spawn_program(aTHX_ hv, &o);
	spawn_setting(aTHX_ hv, &o);
	o.n_actions = spawn_stdio(aTHX_ hv, acts, cb_out);
	o.actions = acts;
	if ((sv = spec_get(aTHX_ hv, "pipe_size")))
		o.pipe_size = (size_t)SvUV(sv);
	if ((sv = spec_get(aTHX_ hv, "timeout")))
		tmo = SvNV(sv);
	if ((sv = spec_get(aTHX_ hv, "timeout_kill")))
		tmo_kill = SvNV(sv);

	Newxz(fx, 1, struct fx_child);
#ifdef MULTIPLICITY
	fx->perl = aTHX;
#endif
	fx->eng = eng;
	fx->zero_copy = evl_loop_model(eng->loop) == EVL_REACTOR;
	/* A read that fills the read buffer to the last byte leaves no room
	 * for the NUL a zero-copy chunk needs: ask for a little less than
	 * the buffer's power-of-two size. */
	o.read_size = 256 * 1024 - 64;
	if (child_cb) {
		fx->child_cb = newSVsv(child_cb);
		o.child_fn = fx_child_main;
		o.child_arg = fx;
		/* The seed's fork flushed perl's buffers first (pp_fork
		 * does), or the child would write the parent's pending output
		 * a second time. */
		PerlIO_flush((PerlIO *)NULL);
	}
	rc = evl_child_spawn(eng->loop, &fx->c, &o, &fx_callbacks);
	if (rc < 0) {
		fx_release(aTHX_ fx);
		Safefree(fx);
		if (rc == -EMFILE || rc == -ENFILE)
			evlxs_croak(aTHX_ "pipe: %s", Strerror(-rc));
		evlxs_croak(aTHX_ "fork: %s", Strerror(-rc));
	}
	fx_adopt(aTHX_ fx, child, loop, hv, cb_out, tmo, tmo_kill);
	RETVAL = (IV)evl_child_pid(&fx->c);
    OUTPUT:
	RETVAL

 # How the child failed before running anything of its own, known when
 # spawn returns (the parent reads the child's error pipe until the exec,
 # or until a child sub's setup is done): (errno, step), step being
 # setsid, setpgid, dup2, open, chdir or exec; or an empty list.
void
exec_failure(SV *child)
    PREINIT:
	struct fx_child *fx;
	int err;
	const char *name;
    PPCODE:
	fx = fx_of(aTHX_ child);
	err = fx ? evl_child_exec_error(&fx->c) : 0;
	if (err < 0) {
		name = fx_stage_name(evl_child_exec_stage(&fx->c));
		EXTEND(SP, 2);
		mPUSHi(-err);
		mPUSHp(name, strlen(name));
	}

 # Signal number sig (0 probes; negative: the child's process group).
 # 1 on success, 0 on failure (with $! set) or once reaped.
int
kill(SV *child, int sig)
    PREINIT:
	struct fx_child *fx;
	int rc;
    CODE:
	fx = fx_of(aTHX_ child);
	if (!fx) {
		RETVAL = 0;
	} else {
		rc = sig < 0 ? evl_child_kill_group(&fx->c, -sig) : evl_child_kill(&fx->c, sig);
		if (rc < 0)
			SETERRNO(-rc, 0);
		RETVAL = rc == 0;
	}
    OUTPUT:
	RETVAL

 # Bytes written at once (the rest is queued), 0 when there is no stdin
 # pipe to write to (never made, closed, closing, or broken).
IV
stdin_write(SV *child, SV *bytes)
    PREINIT:
	struct fx_child *fx;
	const char *p;
	STRLEN len;
	ssize_t rc;
    CODE:
	fx = fx_of(aTHX_ child);
	RETVAL = 0;
	if (fx && SvOK(bytes)) {
		p = SvPVbyte(bytes, len);
		if (len > 0) {
			rc = evl_child_write(&fx->c, p, len);
			RETVAL = rc > 0 ? (IV)rc : 0;
		}
	}
    OUTPUT:
	RETVAL

 # The parent's end of a *_raw pipe on child fd 1 or 2, now the caller's;
 # undef if there is none (or it was taken).
SV *
take_fd(SV *child, int fd)
    PREINIT:
	struct fx_child *fx;
	int rc;
    CODE:
	fx = fx_of(aTHX_ child);
	rc = fx ? evl_child_take_fd(&fx->c, fd) : -EBADF;
	RETVAL = rc >= 0 ? newSViv(rc) : &PL_sv_undef;
    OUTPUT:
	RETVAL

 # Close-after-drain of the stdin pipe.  Always 1.
int
close_stdin(SV *child)
    PREINIT:
	struct fx_child *fx;
    CODE:
	fx = fx_of(aTHX_ child);
	if (fx)
		evl_child_close_stdin(&fx->c);
	RETVAL = 1;
    OUTPUT:
	RETVAL

UV
stdin_queued(SV *child)
    PREINIT:
	struct fx_child *fx;
    CODE:
	fx = fx_of(aTHX_ child);
	RETVAL = fx ? (UV)evl_child_stdin_queued(&fx->c) : 0;
    OUTPUT:
	RETVAL

 # 1 once the exit status was seen.
int
exited(SV *child)
    PREINIT:
	struct fx_child *fx;
    CODE:
	fx = fx_of(aTHX_ child);
	RETVAL = fx && evl_child_exited(&fx->c);
    OUTPUT:
	RETVAL

 # The raw wait status once seen, else undef.
SV *
status(SV *child)
    PREINIT:
	struct fx_child *fx;
    CODE:
	fx = fx_of(aTHX_ child);
	RETVAL = fx && evl_child_exited(&fx->c) ? newSViv(evl_child_status(&fx->c))
						: &PL_sv_undef;
    OUTPUT:
	RETVAL

int
timed_out(SV *child)
    PREINIT:
	struct fx_child *fx;
    CODE:
	fx = fx_of(aTHX_ child);
	RETVAL = fx && evl_child_timed_out(&fx->c);
    OUTPUT:
	RETVAL

 # A running child: killed (SIGKILL) and reaped, everything closed, no
 # callback.  1 if it was running, else 0.  Idempotent.
int
cancel(SV *child)
    PREINIT:
	struct fx_child *fx;
	SV *self;
    CODE:
	fx = fx_of(aTHX_ child);
	RETVAL = 0;
	if (fx && evl_child_is_active(&fx->c)) {
		RETVAL = evl_child_free(&fx->c);
		self = fx->self;
		fx->self = NULL;
		fx_release(aTHX_ fx);
		SvREFCNT_dec(self);	/* the caller still holds child */
	}
    OUTPUT:
	RETVAL
