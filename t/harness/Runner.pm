package t::harness::Runner;

# run_tests() of the local Test::Nginx::Socket: runs the blocks of a test
# file against nginx the way openresty's Test::Nginx does, within the subset
# the tables below list (sections, filters, environment). Anything outside
# that subset (a section, a filter, an environment knob) stops the run with
# BAIL_OUT instead of being skipped, so that no check is silently lost.

use strict;
use warnings;

use List::Util qw(shuffle);
use Scalar::Util qw(looks_like_number);
use Test::More ();
use Time::HiRes ();

use t::harness::Client;
use t::harness::Server;

my %KNOWN_SECTION = map { $_ => 1 } qw(
    main_config http_config config post_main_config
    request more_headers pipelined_requests raw_request
    error_code error_code_like
    response_body response_body_like response_body_unlike
    response_headers response_headers_like raw_response_headers_like
    error_log no_error_log
    timeout log_level abort wait must_die
    ONLY SKIP LAST
);

# "norm" and "trim" always run (Test::Base's defaults); these may be added
my %KNOWN_FILTER = map { $_ => 1 } qw(chomp eval);

# what Test::Base itself keeps in a block besides the sections
my %BLOCK_FIELD = map { $_ => 1 }
    qw(name description seq_num is_filtered blocks_object original_values);

# Test::Nginx knobs this runner does not implement
my @UNSUPPORTED_ENV = qw(
    USE_HUP CHECK_LEAK BENCHMARK RANDOMIZE USE_HTTP2 USE_HTTP3 USE_STAP
    USE_RR EVENT_TYPE POSTPONE_OUTPUT ERROR_LOG NO_NGINX_MANAGER REUSE_PORT
    IGNORE_MISSING_DIRECTIVES
);

# the runner whose nginx must be stopped if the script ends early
my $Active;

# $settings: what the header functions of Test::Nginx::Socket set
# (repeat_each, shuffle, preprocessors, env, root_location, log_level,
# workers, master, worker_connections, timeout, accum_log).
sub run_tests {
    my ($settings) = @_;
    my $self = bless { %$settings, owner => $$ }, __PACKAGE__;

    # a mistake in the file itself: this file fails, the others still run
    die "$0: no plan: use 'plan tests => ...' or 'use Test::Nginx::Socket \"no_plan\"'\n"
        unless defined Test::More->builder->has_plan;
    my @blocks = eval {
        check_environment();
        Test::Base::blocks();    # list context: runs the section filters
    };
    bail("$0 - $@") if $@;
    # the file's own sections are checked before any nginx runs
    for my $block (@blocks) {
        eval { check_sections($block); 1 } or bail("$0 " . $block->name . " - $@");
    }

    $self->{server} = t::harness::Server->new(
        map({ $_ => $self->{$_} } qw(workers master worker_connections log_level
            env root_location)),
        stop_timeout => $self->{timeout},
    );
    $ENV{TEST_NGINX_SERVER_PORT} //= $self->{server}->port;
    $Active = $self;

    @blocks = shuffle @blocks if $self->{shuffle};
    for my $block (@blocks) {
        my $title = "$0 " . $block->name;
        eval { $self->run_block($block); 1 } or bail("$title - $@");
    }
    $self->stop_nginx unless $ENV{TEST_NGINX_NO_CLEAN};
    undef $Active;
}

sub check_environment {
    my @set = grep { $ENV{"TEST_NGINX_$_"} } @UNSUPPORTED_ENV;
    push @set, 'FORCE_RESTART_ON_TEST'
        if ($ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} // 1) ne '1';
    die join(', ', map { "TEST_NGINX_$_" } @set)
        . " is not supported by the local Test::Nginx harness\n" if @set;
}

sub check_sections {
    my ($block) = @_;
    my @unknown = sort grep { !$KNOWN_SECTION{$_} && !$BLOCK_FIELD{$_} && !/^_/ }
        keys %$block;
    die "section(s) @unknown not supported by the local Test::Nginx harness\n"
        if @unknown;
    my $map = $block->_section_map || {};
    for my $section (sort keys %$map) {
        my @bad = grep { length && !$KNOWN_FILTER{$_} }
            split /\s+/, $map->{$section}{filters} // '';
        die "--- $section: filter(s) @bad not supported by the local"
            . " Test::Nginx harness\n" if @bad;
    }
}

sub bail {
    my ($msg) = @_;
    chomp $msg;
    my ($first, @more) = split /\n/, $msg;
    Test::More::diag(join "\n", @more) if @more;
    Test::More::BAIL_OUT($first);
}

