/* SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later */
/* codec.xs - the decode subs of the built-in Linux::Event::Stream codecs
 * (Line, Netstring, U32BE): libevloop's C framers, the ones a Stream
 * runs, over the caller's buffer, so that framing is parsed in one place.
 *
 * _decode($codec, \$buf, \@out) keeps the Perl codecs' contract: complete
 * frames are pushed to @out and cut from the front of $buf; it returns
 * (1) when it wants more bytes and (0, $why) on a framing error, leaving
 * the bad frame in $buf.  Two rules of the Perl codecs are kept on top of
 * the framers: a line or a netstring header is judged only once its end
 * ("\n", ':') is in the buffer, and max_line / max_frame are checked
 * against the codec's own value (undef: no limit), with the same texts.
 * Two differences remain, both on input that is refused either way: a
 * max_frame below 1 (which the C framer cannot express) refuses a 1-byte
 * frame once it is complete rather than at its header; and a netstring
 * length whose digits pass max_frame before a non-digit ("123x:" with
 * max_frame 5) is "frame too large" where the Perl codec said "invalid
 * netstring length" (the framer judges each digit as it comes, as a
 * Stream needs).  The buffer is taken as bytes (a UTF-8 string is downgraded; one
 * that cannot be is split as bytes, its pieces keep the UTF-8 flag). */
#define PERL_NO_GET_CONTEXT
#include "xs-internal.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* The codec's limit: NULL when undefined (no limit). */
static SV *codec_limit(pTHX_ SV *codec, const char *key, I32 klen)
{
	SV **svp;

	if (!SvROK(codec) || SvTYPE(SvRV(codec)) != SVt_PVHV)
		evlxs_croak(aTHX_ "codec must be a hashref");
	svp = hv_fetch((HV *)SvRV(codec), key, klen, 0);
	if (!svp)
		return NULL;
	SvGETMAGIC(*svp);
	return SvOK(*svp) ? *svp : NULL;
}

/* The C framer's max_len for a Perl limit of max bytes (less reserve):
 * the framer cannot say 0, so limits below 1 go to 1 and the caller
 * checks each frame against the Perl limit itself. */
static size_t framer_max(pTHX_ SV *max, size_t reserve)
{
	NV m;

	if (!max)
		return SIZE_MAX;
	m = SvNV_nomg(max) - (NV)reserve;
	if (m < 1)
		return 1;
	if (m >= (NV)SIZE_MAX)
		return SIZE_MAX;
	return (size_t)m;
}

/* Runs fr over $$bufref, pushing frames to @$outref.  need: the byte
 * that ends a header (-1: none); reserve: bytes of a frame that count
 * against max beyond the payload; keep_delim: push whole frames.
 * Returns the error text (a new SV) or NULL when it wants more bytes. */
static SV *codec_decode(pTHX_ evl_framer *fr, SV *bufref, SV *outref, SV *max,
			int need, size_t reserve, int keep_delim, const char *too_large)
{
	SV *buf;
	AV *out;
	const char *p;
	STRLEN len;
	size_t used = 0, off, plen, flen;
	int rc, utf8 = 0;
	SV *why = NULL;

	if (!SvROK(bufref) || !SvROK(outref) || SvTYPE(SvRV(outref)) != SVt_PVAV)
		evlxs_croak(aTHX_ "decode: (codec, \\$buffer, \\@out) expected");
	buf = SvRV(bufref);
	out = (AV *)SvRV(outref);
	(void)SvPV_force(buf, len);
	if (SvUTF8(buf) && !sv_utf8_downgrade(buf, TRUE))
		utf8 = 1;
	p = SvPV_nomg(buf, len);
	for (;;) {
		if (need >= 0 && !memchr(p + used, need, len - used)) {
			rc = 0;
			break;
		}
		rc = evl_framer_next(fr, p + used, len - used, &off, &plen, &flen);
		if (rc == 1 && max && (NV)(plen + reserve) > SvNV_nomg(max))
			rc = -EMSGSIZE;
		if (rc != 1)
			break;
		{
			SV *f = newSVpvn(p + used + (keep_delim ? 0 : off),
					 keep_delim ? flen : plen);
			if (utf8)
				SvUTF8_on(f);
			av_push(out, f);
		}
		used += flen;
	}
	if (rc == -EMSGSIZE && max)
		why = newSVpvf("%s (>%" SVf " bytes)", too_large, SVfARG(max));
	else if (rc < 0 && rc != -EMSGSIZE)
		why = newSVpv(evl_framer_strerror(fr), 0);
	/* (Without a limit only a length past SIZE_MAX is too large: the
	 * Perl codecs waited for such a frame forever, and so does this.) */
	if (used > 0)
		sv_chop(buf, p + used);
	SvSETMAGIC(buf);
	return why;
}

