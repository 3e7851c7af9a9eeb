# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# Linux::Event::Fork::Exit tells a child that never ran its program (a
# failed exec or setup step: exit 127) from one that ran and exited 127:
# exec_errno, exec_error and exec_stage, undef when the exec succeeded.
use v5.36;
use Test::More;
use Errno qw(ENOENT EACCES);

use Linux::Event;
use Linux::Event::Fork;

sub text_of ($errno) { local $! = $errno; return "$!" }

for my $model (qw(reactor proactor)) {
    subtest $model => sub {
        my $loop = Linux::Event->new(model => $model, $model eq 'proactor' ? (backend => 'fake') : ());

        # Runs one spawn to its exit; returns the Exit, the stderr and
        # the Child's own exit object.
        my $run = sub (%spec) {
            my ($err, $exit) = ('');
            my $child = $loop->fork(
                %spec,
                on_stderr => sub ($c, $bytes) { $err .= $bytes },
                on_exit   => sub ($c, $e) { $exit = $e; $loop->stop },
            );
            $loop->run;
            return ($exit, $err, $child->exit);
        };

        my ($exit, $err, $via_child) = $run->(cmd => ['evl-no-such-command']);
        is($exit->code,       127,             'missing program: exit 127');
        is($exit->exec_errno, ENOENT,          'missing program: exec_errno is ENOENT');
        is($exit->exec_error, text_of(ENOENT), 'missing program: exec_error is its text');
        is($exit->exec_stage, 'exec',          'missing program: the exec failed');
        like($err, qr/^Linux::Event::Fork child error: exec\(evl-no-such-command\): /,
            'the diagnostic is still written');
        is($via_child, $exit, '$child->exit is the same object');

        ($exit) = $run->(cmd => ['/etc/passwd']);
        is($exit->exec_errno, EACCES, 'not executable: EACCES');
        is($exit->exec_stage, 'exec', 'not executable: the exec failed');

        ($exit) = $run->(cmd => ['true'], cwd => '/nonexistent-evl');
        is($exit->code,       127,     'impossible cwd: exit 127');
        is($exit->exec_errno, ENOENT,  'impossible cwd: ENOENT');
        is($exit->exec_stage, 'chdir', 'impossible cwd: the chdir failed');

        ($exit) = $run->(child => sub { exit 0 }, cwd => '/nonexistent-evl');
        is($exit->exec_errno, ENOENT,  'child sub, impossible cwd: ENOENT');
        is($exit->exec_stage, 'chdir', 'child sub, impossible cwd: the chdir failed');

        for my $case (
            [ 'a command that ran' => cmd => ['true'] ],
            [ 'a command that exits 127 itself' => cmd => [ $^X, '-e', 'exit 127' ] ],
            [ 'a child sub that dies' => child => sub { die "boom\n" } ],
            [ 'a child sub that exits' => child => sub { exit 5 } ],
        ) {
            my ($name, %spec) = @$case;
            ($exit) = $run->(%spec);
            ok($exit->exited, "$name: exited");
            is($exit->exec_errno, undef, "$name: exec_errno undef");
            is($exit->exec_error, undef, "$name: exec_error undef");
            is($exit->exec_stage, undef, "$name: exec_stage undef");
        }
    };
}

my $exit = Linux::Event::Fork::Exit->new(42, 127 << 8);
is($exit->exec_errno, undef, 'new($pid, $status): no exec failure');
$exit = Linux::Event::Fork::Exit->new(42, 127 << 8, exec_errno => ENOENT, exec_stage => 'exec');
is($exit->exec_errno, ENOENT, 'new with exec_errno');
is($exit->exec_stage, 'exec', 'new with exec_stage');
ok(!eval { Linux::Event::Fork::Exit->new(42, 0, bogus => 1); 1 }, 'new: unknown key croaks');
like($@, qr/^unknown args: bogus at \Q${\__FILE__}\E line/, 'at the caller');

done_testing;