sub run_block {
    my ($self, $block) = @_;
    $_->($block) for @{ $self->{preprocessors} };
    $block->set_value(name => "$0 " . $block->name);
    check_sections($block);
    die "no --- config section (the local harness needs one in every block)\n"
        unless defined $block->config;
    die "no --- request, --- raw_request or --- pipelined_requests section\n"
        unless defined $block->must_die
            || grep { defined $block->$_ } qw(request raw_request pipelined_requests);

    $self->stop_nginx;
    $self->{current} = $block;
    # each block's checks start at the top of its fresh error.log
    $self->{log_pos} = $self->{scan_pos} = 0;
    return $self->run_must_die($block) if defined $block->must_die;

    $self->{server}->prepare($self->conf_sections($block));
    $self->{server}->start;
    $self->run_requests($block, $_) for 0 .. $self->{repeat_each} - 1;
}

sub conf_sections {
    my ($self, $block) = @_;
    return (
        map({ $_ => scalar $block->$_ } qw(main_config http_config config post_main_config)),
        log_level => $block->log_level // $self->{log_level},
    );
}

# nginx must refuse to start, once per repetition; like the real harness,
# not under valgrind.
sub run_must_die {
    my ($self, $block) = @_;
    my $name = $block->name;
    my $want = $block->must_die;
    local $self->{server}{valgrind};
    $self->{server}->prepare($self->conf_sections($block));
    for my $rep (0 .. $self->{repeat_each} - 1) {
        my $status = $self->{server}->launch;
        if ($status & 127) {
            Test::More::fail("$name - nginx died on signal " . ($status & 127));
        } elsif (looks_like_number($want)) {
            Test::More::is($status >> 8, $want, "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }
        $self->check_error_log($block, $rep);
        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; killing it\n";
            $self->{server}->stop($name);
        }
    }
}

# Stops the nginx of the block that ran last, and looks at what it logged
# while stopping (a crash at exit counts against that block).
sub stop_nginx {
    my ($self) = @_;
    my $block = delete $self->{current} or return;
    my $name = $block->name;
    my $res = $self->{server}->stop($name);
    Test::More::fail("$name - nginx process $res->{gone} died before the"
        . " harness stopped it (crashed?)") if $res->{gone};
    $self->scan_log($block, {});
}

# One repetition of a block: its request(s), each followed by its checks;
# the error log is checked after each request.
sub run_requests {
    my ($self, $block, $rep) = @_;
    my $name = $block->name;
    my @connections = connections($block);
    my $need_array = defined $block->pipelined_requests || @connections > 1;
    my $total = 0;
    $total += $_->{responses} for @connections;
    my $timeout = parse_time($block->timeout) // $self->{timeout};
    my $index = 0;
    for my $conn (@connections) {
        my $r = t::harness::Client::exchange(port => $self->{server}->client_port,
            data => $conn->{data}, timeout => $timeout);
        if ($ENV{TEST_NGINX_VERBOSE}) {
            warn "$name - request:\n$conn->{data}\n$name - response:\n$r->{raw}\n";
        }
        Test::More::fail("ERROR: client socket timed out - $name")
            if $r->{timed_out} && !defined $block->abort;
        my $raw = $r->{raw};
        for my $n (1 .. $conn->{responses}) {
            my $res = t::harness::Client::parse_response($raw, $conn->{head});
            $raw = $res->{left} // '';
            warn "WARNING: $name - unexpected extra bytes after the response: \""
                . excerpt($res->{left}) . "\"\n"
                if $n == $conn->{responses} && defined $res->{left};
            Test::More::fail("$name - $res->{error}") if $res->{error};
            warn "WARNING: $name - $res->{warning}\n" if $res->{warning};
            $self->check_response($block, $res, $index, $rep, $need_array, $r->{error});
            if (++$index < $total) {
                pause($block);
                $self->check_error_log($block, $rep);
            }
        }
    }
    pause($block);
    $self->check_error_log($block, $rep);
}

# The connections of one repetition: { data, responses, head }.
sub connections {
    my ($block) = @_;
    if (defined(my $raw = $block->raw_request)) {
        die "--- raw_request must be a string\n" if ref $raw;
        return { data => $raw, responses => 1, head => scalar $raw =~ /^\s*HEAD\s/ };
    }
    my $more = $block->more_headers;
    my $headers = sub {
        my ($i) = @_;
        return $more unless ref $more;
        die "--- more_headers lacks data for request $i\n"
            unless ref $more eq 'ARRAY' && defined $more->[$i];
        return $more->[$i];
    };
    if (defined(my $list = $block->pipelined_requests)) {
        die "--- pipelined_requests must be an array of requests (eval)\n"
            unless ref $list eq 'ARRAY';
        my $data = join '', map {
            t::harness::Client::build_request(
                t::harness::Server::expand_env($list->[$_]), $headers->($_),
                $_ == $#$list ? 'close' : 'keep-alive')
        } 0 .. $#$list;
        return { data => $data, responses => scalar @$list,
            head => scalar $data =~ /^HEAD\s/ };
    }
    my $request = $block->request;
    my @requests = ref $request eq 'ARRAY' ? @$request : ($request);
    for (@requests) {
        die "--- request must be a string or an array of strings (requests"
            . " split into several writes are not supported)\n" if ref;
    }
    return map {
        my $data = t::harness::Client::build_request($requests[$_], $headers->($_), 'close');
        { data => $data, responses => 1, head => scalar $data =~ /^HEAD\s/ }
    } 0 .. $#requests;
}

# The checks of one response, in the real harness's order: status, raw
# headers, headers, body.
sub check_response {
    my ($self, $block, $res, $index, $rep, $need_array, $error) = @_;
    my $name = $block->name;
    my $value = sub {
        my ($section) = @_;
        return indexed(scalar $block->$section, $index, $need_array);
    };
    my $status = $res->{status} // '';

    my $ok;
    if (defined $block->error_code_like) {
        my $re = $value->('error_code_like');
        $ok = Test::More::like($status, qr/$re/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        $ok = is_str($status, $value->('error_code'), "$name - status code ok");
    } else {
        $ok = is_str($status, 200, "$name - status code ok");
    }
    if (!$ok) {
        Test::More::diag($error) if $error;
        Test::More::diag('response body: "' . excerpt($res->{body}) . '"')
            if length $res->{body};
    }

    if (defined $block->raw_response_headers_like) {
        my $re = $value->('raw_response_headers_like');
        Test::More::like($res->{raw_headers}, qr/$re/s, "$name - raw resp headers like");
    }

    if (defined $block->response_headers) {
        for (header_spec($value->('response_headers'))) {
            my ($key, $want) = @$_;
            if (!defined $want) {
                Test::More::unlike($res->{raw_headers}, qr/^\s*\Q$key\E\s*:/ms,
                    "$name - header $key not present in the raw headers");
                next;
            }
            is_str(t::harness::Client::header($res, $key) // '', $self->ports($want),
                "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        for (header_spec($value->('response_headers_like'))) {
            my ($key, $re) = @$_;
            Test::More::like(t::harness::Client::header($res, $key) // '',
                qr/^$re$/, "$name - header $key like ok");
        }
    }

    my $body = $res->{body};
    if (defined $block->response_body) {
        my $want = $value->('response_body');
        my $what = "$name - response_body - response is expected (repeated req $rep, req $index)";
        if (ref $want eq 'Regexp') {
            Test::More::like($body, $want, $what);
        } else {
            is_str($body, $self->ports(t::harness::Server::expand_env($want)), $what);
        }
    } elsif (defined $block->response_body_like || defined $block->response_body_unlike) {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $re = $self->ports($value->("response_body_$type"));
        my $check = $type eq 'like' ? \&Test::More::like : \&Test::More::unlike;
        $check->($body, qr/$re/s, "$name - response_body_$type - response is expected ("
            . excerpt($body, 80) . ')');
    }
}

# $ServerPort and $ServerPortForClient in an expected value
sub ports {
    my ($self, $text) = @_;
    return $text unless defined $text;
    my $server = $self->{server};
    $text =~ s/\$ServerPortForClient\b/$server->client_port/ge;
    $text =~ s/\$ServerPort\b/$server->port/ge;
    return $text;
}

# With several requests (an array or a pipeline) an expected value must be
# an array with one entry per request.
sub indexed {
    my ($value, $index, $need_array) = @_;
    if (ref $value eq 'ARRAY') {
        return $need_array ? $value->[$index] : $value->[0];
    }
    die "You asked for many requests, the expected results should be arrays as well.\n"
        if $need_array;
    return $value;
}

# "--- response_headers" lines: [name, value], or [name, undef] for a
# header that must be absent ("!Name", or a bare name as in the real
# harness). A repeated name keeps its last value, so there is one check
# per distinct name.
sub header_spec {
    my ($text) = @_;
    my (@order, %value);
    for my $line (split /\n/, $text // '') {
        $line =~ s/^\s+|\s+$//g;
        next unless length $line;
        my ($key, $value) = $line =~ s/^!\s*// ? ($line, undef) : split /\s*:\s*/, $line, 2;
        push @order, $key unless exists $value{$key};
        $value{$key} = $value;
    }
    return map { [$_, $value{$_}] } @order;
}

# Reads what nginx logged since the previous check (or the whole log under
# check_accum_error_log) and runs the error_log / no_error_log patterns:
# literal substrings, or qr// objects from an eval array.
sub check_error_log {
    my ($self, $block, $rep) = @_;
    my $name = $block->name;
    my $server = $self->{server};
    # lines of the log phase are written after the response went out
    Time::HiRes::sleep($server->sleep_time * 3);
    my ($text, $pos) = $server->read_log($self->{accum_log} ? 0 : $self->{log_pos});
    $self->{log_pos} = $pos;
    my @lines = split /\n/, $text;

    my %quiet;
    for my $section (qw(error_log no_error_log)) {
        my @patterns = patterns($block->$section);
        for my $level (qw(alert crit emerg)) {
            $quiet{$level} = 1 if grep { index("$_", "[$level") >= 0 } @patterns;
        }
        for my $pat (@patterns) {
            my ($line) = grep { ref $pat ? /$pat/ : index($_, $pat) >= 0 } @lines;
            my $shown = excerpt("$pat");
            if ($section eq 'error_log') {
                Test::More::ok(defined $line, "$name - pattern \"$shown\" matches"
                    . " a line in error.log (req $rep)")
                    or Test::More::diag('searched ' . @lines . ' lines of '
                        . $server->error_log . ($self->{accum_log} ? ''
                            : ' (those written since the previous check)'));
            } else {
                Test::More::ok(!defined $line, "$name - pattern \"$shown\" does"
                    . " not match a line in error.log (req $rep)")
                    or Test::More::diag('matching line: ' . excerpt($line, 500));
            }
        }
    }
    $self->scan_log($block, \%quiet);
}

sub patterns {
    my ($value) = @_;
    return () unless defined $value;
    return @$value if ref $value eq 'ARRAY';
    return ($value) if ref $value eq 'Regexp';
    chomp $value;
    return split /\n+/, $value;
}

# Every log line is looked at once, checked or not: a crashed worker or a
# failed assertion fails the block; alert, crit and emerg lines are printed
# as warnings unless the block's own patterns mention that level.
sub scan_log {
    my ($self, $block, $quiet) = @_;
    my $name = $block->name;
    my ($text, $pos) = $self->{server}->read_log($self->{scan_pos});
    $self->{scan_pos} = $pos;
    for my $line (split /\n/, $text) {
        if ($line =~ /exited on signal/) {
            Test::More::fail("$name - nginx crashed: $line");
        } elsif ($line =~ /\bAssertion .*?failed\b/) {
            Test::More::fail("$name - $line");
        } elsif ($line =~ /\[(alert|crit|emerg)\]/ && !$quiet->{$1}) {
            warn "WARNING: $name - $line\n";
        }
    }
}

sub pause {
    my ($block) = @_;
    my $wait = parse_time($block->wait);
    Time::HiRes::sleep($wait) if $wait;
}

# "5", "5s" or "500ms", in seconds
sub parse_time {
    my ($value) = @_;
    return undef unless defined $value;
    return $1 / 1000 if $value =~ /^\s*(\d+(?:\.\d*)?)ms\s*$/;
    return $1 if $value =~ /^\s*(\d+(?:\.\d*)?)s?\s*$/;
    die "bad time value \"$value\"\n";
}

# is() with a readable diagnostic for bodies: control characters shown
# escaped, and where the two strings start to differ.
sub is_str {
    my ($got, $want, $name) = @_;
    return Test::More::is($got, $want, $name)
        if !defined $got || !defined $want || "$got$want" !~ /[\r\n]/;
    my $ok = Test::More::ok($got eq $want, $name);
    if (!$ok) {
        my $at = 0;
        $at++ while $at < length $got && $at < length $want
            && substr($got, $at, 1) eq substr($want, $at, 1);
        Test::More::diag(join "\n",
            '     got: "' . excerpt($got, 1000) . '"',
            'expected: "' . excerpt($want, 1000) . '"',
            "first difference at byte $at: got \""
                . excerpt(substr($got, $at), 60) . '", expected "'
                . excerpt(substr($want, $at), 60) . '"');
    }
    return $ok;
}

sub excerpt {
    my ($text, $max) = @_;
    return '' unless defined $text;
    $max //= 200;
    my $cut = length $text > $max;
    $text = substr $text, 0, $max if $cut;
    $text =~ s/"/\\"/g;
    $text =~ s/\r/\\r/g;
    $text =~ s/\n/\\n/g;
    $text =~ s/\t/\\t/g;
    $text =~ s/([\x00-\x1f\x7f])/sprintf '\\x%02x', ord $1/ge;
    return $cut ? "$text..." : $text;
}

END {
    if ($Active && $Active->{owner} == $$ && !$ENV{TEST_NGINX_NO_CLEAN}) {
        local $?;    # keep Test::Builder's exit status
        $Active->{server}->stop('END');
    }
}

1;
