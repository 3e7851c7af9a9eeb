package Linux::Event::Backend::Epoll;
use v5.36;

our $VERSION = '0.010';

require Linux::Event::Reactor::Backend::Epoll;
our @ISA = ('Linux::Event::Reactor::Backend::Epoll');

# Function-call constants (Linux::Event::Backend::Epoll::READABLE() and the
# others) are XS (perlio/xs/reactor.xs), as in the class above.

1;
__END__

=head1 NAME

Linux::Event::Backend::Epoll - the earlier name of Linux::Event::Reactor::Backend::Epoll

=head1 DESCRIPTION

A subclass with no changes, for programs and tests written before the
backend moved under C<Linux::Event::Reactor::>.  See
L<Linux::Event::Reactor::Backend::Epoll>.

=cut
