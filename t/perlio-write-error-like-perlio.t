# SPDX-License-Identifier: Artistic-1.0-Perl OR GPL-1.0-or-later
# After a failed write, :evloop does what :perlio does: the bytes that
# could not be written are dropped and the handle's error flag alone
# records the failure.  So a later flush has nothing to write (it
# succeeds), a print on the errored handle fails without a write and
# leaves $! alone, and after clearerr the handle writes again.  :evloop
# kept the stream's sticky error: the flush failed again, print set $!
# again, and after clearerr nothing was ever written.
use v5.36;
use Test::More;
use File::Temp ();

my $case = <<'EOF';
use v5.36;
use IO::Handle;
no warnings 'io';
$SIG{PIPE} = $SIG{XFSZ} = 'IGNORE';
my ($layer, $file) = @ARGV;
my @r;
sub says ($what, $rc) { push @r, "$what=" . ($rc // 'undef') . "/" . ($! + 0) }

# /dev/full: the buffer's flush fails; the next flush has nothing left.
open(my $full, ">$layer", '/dev/full') or die "/dev/full: $!";
print {$full} 'x' x 20000;
$! = 0;
says(flush => $full->flush);
close $full;

# A pipe with no reader: EPIPE; a print after it fails and leaves $!.
pipe(my $rd, my $wr) or die "pipe: $!";
close $rd;
binmode($wr, $layer) or die "binmode: $!" if $layer ne ':perlio';    # pipe's own is :perlio
$wr->autoflush(1);
print {$wr} 'x';
$! = 0;
says(print => print {$wr} 'y');
$! = 0;
says(close => close $wr);

# A file over RLIMIT_FSIZE (ulimit -f 1: 512 bytes): EFBIG; clearerr,
# back to the start, and the handle writes again.
open(my $fh, ">$layer", $file) or die "$file: $!";
print {$fh} 'a' x 600;
$! = 0;
says(flush_efbig => $fh->flush);
$fh->clearerr;
says(error_after_clearerr => $fh->error);
seek($fh, 0, 0) or die "seek: $!";
$! = 0;
says(print_again => print {$fh} 'XYZ');
says(flush_again => $fh->flush);
$! = 0;
says(close_file => close $fh);
open(my $in, '<', $file) or die "$file: $!";
my $content = do { local $/; <$in> };
push @r, 'file=' . substr($content, 0, 5) . '+' . (length($content) - 5);
print join(' ', @r), "\n";
EOF

my $dir  = File::Temp->newdir;
my $path = "$dir/case.pl";
open(my $fh, '>', $path) or die "$path: $!";
print {$fh} $case;
close $fh;
my $inc = join ' ', map { "-I'$_'" } grep { !ref } @INC;

my %out;
for my $layer (':perlio', ':raw:evloop', ':evloop') {
    my $file = "$dir/out" . ($layer =~ tr/:/_/r);
    chomp($out{$layer} = qx{ulimit -f 1 && "$^X" $inc "$path" "$layer" "$file" 2>&1});
    is($?, 0, "$layer: the sequence ran") or diag($out{$layer});
}

# :perlio's results, pinned so that a change of theirs shows too.
is(
    $out{':perlio'},
    'flush=0 but true/0 print=undef/0 close=/32 flush_efbig=undef/27 error_after_clearerr=0/27 '
        . 'print_again=1/0 flush_again=0 but true/0 close_file=1/0 file=XYZaa+507',
    ':perlio: flush after a failure, print on an errored handle, clearerr'
);
is($out{':raw:evloop'}, $out{':perlio'}, ':raw:evloop does the same');
is($out{':evloop'}, $out{':perlio'}, ':evloop does the same');

done_testing;
