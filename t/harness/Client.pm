package t::harness::Client;

# The HTTP client side of Test::Nginx (as openresty's Test::Nginx::Socket
# documents it): the request bytes built from a "--- request" value,
# one exchange over a plain socket (write everything, read until the server
# closes, every wait bounded by the per-I/O timeout), and a small response
# parser (status, headers, chunked or Content-Length body, and the bytes
# left over for the next pipelined response). Shared with t::lib::Scenario.

use strict;
use warnings;

use IO::Select ();
use IO::Socket::INET ();

# The request line and body of a "--- request" value, with Host,
# Connection, the more_headers lines and Content-Length added exactly as
# the real harness does it.
sub build_request {
    my ($text, $more_headers, $connection) = @_;
    $text //= '';
    # leading blank space and "#" comment lines are not part of the request
    1 while $text =~ s/\A(?:\s*#[^\n]+\s+|\s+)//;
    my ($line, $body) = split /\n/, $text, 2;
    die "the request line should be non-empty\n" unless defined $line;
    $body //= '';
    my ($method, $uri, $version) = $line =~ /^\s*(\S+) *(?:(\S+) *)?(?:(\S+) *)?\s*$/
        or die "the request line should be 'METHOD [URI [VERSION]]', got \"$line\"\n";

    my ($headers, $chunked) = more_headers($more_headers);
    my $length = '';
    # only an exact "Content-Length:" (case-sensitive) counts as the test's own
    if (!$chunked && length $body && $headers !~ /(?:^|\n)Content-Length:/) {
        $body =~ s/^\s+|\s+$//g;
        $length = 'Content-Length: ' . length($body) . "\r\n";
    }
    my $head = '';
    $head .= "Host: localhost\r\n" unless $headers =~ /(?:^|\n)Host:/i;
    $head .= "Connection: $connection\r\n" unless $headers =~ /(?:^|\n)Connection/i;
    return join '', $method, ' ', $uri // '/', ' ', $version // 'HTTP/1.1',
        "\r\n", $head, $headers, $length, "\r\n", $body;
}

# "--- more_headers": one "Key: value" per line, sent in order. Leading
# blank space is kept on purpose (nginx rejects such a line, as with the
# real harness). Returns the header block and whether the body is chunked.
sub more_headers {
    my ($text) = @_;
    my ($out, $chunked) = ('', 0);
    for my $line (split /\n+/, $text // '') {
        next if $line eq '' || $line =~ /^\s*#/;
        my ($key, $value) = split /:\s*/, $line, 2;
        $value //= '';
        $chunked = 1 if lc $key eq 'transfer-encoding' && $value eq 'chunked';
        $out .= "$key: $value\r\n";
    }
    return ($out, $chunked);
}

# Sends $opt{data} to 127.0.0.1:$opt{port} and reads until the server
# closes. Writing and reading are interleaved, so an early answer (a 413
# before the body is sent) is still read. Returns { raw, timed_out, error }.
sub exchange {
    my (%opt) = @_;
    my %r = (raw => '', timed_out => 0, error => undef);
    local $SIG{PIPE} = 'IGNORE';
    my $sock = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1',
        PeerPort => $opt{port},
        Proto    => 'tcp',
        Timeout  => $opt{timeout},
    );
    if (!$sock) {
        $r{error} = "cannot connect to 127.0.0.1:$opt{port}: $@";
        return \%r;
    }
    $sock->blocking(0);
    my ($data, $sent) = ($opt{data}, 0);
    my $select = IO::Select->new($sock);
    while (1) {
        my ($readable, $writable) = IO::Select->select($select,
            $sent < length $data ? $select : undef, undef, $opt{timeout});
        if (!$readable && !$writable) {
            next if $!{EINTR};
            $r{timed_out} = 1;
            last;
        }
        if ($writable && @$writable) {
            my $n = syswrite $sock, $data, length($data) - $sent, $sent;
            if (defined $n) {
                $sent += $n;
            } elsif (!$!{EAGAIN}) {
                # the server closed early: stop writing, read its answer
                $r{error} = "write failed: $!";
                $sent = length $data;
            }
        }
        if ($readable && @$readable) {
            my $n = sysread $sock, my $buf, 65536;
            if ($n) {
                $r{raw} .= $buf;
            } elsif (defined $n) {
                last;
            } elsif (!$!{EAGAIN}) {
                $r{error} = "read failed: $!";
                last;
            }
        }
    }
    close $sock;
    return \%r;
}

