# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Fork::Exit;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp qw(croak);

# exec_errno and exec_stage: how the child failed before running anything
# of its own (Linux::Event::Fork passes them when it knows), else absent.
sub new ($class, $pid, $status, %failure) {
    my %self = (pid => $pid, status => $status);
    @self{qw(exec_errno exec_stage)} = delete @failure{qw(exec_errno exec_stage)};
    croak "unknown args: " . join(", ", sort keys %failure) if %failure;
    return bless \%self, $class;
}

# A negative status is an exit that could not be collected (-ECHILD: some
# other code reaped the child); every predicate is then false.
sub pid    ($self) { return $self->{pid} }
sub status ($self) { return $self->{status} }
sub exited ($self) { my $s = $self->{status}; return $s >= 0 && ($s & 0x7f) == 0 ? 1 : 0 }

sub signaled ($self) {
    my $s = $self->{status};
    return $s >= 0 && ($s & 0x7f) != 0 && ($s & 0x7f) != 0x7f ? 1 : 0;
}
sub code     ($self) { return $self->exited ? ($self->{status} >> 8) & 0xff : 0 }
sub signal   ($self) { return $self->signaled ? $self->{status} & 0x7f : 0 }
sub coredump ($self) { return $self->signaled && ($self->{status} & 0x80) ? 1 : 0 }

sub exec_errno ($self) { return $self->{exec_errno} }
sub exec_stage ($self) { return $self->{exec_stage} }

sub exec_error ($self) {
    return undef if !$self->{exec_errno};
    local $! = $self->{exec_errno};
    return "$!";
}

# Names Linux::Event 0.010's POD and examples used.
sub exit_code   ($self) { return $self->code }
sub core_dumped ($self) { return $self->coredump }
sub core_dump   ($self) { return $self->coredump }
sub raw         ($self) { return $self->{status} }

1;
__END__

=head1 NAME

Linux::Event::Fork::Exit - a child's wait status

=head1 SYNOPSIS

    on_exit => sub ($child, $exit) {
        if ($exit->exited) { say "exit code ", $exit->code }
        else               { say "killed by signal ", $exit->signal }
    }

=head1 METHODS

=over 4

=item new($pid, $status, %failure)

C<$status> is the raw wait(2) status (C<7 E<lt>E<lt> 8> for exit 7, 9 for
SIGKILL).  C<%failure> may hold C<exec_errno> and C<exec_stage> (see
below); other keys croak C<unknown args: ...>.

=item pid, status

As given.

=item exited, signaled, coredump

1 or 0 (numbers, never C<''>).

=item code

The exit code; 0 when the child was killed by a signal.

=item signal

The signal that killed it; 0 when it exited normally.

=item exit_code, core_dumped, core_dump, raw

Other names for C<code>, C<coredump>, C<coredump> and C<status>.

=item exec_errno, exec_error, exec_stage

Tell a child that never ran its program from one that ran it and
exited 127.  When a setup step or the exec itself failed in the child
(it then wrote C<Linux::Event::Fork child error: ...> to its stderr and
exited 127), C<exec_errno> is the errno number (compare it with
L<Errno>'s C<ENOENT> and friends), C<exec_error> its text (C<"No such
file or directory">), and C<exec_stage> the step that failed:

    exec      the program could not be executed (not found, not
              executable, bad format)
    chdir     the cwd option
    open      opening /dev/null for stdin
    dup2      plumbing a pipe onto fd 0, 1 or 2
    setpgid   the process_group option

All three are undef when the program was executed (whatever it then
did) and for an Exit made with C<new($pid, $status)>.  For a C<child>
sub only the setup steps before it (C<cwd>, the pipes) are reported:
what the sub itself does, an C<exec> of its own included, is its
business, and its failure is the plain exit 127.

    on_exit => sub ($child, $exit) {
        if (defined $exit->exec_errno) {
            warn "could not start: ", $exit->exec_stage, ": ", $exit->exec_error, "\n";
        }
    }

=back

A negative status means the exit could not be collected (another
waiter reaped the child first): all predicates are 0.

=head1 SEE ALSO

L<Linux::Event::Fork>

=head1 AUTHOR

The evloop developers.

=head1 LICENSE

Copyright (c) 2026 the evloop developers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl 5 itself: the Artistic License 1.0 or the GNU
General Public License, version 1 or (at your option) any later version.
The full texts are in the file LICENSE of the distribution.

=cut
