# bench/pgbench/*.sql run the module's own statements as pgbench scripts, so
# that bench/run measures what the module asks of PostgreSQL; a statement
# changed in ngx_users_module/ngx_http_users_sql.c and not there would make
# the ceiling measure something else. Each file names its statement and
# what stands for each $N ("-- statement: NAME", "-- $N = pgbench text"),
# and must equal the C table's text with those put in, modulo whitespace.
# Statements without a pgbench file are not checked.
use strict;
use warnings;
use Test::More;

my $c_file = 'ngx_users_module/ngx_http_users_sql.c';
my @scripts = sort glob 'bench/pgbench/*.sql';
plan tests => 2 * @scripts + 1;
ok(@scripts, 'bench/pgbench has scripts to check');

my %sql = c_statements($c_file);

for my $file (@scripts) {
    my ($name, $bind, $text) = pgbench_script($file);
    my $c = defined $name ? $sql{$name} : undef;
    ok(defined $c, "$file: its statement "
                   . ($name // '(no "-- statement:" line)') . " is in $c_file")
        or next;
    # longest first: $1 must not eat the start of $10
    for my $n (sort { $b <=> $a } keys %$bind) {
        $c =~ s/\$$n(?!\d)/$bind->{$n}/g;
    }
    is(squash($text), squash($c), "$file: the same SQL as $name");
}

# the statement texts of the C table, by name, as the compiler sees them:
# the file run through the C preprocessor with the module's include paths
# (scripts/build.sh has prepared build/nginx-src), so every macro the
# table uses is expanded the way it is in the module
sub c_statements {
    my ($path) = @_;
    my $src_dir = 'build/nginx-src';
    die "$src_dir/objs is missing: run scripts/build.sh first\n"
        unless -d "$src_dir/objs";
    my @inc = map { "-I$src_dir/$_" }
        qw(src/core src/event src/event/modules src/os/unix objs src/http
           src/http/modules src/http/v2);
    chomp(my $pg = `pg_config --includedir`);
    open my $fh, '-|', 'cc', '-E', '-P', @inc, "-I$pg", $path
        or die "cc -E $path: $!\n";
    my $src = do { local $/; <$fh> };
    close $fh or die "cc -E $path failed\n";
    my $literal = qr/"(?:[^"\\]|\\.)*"/;
    my %sql;
    # ngx_string("name") is { sizeof("name") - 1, (u_char *) "name" }
    while ($src =~ /\{\s*\{\s*sizeof\s*\("(\w+)"\)\s*-\s*1\s*,\s*\(u_char\s*\*\)\s*"\w+"\s*\}\s*,((?:\s*$literal)+)\s*,/g) {
        my ($name, $tokens) = ($1, $2);
        my $s = '';
        while ($tokens =~ /"((?:[^"\\]|\\.)*)"/g) {
            (my $lit = $1) =~ s/\\(.)/$1/g;
            $s .= $lit;
        }
        $sql{$name} = $s;
    }
    die "$path: no statement found: has the table's layout changed?\n"
        unless %sql;
    return %sql;
}

# (statement name, { N => text for $N }, the SQL without comments and
# pgbench's backslash commands)
sub pgbench_script {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!\n";
    my ($name, %bind, $text);
    while (my $line = <$fh>) {
        if ($line =~ /^--\s*statement:\s*(\w+)\s*$/) {
            $name = $1;
        } elsif ($line =~ /^--\s*\$(\d+)\s*=\s*(.*?)\s*$/) {
            $bind{$1} = $2;
        } elsif ($line !~ /^\s*(?:--|\\)/) {
            $text .= $line;
        }
    }
    return ($name, \%bind, $text // '');
}

sub squash {
    my ($s) = @_;
    $s =~ s/\s+/ /g;
    $s =~ s/^ | $//g;
    $s =~ s/ ?;$//;
    return $s;
}
