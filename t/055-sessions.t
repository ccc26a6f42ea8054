# Sessions and refresh tokens (docs/api.md, "Sessions and refresh tokens"):
# the login's refresh token and the access token's sid, rotation and its
# grace window, reuse detection, GET/DELETE /auth/sessions, the scopes of
# POST /auth/logout, the superuser's /users/{id}/sessions, the revocations
# that end sessions, tokens from before sessions, users_refresh_ttl and
# users_session_ttl.
#
# A block's requests are fixed before nginx starts, so a refresh token the
# server issued cannot be read from one response and sent in the next. The
# sessions the blocks act on are therefore made before run_tests, through
# the API of a throwaway nginx (t::lib::Scenario, under its own server
# root): real logins and refreshes whose tokens the blocks then present.
# What only that phase can observe (the login answer's fields decoded, the
# 20 racing refreshes) is checked there, with Test::More. Each block has
# its own users, so blocks run in any order; times that must have passed
# before a block (a grace window, a refresh ttl) have passed by the end of
# that phase.
use t::lib::Users;
use t::lib::Fixtures;
use t::lib::Scenario ();
use t::lib::Keys ();
use List::Util ();
use MIME::Base64 ();
use POSIX ();
use Time::HiRes ();

users_sql("DELETE FROM users WHERE email ILIKE 'sess-%\@example.com'");
our $pw = users_password();
our $admin = users_fixture(email => 'sess-admin@example.com', superuser => 1);
our $admin_token = users_token($admin);
our $as_admin = "Authorization: Bearer $admin_token";
our $json = "Content-Type: application/json";
our $form = "Content-Type: application/x-www-form-urlencoded";

# one user per block (or per role in a block); $id{name} is its id
our %id = map { $_ => users_fixture(email => "sess-$_\@example.com") } qw(
    shape cur rot form race reuse local others global noscope del stranger
    victim victim2 deact pw legacy legacy2 ttl ttlnew expiry seal splice
    splice2
);
our %tok = map { $_ => users_token($id{$_}) } qw(del legacy legacy2 victim2);

# a refresh token nobody was given: a session id and 256 bits, all random
our $unknown_rt = users_b64url(join '', map { chr int rand 256 } 1 .. 48);