# Parses one response from the start of $raw. Returns { status (undef when
# there is none), headers ([name, value] pairs), raw_headers (the status
# line and headers, CRLF line ends), body, left (bytes after this
# response), error (bad chunked body), warning (truncated body) }.
sub parse_response {
    my ($raw, $head_request) = @_;
    my %res = (status => undef, headers => [], raw_headers => '', body => '',
        left => undef, error => undef, warning => undef);
    return \%res unless length $raw;
    $res{raw_headers} = $1 if $raw =~ /\A(.*?\r\n)\r\n/s;

    my ($status_line, $rest) = split /\r?\n/, $raw, 2;
    my (undef, $code) = split ' ', $status_line, 3;
    $res{status} = $code if defined $code && $code =~ /^\d+$/;
    $rest //= '';
    while (length $rest) {
        if ($rest =~ s/^([^\s:]+)[ \t]*: ?(.*)\n?//) {
            my ($name, $value) = ($1, $2);
            $value =~ s/\r\z//;
            push @{ $res{headers} }, [$name, $value];
        } elsif (@{ $res{headers} } && $rest =~ s/^[ \t]+(.*)\n?//) {
            (my $more = $1) =~ s/\r\z//;
            $res{headers}[-1][1] .= " $more";
        } else {
            $rest =~ s/^\r?\n//;
            last;
        }
    }
    $res{body} = $rest;

    my $status = $res{status} // 0;
    return \%res if $status == 304 || $status == 101;
    my $encoding = header(\%res, 'Transfer-Encoding');
    my $length = header(\%res, 'Content-Length');
    if (defined $encoding && $encoding eq 'chunked') {
        @res{qw(body left error)} = decode_chunked($rest);
        $res{body} //= $rest;
    } elsif (defined $length && $length =~ /^\d+$/) {
        if (length $rest < $length) {
            $res{warning} = "response body truncated: $length expected, but got "
                . length($rest) unless $head_request;
        } elsif (length $rest > $length) {
            $res{body} = substr $rest, 0, $length;
            $res{left} = substr $rest, $length;
        }
    }
    return \%res;
}

# Returns (body, bytes after the last chunk or undef, error or undef).
sub decode_chunked {
    my ($raw) = @_;
    my $body = '';
    while (1) {
        if ($raw =~ /\G0[ \t]*\r\n\r\n/gc) {
            my $left = substr $raw, pos $raw;
            return ($body, length $left ? $left : undef, undef);
        }
        if ($raw =~ /\G[ \t]*([A-Fa-f0-9]+)[ \t]*\r\n/gc) {
            my ($size, $at) = (hex $1, pos $raw);
            return (undef, undef, 'invalid chunked data received '
                . '(not enough octets for the data section)')
                if length($raw) - $at < $size;
            $body .= substr $raw, $at, $size;
            pos($raw) = $at + $size;
            return (undef, undef, 'invalid chunked data received (expected CRLF)')
                unless $raw =~ /\G\r\n/gc;
        } elsif ($raw =~ /\G(.+)/gcs) {
            return (undef, undef, "invalid chunked body received: $1");
        } else {
            return (undef, undef, 'no last chunk found');
        }
    }
}

# The value of a response header, case-insensitively; repeated headers are
# joined with ", ". undef when absent.
sub header {
    my ($res, $name) = @_;
    my @values = map { $_->[1] } grep { lc $_->[0] eq lc $name } @{ $res->{headers} };
    return @values ? join(', ', @values) : undef;
}

1;
