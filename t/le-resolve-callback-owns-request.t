#!/usr/bin/perl
# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# A resolve whose callback closure holds the only reference to its own
# request object (Linux::Event::Connect's does, through the request it
# stores): freeing the callbacks frees the object, and the request record
# with it, while the code that freed them still used the record.  Before
# the fix that was a double free (perl's "Attempt to free unreferenced
# scalar", then glibc's abort) when the loop went with such a request in
# flight (a program that ends with a Connect still resolving), and a
# use-after-free and double free when the answer came.  Each case runs in
# a child perl so a crash is seen as one.
use v5.36;
use Test::More;

my @inc = map { "-I$_" } grep { !ref } @INC;

# Runs $code in a child perl; returns its exit status and what it printed
# on either stream.
sub child ($code) {
    my $pid = open(my $from, '-|') // die "fork: $!";
    if ($pid == 0) {
        open(STDERR, '>&', \*STDOUT) or die "dup: $!";
        exec($^X, @inc, '-e', "use v5.36; use Linux::Event; \$| = 1; $code") or die "exec: $!";
    }
    local $/;
    my $out = readline($from) // '';
    close $from;
    return ($?, $out);
}

my %cases = (
    'the loop freed with the request in flight' => <<'EOF2',
        my $loop = Linux::Event->new;
        {
            my $req;
            $req = $loop->resolve(host => 'localhost', port => 80,
                                  on_done => sub ($r) { $req->is_pending });
        }
        undef $loop;
        say 'survived';
EOF2
    'the answer comes' => <<'EOF2',
        my $loop = Linux::Event->new;
        my $got;
        {
            my $req;
            $req = $loop->resolve(host => '127.0.0.1', port => 80,
                                  on_done => sub ($r) { $got = @$r; $req->is_pending });
        }
        $loop->run_once(1) until $got;
        say "survived $got";
EOF2
    'the error comes' => <<'EOF2',
        my $loop = Linux::Event->new;
        my $got;
        {
            my $req;
            $req = $loop->resolve(host => 'no such name.invalid', port => 80,
                                  on_done => sub ($r) { $req->is_pending },
                                  on_error => sub ($e, $m) { $got = $e; $req->is_pending });
        }
        $loop->run_once(1) until $got;
        say "survived";
EOF2
    'a program ends with a Connect still resolving' => <<'EOF2',
        use Linux::Event::Connect;
        my $loop = Linux::Event->new;
        my $c = Linux::Event::Connect->new(loop => $loop, host => 'localhost', port => 9,
                                           on_connect => sub { }, on_error => sub { });
        say 'survived';
EOF2
);

for my $name (sort keys %cases) {
    my ($status, $out) = child($cases{$name});
    is($status, 0, "$name: the child exits 0");
    like($out, qr/^survived/m, "$name: and got to the end");
    unlike($out, qr/Attempt to free|double free|corrupt/i, "$name: no double free")
        or diag($out);
}
done_testing;
