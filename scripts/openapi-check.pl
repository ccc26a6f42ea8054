#!/usr/bin/perl
# openapi-check.pl BASE_URL [DOCUMENT] - keeps docs/openapi.yaml and the
# server from drifting apart. Against a running server (e.g.
# http://127.0.0.1:8000) it
#  - fetches /openapi.json, the document as served (or reads DOCUMENT, a
#    JSON file such as build/docs/openapi.json, to check another server,
#    e.g. the FastAPI peer, against ours);
#  - checks that the document's examples match its own schemas;
#  - calls every documented path and method with valid requests (and a few
#    invalid ones, for the error statuses), expecting the status the contract
#    gives; each answer's status must be documented for the operation, and
#    its headers and body must validate against the document;
#  - fails a documented operation that no call reached with a 2xx answer;
#  - calls each documented path with the methods it does not document,
#    expecting 405 with an Allow header listing the documented ones.
# It registers two throwaway users, logs the first in twice (two sessions,
# ended by the checks) and logs in the first superuser
# (FIRST_SUPERUSER_EMAIL / FIRST_SUPERUSER_PASSWORD, default
# admin@example.com / adminpassword123).
# Prints TAP lines and "openapi: N passed, N failed"; exits 1 on a failure.
#
# Perl core only (JSON::PP, HTTP::Tiny) with a small JSON Schema validator:
# the subset of 2020-12 the document uses. A keyword or format it does not
# know is an error, so the document cannot outgrow the check unnoticed.
use strict;
use warnings;
use B ();
use HTTP::Tiny;
use JSON::PP ();

my ($base, $document) = @ARGV;
die "usage: $0 BASE_URL [DOCUMENT]\n" unless $base;
$base =~ s{/+$}{};
my $admin_email = $ENV{FIRST_SUPERUSER_EMAIL} || 'admin@example.com';
my $admin_password = $ENV{FIRST_SUPERUSER_PASSWORD} || 'adminpassword123';
my $JSON_TYPE = 'application/json; charset=utf-8';
my @METHODS = qw(get put post delete patch);

# a login hashes: under a slow runner (valgrind, mockeagain) the suite's
# own client timeout applies
my $http = HTTP::Tiny->new(timeout => $ENV{TEST_NGINX_TIMEOUT} || 15,
                           agent => 'openapi-check/1');
my $json = JSON::PP->new->utf8->canonical;
my ($passed, $failed, $request_no) = (0, 0, 0);
my %reached;    # "get /users/me" => 1 once it answered a documented 2xx

sub check {
    my ($name, @problems) = @_;
    if (@problems) {
        $failed++;
        print "not ok ", $passed + $failed, " - $name\n";
        print "#   $_\n" for @problems;
    } else {
        $passed++;
        print "ok ", $passed + $failed, " - $name\n";
    }
}

# ---------------------------------------------------------------- the document

my $doc;
if ($document) {
    open my $f, '<:raw', $document or die "$document: $!\n";
    $doc = $json->decode(do { local $/; <$f> });
} else {
    my $res = $http->get("$base/openapi.json");
    die "GET /openapi.json: $res->{status} $res->{reason}\n" unless $res->{success};
    $doc = $json->decode($res->{content});
}

# follows $ref (local JSON pointers) until a node that is not one
sub deref {
    my ($node) = @_;
    while (ref $node eq 'HASH' && defined $node->{'$ref'}) {
        my $target = $doc;
        for my $part (split m{/}, substr($node->{'$ref'}, 2)) {
            $part =~ s/~1/\//g;
            $part =~ s/~0/~/g;
            $target = $target->{$part} // die "dangling \$ref $node->{'$ref'}\n";
        }
        $node = $target;
    }
    return $node;
}

# ---------------------------------------------------------------- the validator

my %ANNOTATION = map { $_ => 1 }
    qw(title description default examples example deprecated readOnly writeOnly);
