package Linux::Event::Backend::Epoll;
use v5.36;

our $VERSION = '0.010';

require Linux::Event::Reactor::Backend::Epoll;
our @ISA = ('Linux::Event::Reactor::Backend::Epoll');

# Function-call constants (Linux::Event::Backend::Epoll::READABLE()).
use constant READABLE => 0x01;
use constant WRITABLE => 0x02;
use constant PRIO     => 0x04;
use constant RDHUP    => 0x08;
use constant ET       => 0x10;
use constant ONESHOT  => 0x20;
use constant ERR      => 0x40;
use constant HUP      => 0x80;

1;
__END__

=head1 NAME

Linux::Event::Backend::Epoll - the earlier name of Linux::Event::Reactor::Backend::Epoll

=head1 DESCRIPTION

A subclass with no changes, for programs and tests written before the
backend moved under C<Linux::Event::Reactor::>.  See
L<Linux::Event::Reactor::Backend::Epoll>.

=cut