# A refresh token's bytes: its session's id (16) and its secret (32).
sub rt_bytes {
    my ($rt) = @_;
    (my $b64 = $rt // '') =~ tr{-_}{+/};
    return MIME::Base64::decode_base64($b64);
}

# The uuid text of a refresh token's first 16 bytes.
sub rt_sid {
    my $hex = unpack 'H32', rt_bytes($_[0]);
    return join '-', unpack 'a8 a4 a4 a4 a12', $hex;
}

our $UA = 'sessions-test/1.0';
our $S = '\s*:\s*';    # between a key and its value, whatever the spacing
our $uuid_re = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

# The claims of a JWT (its payload decoded), {} when it is not one.
sub jwt_claims {
    my ($jwt) = @_;
    my (undef, $payload) = split /\./, $jwt // '';
    return {} unless defined $payload;
    $payload =~ tr{-_}{+/};
    $payload .= '=' x (-length($payload) % 4);
    my $claims = eval { t::lib::Scenario::json_decode(MIME::Base64::decode_base64($payload)) };
    return ref $claims eq 'HASH' ? $claims : {};
}

# A pattern matching the base64url text of any string that contains one of
# @texts, at whichever of the three offsets it starts in a 3-byte group: a
# JWT payload holds "sid":"<id>" somewhere, whatever the order of its
# claims. A group that holds bytes from outside the text is left out.
sub b64_containing {
    my (@texts) = @_;
    my %alternatives;
    for my $text (@texts) {
        for my $shift (0 .. 2) {
            my $data = ("\0" x $shift) . $text;
            my $whole = 3 * int(length($data) / 3);
            my $b64 = users_b64url(substr $data, 0, $whole);
            $b64 = substr $b64, 4 if $shift;
            $alternatives{ quotemeta $b64 } = 1;
        }
    }
    return '(?:' . join('|', sort keys %alternatives) . ')';
}

# The login answer (password or refresh grant): a JWT whose sid is $sid
# (any, when undef), a bearer type, its lifetime, a refresh token of 64
# base64url characters that is not $old, and the refresh token's lifetime
# ($refresh_in seconds, when given).
sub pair_re {
    my (%o) = @_;
    my $payload = defined $o{sid}
        ? '[A-Za-z0-9_-]*' . b64_containing(
            # the next claim or the end: every character of the id is in a
            # whole group at every offset
            qq{"sid":"$o{sid}",}, qq{"sid":"$o{sid}"\}}) . '[A-Za-z0-9_-]*'
        : '[A-Za-z0-9_-]+';
    my $not_old = defined $o{old} ? '(?!' . quotemeta($o{old}) . '")' : '';
    my $refresh_in = $o{refresh_in} // '\d+';
    my $re = '^\{'
        . '(?=.*"access_token"' . $S . '"[A-Za-z0-9_-]+\.' . $payload . '\.[A-Za-z0-9_-]+")'
        . '(?=.*"token_type"' . $S . '"bearer")'
        . '(?=.*"expires_in"' . $S . '\d+)'
        . '(?=.*"refresh_token"' . $S . '"' . $not_old . '[A-Za-z0-9_-]{64}")'
        . '(?=.*"refresh_expires_in"' . $S . $refresh_in . '\b)'
        . '.*\}$';
    return qr/$re/s;
}

# One Session of a list: its id, and current true or false.
sub session_re {
    my ($sid, $current) = @_;
    return "\\{(?=[^{}]*\"id\"$S\"\Q$sid\E\")(?=[^{}]*\"current\"$S$current\\b)[^{}]*\\}";
}

our $invalid_rt = '{"detail":"Invalid refresh token"}';
our $bad_token = qr/^\{"detail":"Could not validate credentials"\}$/;

sub refresh_body { qq({"refresh_token":"$_[0]"}) }

repeat_each(1);

# Assertions: 3 per request (status, body, one error log pattern), 68
# requests (TEST 17 makes six, TEST 10, 11 and 16 five, TEST 9, 12, 15,
# 18 and 24 four, TEST 13 and 22 three, TEST 3, 4, 7, 8, 14, 19, 21 and 23
# two, the others one); TEST 6 also checks a header; the session-making
# phase below checks 10 things before the blocks run.
plan tests => repeat_each() * (3 * 68 + 1) + 10;


# ---- the sessions the blocks use, made through the API -----------------

our %s;    # name => {access_token, refresh_token, sid, ...}, from a login
my $prep_root = "$t::harness::Server::DefaultRoot-sessions";

