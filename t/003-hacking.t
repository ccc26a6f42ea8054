# docs/HACKING.md names the code it describes as `FILE: SYMBOL` (a C file
# by its name alone, in ngx_users_module/; anything else from the project
# root): each FILE must exist and contain SYMBOL, so that the guide and its
# "Adding a route" checklist break here, not in a newcomer's hands, when
# the code moves. A SYMBOL that is one identifier must be a whole word; any
# other is looked for as written. The module's debug lines that the guide
# quotes must be ones the named file can print.
use strict;
use warnings;
use Test::More;

my $guide = 'docs/HACKING.md';
my $text = slurp($guide);

ok($text !~ /<!--\s*To be written/, "$guide: no section left to be written");

# every backticked span, a span broken across lines read as one line
my @spans = map { (my $s = $_) =~ s/\s+/ /g; $s } $text =~ /`([^`]+)`/g;

# FILE: a path without spaces that looks like one (a dot or a slash) or
# names a file at the root (config); "Allow: GET" and the like are not pairs
my %seen;
my @pairs;
for my $span (@spans) {
    my ($file, $symbol) = $span =~ /^([\w.\/-]+): (\S.*)$/ or next;
    next unless $file =~ m{[./]} || -e $file;
    push @pairs, [$file, $symbol] unless $seen{"$file: $symbol"}++;
}

cmp_ok(scalar @pairs, '>=', 60,
       "$guide names code as `FILE: SYMBOL` (" . @pairs . ' pairs)');

for my $pair (@pairs) {
    my ($file, $symbol) = @$pair;
    my $path = resolve($file);
    ok(defined $path, "`$file: $symbol`: $file exists") or next;
    my $src = slurp($path);
    my $found = $symbol =~ /^\w+$/ ? $src =~ /\b\Q$symbol\E\b/
                                   : index($src, $symbol) >= 0;
    ok($found, "`$file: $symbol`: $path has $symbol");
}

# each step of the checklist names a file and a symbol
my ($checklist) = $text =~ /^## Adding a route\n(.*?)^## /ms;
ok(defined $checklist, "$guide has \"Adding a route\"");
my @steps = split /^(?=\d+\. )/m, $checklist // '';
shift @steps;    # the introduction
cmp_ok(scalar @steps, '>=', 10, 'the checklist has its steps');
for my $step (@steps) {
    my ($n, $title) = $step =~ /^(\d+)\. \*\*([^*]+)\*\*/;
    $n //= '?';
    $title //= substr($step, 0, 40);
    my @named = grep { m{^[\w.\/-]+: \S} }
                map { (my $s = $_) =~ s/\s+/ /g; $s } $step =~ /`([^`]+)`/g;
    ok(@named, "checklist step $n ($title) names a file and a symbol");
}

# the debug lines quoted in the table of "Reading a debug log": each one
# that starts with "users" matches a format of an ngx_log_debug() call in
# a file its row names
my ($debug) = $text =~ /^## Reading a debug log\n(.*?)(?=^## |\z)/ms;
ok(defined $debug, "$guide has \"Reading a debug log\"");
my $quoted = 0;
for my $row (grep { /^\| `users/ } split /\n/, $debug // '') {
    my (undef, $lines, $from) = split /\s*\|\s*/, $row;
    my @formats = map { debug_formats(resolve($_)) }
                  grep { defined resolve($_) }
                  map { m{^([\w.\/-]+): } ? $1 : () } $from =~ /`([^`]+)`/g;
    for my $line (grep { /^users/ } $lines =~ /`([^`]+)`/g) {
        $quoted++;
        ok((grep { $line =~ $_ } @formats),
           "debug line \"$line\" is printed where its row says");
    }
}
cmp_ok($quoted, '>=', 10, "the debug lines quoted ($quoted)");

done_testing();


sub resolve {
    my ($file) = @_;
    for my $path ($file, "ngx_users_module/$file") {
        return $path if -f $path;
    }
    return undef;
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!\n";
    local $/;
    return scalar <$fh>;
}

# the formats of a C file's ngx_log_debugN() calls, as anchored regexes:
# each conversion (%V, %ui, %d, ...) stands for any text
sub debug_formats {
    my ($path) = @_;
    my $src = slurp($path);
    my @formats;
    while ($src =~ /ngx_log_debug\d\s*\([^"]*((?:"(?:[^"\\]|\\.)*"\s*)+)/g) {
        my $format = join '', map { s/\\(.)/$1/gr }
                              $1 =~ /"((?:[^"\\]|\\.)*)"/g;
        my $re = join '.*?', map { quotemeta }
                             split /%[-+ #0-9.*]*[uxX]?[a-zA-Z]/, $format, -1;
        push @formats, qr/^$re$/;
    }
    return @formats;
}
