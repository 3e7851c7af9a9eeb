#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# perl-idle-rss.pl - memory per idle connection: the RSS that N idle line
# streams add, for Linux::Event::Stream (line codec, evloop), AnyEvent::Handle
# (a pending line read), IO::Async::Stream (on_read splitting lines, added
# to its loop) and Mojo::IOLoop::Stream (started in the singleton loop).
#
# Each framework runs in a process of its own (issue 18, item 8).  There:
# the modules are loaded and a loop made, a helper process accepts N
# loopback TCP connections and holds the far ends, the process connects N
# sockets, reads its RSS (/proc/self/statm) as the baseline, makes the N
# stream objects, runs the loop once without waiting, and reads its RSS
# again.  The figure is (after - baseline) / N bytes per connection: the
# stream objects, their closures, watchers and buffers, not the sockets
# (kernel memory) nor the Perl handles (made before the baseline).
# Target: evloop <= 0.5x the best of the others.
#
# usage: perl -Mblib bench/perl-idle-rss.pl [N=10000] [ROUNDS=3] [ONLY=evloop,AE,...]
#   (run from the build tree; N connections need N+50 open files, and the
#   helper the same: ulimit -n)
# Prints RESULT lines per process on stderr and a table of medians.
use v5.36;
use Socket qw(AF_INET SOCK_STREAM SOL_SOCKET SO_REUSEADDR inet_aton pack_sockaddr_in
    sockaddr_in INADDR_LOOPBACK);
use POSIX ();

my %opt = (N => 10_000, ROUNDS => 3, ONLY => '');
for (@ARGV) {
    if (/^--impl=(.+)$/) { $opt{IMPL} = $1; next }
    my ($k, $v) = split /=/, $_, 2;
    die "usage: $0 [N=n] [ROUNDS=n] [ONLY=a,b]\n" if !defined $v || !exists $opt{$k};
    $opt{$k} = $v;
}
my @IMPLS = qw(evloop AnyEvent::Handle IO::Async::Stream Mojo::IOLoop::Stream);
my %setup = (
    evloop                 => \&setup_evloop,
    'AnyEvent::Handle'     => \&setup_ae,
    'IO::Async::Stream'    => \&setup_ioasync,
    'Mojo::IOLoop::Stream' => \&setup_mojo,
);

if (!$opt{IMPL}) {
    parent();
    exit 0;
}

# ------------------------------------------------------------ one framework

alarm 300;
my $impl = $opt{IMPL};
my $N    = $opt{N};
my ($load, $make, $turn) = $setup{$impl}->();
$load->();

socket(my $srv, AF_INET, SOCK_STREAM, 0) or die "socket: $!";
setsockopt($srv, SOL_SOCKET, SO_REUSEADDR, 1);
bind($srv, pack_sockaddr_in(0, INADDR_LOOPBACK)) or die "bind: $!";
listen($srv, 4096) or die "listen: $!";
my ($port) = sockaddr_in(getsockname($srv));
pipe(my $hold_r, my $hold_w) or die "pipe: $!";
my $holder = fork // die "fork: $!";
if (!$holder) {
    # Accepts every connection and keeps it until the parent goes.
    close $hold_w;
    my @keep;
    while (@keep < $N) {
        accept(my $c, $srv) or die "accept: $!";
        push @keep, $c;
    }
    sysread($hold_r, my $x, 1);
    POSIX::_exit(0);
}
close $hold_r;
close $srv;
my @socks;
my $addr = pack_sockaddr_in($port, inet_aton('127.0.0.1'));
for (1 .. $N) {
    socket(my $s, AF_INET, SOCK_STREAM, 0) or die "socket: $! (ulimit -n?)";
    connect($s, $addr) or die "connect: $!";
    my $fl = fcntl($s, POSIX::F_GETFL(), 0);
    fcntl($s, POSIX::F_SETFL(), $fl | POSIX::O_NONBLOCK());
    push @socks, $s;
}
my $base = rss();
my @objs = map { $make->($_) } @socks;
$turn->();
my $after = rss();
printf STDERR "RESULT %s %.0f %d %d\n", $impl, ($after - $base) / $N, $base, $after;
close $hold_w;
waitpid($holder, 0);
POSIX::_exit(0);    # the figure is taken: skip the teardown of N objects

