# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Signal;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp qw(croak);
use Scalar::Util qw(weaken);
use POSIX ();

require PerlIO::evloop;
require Linux::Event::Reactor;

my $next_token = 0;

sub new ($class, %args) {
    my $loop = delete $args{loop};
    croak "loop is required" if !$loop;
    croak "unknown args: " . join(", ", sort keys %args) if %args;
    my $self = bless { loop => $loop }, $class;
    weaken($self->{loop});
    return $self;
}

sub loop ($self) { return $self->{loop} }

sub _resolve ($s, $method = undef) {
    my $pre = defined $method ? "$method: " : '';
    croak "${pre}signal is undef" if !defined $s;
    croak "${pre}signal must be a string or integer" if ref $s;
    return 0 + $s if $s =~ /\A\d+\z/;
    my $name = uc $s;
    $name =~ s/\A\s+//;
    $name =~ s/\s+\z//;
    $name =~ s/\ASIG//;
    my $code = $name =~ /\A[A-Z0-9]+\z/ ? POSIX->can("SIG$name") : undef;
    my $num  = $code ? eval { $code->() } : undef;
    croak "${pre}unknown signal '$s'" if !defined $num;
    return $num;
}

sub signal ($self, $sig = undef, $cb = undef, @opt) {

    # The signature's own check, but named from the caller's line (the
    # loop's signal() calls this one).
    croak "Odd name/value argument for subroutine 'Linux::Event::Signal::signal'" if @opt % 2;
    my %opt = @opt;
    croak "signal is required" if !defined $sig;
    croak "cb is required" if !$cb;
    croak "cb must be a coderef" if ref($cb) ne 'CODE';
    my $data = delete $opt{data};
    croak "unknown args: " . join(", ", sort keys %opt) if %opt;
    my @list;

    if (ref($sig) eq 'ARRAY') {
        croak "no signals provided" if !@$sig;
        @list = @$sig;
    } elsif (ref $sig) {
        croak "signal must be a number, string, or arrayref";
    } else {
        @list = ($sig);
    }
    my @signos = map { _resolve($_) } @list;
    my $engine = Linux::Event::Reactor::_engine_of($self->{loop})
        or croak "signal(): the loop is gone";
    my $token = ++$next_token;
    $engine->_sig_set($_, $cb, $data, $token) for @signos;
    my %sub = (
        engine  => $engine,
        signals => \@signos,
        token   => $token,
        active  => 1,
    );
    my $sub = bless \%sub, 'Linux::Event::Signal::Subscription';
    weaken($sub->{engine});
    return $sub;
}

package Linux::Event::Signal::Subscription;

our $VERSION = '0.200';

sub signals ($self) { return @{ $self->{signals} } }

sub is_active ($self) { return $self->{active} ? 1 : 0 }

sub cancel ($self) {
    return 0 if !$self->{active};
    $self->{active} = 0;
    if (my $engine = $self->{engine}) {
        $engine->_sig_clear($_, $self->{token}) for @{ $self->{signals} };
    }
    return 1;
}

1;
__END__

=head1 NAME

Linux::Event::Signal - signal handlers for a Linux::Event loop, through one signalfd

=head1 SYNOPSIS

    my $sub = $loop->signal('INT', sub ($loop, $signo, $count, $data) {
        $loop->stop;
    }, data => 'x');

    $loop->signal([qw(USR1 SIGUSR2 15)], sub ($loop, $signo, $count, $data) { ... });

    $sub->cancel;      # 1, then 0
    $sub->is_active;   # 1 or 0

=head1 DESCRIPTION

C<< $loop->signal(...) >> forwards here (one adaptor per loop, made on
first use; C<< new(loop => $loop) >> croaks C<loop is required> or
C<unknown args: ...>, and holds the loop weakly).

=head2 signal($sig_or_list, $cb, data => $data)

C<$sig_or_list> is a number, a name (C<'USR1'>, C<'SIGUSR1'>,
C<' sigusr1 '>; looked up as C<POSIX::SIG> plus the name), or an array ref of
them.  Croaks C<signal is required>, C<cb is required>,
C<cb must be a coderef>, C<unknown args: ...>,
C<signal must be a number, string, or arrayref>, C<no signals provided>,
C<signal is undef>, C<signal must be a string or integer>,
C<unknown signal '...'>.

One handler per signal per loop: a new registration replaces the
previous handler of each signal it names.  The callback runs once per
drain of the signalfd, signals in ascending number order, as
C<< $cb->($loop, $signo, $count, $data) >> where C<$signo> is the signal
number and C<$count> how many were collected (standard signals
coalesce).

The handler is one subscriber of the signal among those of
C<< $loop->signal_subscribe >> (any number, called in subscription
order; see L<Linux::Event::Reactor/signal_subscribe($sig_or_list, $cb)>).

The signal is blocked in the process while the loop lives and read from
the loop's signalfd (libevloop).  After C<cancel>, with no other
subscriber left, it stays blocked and an arrival is handed to C<%SIG>:
a code ref in C<$SIG{NAME}> runs from the loop, C<IGNORE> drops it, and
with C<DEFAULT> it is read and dropped, so its default action (often:
terminate) never happens while the loop lives.  When the loop is destroyed the mask
is restored as it was before.  SIGKILL and SIGSTOP are accepted but can
never be delivered.

=head1 Linux::Event::Signal::Subscription

C<cancel> (1 the first time, 0 afterwards; removes only the handlers
that still belong to this subscription), C<is_active> (1 or 0),
C<signals> (the numbers).

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
