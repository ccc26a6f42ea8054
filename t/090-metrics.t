# users_metrics: Prometheus' text format from the shared zone; each
# request counted once, under its route, method and final status.
use t::lib::Users;
use t::lib::Fixtures;

our $pw = users_password();
our $carol = users_fixture(email => 'metrics-carol@example.com');
our $token = users_token($carol);

# the server of every block: the router, /metrics and the JSON 404
our $config = <<'_EOC_';
users_request_id on;
include $TEST_NGINX_CONF_DIR/users_locations.conf;
location = /metrics {
    users_metrics;
}
location / {
    users_api not_found;
}
_EOC_

# one series of the scrape, whole, wherever it is
sub series { my ($line) = @_; "(?=.*^\Q$line\E\$)" }
sub absent { my ($prefix) = @_; "(?!.*^\Q$prefix\E)" }

repeat_each(1);

# Assertions: 3 per request (status, body, the error log): TEST 1 sends 6,
# TEST 2 five, TEST 3 and 4 three, TEST 5 and 7 two, TEST 6 one and checks
# a header more; TEST 8 only that nginx refuses to start.
plan tests => repeat_each() * (3 * 22 + 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: requests by route, method and code, and their histogram
--- config eval: $::config
--- request eval
["GET /healthz", "GET /healthz", "HEAD /healthz", "POST /healthz", "GET /nowhere",
 "GET /metrics"]
--- error_code eval
[200, 200, 200, 405, 404, 200]
--- response_body_like eval
[qr/status/, qr/status/, qr/^$/, qr/Method Not Allowed/, qr/Not Found/,
 qr/\A(?ms)@{[ join '', map { ::series($_) }
    'users_http_requests_total{route="healthz",method="GET",code="200"} 2',
    'users_http_requests_total{route="healthz",method="HEAD",code="200"} 1',
    'users_http_requests_total{route="healthz",method="POST",code="405"} 1',
    'users_http_requests_total{route="not_found",method="GET",code="404"} 1',
    'users_http_request_duration_seconds_bucket{route="healthz",method="GET",le="+Inf"} 2',
    'users_http_request_duration_seconds_count{route="healthz",method="GET"} 2',
    '# TYPE users_http_request_duration_seconds histogram',
    'users_logins_total{result="success"} 0',
    'users_password_hashes_in_flight 0',
    'users_pg_requests_waiting 0' ]}@{[ ::absent('users_http_requests_total{route="error"') ]}/]
--- no_error_log
[error]



=== TEST 2: logins by result, token cache hits and misses
--- config eval: $::config
--- more_headers eval
["Content-Type: application/x-www-form-urlencoded",
 "Content-Type: application/x-www-form-urlencoded",
 "Authorization: Bearer $::token", "Authorization: Bearer $::token", ""]
--- request eval
["POST /auth/login\nusername=metrics-carol\@example.com&password=$::pw",
 "POST /auth/login\nusername=metrics-carol\@example.com&password=wrongpassword",
 "GET /auth/me", "GET /auth/me", "GET /metrics"]
--- error_code eval
[200, 401, 200, 200, 200]
--- response_body_like eval
[qr/access_token/, qr/Incorrect/, qr/metrics-carol/, qr/metrics-carol/,
 qr/\A(?ms)@{[ join '', map { ::series($_) }
    'users_logins_total{result="success"} 1',
    'users_logins_total{result="failure"} 1',
    'users_logins_total{result="throttled"} 0',
    'users_http_requests_total{route="auth_login",method="POST",code="200"} 1',
    'users_http_requests_total{route="auth_login",method="POST",code="401"} 1',
    'users_http_requests_total{route="auth_me",method="GET",code="200"} 2',
    'users_token_cache_misses_total 1',
    'users_token_cache_hits_total 1',
    'users_password_hashes_in_flight 0',
    'users_pg_errors_total 0' ]}/]
--- no_error_log
[error]



=== TEST 3: an answer nginx gives is counted once: the route's, or "error"
--- config eval: $::config
--- more_headers
Content-Type: application/json
--- request eval
["POST /auth/register\n" . ("x" x 70000), "GET /" . ("a" x 9000), "GET /metrics"]
--- error_code eval
[413, 414, 200]
--- response_body_like eval
[qr/too large/, qr/URI Too Long/,
 qr/\A(?ms)@{[ join '', map { ::series($_) }
    'users_http_requests_total{route="auth_register",method="POST",code="413"} 1',
    'users_http_requests_total{route="error",method="GET",code="414"} 1' ]}@{[
    ::absent('users_http_requests_total{route="error",method="POST"') ]}/]
--- no_error_log
[alert]



=== TEST 4: a status the module answers through error_page is its route's
--- config eval: $::config
--- request eval
["GET /users/me", "PUT /profile/me", "GET /metrics"]
--- error_code eval
[401, 401, 200]
--- response_body_like eval
[qr/Not authenticated/, qr/Not authenticated/,
 qr/\A(?ms)@{[ join '', map { ::series($_) }
    'users_http_requests_total{route="users_me",method="GET",code="401"} 1',
    'users_http_requests_total{route="profile_me",method="PUT",code="401"} 1' ]}@{[
    ::absent('users_http_requests_total{route="error"') ]}/]
--- no_error_log
[error]



=== TEST 5: the pool's gauges once a query ran; the database's errors
--- config eval: $::config
--- request eval
["GET /readyz", "GET /metrics"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/ready/,
 qr/\A(?ms)(?=.*^users_pg_connections_idle [1-9]\d*$)(?=.*^users_pg_connections_busy 0$)(?=.*^users_pg_errors_total 0$)(?=.*^users_http_request_duration_seconds_sum\{route="readyz",method="GET"\} \d+\.\d{3}$)/]
--- no_error_log
[error]



=== TEST 6: a zone of its own name; the format's media type
--- http_config
users_metrics_zone users_metrics_test 128k;
--- config eval: $::config
--- request
GET /metrics
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body_like chomp
^# HELP users_http_requests_total
--- no_error_log
[error]



=== TEST 7: only GET and HEAD
--- config eval: $::config
--- request eval
["POST /metrics", "HEAD /metrics"]
--- error_code eval
[405, 200]
--- response_body_like eval
[qr/Method Not Allowed/, qr/^$/]
--- no_error_log
[error]



=== TEST 8: a zone too small keeps nginx from starting
--- http_config
users_metrics_zone users_metrics_test 4k;
--- config eval: $::config
--- must_die
--- request
GET /metrics
