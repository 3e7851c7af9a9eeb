# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
package EvlTest;

# Shared helpers for the prove tests.
use v5.36;
use Exporter 'import';
use Errno ();
use File::Temp ();
use Socket qw(AF_INET SOCK_STREAM SOL_SOCKET SO_REUSEADDR INADDR_LOOPBACK
    pack_sockaddr_in sockaddr_in inet_aton);

our @EXPORT_OK = qw(has uring_loop temp_path tcp_pair set_nonblocking read_all_raw settle
    tls_certs run_until loop_models);

# has('uring'): whether this kernel lets us create an io_uring.
# has('threads'): whether this perl can run threads.
# has('asan'): whether AddressSanitizer runs in this process (a sanitizer
# build preloads it): its quarantine holds freed memory back (256 MB by
# default), so RSS growth says nothing about leaks there.
sub has ($what) {
    if ($what eq 'asan') {
        open(my $maps, '<', '/proc/self/maps') or return 0;
        return (grep { m{/libasan\.so} } <$maps>) ? 1 : 0;
    }
    if ($what eq 'uring') {
        my $v = 0;
        if (open(my $f, '<', '/proc/sys/kernel/io_uring_disabled')) {
            $v = <$f> // 0;
        }
        return $v =~ /^\s*[12]/ ? 0 : 1;
    }
    if ($what eq 'threads') {
        require Config;
        return 0 unless $Config::Config{useithreads};
        return eval { require threads; 1 } ? 1 : 0;
    }
    return 0;
}

# uring_loop(sub { ...->new(backend => 'uring') }): the io_uring loop the
# sub makes, or undef.  Undef is never silent: when io_uring is absent
# (ENOSYS) or forbidden (EPERM: kernel.io_uring_disabled, a seccomp filter)
# it records a skipped test, as the C suites exit 77; any other failure is
# a regression and records a failing test with the error.
sub uring_loop ($make) {
    my $loop = eval { $make->() };
    return $loop if $loop;
    my $err = $@ || "the constructor returned no loop\n";
    my $tb  = Test::More->builder;
    for my $errno (Errno::ENOSYS(), Errno::EPERM()) {
        my $text = do { local $! = $errno; "$!" };
        if (index($err, $text) >= 0) {
            chomp(my $why = $err);
            $tb->skip("io_uring is absent or forbidden here: $why");
            return undef;
        }
    }
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    $tb->ok(0, 'an io_uring loop can be made (io_uring is neither absent nor forbidden)');
    $tb->diag($err);
    return undef;
}

# tls_certs(@leaves): a new directory (removed at exit) holding a test CA
# (ca.pem, ca.key) and, signed by it, server.pem and server.key for
# localhost (DNS:localhost and IP:127.0.0.1, 30 days), then one NAME.pem
# and NAME.key for each [NAME, CN, subjectAltName, days] given (a later
# leaf of the same name replaces an earlier one: days -1 makes it
# expired).  Made with the openssl tool; without it the test file is
# skipped (a real absence: Debian's openssl package).
sub tls_certs (@leaves) {
    Test::More::plan(skip_all => 'the openssl tool is missing (Debian: openssl)')
        unless system('openssl version >/dev/null 2>&1') == 0;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    my $ec  = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';
    my $sh  = <<"SH";
set -e
cd '$dir'
openssl req -x509 $ec -keyout ca.key -out ca.pem -days 30 -subj /CN=evl-test-ca
leaf() {
  openssl req $ec -keyout \$1.key -out \$1.csr -subj /CN=\$2
  printf 'subjectAltName=%s\\n' "\$3" > \$1.ext
  openssl x509 -req -in \$1.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days \$4 -extfile \$1.ext -out \$1.pem
}
SH
    for my $leaf (['server', 'localhost', 'DNS:localhost,IP:127.0.0.1', 30], @leaves) {
        $sh .= "leaf $leaf->[0] $leaf->[1] $leaf->[2] $leaf->[3]\n";
    }
    system('sh', '-c', "($sh) >/dev/null 2>&1") == 0
        or Test::More::BAIL_OUT('openssl could not make certificates');
    return $dir;
}

# run_until($loop, sub { done }, $secs = 10): runs the loop until the
# condition holds (1) or $secs pass (0).
sub run_until ($loop, $cond, $secs = 10) {
    require Time::HiRes;
    my $t0 = Time::HiRes::time();
    until ($cond->()) {
        $loop->run_once(0.05);
        return 0 if Time::HiRes::time() - $t0 > $secs;
    }
    return 1;
}

# loop_models(): [name, sub { a new loop }] for the reactor and, where the
# kernel lets us (else a recorded skip, see uring_loop), the io_uring
# proactor.
sub loop_models () {
    require Linux::Event;
    my @models = ([reactor => sub { Linux::Event->new(model => 'reactor') }]);
    my $uring  = sub { Linux::Event->new(model => 'proactor', backend => 'uring') };
    push @models, ['proactor uring' => $uring] if uring_loop($uring);
    return @models;
}

# A fresh temporary file name (the file exists, empty), removed at exit by
# the process that made it (a forked child's exit leaves it alone).  Unique
# per process, so tests can run in parallel under make -j.
my @made;
my $maker = $$;

sub temp_path () {
    my (undef, $name) = File::Temp::tempfile('evl-perlio-XXXXXX', TMPDIR => 1, UNLINK => 0);
    push @made, $name;
    return $name;
}
END { unlink @made if $$ == $maker }

# A connected TCP pair over 127.0.0.1 (port chosen by the kernel):
# returns ($client, $server_side).  Plain :unix:perlio handles.
sub tcp_pair () {
    socket(my $l, AF_INET, SOCK_STREAM, 0) or die "socket: $!";
    setsockopt($l, SOL_SOCKET, SO_REUSEADDR, 1);
    bind($l, pack_sockaddr_in(0, inet_aton('127.0.0.1'))) or die "bind: $!";
    listen($l, 1) or die "listen: $!";
    my ($port) = sockaddr_in(getsockname($l));
    socket(my $c, AF_INET, SOCK_STREAM, 0) or die "socket: $!";
    connect($c, pack_sockaddr_in($port, inet_aton('127.0.0.1'))) or die "connect: $!";
    accept(my $s, $l) or die "accept: $!";
    close $l;
    return ($c, $s);
}

sub set_nonblocking ($fh, $on) {
    require Fcntl;
    my $fl = fcntl($fh, Fcntl::F_GETFL(), 0) or die "F_GETFL: $!";
    $fl = $on ? ($fl | Fcntl::O_NONBLOCK()) : ($fl & ~Fcntl::O_NONBLOCK());
    fcntl($fh, Fcntl::F_SETFL(), $fl) or die "F_SETFL: $!";
}

# Everything a file holds, read with sysread (no layer involved).
sub read_all_raw ($path) {
    open(my $f, '<:unix', $path) or die "$path: $!";
    my $all = '';
    1 while sysread($f, $all, 65536, length $all);
    return $all;
}

# Runs a proactor loop until none of @ops is pending, then runs the
# queued callbacks; dies after 1000 passes without that.
sub settle ($loop, @ops) {
    my $n = 0;
    while (grep { $_->is_pending } @ops) {
        $loop->run_once;
        die "no progress" if ++$n > 1000;
    }
    $loop->drain_callbacks;
}

1;
