# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Fork::Child;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp qw(croak);
use Config;

require PerlIO::evloop;
require Linux::Event::Fork::Exit;

# Signal names as perl's kill knows them ("TERM", "SIGTERM", "-TERM").
my %SIGNUM;
{
    my @names = split ' ', $Config{sig_name};
    my @nums  = split ' ', $Config{sig_num};
    @SIGNUM{@names} = @nums;
}

# The constructor the helper does not use (it blesses directly, because
# the C side needs the object before the pid exists); kept for Linux::Event 0.010's
# checks.
sub _new ($class, %args) {
    croak "loop missing" if !$args{loop};
    croak "pid missing" if !$args{pid};
    my @unknown = grep { !/\A(?:loop|pid|tag|data)\z/ } keys %args;
    croak "unknown args: " . join(", ", sort @unknown) if @unknown;
    return bless {
        loop => $args{loop},
        pid  => $args{pid},
        tag  => $args{tag},
        data => $args{data},
        exit => undef
    }, $class;
}

sub pid  ($self) { return $self->{pid} }
sub loop ($self) { return $self->{loop} }
sub tag  ($self) { return $self->{tag} }
sub data ($self) { return $self->{data} }

sub is_running ($self) {
    return Linux::Event::Fork::XS::exited($self) ? 0 : 1;
}

sub exit ($self) {
    return $self->{exit} if $self->{exit};
    my $status = Linux::Event::Fork::XS::status($self);
    return undef if !defined $status;
    return $self->{exit} =
        Linux::Event::Fork::Exit->new($self->{pid}, $status, %{ $self->{exec_failure} // {} });
}

sub timed_out ($self) { return Linux::Event::Fork::XS::timed_out($self) ? 1 : 0 }

sub kill ($self, $sig = 'TERM') {
    my $num;
    if (defined $sig && $sig =~ /\A(-?)(?:SIG)?([A-Z][A-Z0-9+-]*)\z/) {
        my ($neg, $name) = ($1, $2);
        return 0 if !exists $SIGNUM{$name};
        $num = $neg ? -$SIGNUM{$name} : $SIGNUM{$name};
    } elsif (defined $sig && $sig =~ /\A-?[0-9]+\z/) {
        $num = 0 + $sig;
    } else {
        return 0;
    }
    return Linux::Event::Fork::XS::kill($self, $num) ? 1 : 0;
}

sub stdin_write ($self, $bytes = undef) {
    return 0 if !defined $bytes || !length $bytes;
    return Linux::Event::Fork::XS::stdin_write($self, $bytes);
}

sub close_stdin ($self) {
    Linux::Event::Fork::XS::close_stdin($self);
    return 1;
}

sub stdin_queued ($self) { return Linux::Event::Fork::XS::stdin_queued($self) }

sub stdout_fh ($self) { return $self->{stdout_fh} }
sub stderr_fh ($self) { return $self->{stderr_fh} }

sub cancel ($self) {
    return 0 if !Linux::Event::Fork::XS::cancel($self);
    $self->exit;
    my $fork = $self->{fork};
    $fork->_finished if $fork;
    return 1;
}

1;
__END__

=head1 NAME

Linux::Event::Fork::Child - a child started by Linux::Event::Fork

=head1 SYNOPSIS

    my $child = $fork->spawn(cmd => [ 'sort' ], stdin_pipe => 1,
                             on_stdout => sub ($c, $bytes) { print $bytes });
    $child->stdin_write("b\na\n");
    $child->close_stdin;
    say $child->pid;

=head1 METHODS

=over 4

=item pid, loop, tag, data

The process id, the loop, and the C<tag> and C<data> of the spec.

=item is_running

1 until the child's exit has been seen (even while its output is still
being drained before C<on_exit>), then 0.

=item exit

undef until the exit has been seen, then the
L<Linux::Event::Fork::Exit>.

=item timed_out

1 once the spec's C<timeout> expired.

=item kill([$sig])

Sends C<$sig> (default C<'TERM'>; a name with or without C<SIG>, or a
number; 0 probes; a negative one goes to the child's process group, see
C<process_group>) through the child's pidfd.  Returns 1, or 0 on failure
(C<$!> says why) and always once the child has been reaped: a recycled
pid is never signalled.

=item stdin_write($bytes)

Queues C<$bytes> for the child's stdin and writes what the pipe takes at
once; returns how many bytes that was (the rest goes out as the child
reads).  Returns 0, doing nothing, without a stdin pipe (no C<stdin> /
C<stdin_pipe> in the spec, or closed), after C<close_stdin>, or for
undef or C<''>.  If the child stops reading, the queue is dropped, the
pipe closed, and C<on_stdin_error> called; SIGPIPE never reaches the
parent, and nothing spins.

=item close_stdin

Closes the stdin pipe once the queue is written.  Returns 1.

=item stdin_queued

Bytes still queued for stdin.

=item stdout_fh, stderr_fh

With C<< stdout_fh => 1 >> / C<< stderr_fh => 1 >> in the spec: the
parent's end of that pipe as a non-blocking C<:evloop:evline> handle
(see L<Linux::Event::Fork/READING OUTPUT WITH READLINE>); else undef.

=item cancel

For a child that has not finished: kills it (SIGKILL), reaps it, closes
its pipes (output not yet read is lost), and finishes it at once as far
as the helper is concerned; C<on_exit> is not called, C<exit> gives the
SIGKILL status.  Returns 1, or 0 if there was nothing to cancel.

=back

=head1 SEE ALSO

L<Linux::Event::Fork>, L<Linux::Event::Fork::Exit>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