sub prep_api {
    my ($method, $path, $headers, $body) = @_;
    my ($status, undef, $text, $error) = t::lib::Scenario::http_request(
        $method, $path, { 'User-Agent' => $UA, %{ $headers || {} } }, $body);
    return ($status // 0, $text // '', $error);
}

sub prep_answer {
    my ($status, $text, $error, $what) = @_;
    my $answer = $status == 200 ? eval { t::lib::Scenario::json_decode($text) } : undef;
    unless (ref $answer eq 'HASH' && defined $answer->{refresh_token}) {
        Test::More::diag("$what: $status " . ($error // $text));
        # the blocks then fail on what the server answers to these
        $answer = { access_token => 'none', refresh_token => 'none' };
    }
    $answer->{sid} = jwt_claims($answer->{access_token})->{sid} // 'none';
    return $answer;
}

sub prep_login {
    my ($who) = @_;
    return prep_answer(prep_api(POST => '/auth/login',
        { 'Content-Type' => 'application/x-www-form-urlencoded' },
        "username=sess-$who\@example.com&password=$pw"), "login of $who");
}

sub prep_refresh {
    my ($rt, $what) = @_;
    return prep_answer(prep_api(POST => '/auth/refresh',
        { 'Content-Type' => 'application/json' }, refresh_body($rt)), $what);
}

my $started = Time::HiRes::time;

# refresh tokens that live 2 s
t::lib::Scenario::start_nginx(root => $prep_root,
    http_config => "users_refresh_ttl 2s;\n");
$s{ttl} = prep_login('ttl');
my $ttl_born = Time::HiRes::time;
Test::More::is($s{ttl}{refresh_expires_in}, 2,
    "login under users_refresh_ttl 2s: refresh_expires_in 2");

# a refresh whose token TEST 9 presents again, after a grace window of 1 s
# (configured as in that block, whether the window is counted at the
# refresh or at the reuse)
t::lib::Scenario::start_nginx(root => $prep_root,
    http_config => "users_refresh_grace 1s;\n");
$s{reuse} = prep_login('reuse');
$s{reuse_next} = prep_refresh($s{reuse}{refresh_token}, 'refresh of reuse');
my $rotated = Time::HiRes::time;

# sessions that live an hour, a grace window of 10 s (more under a slow
# runner: the 20 racing refreshes must all fall inside it)
t::lib::Scenario::start_nginx(root => $prep_root,
    http_config => "users_session_ttl 1h;\nusers_refresh_grace "
        . int(10 * t::lib::Scenario::time_factor()) . "s;\n");

$s{cur} = prep_login('cur');
Test::More::like($s{cur}{refresh_token} // '', qr/^[A-Za-z0-9_-]{64}$/,
    'login: refresh_token is 64 base64url characters');
Test::More::like($s{cur}{sid}, qr/^$uuid_re$/, 'login: the access token has a sid, a uuid');
Test::More::is(rt_sid($s{cur}{refresh_token}), $s{cur}{sid},
    'login: the refresh token carries its session\'s id, the sid');
Test::More::ok(($s{cur}{refresh_expires_in} // 0) > 3590
               && $s{cur}{refresh_expires_in} <= 3600,
    'login under users_session_ttl 1h: refresh_expires_in is at most the'
    . ' session\'s hour (got ' . ($s{cur}{refresh_expires_in} // 'none') . ')');

$s{$_} = prep_login($_) for qw(rot form expiry);
$s{"${_}1"} = prep_login($_), $s{"${_}2"} = prep_login($_) for qw(local global noscope del victim pw);
$s{others1} = prep_login('others');
$s{others2} = prep_login('others');
$s{others3} = prep_login('others');
$s{stranger} = prep_login('stranger');
$s{deact} = prep_login('deact');
$s{$_} = prep_login($_) for qw(splice splice2);

# 20 refreshes of one token at once, all inside the grace window
$s{race} = prep_login('race');
my @race = t::lib::Scenario::concurrent_requests(20, sub {
    my ($status, $text) = prep_api(POST => '/auth/refresh',
        { 'Content-Type' => 'application/json' },
        refresh_body($s{race}{refresh_token}));
    return [$status, $text];
});
my @race_ok = grep { $_->[0] == 200 } @race;
Test::More::is(scalar @race_ok, 20, '20 racing refreshes of one token: all 200')
    or Test::More::diag(join "\n", map { "$_->[0] $_->[1]" } grep { $_->[0] != 200 } @race);
my @race_answers = map { prep_answer(@$_[0, 1], undef, 'racing refresh') } @race_ok;
my %race_rt = map { $_->{refresh_token} => 1 } @race_answers;
Test::More::ok(keys %race_rt == 1 && !$race_rt{ $s{race}{refresh_token} },
    'racing refreshes: one new refresh token for all (got '
    . scalar(keys %race_rt) . ')');
Test::More::ok(@race_answers == 20
               && !grep({ $_->{sid} ne $s{race}{sid} } @race_answers),
    'racing refreshes: every access token has the session\'s sid');
$s{race_next} = $race_answers[-1] // { access_token => 'none', refresh_token => 'none' };

# The grace window's successor is sealed with a key derived from the
# signing key (users_jwt_secret, else the signer), which must be derived
# whatever the key's length: an ES256 key's DER is longer than BLAKE2b's
# key, and a key left unset would be the same (known) one on every
# instance. Another ES256 signer cannot open the box; the same one can,
# after a restart.
my $keys = t::lib::Keys::keys_dir();
my $signer = sub {
    "# no users_jwt_secret: the signer's key seals\n"
    . "users_jwt_key kid=$_[0] alg=ES256 file:$keys/$_[0].pem sign;\n"
    . 'users_refresh_grace ' . int(30 * t::lib::Scenario::time_factor()) . "s;\n";
};
t::lib::Scenario::start_nginx(root => $prep_root, http_config => $signer->('es1'));
$s{seal} = prep_login('seal');
my $sealed = prep_refresh($s{seal}{refresh_token}, 'refresh under es1');
t::lib::Scenario::start_nginx(root => $prep_root, http_config => $signer->('es2'));
my ($status) = prep_api(POST => '/auth/refresh', { 'Content-Type' => 'application/json' },
    refresh_body($s{seal}{refresh_token}));
Test::More::is($status, 401,
    'a successor sealed under one ES256 signer does not open under another');
t::lib::Scenario::start_nginx(root => $prep_root, http_config => $signer->('es1'));
my $again = prep_refresh($s{seal}{refresh_token}, 'grace replay under es1');
Test::More::is($again->{refresh_token}, $sealed->{refresh_token},
    'the same signer opens it after a restart: the grace answer is the successor');

t::lib::Scenario::nginx_stop();

# the expiry session's end, as the database has it: created_at + 1 h (to
# the second; the next second too, should it be computed apart)
our $expiry_end = do {
    my $created = users_sql("SELECT floor(extract(epoch FROM created_at))"
        . " FROM sessions WHERE id::text = '$s{expiry}{sid}'") || 0;
    my @ends = map { POSIX::strftime('%Y-%m-%dT%H:%M:%S', gmtime($created + 3600 + $_)) } 0, 1;
    '(?:' . join('|', @ends) . ')';
};

# TEST 9's grace window (1 s) and TEST 19's refresh ttl (2 s) are over
my $until = List::Util::max($ttl_born + 2.5, $rotated + 1.5);
Time::HiRes::sleep($until - Time::HiRes::time) if $until > Time::HiRes::time;
Test::More::note(sprintf 'sessions made in %.1f s', Time::HiRes::time - $started);

run_tests();

__DATA__

=== TEST 1: a login answers a refresh token and its lifetime beside the access token
--- request eval
"POST /auth/login\nusername=sess-shape\@example.com&password=$::pw"
--- more_headers eval
$::form
--- error_code: 200
--- response_body_like eval
::pair_re()
--- no_error_log
[error]



=== TEST 2: the access token's sid is the session GET /auth/sessions lists as current
--- request
GET /auth/sessions
--- more_headers eval
"Authorization: Bearer $::s{cur}{access_token}"
--- error_code: 200
--- response_body_like eval
qr/^\[\{(?=[^{}]*"id"$::S"\Q$::s{cur}{sid}\E")(?=[^{}]*"created_at"$::S"[^"]+Z")(?=[^{}]*"last_used_at"$::S"[^"]+Z")(?=[^{}]*"expires_at"$::S"[^"]+Z")(?=[^{}]*"user_agent"$::S"sessions-test\/1\.0")(?=[^{}]*"ip"$::S"127\.0\.0\.1")(?=[^{}]*"current"$::S(?:true))[^{}]*\}\]$/
--- no_error_log
[error]



=== TEST 3: POST /auth/refresh: a new pair for the same session; the old token dies after the grace window
--- http_config
users_refresh_grace 1s;
--- request eval
["POST /auth/refresh\n" . ::refresh_body($::s{rot}{refresh_token}),
 "POST /auth/refresh\n" . ::refresh_body($::s{rot}{refresh_token})]
--- more_headers eval
$::json
--- wait: 1.2
--- error_code eval
[200, 401]
--- response_body_like eval
[::pair_re(sid => $::s{rot}{sid}, old => $::s{rot}{refresh_token}),
 qr/^\Q$::invalid_rt\E$/]
--- no_error_log
[error]



=== TEST 4: the refresh_token grant of POST /auth/login does the same
--- http_config
users_refresh_grace 1s;
--- request eval
["POST /auth/login\ngrant_type=refresh_token&refresh_token=$::s{form}{refresh_token}",
 "POST /auth/login\ngrant_type=refresh_token&refresh_token=$::s{form}{refresh_token}"]
--- more_headers eval
$::form
--- wait: 1.2
--- error_code eval
[200, 401]
--- response_body_like eval
[::pair_re(sid => $::s{form}{sid}, old => $::s{form}{refresh_token}),
 qr/^\Q$::invalid_rt\E$/]
--- no_error_log
[error]



=== TEST 5: a JSON body without refresh_token is 422
--- request
POST /auth/refresh
{}
--- more_headers eval
$::json
--- error_code: 422
--- response_body chomp
{"detail":[{"loc":["body","refresh_token"],"msg":"field required","type":"value_error.missing"}]}
--- no_error_log
[error]



=== TEST 6: an unknown refresh token is 401 with WWW-Authenticate
--- request eval
"POST /auth/refresh\n" . ::refresh_body($::unknown_rt)
--- more_headers eval
$::json
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer
--- response_body eval
$::invalid_rt
--- no_error_log
[error]



=== TEST 7: an unknown refresh token in the form grant is 401; another grant_type is still 422
--- request eval
["POST /auth/login\ngrant_type=refresh_token&refresh_token=$::unknown_rt",
 "POST /auth/login\ngrant_type=client_credentials&username=sess-shape\@example.com&password=$::pw"]
--- more_headers eval
$::form
--- error_code eval
[401, 422]
--- response_body_like eval
[qr/^\Q$::invalid_rt\E$/,
 qr/^\{"detail":\[\{"loc":\["body","grant_type"\],/]
--- no_error_log
[error]



=== TEST 8: after 20 racing refreshes, one live session, and the new token refreshes it
--- request eval
["GET /auth/sessions",
 "POST /auth/refresh\n" . ::refresh_body($::s{race_next}{refresh_token})]
--- more_headers eval
["Authorization: Bearer $::s{race_next}{access_token}", $::json]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/^\[@{[ ::session_re($::s{race}{sid}, 'true') ]}\]$/,
 ::pair_re(sid => $::s{race}{sid}, old => $::s{race_next}{refresh_token})]
--- no_error_log
[error]



=== TEST 9: a refresh token used again after the window ends its session
--- http_config
users_refresh_grace 1s;
--- request eval
["POST /auth/refresh\n" . ::refresh_body($::s{reuse}{refresh_token}),
 "GET /users/me",
 "POST /auth/refresh\n" . ::refresh_body($::s{reuse_next}{refresh_token}),
 "GET /audit?user_id=$::id{reuse}&event=refresh_reuse_detected"]
--- more_headers eval
[$::json, "Authorization: Bearer $::s{reuse_next}{access_token}", $::json, $::as_admin]
--- wait: 0.5
--- error_code eval
[401, 401, 401, 200]
--- response_body_like eval
[qr/^\Q$::invalid_rt\E$/, $::bad_token, qr/^\Q$::invalid_rt\E$/,
 qr/^\[\{[^{}]*"event"$::S"refresh_reuse_detected",[^{}]*"user_id"$::S$::id{reuse},/]
--- no_error_log
[error]



=== TEST 10: logout?scope=local ends the current session only
--- request eval
["POST /auth/logout?scope=local", "GET /users/me",
 "POST /auth/refresh\n" . ::refresh_body($::s{local1}{refresh_token}),
 "GET /users/me", "GET /auth/sessions"]
--- more_headers eval
["Authorization: Bearer $::s{local1}{access_token}",
 "Authorization: Bearer $::s{local1}{access_token}", $::json,
 "Authorization: Bearer $::s{local2}{access_token}",
 "Authorization: Bearer $::s{local2}{access_token}"]
--- error_code eval
[204, 401, 401, 200, 200]
--- response_body_like eval
[qr/^$/, $::bad_token, qr/^\Q$::invalid_rt\E$/, qr/"email"$::S"sess-local\@example\.com"/,
 qr/^\[@{[ ::session_re($::s{local2}{sid}, 'true') ]}\]$/]
--- no_error_log
[error]



=== TEST 11: logout?scope=others ends every other session; the caller's token works on
--- request eval
["POST /auth/logout?scope=others", "GET /users/me", "GET /users/me",
 "POST /auth/refresh\n" . ::refresh_body($::s{others3}{refresh_token}),
 "GET /auth/sessions"]
--- more_headers eval
["Authorization: Bearer $::s{others1}{access_token}",
 "Authorization: Bearer $::s{others1}{access_token}",
 "Authorization: Bearer $::s{others2}{access_token}", $::json,
 "Authorization: Bearer $::s{others1}{access_token}"]
--- error_code eval
[204, 200, 401, 401, 200]
--- response_body_like eval
[qr/^$/, qr/"email"$::S"sess-others\@example\.com"/, $::bad_token,
 qr/^\Q$::invalid_rt\E$/,
 qr/^\[@{[ ::session_re($::s{others1}{sid}, 'true') ]}\]$/]
--- no_error_log
[error]



=== TEST 12: logout?scope=global ends every session
--- request eval
["POST /auth/logout?scope=global", "GET /users/me", "GET /users/me",
 "POST /auth/refresh\n" . ::refresh_body($::s{global2}{refresh_token})]
--- more_headers eval
["Authorization: Bearer $::s{global1}{access_token}",
 "Authorization: Bearer $::s{global1}{access_token}",
 "Authorization: Bearer $::s{global2}{access_token}", $::json]
--- error_code eval
[204, 401, 401, 401]
--- response_body_like eval
[qr/^$/, $::bad_token, $::bad_token, qr/^\Q$::invalid_rt\E$/]
--- no_error_log
[error]



=== TEST 13: logout without a scope is global
--- request eval
["POST /auth/logout", "GET /users/me",
 "POST /auth/refresh\n" . ::refresh_body($::s{noscope1}{refresh_token})]
--- more_headers eval
["Authorization: Bearer $::s{noscope1}{access_token}",
 "Authorization: Bearer $::s{noscope2}{access_token}", $::json]
--- error_code eval
[204, 401, 401]
--- response_body_like eval
[qr/^$/, $::bad_token, qr/^\Q$::invalid_rt\E$/]
--- no_error_log
[error]



=== TEST 14: another scope is 422 at ["query","scope"], and logs out nothing
--- request eval
["POST /auth/logout?scope=bogus", "GET /users/me"]
--- more_headers eval
"Authorization: Bearer $::tok{legacy2}"
--- error_code eval
[422, 200]
--- response_body_like eval
[qr/^\{"detail":\[\{"loc":\["query","scope"\],"msg":"[^"]+","type":"[^"]+"\}\]\}$/,
 qr/"email"$::S"sess-legacy2\@example\.com"/]
--- no_error_log
[error]



=== TEST 15: DELETE /auth/sessions/{id} of one's own session ends it
--- request eval
["DELETE /auth/sessions/$::s{del2}{sid}", "GET /users/me",
 "POST /auth/refresh\n" . ::refresh_body($::s{del2}{refresh_token}),
 "GET /users/me"]
--- more_headers eval
["Authorization: Bearer $::s{del1}{access_token}",
 "Authorization: Bearer $::s{del2}{access_token}", $::json,
 "Authorization: Bearer $::s{del1}{access_token}"]
--- error_code eval
[204, 401, 401, 200]
--- response_body_like eval
[qr/^$/, $::bad_token, qr/^\Q$::invalid_rt\E$/, qr/"email"$::S"sess-del\@example\.com"/]
--- no_error_log
[error]



=== TEST 16: another user's session, an unknown one and a non-uuid id are 404
--- request eval
["DELETE /auth/sessions/$::s{stranger}{sid}",
 "DELETE /auth/sessions/00000000-0000-4000-8000-000000000000",
 "DELETE /auth/sessions/not-a-uuid",
 "GET /users/me",
 "POST /auth/refresh\n" . ::refresh_body($::s{stranger}{refresh_token})]
--- more_headers eval
["Authorization: Bearer $::tok{del}", "Authorization: Bearer $::tok{del}",
 "Authorization: Bearer $::tok{del}",
 "Authorization: Bearer $::s{stranger}{access_token}", $::json]
--- error_code eval
[404, 404, 404, 200, 200]
--- response_body_like eval
[qr/^\{"detail":"Session not found"\}$/, qr/^\{"detail":"Session not found"\}$/,
 qr/^\{"detail":"Session not found"\}$/, qr/"email"$::S"sess-stranger\@example\.com"/,
 ::pair_re(sid => $::s{stranger}{sid}, old => $::s{stranger}{refresh_token})]
--- no_error_log
[error]



=== TEST 17: a superuser lists a user's sessions (current false) and ends them all
--- request eval
["GET /users/$::id{victim}/sessions", "DELETE /users/$::id{victim}/sessions",
 "POST /auth/refresh\n" . ::refresh_body($::s{victim1}{refresh_token}),
 "POST /auth/refresh\n" . ::refresh_body($::s{victim2}{refresh_token}),
 "GET /users/me", "GET /users/$::id{victim}/sessions"]
--- more_headers eval
[$::as_admin, $::as_admin, $::json, $::json,
 "Authorization: Bearer $::s{victim2}{access_token}", $::as_admin]
--- error_code eval
[200, 204, 401, 401, 401, 200]
--- response_body_like eval
[qr/^\[@{[ ::session_re($::s{victim2}{sid}, 'false') ]},\s*@{[ ::session_re($::s{victim1}{sid}, 'false') ]}\]$/,
 qr/^$/, qr/^\Q$::invalid_rt\E$/, qr/^\Q$::invalid_rt\E$/, $::bad_token,
 qr/^\[\]$/]
--- no_error_log
[error]



=== TEST 18: /users/{id}/sessions: 404 for a missing user, 403 for a non-superuser
--- request eval
["GET /users/987654321/sessions", "DELETE /users/987654321/sessions",
 "GET /users/$::id{victim2}/sessions", "DELETE /users/$::id{victim2}/sessions"]
--- more_headers eval
[$::as_admin, $::as_admin, "Authorization: Bearer $::tok{victim2}",
 "Authorization: Bearer $::tok{victim2}"]
--- error_code eval
[404, 404, 403, 403]
--- response_body eval
['{"detail":"User not found"}', '{"detail":"User not found"}',
 '{"detail":"Not enough privileges"}', '{"detail":"Not enough privileges"}']
--- no_error_log
[error]



=== TEST 19: users_refresh_ttl 2s: a refresh token unused for 2 s is 401; a login says 2
--- http_config
users_refresh_ttl 2s;
--- request eval
["POST /auth/refresh\n" . ::refresh_body($::s{ttl}{refresh_token}),
 "POST /auth/login\nusername=sess-ttlnew\@example.com&password=$::pw"]
--- more_headers eval
[$::json, $::form]
--- error_code eval
[401, 200]
--- response_body_like eval
[qr/^\Q$::invalid_rt\E$/, ::pair_re(refresh_in => 2)]
--- no_error_log
[error]



=== TEST 20: users_session_ttl 1h: the session's expires_at is an hour after its creation
--- request
GET /auth/sessions
--- more_headers eval
"Authorization: Bearer $::s{expiry}{access_token}"
--- error_code: 200
--- response_body_like eval
qr/^\[\{(?=[^{}]*"id"$::S"\Q$::s{expiry}{sid}\E")(?=[^{}]*"expires_at"$::S"$::expiry_end(?:\.\d+)?Z")[^{}]*\}\]$/
--- no_error_log
[error]



=== TEST 21: a deactivated user's refresh token is 401
--- request eval
["PUT /users/$::id{deact}\n{\"is_active\":false}",
 "POST /auth/refresh\n" . ::refresh_body($::s{deact}{refresh_token})]
--- more_headers eval
["$::as_admin\n$::json", $::json]
--- error_code eval
[200, 401]
--- response_body_like eval
[qr/"is_active"$::S(?:false)/, qr/^\Q$::invalid_rt\E$/]
--- no_error_log
[error]



=== TEST 22: a password change ends the user's sessions: their refresh tokens are 401
--- request eval
["PUT /users/me\n{\"password\":\"newpassword123\",\"current_password\":\"$::pw\"}",
 "POST /auth/refresh\n" . ::refresh_body($::s{pw1}{refresh_token}),
 "POST /auth/refresh\n" . ::refresh_body($::s{pw2}{refresh_token})]
--- more_headers eval
["Authorization: Bearer $::s{pw1}{access_token}\n$::json", $::json, $::json]
--- error_code eval
[200, 401, 401]
--- response_body_like eval
[qr/"email"$::S"sess-pw\@example\.com"/, qr/^\Q$::invalid_rt\E$/,
 qr/^\Q$::invalid_rt\E$/]
--- no_error_log
[error]



=== TEST 23: a token from before sessions (no sid) still works, and belongs to no session
--- request eval
["GET /users/me", "GET /auth/sessions"]
--- more_headers eval
"Authorization: Bearer $::tok{legacy}"
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/"email"$::S"sess-legacy\@example\.com"/, qr/^\[\]$/]
--- no_error_log
[error]



=== TEST 24: a refresh token names its session: the old shape, another session's id with this secret and this id with another's secret are 401, and the token still refreshes
--- request eval
["POST /auth/refresh\n" . ::refresh_body(substr $::s{splice}{refresh_token}, 0, 43),
 "POST /auth/refresh\n" . ::refresh_body(::users_b64url(
     substr(::rt_bytes($::s{splice2}{refresh_token}), 0, 16)
     . substr(::rt_bytes($::s{splice}{refresh_token}), 16))),
 "POST /auth/refresh\n" . ::refresh_body(::users_b64url(
     substr(::rt_bytes($::s{splice}{refresh_token}), 0, 16)
     . substr(::rt_bytes($::s{splice2}{refresh_token}), 16))),
 "POST /auth/refresh\n" . ::refresh_body($::s{splice}{refresh_token})]
--- more_headers eval
$::json
--- error_code eval
[401, 401, 401, 200]
--- response_body_like eval
[qr/^\Q$::invalid_rt\E$/, qr/^\Q$::invalid_rt\E$/, qr/^\Q$::invalid_rt\E$/,
 ::pair_re(sid => $::s{splice}{sid}, old => $::s{splice}{refresh_token})]
--- no_error_log
[error]