static SV *codec_opt(pTHX_ HV *c, const char *key)
{
	SV **svp = hv_fetch(c, key, strlen(key), 0);

	return svp && SvOK(*svp) ? *svp : NULL;
}

int evlxs_framer_setup(pTHX_ SV *codec, const char *kind, size_t cap, evl_framer *fr)
{
	struct evl_framer_options o;
	HV *c;
	SV *v;
	size_t max = SIZE_MAX;

	if (!SvROK(codec) || SvTYPE(SvRV(codec)) != SVt_PVHV)
		return -EINVAL;
	c = (HV *)SvRV(codec);
	memset(&o, 0, sizeof(o));
	if ((v = codec_opt(aTHX_ c, "max_frame")) && SvNV(v) < (NV)SIZE_MAX)
		max = SvNV(v) < 1 ? 1 : (size_t)SvNV(v);
	if (cap && cap < max)
		max = cap;
	if (strEQ(kind, "delimiter")) {
		STRLEN dl = 0;
		o.kind = EVL_FRAMER_DELIMITER;
		if ((v = codec_opt(aTHX_ c, "delimiter")))
			o.delim = SvPVbyte(v, dl);
		o.delim_len = dl;
		if ((v = codec_opt(aTHX_ c, "strip_cr")) && SvTRUE(v))
			o.flags |= EVL_FRAMER_STRIP_CR;
	} else if (strEQ(kind, "fixed")) {
		o.kind = EVL_FRAMER_FIXED;
		o.record_len = (v = codec_opt(aTHX_ c, "size")) ? (size_t)SvUV(v) : 0;
		/* A record is its own limit: it never waits past its size. */
		max = o.record_len ? o.record_len : 1;
	} else if (strEQ(kind, "length_prefix")) {
		o.kind = EVL_FRAMER_LENGTH_PREFIX;
		o.prefix_len = (v = codec_opt(aTHX_ c, "bytes")) ? (unsigned)SvUV(v) : 4;
		if ((v = codec_opt(aTHX_ c, "endian")) && strEQ(SvPV_nolen(v), "little"))
			o.flags |= EVL_FRAMER_LITTLE_ENDIAN;
		o.adjust = (v = codec_opt(aTHX_ c, "adjust")) ? (int64_t)SvIV(v) : 0;
	} else if (strEQ(kind, "varint")) {
		o.kind = EVL_FRAMER_VARINT;
	} else {
		return -EINVAL;
	}
	o.max_len = max;
	return evl_framer_init_ex(fr, &o);
}

/* The decode subs' return: (1), or (0, $why). */
#define DECODE_RETURN(why) STMT_START {				\
		if (why) {					\
			EXTEND(SP, 2);				\
			mPUSHi(0);				\
			mPUSHs(why);				\
		} else {					\
			mXPUSHi(1);				\
		}						\
	} STMT_END

MODULE = Linux::Event::Stream::Codec	PACKAGE = Linux::Event::Stream::Codec::Line

PROTOTYPES: DISABLE

void
_decode(SV *codec, SV *bufref, SV *outref)
    PREINIT:
	evl_framer fr;
	SV *max, **chomp, *why;
    PPCODE:
	max = codec_limit(aTHX_ codec, "max_line", 8);
	/* max_line counts the "\n"; the framer's limit is the payload. */
	if (evl_framer_init(&fr, EVL_FRAMER_LINE, 0, framer_max(aTHX_ max, 1), NULL, 0) < 0)
		evlxs_croak(aTHX_ "decode: framer setup failed");
	chomp = hv_fetchs((HV *)SvRV(codec), "chomp", 0);
	why = codec_decode(aTHX_ &fr, bufref, outref, max, '\n', 1,
			   !(chomp && SvTRUE(*chomp)), "line too long");
	DECODE_RETURN(why);

