# The service's own routes and the JSON shapes of the errors nginx raises.
use t::lib::Users;

repeat_each(2);

plan tests => repeat_each() * (4 * blocks() - 4);

run_tests();

__DATA__

=== TEST 1: GET / names the service and its docs
--- request
GET /
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"service":"users","version":"1.0.0","docs":"/docs"}
--- no_error_log
[error]



=== TEST 2: /healthz answers without the database
--- http_config
users_pg_conninfo "host=/nonexistent dbname=none";
--- request
GET /healthz
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"status":"ok"}
--- no_error_log
[alert]



=== TEST 3: /readyz after a round trip to PostgreSQL
--- request
GET /readyz
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"status":"ready"}
--- no_error_log
[error]



=== TEST 4: /readyz is 503 when PostgreSQL cannot be reached
--- http_config
users_pg_conninfo "host=/nonexistent dbname=none";
--- request
GET /readyz
--- error_code: 503
--- response_body chomp
{"detail":"db not ready"}
--- error_log
PostgreSQL unavailable



=== TEST 5: an unknown path is a JSON 404
--- request
GET /nope
--- error_code: 404
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"detail":"Not Found"}
--- no_error_log
[error]



=== TEST 6: a method the route does not have is 405 with Allow
--- request
DELETE /healthz
--- error_code: 405
--- response_headers
Allow: GET
--- response_body chomp
{"detail":"Method Not Allowed"}
--- no_error_log
[error]



=== TEST 7: fixed segments win over ids: DELETE /users/me is 405
--- request
DELETE /users/me
--- error_code: 405
--- response_headers
Allow: GET, PUT
--- response_body chomp
{"detail":"Method Not Allowed"}
--- no_error_log
[error]



=== TEST 8: a body over the limit is a JSON 413
--- request eval
"POST /auth/register\n" . ("x" x 70000)
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_body chomp
{"detail":"Request body too large"}
--- no_error_log
[alert]



=== TEST 9: a request line over nginx's limit is a JSON 414
--- request eval
"GET /" . ("a" x 9000)
--- error_code: 414
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"detail":"URI Too Long"}
--- no_error_log
[alert]



=== TEST 10: a sane X-Request-ID comes back
--- request
GET /healthz
--- more_headers
X-Request-ID: abc.DEF_1:2-3
--- response_headers
X-Request-ID: abc.DEF_1:2-3
--- response_body chomp
{"status":"ok"}
--- no_error_log
[error]



=== TEST 11: an insane X-Request-ID is replaced by a generated one
--- request
GET /healthz
--- more_headers
X-Request-ID: bad id!
--- response_headers_like
X-Request-ID: [0-9a-f]{32}
--- response_body chomp
{"status":"ok"}
--- no_error_log
[error]



=== TEST 12: errors carry the request id too
--- request
GET /nope
--- more_headers
X-Request-ID: err-1
--- error_code: 404
--- response_headers
X-Request-ID: err-1
--- response_body chomp
{"detail":"Not Found"}
--- no_error_log
[error]



=== TEST 13: HEAD works where GET does
--- request
HEAD /healthz
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
--- no_error_log
[error]



=== TEST 14: the original service's postgresql+asyncpg:// URLs are accepted
--- http_config
users_pg_conninfo "postgresql+asyncpg://users@localhost/users?host=$TEST_NGINX_PG_DIR/run";
--- request
GET /readyz
--- response_body chomp
{"status":"ready"}
--- no_error_log
[error]



=== TEST 15: a host list of a socket folder and a name: each host keeps its place
--- http_config
users_pg_conninfo "host=$TEST_NGINX_PG_DIR/run,localhost dbname=users user=users";
--- request
GET /readyz
--- response_body chomp
{"status":"ready"}
--- no_error_log
[error]



=== TEST 16: a header over nginx's limit is a JSON 431
--- request
GET /healthz
--- more_headers eval
"X-Big: " . ("b" x 9000)
--- error_code: 431
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp
{"detail":"Request Header Fields Too Large"}
--- no_error_log
[alert]
