# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package Linux::Event::Fork::Request;
use v5.36;

our $VERSION = '0.200';

# Croaks name the caller's file and line: Carp skips evloop's own frames.
use Linux::Event::Internal ();
our @CARP_NOT = Linux::Event::Internal::carp_not();

use Carp qw(croak);

sub _new ($class, %args) {
    croak "fork missing" if !$args{fork};
    croak "spec missing" if !$args{spec};
    my @unknown = grep { !/\A(?:fork|spec|tag|data)\z/ } keys %args;
    croak "unknown args: " . join(", ", sort @unknown) if @unknown;
    return bless {
        fork      => $args{fork},
        spec      => $args{spec},
        tag       => $args{tag},
        data      => $args{data},
        started   => 0,
        cancelled => 0,
        child     => undef
    }, $class;
}

sub tag          ($self) { return $self->{tag} }
sub data         ($self) { return $self->{data} }
sub spec         ($self) { return $self->{spec} }
sub helper       ($self) { return $self->{fork} }
sub started      ($self) { return $self->{started} ? 1 : 0 }
sub child        ($self) { return $self->{child} }
sub is_cancelled ($self) { return $self->{cancelled} ? 1 : 0 }

sub cancel ($self) {
    return 0 if $self->{cancelled} || $self->{started};
    $self->{cancelled} = 1;
    my $fork = $self->{fork};
    my $q    = $fork->{queue};
    @$q = grep { $_ != $self } @$q;
    $fork->_drain_check;
    return 1;
}

1;
__END__

=head1 NAME

Linux::Event::Fork::Request - a spawn queued by Linux::Event::Fork

=head1 SYNOPSIS

    my $fork = Linux::Event::Fork->new($loop, max_children => 1);
    my $first = $fork->spawn(cmd => [ 'sleep', 1 ]);    # a Child
    my $req   = $fork->spawn(cmd => [ 'true' ], tag => 'later');
    $req->cancel if $changed_my_mind;

=head1 DESCRIPTION

What C<spawn> returns when the helper's C<max_children> is reached.  The
spec was checked when it was queued (a bad one croaks from C<spawn>), so
a queued request starts without surprises.

=head1 METHODS

=over 4

=item tag, data

From the spec.

=item spec, helper

The spec (a shallow copy) and the L<Linux::Event::Fork> helper.

=item started

1 once it was taken from the queue and started, else 0.

=item child

The L<Linux::Event::Fork::Child> once started, else undef.

=item cancel

Cancels a request that has not started: it leaves the queue at once (so
C<queued> no longer counts it) and never starts.  Returns 1, or 0 if it
had already started or been cancelled.

=item is_cancelled

1 once cancelled (by C<cancel> or C<cancel_queued>).

=back

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
