#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# on_message and on_read get the same SV again for the next message when
# the callback kept nothing of it (issue 18 item 7: no allocation per
# message), and never when it did: a message stored by value (a copy that
# shares the buffer), a reference to it, a weak reference, a changed type
# or UTF-8 flag.  Every message arrives intact whatever the callbacks did
# to earlier ones.  Reactor and proactor loops.
use v5.36;
use Test::More;
use Socket qw(AF_UNIX SOCK_STREAM PF_UNSPEC);
use Scalar::Util qw(weaken);
use B ();
use IO::Handle;
use Linux::Event;
use Linux::Event::Stream;

sub pair {
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, PF_UNSPEC) or die "socketpair: $!";
    $_->autoflush(1) for $a, $b;
    return ($a, $b);
}

sub run_until ($loop, $cond, $secs = 5) {
    my $t0 = time;
    while (!$cond->()) {
        $loop->run_once(0.05);
        die "timeout" if time - $t0 > $secs;
    }
}

for my $model (qw(reactor proactor)) {
    my $loop = eval { Linux::Event->new(model => $model) };
    if (!$loop) {
        note("no $model loop here: $@");
        next;
    }
    my @lines = map { "line $_ " . ('x' x ($_ % 7)) . "\n" } 1 .. 40;
    my @msgs = map { s/\n\z//r } @lines;   # the line codec chomps by default

    # 1. A callback that keeps nothing gets the same SV again: a short
    #    message after a long one arrives in the long one's buffer (a
    #    fresh SV would have a buffer of its own size).
    {
        my ($a, $b) = pair();
        my (@len, @got);
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line',
            on_message => sub { push @len, B::svref_2object(\$_[1])->LEN; push @got, "$_[1]" });
        my @in = (('L' x 3000) . "\n", @lines[0 .. 9]);
        print {$b} @in;
        run_until($loop, sub { @got == 11 });
        is_deeply(\@got, [ map { s/\n\z//r } @in ], "$model: plain callback, messages intact");
        ok(!grep({ $_ < 3000 } @len), "$model: later messages reuse the first one's SV")
            or diag "buffer sizes: @len";
        $s->close;
    }

    # 2. Callbacks that keep the message, by value, by reference, weakly,
    #    or change it: later messages never write over what they kept.
    {
        my ($a, $b) = pair();
        my (@byval, @byref, @weak, @seen);
        my $n = 0;
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a, codec => 'line',
            on_message => sub {
                my $k = $n++ % 6;
                push @seen, "$_[1]";
                if ($k == 0) { push @byval, $_[1] }                 # copy (shares the buffer)
                elsif ($k == 1) { push @byref, \$_[1] }             # the SV itself
                elsif ($k == 2) { my $w = \$_[1]; weaken($w); push @weak, $w }
                elsif ($k == 3) { $_[1] =~ tr/a-z/A-Z/ }            # changed in place
                elsif ($k == 4) { utf8::upgrade($_[1]); no warnings; my $x = $_[1] + 0 }   # UTF-8, numeric
                else { $_[1] = [1] }                                # now a reference
            });
        print {$b} @lines;
        run_until($loop, sub { @seen == @lines });
        is_deeply(\@seen, \@msgs, "$model: every message arrives as sent");
        is_deeply(\@byval, [ @msgs[ grep { $_ % 6 == 0 } 0 .. $#lines ] ],
                  "$model: copies kept by value are intact");
        is_deeply([ map { $$_ } @byref ], [ @msgs[ grep { $_ % 6 == 1 } 0 .. $#lines ] ],
                  "$model: messages kept by reference are intact");
        ok(!grep({ utf8::is_utf8($_) } @seen), "$model: no UTF-8 flag carried over");
        $s->close;
    }

    # 3. Raw mode (on_read): the same rule for chunks.
    {
        my ($a, $b) = pair();
        my ($got, @kept) = ('');
        my $s = Linux::Event::Stream->new(loop => $loop, fh => $a,
            on_read => sub { $got .= $_[1]; push @kept, $_[1] });
        for my $i (0 .. 4) {
            print {$b} $lines[$i];
            my $want = join '', @lines[0 .. $i];
            run_until($loop, sub { length $got >= length $want });
        }
        is($got, join('', @lines[0 .. 4]), "$model: raw chunks in order");
        is(join('', @kept), $got, "$model: kept chunks intact");
        $s->close;
    }
}

done_testing;
