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

# the statement texts of the C table, by name; string literals are
# concatenated and the macros of the file made of string literals expanded
sub c_statements {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!\n";
    my $src = do { local $/; <$fh> };
    $src =~ s{/\*.*?\*/}{ }gs;
    $src =~ s{\\\n}{ }g;
    my $literals = qr/(?:\s*(?:"(?:[^"\\]|\\.)*"|[A-Z_][A-Z0-9_]*))+/;
    my %macro;
    while ($src =~ /^#define\s+([A-Z_][A-Z0-9_]*)\s+($literals)\s*$/mg) {
        $macro{$1} = $2;
    }
    my %sql;
    while ($src =~ /\{\s*ngx_string\("(\w+)"\)\s*,($literals)\s*,/g) {
        $sql{$1} = c_string($2, \%macro);
    }
    die "$path: no statement found: has the table's layout changed?\n"
        unless %sql;
    return %sql;
}

sub c_string {
    my ($tokens, $macro, $depth) = @_;
    die "macros nested too deeply\n" if ($depth // 0) > 8;
    my $s = '';
    while ($tokens =~ /"((?:[^"\\]|\\.)*)"|([A-Z_][A-Z0-9_]*)/g) {
        if (defined $1) {
            (my $lit = $1) =~ s/\\(.)/$1/g;
            $s .= $lit;
        } else {
            die "unknown macro $2\n" unless exists $macro->{$2};
            $s .= c_string($macro->{$2}, $macro, ($depth // 0) + 1);
        }
    }
    return $s;
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