MODULE = Linux::Event::Stream::Codec	PACKAGE = Linux::Event::Stream::Codec::Netstring

void
_decode(SV *codec, SV *bufref, SV *outref)
    PREINIT:
	evl_framer fr;
	SV *max, *why;
    PPCODE:
	max = codec_limit(aTHX_ codec, "max_frame", 9);
	if (evl_framer_init(&fr, EVL_FRAMER_NETSTRING, EVL_FRAMER_LEADING_ZEROS,
			    framer_max(aTHX_ max, 0), NULL, 0) < 0)
		evlxs_croak(aTHX_ "decode: framer setup failed");
	why = codec_decode(aTHX_ &fr, bufref, outref, max, ':', 0, 0,
			   "frame too large");
	DECODE_RETURN(why);

MODULE = Linux::Event::Stream::Codec	PACKAGE = Linux::Event::Stream::Codec::U32BE

void
_decode(SV *codec, SV *bufref, SV *outref)
    PREINIT:
	evl_framer fr;
	SV *max, *why;
    PPCODE:
	max = codec_limit(aTHX_ codec, "max_frame", 9);
	if (evl_framer_init(&fr, EVL_FRAMER_U32BE, 0, framer_max(aTHX_ max, 0), NULL, 0) < 0)
		evlxs_croak(aTHX_ "decode: framer setup failed");
	why = codec_decode(aTHX_ &fr, bufref, outref, max, -1, 0, 0,
			   "frame too large");
	DECODE_RETURN(why);

MODULE = Linux::Event::Stream::Codec	PACKAGE = Linux::Event::Stream::Codec

void
_framer_decode(SV *codec, SV *bufref, SV *outref)
    PREINIT:
	evl_framer fr;
	SV *kind, *max, *why;
    PPCODE:
	kind = codec_limit(aTHX_ codec, "kind", 4);
	if (!kind || evlxs_framer_setup(aTHX_ codec, SvPV_nolen(kind), 0, &fr) < 0)
		evlxs_croak(aTHX_ "decode: framer setup failed");
	/* A fixed record's size is its limit, not a frame too large. */
	max = strEQ(SvPV_nolen(kind), "fixed") ? NULL : codec_limit(aTHX_ codec, "max_frame", 9);
	why = codec_decode(aTHX_ &fr, bufref, outref, max, -1, 0, 0, "frame too large");
	DECODE_RETURN(why);

SV *
_framer_encode(SV *codec, SV *msg = &PL_sv_undef)
    PREINIT:
	evl_framer fr;
	SV *kind;
	char head[EVL_FRAMER_HEAD_MAX], tail[EVL_FRAMER_TAIL_MAX];
	size_t hl = 0, tl = 0;
	const char *p = "";
	STRLEN n = 0;
	int rc;
    CODE:
	kind = codec_limit(aTHX_ codec, "kind", 4);
	if (!kind || evlxs_framer_setup(aTHX_ codec, SvPV_nolen(kind), 0, &fr) < 0)
		evlxs_croak(aTHX_ "encode: framer setup failed");
	if (SvOK(msg))
		p = SvPVbyte(msg, n);
	rc = evl_framer_encode(&fr, n, head, &hl, tail, &tl);
	if (rc < 0)
		evlxs_croak(aTHX_ "encode: a message of %lu bytes does not fit the %s codec "
			    "(over max_frame, beyond what the length field holds, or not "
			    "the record size)", (unsigned long)n, SvPV_nolen(kind));
	RETVAL = newSV(hl + n + tl + 1);
	SvPOK_on(RETVAL);
	memcpy(SvPVX(RETVAL), head, hl);
	memcpy(SvPVX(RETVAL) + hl, p, n);
	memcpy(SvPVX(RETVAL) + hl + n, tail, tl);
	SvCUR_set(RETVAL, hl + n + tl);
	*SvEND(RETVAL) = '\0';
    OUTPUT:
	RETVAL
