# users_auth: guarded return, static and proxy_pass locations, the
# variables, /auth/verify behind auth_request.
use t::lib::Users;
use t::lib::Fixtures;

our $alice = users_fixture(email => 'guard-alice@example.com');
our $token = users_token($alice);
our $root = users_fixture(email => 'guard-root@example.com', superuser => 1);
our $root_token = users_token($root);
our $demoted = users_fixture(email => 'guard-demoted@example.com',
                             superuser => 1);
our $demoted_token = users_token($demoted);
users_sql("UPDATE users SET is_superuser = false WHERE id = $demoted");
our $revoked = users_fixture(email => 'guard-revoked@example.com',
                             version => 3);
our $revoked_token = users_token($revoked, ver => 2);
our $inactive = users_fixture(email => 'guard-inactive@example.com');
our $inactive_token = users_token($inactive);
users_sql("UPDATE users SET is_active = false WHERE id = $inactive");
our $expired = users_token($alice, exp => time - 5);
our $forged = users_token($alice, secret => 'x' x 40);
our $oversized = 'a' x 5000;
# a token of one of alice's sessions, and one whose sid is no session id
our $sid = users_sql("INSERT INTO sessions (user_id, expires_at,"
    . " refresh_expires_at, refresh_hash) VALUES ($alice,"
    . " now() + interval '1 day', now() + interval '1 day',"
    . " decode(md5(random()::text), 'hex')) RETURNING id");
sub sid_token {
    users_token($alice, claims => sprintf(
        '{"sub":"%s","iat":%d,"exp":%d,"ver":0,"sid":"%s"}',
        $alice, time, time + 600, shift));
}
our $sid_token = sid_token($sid);
our $bad_sid_token = sid_token('S-123');

# the upstream of the proxy_pass blocks: another server of this nginx
our $upstream = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT1;
        location / {
            return 200 "upstream saw user=[$http_x_user_id]\n";
        }
    }