my %FORMAT = (
    'date-time' => qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)\z/,
    email       => qr/^[^@\s]+@[^@\s]+\.[^@\s]+\z/,
    uri         => qr/^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+\z/,
    int64       => qr/^/,    # range: minimum / maximum
    password    => qr/^/,    # a UI hint
);

# the JSON type of a decoded value; numbers and strings differ by their
# flags, so call it before the value is ever used as a string
sub json_type {
    my ($v) = @_;
    return 'null' unless defined $v;
    return 'boolean' if JSON::PP::is_bool($v);
    return ref $v eq 'HASH' ? 'object' : 'array' if ref $v;
    my $flags = B::svref_2object(\$v)->FLAGS;
    return 'string' if $flags & B::SVp_POK;
    return $v == int $v ? 'integer' : 'number';
}

sub same {
    my ($x, $y) = @_;
    return $json->encode([$x]) eq $json->encode([$y]);
}

# ECMA-262 "$" never matches before a final newline; Perl's does
sub pattern {
    my ($p) = @_;
    $p =~ s/(?<!\\)\$$/\\z/;
    return qr/$p/;
}

sub validate {
    my ($schema, $v, $at) = @_;
    my @e;
    if (defined $schema->{'$ref'}) {
        push @e, validate(deref({'$ref' => $schema->{'$ref'}}), $v, $at);
    }
    my $type = json_type($v);
    for my $k (sort keys %$schema) {
        my $s = $schema->{$k};
        next if $ANNOTATION{$k} || $k eq '$ref';
        if ($k eq 'type') {
            my @types = ref $s ? @$s : ($s);
            push @e, "$at: is $type, not @types" unless grep {
                $_ eq $type || ($_ eq 'number' && $type eq 'integer')
            } @types;
        } elsif ($k eq 'const') {
            push @e, "$at: is not " . $json->encode([$s]) unless same($v, $s);
        } elsif ($k eq 'enum') {
            push @e, "$at: is not one of " . $json->encode($s) unless grep { same($v, $_) } @$s;
        } elsif ($k eq 'allOf') {
            push @e, map { validate($_, $v, $at) } @$s;
        } elsif ($k eq 'anyOf' || $k eq 'oneOf') {
            my $n = grep { !validate($_, $v, $at) } @$s;
            push @e, "$at: matches $n of the $k schemas" if $k eq 'anyOf' ? !$n : $n != 1;
        } elsif ($k =~ /^(minLength|maxLength|pattern|format)$/) {
            next unless $type eq 'string';
            my $len = length $v;
            push @e, "$at: $len characters, fewer than $s" if $k eq 'minLength' && $len < $s;
            push @e, "$at: $len characters, more than $s" if $k eq 'maxLength' && $len > $s;
            push @e, "$at: does not match /$s/" if $k eq 'pattern' && $v !~ pattern($s);
            if ($k eq 'format') {
                my $re = $FORMAT{$s} // die "validator: unknown format $s at $at\n";
                push @e, "$at: is not a valid $s" if $v !~ $re;
            }
        } elsif ($k =~ /^(minimum|maximum|exclusiveMinimum|exclusiveMaximum)$/) {
            next unless $type eq 'integer' || $type eq 'number';
            push @e, "$at: $v is below $s" if $k eq 'minimum' && $v < $s;
            push @e, "$at: $v is above $s" if $k eq 'maximum' && $v > $s;
            push @e, "$at: $v is not above $s" if $k eq 'exclusiveMinimum' && $v <= $s;
            push @e, "$at: $v is not below $s" if $k eq 'exclusiveMaximum' && $v >= $s;
        } elsif ($k =~ /^(required|properties|additionalProperties|dependentRequired|minProperties)$/) {
            next unless $type eq 'object';
            if ($k eq 'required') {
                push @e, map { "$at: $_ is missing" } grep { !exists $v->{$_} } @$s;
            } elsif ($k eq 'properties') {
                push @e, map { validate($s->{$_}, $v->{$_}, "$at.$_") } grep { exists $v->{$_} } sort keys %$s;
            } elsif ($k eq 'additionalProperties') {
                my $known = $schema->{properties} || {};
                for my $name (grep { !exists $known->{$_} } sort keys %$v) {
                    push @e, ref $s eq 'HASH' ? validate($s, $v->{$name}, "$at.$name")
                           : JSON::PP::is_bool($s) && !$s ? "$at.$name: is not allowed" : ();
                }
            } elsif ($k eq 'dependentRequired') {
                for my $name (grep { exists $v->{$_} } sort keys %$s) {
                    push @e, map { "$at: $name needs $_" } grep { !exists $v->{$_} } @{$s->{$name}};
                }
            } else {
                push @e, "$at: fewer than $s properties" if keys %$v < $s;
            }
        } elsif ($k =~ /^(items|prefixItems|minItems|maxItems)$/) {
            next unless $type eq 'array';
            my $first = $k eq 'items' ? @{$schema->{prefixItems} || []} : 0;
            if ($k eq 'prefixItems') {
                push @e, map { validate($s->[$_], $v->[$_], "$at\[$_]") } grep { $_ < @$v } 0 .. $#$s;
            } elsif ($k eq 'items') {
                push @e, map { validate($s, $v->[$_], "$at\[$_]") } $first .. $#$v;
            }
            push @e, "$at: fewer than $s items" if $k eq 'minItems' && @$v < $s;
            push @e, "$at: more than $s items" if $k eq 'maxItems' && @$v > $s;
        } else {
            die "validator: unknown keyword $k at $at\n";
        }
    }
    return @e;
}

