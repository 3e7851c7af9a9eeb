#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# PerlIO::evloop::attach($fh, $loop): bad arguments croak with a message
# naming what is wrong, and leave the handle as it was.  (Attaching to real
# loops is t/perlio-attach.t, with the Linux::Event objects; the C side,
# evl_perlio_attach, is in t/check_perlio_embed.c.)
use strict;
use warnings;
use Test::More;
use Fcntl qw(F_GETFL O_NONBLOCK);
use lib 't/lib';
use EvlTest qw(temp_path);

require PerlIO::evloop;

my $path = temp_path();
{ open(my $w, '>', $path) or die; print $w "one\ntwo\n"; close $w }

sub croaks_like {
    my ($code, $re, $name) = @_;
    my $ok = eval { $code->(); 1 };
    ok(!$ok, "$name: croaks");
    like($@, $re, "$name: says why");
}

open(my $plain, '<', $path) or die;
croaks_like(sub { PerlIO::evloop::attach($plain, {}) },
            qr/^PerlIO::evloop::attach: the handle has no :evloop layer \(binmode\(\$fh, ':evloop'\) first\) at /,
            'a :perlio handle');
is(scalar <$plain>, "one\n", '... which still reads');
close $plain;

open(my $fh, '<:evloop', $path) or die;
croaks_like(sub { PerlIO::evloop::attach($fh, {}) },
            qr/^PerlIO::evloop::attach: the second argument is not a Linux::Event loop at /,
            'a plain hash as the loop');
croaks_like(sub { PerlIO::evloop::attach($fh, undef) },
            qr/the second argument is not a Linux::Event loop/, 'undef as the loop');
croaks_like(sub { PerlIO::evloop::attach($fh, 'Linux::Event::Loop') },
            qr/the second argument is not a Linux::Event loop/, 'a class name as the loop');
croaks_like(sub { PerlIO::evloop::attach($fh, bless {}, 'Linux::Event::Reactor') },
            qr/the second argument is not a Linux::Event loop/,
            'a blessed hash without the engine inside');
croaks_like(sub { PerlIO::evloop::attach($fh, bless { impl => {} }, 'Linux::Event::Loop') },
            qr/the second argument is not a Linux::Event loop/, 'a facade with no engine');
is(scalar <$fh>, "one\n", 'the :evloop handle still reads');
ok(!(fcntl($fh, F_GETFL, 0) & O_NONBLOCK), '... and its fd is still blocking');

croaks_like(sub { PerlIO::evloop::attach('STDIN-ish', {}) },
            qr/^PerlIO::evloop::attach: the first argument is not a file handle at /, 'a string');
croaks_like(sub { PerlIO::evloop::attach([], {}) },
            qr/the first argument is not a file handle/, 'an array reference');
croaks_like(sub { PerlIO::evloop::attach(\*NEVER_OPENED, {}) },
            qr/^PerlIO::evloop::attach: the handle is not open at /, 'a glob never opened');
close $fh;
croaks_like(sub { PerlIO::evloop::attach($fh, {}) },
            qr/the handle is not open/, 'a closed handle');
croaks_like(sub { PerlIO::evloop::attach($fh) },
            qr/^PerlIO::evloop::attach: the handle is not open at /, 'one argument: the checks, no Usage line');

done_testing;