_EOC_
$ENV{TEST_NGINX_SERVER_PORT1} = ($ENV{TEST_NGINX_SERVER_PORT} // 1984) + 7;

repeat_each(1);

# Assertions per block: 3 (status, body, no [error]) per request, plus one
# per header checked (TEST 2, 11, 14 and 15 one, TEST 12 three, TEST 3 six);
# TEST 3 has 6 requests, TEST 9, 14, 15, 16, 17 and 18 two (TEST 17 checks
# a header of its second).
plan tests => repeat_each() * (3 * blocks() + 47);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a guarded return with a current token
--- config
    location = /g {
        users_auth user;
        return 200 "in $users_user_id\n";
    }
--- request
GET /g
--- more_headers eval
"Authorization: Bearer $::token"
--- response_body eval
"in $::alice\n"
--- no_error_log
[error]



=== TEST 2: no token: 401, Bearer alone, the API's JSON
--- config
    location = /g {
        users_auth user;
        return 200 "in\n";
    }
--- request
GET /g
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer
--- response_body chomp
{"detail":"Not authenticated"}
--- no_error_log
[error]



=== TEST 3: malformed, oversized, expired, forged, revoked, deactivated
--- config
    location = /g {
        users_auth user;
        return 200 "in\n";
    }
--- request eval
[("GET /g") x 6]
--- more_headers eval
[map { "Authorization: Bearer $_" } 'not.a-token', $::oversized, $::expired,
     $::forged, $::revoked_token, $::inactive_token]
--- error_code eval
[(401) x 6]
--- response_headers eval
[('WWW-Authenticate: Bearer error="invalid_token"') x 6]
--- response_body eval
[('{"detail":"Could not validate credentials"}') x 6]
--- no_error_log
[error]



=== TEST 4: a superuser location refuses a normal user
--- config
    location = /admin {
        users_auth superuser;
        return 200 "admin\n";
    }
--- request
GET /admin
--- more_headers eval
"Authorization: Bearer $::token"
--- error_code: 403
--- response_body chomp
{"detail":"Not enough privileges"}
--- no_error_log
[error]



=== TEST 5: a superuser location lets a superuser in
--- config
    location = /admin {
        users_auth superuser;
        return 200 "admin $users_is_superuser\n";
    }
--- request
GET /admin
--- more_headers eval
"Authorization: Bearer $::root_token"
--- response_body
admin 1
--- no_error_log
[error]



=== TEST 6: a demoted superuser's token is refused there
--- config
    location = /admin {
        users_auth superuser;
        return 200 "admin\n";
    }
--- request
GET /admin
--- more_headers eval
"Authorization: Bearer $::demoted_token"
--- error_code: 403
--- response_body chomp
{"detail":"Not enough privileges"}
--- no_error_log
[error]



=== TEST 7: satisfy any with allow 127.0.0.1 needs no token
--- config
    location = /g {
        satisfy any;
        allow 127.0.0.1;
        deny all;
        users_auth user;
        return 200 "in [$users_user_id]\n";
    }
--- request
GET /g
--- response_body
in []
--- no_error_log
[error]



=== TEST 8: satisfy any, denied address and no token: the guard's 401
(a static file: "return" answers in the rewrite phase, before any access
check nginx makes under "satisfy any")
--- config
    location /files/ {
        satisfy any;
        deny all;
        users_auth user;
        alias $TEST_NGINX_CONF_DIR/;
    }
--- request
GET /files/json_log.conf
--- error_code: 401
--- response_body chomp
{"detail":"Not authenticated"}
--- no_error_log
[error]



=== TEST 9: a guarded static file; users_auth is inherited, off clears it
--- config
    users_auth user;
    location /files/ {
        alias $TEST_NGINX_CONF_DIR/;
    }
    location = /open {
        users_auth off;
        return 200 "open\n";
    }
--- request eval
["GET /files/json_log.conf", "GET /open"]
--- error_code eval
[401, 200]
--- response_body eval
["{\"detail\":\"Not authenticated\"}", "open\n"]
--- no_error_log
[error]



=== TEST 10: the static file with a token
--- config
    users_auth user;
    location /files/ {
        alias $TEST_NGINX_CONF_DIR/;
    }
--- request
GET /files/json_log.conf
--- more_headers eval
"Authorization: Bearer $::token"
--- response_body_like chomp
log_format
--- no_error_log
[error]



=== TEST 11: proxy_pass: the upstream sees X-User-Id
--- http_config eval: $::upstream
--- config
    location /app/ {
        users_auth user;
        proxy_set_header X-User-Id $users_user_id;
        proxy_set_header Authorization "";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT1/;
    }
--- request
GET /app/x
--- more_headers eval
"Authorization: Bearer $::token"
--- response_headers
WWW-Authenticate:
--- response_body eval
"upstream saw user=[$::alice]\n"
--- no_error_log
[error]



=== TEST 12: /auth/verify answers 204 and who
--- request
GET /auth/verify
--- more_headers eval
"Authorization: Bearer $::root_token"
--- error_code: 204
--- response_headers eval
"X-User-Id: $::root\nX-User-Superuser: 1\nCache-Control: no-store"
--- response_body
--- no_error_log
[error]



=== TEST 13: /auth/verify: a revoked token is 401 invalid_token
--- request
GET /auth/verify
--- more_headers eval
"Authorization: Bearer $::revoked_token"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 14: /auth/verify behind auth_request
--- config
    include $TEST_NGINX_CONF_DIR/users_locations.conf;
    location /app/ {
        auth_request /auth/verify;
        auth_request_set $uid $sent_http_x_user_id;
        auth_request_set $su $sent_http_x_user_superuser;
        add_header X-Seen "uid=$uid su=$su";
        alias $TEST_NGINX_CONF_DIR/;
    }
--- request eval
["GET /app/json_log.conf", "GET /app/json_log.conf"]
--- more_headers eval
["Authorization: Bearer $::token", ""]
--- error_code eval
[200, 401]
--- response_headers_like eval
["X-Seen: uid=$::alice su=0", ""]
--- response_body_like eval
["log_format", "^\\{\"detail\":\"Not authenticated\"\\}\$"]
--- no_error_log
[error]



=== TEST 15: variables in limit_req_zone (preaccess) and log_format
--- http_config
    limit_req_zone $users_user_id zone=guard_users:1m rate=1r/m;
    log_format guard '$users_user_id $users_is_superuser $users_token_expires';
--- config
    location /files/ {
        alias $TEST_NGINX_CONF_DIR/;
        users_auth user;
        limit_req zone=guard_users;
        limit_req_status 429;
        limit_req_log_level warn;
        access_log logs/guard.log guard;
        add_header X-Vars "$users_user_id $users_is_superuser $users_token_expires";
    }
--- pipelined_requests eval
["GET /files/json_log.conf", "GET /files/json_log.conf"]
--- more_headers eval
"Authorization: Bearer $::token"
--- error_code eval
[200, 429]
--- response_headers_like eval
["X-Vars: $::alice 0 \\d{10}", ""]
--- response_body_like eval
["log_format", "Too Many"]
--- no_error_log
[error]



=== TEST 16: the guard in front of the API's own routes
--- config
    users_auth user;
    include $TEST_NGINX_CONF_DIR/users_locations.conf;
--- request eval
["GET /auth/me", "GET /healthz"]
--- more_headers eval
["Authorization: Bearer $::token", ""]
--- error_code eval
[200, 401]
--- response_body_like eval
["guard-alice", "Not authenticated"]
--- no_error_log
[error]



=== TEST 17: a token's sid claim: $users_session_id and X-Session-Id
--- config
    include $TEST_NGINX_CONF_DIR/users_locations.conf;
    location = /s {
        users_auth user;
        return 200 "sid=[$users_session_id]\n";
    }
--- request eval
["GET /s", "GET /auth/verify"]
--- more_headers eval
["Authorization: Bearer $::sid_token", "Authorization: Bearer $::sid_token"]
--- error_code eval
[200, 204]
--- response_headers_like eval
["", "X-Session-Id: $::sid"]
--- response_body eval
["sid=[$::sid]\n", ""]
--- no_error_log
[error]



=== TEST 18: a sid that is not a session id makes the token invalid
--- config
    include $TEST_NGINX_CONF_DIR/users_locations.conf;
    location = /s {
        users_auth user;
        return 200 "sid=[$users_session_id]\n";
    }
--- request eval
["GET /s", "GET /auth/verify"]
--- more_headers eval
["Authorization: Bearer $::bad_sid_token",
 "Authorization: Bearer $::bad_sid_token"]
--- error_code eval
[401, 401]
--- response_body_like eval
["Could not validate credentials", "Could not validate credentials"]
--- no_error_log
[error]