# ---------------------------------------------------------------- examples

# a media type's or parameter's examples against its own schema
sub examples_of {
    my ($holder, $at) = @_;
    my @e;
    push @e, validate($holder->{schema}, $holder->{example}, "$at example")
        if exists $holder->{example};
    for my $name (sort keys %{$holder->{examples} || {}}) {
        push @e, validate($holder->{schema}, deref($holder->{examples}{$name})->{value},
                          "$at example $name");
    }
    return @e;
}

{
    my @e;
    for my $path (sort keys %{$doc->{paths}}) {
        my $item = $doc->{paths}{$path};
        for my $m (grep { $item->{$_} } @METHODS) {
            my $op = $item->{$m};
            my $body = deref($op->{requestBody} || {});
            for my $type (sort keys %{$body->{content} || {}}) {
                push @e, examples_of($body->{content}{$type}, "$m $path request");
            }
            for my $status (sort keys %{$op->{responses}}) {
                my $response = deref($op->{responses}{$status});
                my ($content, $headers) = map { $_ || {} } @$response{qw(content headers)};
                push @e, map { examples_of($content->{$_}, "$m $path $status") } sort keys %$content;
                push @e, map { examples_of(deref($headers->{$_}), "$m $path $status header $_") }
                    sort keys %$headers;
            }
            push @e, map { examples_of(deref($_), "$m $path parameter") }
                @{$item->{parameters} || []}, @{$op->{parameters} || []};
        }
    }
    for my $name (sort keys %{$doc->{components}{schemas}}) {
        my $s = $doc->{components}{schemas}{$name};
        push @e, map { validate($s, $_, "schema $name example") } @{$s->{examples} || []};
    }
    check('the examples of the document match its schemas', @e);
}

# ---------------------------------------------------------------- calls