sub rss {
    open(my $f, '<', '/proc/self/statm') or die "statm: $!";
    my (undef, $res) = split ' ', scalar <$f>;
    return $res * POSIX::sysconf(POSIX::_SC_PAGESIZE());
}

# Each setup returns (load modules and make the loop, make one stream
# for a socket, run the loop once without waiting).

sub setup_evloop {
    my $loop;
    return (
        sub {
            require Linux::Event;
            require Linux::Event::Stream;
            $loop = Linux::Event::Loop->new(model => 'reactor');
        },
        sub ($fh) {
            Linux::Event::Stream->new(
                loop       => $loop,
                fh         => $fh,
                codec      => 'line',
                on_message => sub ($s, $line, $data) { $s->write_message($line) },
            );
        },
        sub { $loop->run_once(0) },
    );
}

sub setup_ae {
    my $model = '';
    return (
        sub {
            require AnyEvent;
            require AnyEvent::Handle;
            $model = AnyEvent::detect();
        },
        sub ($fh) {
            my $h;
            $h = AnyEvent::Handle->new(
                fh       => $fh,
                on_error => sub { $h->destroy },
            );
            my $reader;
            $reader = sub ($hdl, $line) { $hdl->push_write("$line\n"); $hdl->push_read(line => $reader) };
            $h->push_read(line => $reader);
            return $h;
        },
        sub { EV::run(EV::RUN_NOWAIT()) if $model eq 'AnyEvent::Impl::EV' },
    );
}

sub setup_ioasync {
    my $loop;
    return (
        sub {
            require IO::Async::Loop;
            require IO::Async::Stream;
            $loop = IO::Async::Loop->new;
        },
        sub ($fh) {
            my $s = IO::Async::Stream->new(
                handle  => $fh,
                on_read => sub ($self, $buffref, $eof) {
                    while ($$buffref =~ s/^(.*)\n//) { $self->write("$1\n") }
                    return 0;
                },
            );
            $loop->add($s);
            return $s;
        },
        sub { $loop->loop_once(0) },
    );
}

sub setup_mojo {
    return (
        sub {
            require Mojo::IOLoop;
            require Mojo::IOLoop::Stream;
            Mojo::IOLoop->singleton->reactor;
        },
        sub ($fh) {
            my $s = Mojo::IOLoop::Stream->new($fh);
            my $buf = '';
            $s->on(
                read => sub ($st, $bytes) {
                    $buf .= $bytes;
                    while ($buf =~ s/^(.*)\n//) { $st->write("$1\n") }
                }
            );
            Mojo::IOLoop->stream($s);
            return $s;
        },
        sub {
            # one_tick waits for something: give it a timer due at once.
            Mojo::IOLoop->timer(0 => sub { });
            Mojo::IOLoop->one_tick;
        },
    );
}

# ------------------------------------------------------------ parent

sub parent {
    my @impls = $opt{ONLY} ? grep { my $i = $_; grep { $_ eq $i } split /,/, $opt{ONLY} } @IMPLS : @IMPLS;
    my %got;
    local $ENV{PERL5LIB} = join ':', grep { !ref } @INC;    # -Mblib for the children
    for my $round (1 .. $opt{ROUNDS}) {
        my @order = (@impls[($round - 1) % @impls .. $#impls], @impls[0 .. ($round - 1) % @impls - 1]);
        for my $impl (@order) {
            my $out = qx{$^X $0 N=$opt{N} --impl='$impl' 2>&1};
            if ($out =~ /^RESULT \S+ (\d+)/m) {
                push @{ $got{$impl} }, $1;
                print STDERR $out =~ /^(RESULT .*)$/m ? "$1\n" : '';
            } else {
                print STDERR "$impl failed:\n$out";
            }
        }
    }
    my %med;
    for my $impl (keys %got) {
        my @v = sort { $a <=> $b } @{ $got{$impl} };
        $med{$impl} = $v[$#v / 2];
    }
    printf "RSS per idle line stream, %d connections, median of %d round(s), bytes\n\n", $opt{N},
        $opt{ROUNDS};
    printf "%-22s %10s\n", $_, $med{$_} // 'n/a' for @impls;
    my @peers = grep { $_ ne 'evloop' && defined $med{$_} } @impls;
    if (defined $med{evloop} && @peers) {
        my ($best) = sort { $med{$a} <=> $med{$b} } @peers;
        printf "\nevloop / best (%s): %.2fx (target <= 0.50x)\n", $best, $med{evloop} / $med{$best};
    }
}