# call(METHOD, PATH_TEMPLATE, expect => STATUS, token, json, form, body +
#      type, query, id, sid); checks the answer against the document
sub call {
    my ($method, $template, %a) = @_;
    my $m = lc $method;
    my $op = $doc->{paths}{$template} && $doc->{paths}{$template}{$m};
    (my $path = $template) =~ s/\{user_id\}/$a{id}/;
    $path =~ s/\{session_id\}/$a{sid}/;
    my $url = "$base$path";
    $url .= '?' . $http->www_form_urlencode($a{query}) if $a{query};
    my $rid = 'openapi-check-' . ++$request_no;
    my %h = ('X-Request-ID' => $rid);
    $h{Authorization} = "Bearer $a{token}" if $a{token};
    my $content = $a{body};
    if (exists $a{json}) {
        $content = $json->encode($a{json});
        $h{'Content-Type'} = 'application/json';
    } elsif ($a{form}) {
        $content = $http->www_form_urlencode($a{form});
        $h{'Content-Type'} = 'application/x-www-form-urlencoded';
    }
    $h{'Content-Type'} = $a{type} if $a{type};
    my $r = $http->request($method, $url, {headers => \%h, defined $content ? (content => $content) : ()});
    my $status = $r->{status};
    my $hdr = $r->{headers};
    my $ctype = $hdr->{'content-type'} // '';
    my $body;
    my @e;
    push @e, "status $status, expected $a{expect}" . ($status == 599 ? ": $r->{content}" : '')
        if $status != $a{expect};
    push @e, "X-Request-ID is " . ($hdr->{'x-request-id'} // 'missing') . ", sent $rid"
        if ($hdr->{'x-request-id'} // '') ne $rid;
    if ($ctype =~ m{^application/json}) {
        push @e, "Content-Type: $ctype, not $JSON_TYPE" if $ctype ne $JSON_TYPE;
        $body = eval { $json->decode($r->{content}) };
        push @e, "body is not JSON: $r->{content}" if $@;
    }

    my $documented = $op && $op->{responses}{$status} && deref($op->{responses}{$status});
    if (!$op) {
        push @e, "$method $template is not in the document";
    } elsif (!$documented) {
        push @e, "status $status is not documented for $method $template: $r->{content}";
    } else {
        for my $name (sort keys %{$documented->{headers} || {}}) {
            my $spec = deref($documented->{headers}{$name});
            my $value = $hdr->{lc $name};
            if (!defined $value) {
                push @e, "header $name is missing" if $spec->{required};
                next;
            }
            # header values are text: compare integers as such
            $value = 0 + $value if $value =~ /^-?\d+$/ && ($spec->{schema}{type} // '') eq 'integer';
            push @e, validate($spec->{schema}, $value, "header $name");
        }
        my $media = $documented->{content} || {};
        (my $got = $ctype) =~ s/;.*//;
        if (!%$media) {
            push @e, "a body, where none is documented" if length $r->{content};
        } elsif (!$media->{$got}) {
            push @e, "Content-Type $ctype is not documented (" . join(', ', sort keys %$media) . ")";
        } else {
            push @e, validate($media->{$got}{schema}, $got eq 'application/json' ? $body : $r->{content}, 'body');
        }
        $reached{"$m $template"} = 1 if $status =~ /^2/ && $status == $a{expect};
    }
    push @e, $a{also}->($body, $hdr) if $a{also} && !@e;
    check("$method $path" . ($a{as} ? " as $a{as}" : '') . " -> $a{expect}", @e);
    return wantarray ? ($body, $hdr) : $body;
}

my $run = time . "-$$";
my %user = (email => "openapi-check-$run\@example.com", password => 'secretpassword123',
            name => 'Alice Johnson');
my %other = (email => "openapi-check-$run-b\@example.com", password => 'otherpassword456');

# meta and docs
call(GET => '/', expect => 200, also => sub {
    my ($b) = @_;
    return $b->{version} eq $doc->{info}{version}
        ? () : ("version $b->{version}, the document says $doc->{info}{version}");
});
call(GET => '/healthz', expect => 200);
call(GET => '/readyz', expect => 200);
call(GET => '/.well-known/jwks.json', expect => 200);
call(GET => '/openapi.json', expect => 200);
call(GET => '/docs', expect => 200);
call(GET => '/redoc', expect => 200);

# auth
my ($me, $hdr) = call(POST => '/auth/register', json => \%user, expect => 201);
$me //= {id => 0};
my $location = $hdr->{location} // '';
check('Location of the new user is /users/{id}',
      $location eq "/users/$me->{id}" ? () : ("Location: $location"));
my $other = call(POST => '/auth/register', json => \%other, expect => 201) // {id => 0};
call(POST => '/auth/register', json => {%user, email => uc $user{email}}, expect => 409,
     as => 'the same e-mail in upper case');
call(POST => '/auth/register', json => {email => 'not-an-email', password => 'short'},
     expect => 422, as => 'an invalid body');
call(POST => '/auth/register', body => $json->encode(\%user), type => 'text/plain',
     expect => 415, as => 'text/plain');
call(POST => '/auth/register', json => {%user, name => 'x' x (65 * 1024)}, expect => 413,
     as => 'a 65 KiB body');

# the access token, and in list context the refresh token too
my $login = sub {
    my ($email, $password) = @_;
    my $t = call(POST => '/auth/login', expect => 200, as => $email,
                 form => {grant_type => 'password', username => $email, password => $password});
    $t //= {};
    return wantarray ? ($t->{access_token} // '', $t->{refresh_token} // '') : $t->{access_token} // '';
};
my ($token, $refresh) = $login->($user{email}, $user{password});
my $admin = $login->($admin_email, $admin_password);
my $admin_id = (call(GET => '/users/me', token => $admin, expect => 200, as => 'admin') // {id => 0})->{id};
call(POST => '/auth/login', form => {username => $user{email}, password => 'wrongpassword'},
     expect => 401, as => 'a wrong password');
call(POST => '/auth/login', form => {username => $user{email}}, expect => 422,
     as => 'no password');

call(GET => '/auth/me', token => $token, expect => 200);
call(GET => '/auth/me', expect => 401, as => 'nobody');
call(GET => '/auth/me', token => 'not.a.token', expect => 401, as => 'a forged token');
call(POST => '/auth/test-token', token => $token, expect => 200);
call(GET => '/auth/verify', token => $token, expect => 204);
call(GET => '/auth/verify', token => 'not.a.token', expect => 401, as => 'a forged token');

# users
call(GET => '/users', token => $admin, query => {skip => 0, limit => 2}, expect => 200);
call(GET => '/users', token => $token, expect => 403, as => 'a normal user');
call(GET => '/users', token => $admin, query => {limit => 0}, expect => 422, as => 'limit=0');
call(GET => '/users/me', token => $token, expect => 200);
call(PUT => '/users/me', token => $token, json => {name => 'Alice J. Johnson'}, expect => 200);
call(PUT => '/users/me', token => $token, expect => 400, as => 'a wrong current_password',
     json => {password => 'newsecretpassword456', current_password => 'wrongpassword'});
call(PUT => '/users/me', token => $token, json => {email => $other{email}}, expect => 409,
     as => 'a taken e-mail');
call(PUT => '/users/me', token => $token, json => {is_superuser => JSON::PP::true},
     expect => 422, as => 'is_superuser');
call(GET => '/users/{user_id}', id => $other->{id}, token => $admin, expect => 200);
call(GET => '/users/{user_id}', id => '9223372036854775807', token => $admin, expect => 404,
     as => 'an unknown id');
call(GET => '/users/{user_id}', id => 'abc', token => $admin, expect => 422, as => 'a bad id');
call(GET => '/users/{user_id}', id => $other->{id}, token => $token, expect => 403,
     as => 'a normal user');
call(PUT => '/users/{user_id}', id => $other->{id}, token => $admin, expect => 200,
     json => {name => 'Bob', is_active => JSON::PP::true});
call(PUT => '/users/{user_id}', id => $admin_id, token => $admin, expect => 400,
     json => {is_superuser => JSON::PP::false}, as => 'own status');
call(DELETE => '/users/{user_id}', id => $admin_id, token => $admin, expect => 400,
     as => 'oneself');
call(DELETE => '/users/{user_id}', id => $other->{id}, token => $admin, expect => 204);
call(DELETE => '/users/{user_id}', id => $other->{id}, token => $admin, expect => 404,
     as => 'a deleted user');

# profile
call(GET => '/profile/me', token => $token, expect => 200);
call(PUT => '/profile/me', token => $token, expect => 200, json => {
    bio => 'Backend developer who likes small, fast services.', location => 'Lisbon, Portugal',
    website => 'https://alice.example.com', avatar_url => 'https://alice.example.com/a.png',
    phone => '+351 912 345 678'});
call(PUT => '/profile/me', token => $token, json => {website => 'ftp://example.com'},
     expect => 422, as => 'an ftp URL');
call(GET => '/profile/me/preferences', token => $token, expect => 200);
call(PUT => '/profile/me/preferences', token => $token, expect => 200,
     json => {theme => 'dark', timezone => 'Europe/Lisbon'});
call(PUT => '/profile/me/preferences', token => $token, json => {theme => 'blue'},
     expect => 422, as => 'an unknown theme');
call(DELETE => '/profile/me/avatar', token => $token, expect => 200, also => sub {
    my ($b) = @_;
    return defined $b->{avatar_url} ? ('avatar_url is not null') : ();
});
call(GET => '/profile/{user_id}', id => $me->{id}, token => $admin, expect => 200);
call(GET => '/profile/{user_id}', id => '9223372036854775807', token => $token, expect => 404,
     as => 'an unknown id');

# audit (the changes above are in it)
call(GET => '/audit', token => $admin, query => {limit => 5}, expect => 200);
call(GET => '/audit', token => $admin, query => {user_id => $me->{id}, event => 'user_updated'},
     expect => 200, as => 'filtered');
call(GET => '/audit', token => $token, expect => 403, as => 'a normal user');
call(GET => '/audit', token => $admin, query => {event => 'nope'}, expect => 422,
     as => 'an unknown event');

# sessions and refresh tokens: the user's first login above is one
# session, this one a second
my (undef, $refresh2) = $login->($user{email}, $user{password});
my $rotated = sub {
    my ($old) = @_;
    return sub {
        my ($b) = @_;
        return length($b->{refresh_token} // '') != 64 ? ('refresh_token is not 64 characters')
             : $b->{refresh_token} eq $old ? ('refresh_token was not rotated') : ();
    };
};
my $t = call(POST => '/auth/refresh', json => {refresh_token => $refresh}, expect => 200,
             also => $rotated->($refresh));
($token, $refresh) = @$t{qw(access_token refresh_token)} if $t;
$t = call(POST => '/auth/login', form => {grant_type => 'refresh_token', refresh_token => $refresh},
          expect => 200, as => 'the refresh grant', also => $rotated->($refresh));
($token, $refresh) = @$t{qw(access_token refresh_token)} if $t;
call(POST => '/auth/refresh', json => {refresh_token => 'A' x 64}, expect => 401,
     as => 'an unknown token');
call(POST => '/auth/login', form => {grant_type => 'refresh_token', refresh_token => 'A' x 64},
     expect => 401, as => 'the refresh grant of an unknown token');
call(POST => '/auth/refresh', json => {}, expect => 422, as => 'no refresh_token');
my $sessions = call(GET => '/auth/sessions', token => $token, expect => 200, also => sub {
    my ($b) = @_;
    return @$b != 2 ? ('not 2 sessions: ' . $json->encode($b))
         : (grep { $_->{current} } @$b) != 1 ? ('not 1 current session') : ();
}) // [];
my ($second) = map { $_->{id} } grep { !$_->{current} } @$sessions;
call(DELETE => '/auth/sessions/{session_id}', sid => $second // 'none', token => $token,
     expect => 204, as => 'the second session');
call(POST => '/auth/refresh', json => {refresh_token => $refresh2}, expect => 401,
     as => "the ended second session's token");
call(DELETE => '/auth/sessions/{session_id}', sid => $second // 'none', token => $token,
     expect => 404, as => 'an ended session');
call(DELETE => '/auth/sessions/{session_id}', sid => 'not-a-uuid', token => $token,
     expect => 404, as => 'not a uuid');
call(GET => '/users/{user_id}/sessions', id => $me->{id}, token => $admin, expect => 200,
     also => sub {
    my ($b) = @_;
    return @$b != 1 ? ('not 1 session: ' . $json->encode($b))
         : $b->[0]{current} ? ('current is true') : ();
});
call(GET => '/users/{user_id}/sessions', id => '9223372036854775807', token => $admin,
     expect => 404, as => 'an unknown id');
call(GET => '/users/{user_id}/sessions', id => 'abc', token => $admin, expect => 422,
     as => 'a bad id');
call(GET => '/users/{user_id}/sessions', id => $me->{id}, token => $token, expect => 403,
     as => 'a normal user');
call(POST => '/auth/logout', token => $token, query => {scope => 'nope'}, expect => 422,
     as => 'scope=nope');
call(POST => '/auth/logout', token => $token, query => {scope => 'others'}, expect => 204,
     as => 'scope=others');
call(GET => '/users/me', token => $token, expect => 200, as => 'after scope=others');

# last, as it revokes the user's tokens: logout (global) ends the last
# session; a new login's session is then ended by a superuser
call(POST => '/auth/logout', token => $token, expect => 204);
call(GET => '/users/me', token => $token, expect => 401, as => 'a revoked token');
call(POST => '/auth/refresh', json => {refresh_token => $refresh}, expect => 401,
     as => 'a logged-out refresh token');
my (undef, $refresh3) = $login->($user{email}, $user{password});
call(DELETE => '/users/{user_id}/sessions', id => '9223372036854775807', token => $admin,
     expect => 404, as => 'an unknown id');
call(DELETE => '/users/{user_id}/sessions', id => $me->{id}, token => $token, expect => 401,
     as => 'a revoked token');
call(DELETE => '/users/{user_id}/sessions', id => $me->{id}, token => $admin, expect => 204);
call(POST => '/auth/refresh', json => {refresh_token => $refresh3}, expect => 401,
     as => "a token of a session a superuser ended");

for my $path (sort keys %{$doc->{paths}}) {
    for my $m (grep { $doc->{paths}{$path}{$_} } @METHODS) {
        check("$m $path answered a documented 2xx", $reached{"$m $path"} ? () : ('never reached'));
    }
}

# ---------------------------------------------------------------- 405

my $error_schema = {'$ref' => '#/components/schemas/HTTPError'};
for my $path (sort keys %{$doc->{paths}}) {
    my $item = $doc->{paths}{$path};
    my %documented = map { uc($_) => 1 } grep { $item->{$_} } @METHODS;
    # HEAD answers where GET does
    my @undocumented = ((grep { !$documented{uc $_} } @METHODS),
                        $documented{GET} ? () : ('head'));
    (my $url = "$base$path") =~ s/\{user_id\}/$me->{id}/;
    $url =~ s/\{session_id\}/0b5e8f2c-3d1a-4c7e-9f60-2a7d5c4e8b13/;
    for my $method (map { uc } @undocumented) {
        # no token: the method is checked before authentication
        my $r = $http->request($method, $url);
        my @e;
        push @e, "status $r->{status}" if $r->{status} != 405;
        my %allow = map { $_ => 1 } split /\s*,\s*/, $r->{headers}{allow} // '';
        my $listed = join ', ', sort keys %allow;
        push @e, "Allow: $listed" if grep({ !$allow{$_} } keys %documented)
                                    || grep({ !$documented{$_} && $_ ne 'HEAD' } keys %allow);
        if ($method ne 'HEAD') {
            my $ctype = $r->{headers}{'content-type'} // '';
            push @e, "Content-Type: $ctype" if $ctype ne $JSON_TYPE;
            my $body = eval { $json->decode($r->{content}) };
            push @e, $@ ? "body is not JSON: $r->{content}" : validate($error_schema, $body, 'body');
        }
        push @e, 'no X-Request-ID' unless $r->{headers}{'x-request-id'};
        check("$method $path -> 405 with Allow", @e);
    }
}

print "1..", $passed + $failed, "\n";
print "openapi: $passed passed, $failed failed\n";
exit($failed ? 1 : 0);
