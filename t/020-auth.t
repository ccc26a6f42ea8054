# /auth: register, login, the bearer token, logout, throttling.
use t::lib::Users;
use t::lib::Fixtures;

our $pw = users_password();
users_sql("DELETE FROM users WHERE email ILIKE 'reg-%\@example.com'");
our $alice = users_fixture(email => 'auth-alice@example.com', name => 'Alice');
our $token = users_token($alice);
our $inactive = users_fixture(email => 'auth-inactive@example.com',
                              active => 0);
our $odd = users_fixture(email => 'auth-odd@example.com',
    hash => '$argon2id$v=19$m=19456,t=2,p=1$7MZCXWUMVR85jePuevnrXg'
            . '$ID79aIp6fzv7uulgHbo/o3Uup60XvuK1AXGZSUc76ic');
our $gone = users_fixture(email => 'auth-gone@example.com');
users_sql("DELETE FROM users WHERE id = $gone");
our $revoked = users_fixture(email => 'auth-revoked@example.com',
                             version => 3);
our $bye = users_fixture(email => 'auth-bye@example.com');
our $bye_token = users_token($bye);

# every way a token can be wrong; each must be 401
my $now = time;
our %forged = (
    none        => users_token($alice, alg => 'none'),
    none_signed => users_token($alice, header => '{"alg":"none"}'),
    lower_alg   => users_token($alice, header => '{"alg":"hs256"}'),
    hs384       => users_token($alice, alg => 'HS384'),
    hs512       => users_token($alice, alg => 'HS512'),
    rs256       => users_token($alice, alg => 'RS256'),
    other_key   => users_token($alice, secret => 'x' x 40),
    expired     => users_token($alice, exp => $now - 5),
    no_exp      => users_token($alice, claims => qq({"sub":"$alice","iat":$now,"ver":0})),
    no_ver      => users_token($alice, claims => qq({"sub":"$alice","iat":$now,"exp":@{[$now + 600]}})),
    ver_string  => users_token($alice, claims => qq({"sub":"$alice","iat":$now,"exp":@{[$now + 600]},"ver":"0"})),
    sub_number  => users_token($alice, claims => qq({"sub":$alice,"iat":$now,"exp":@{[$now + 600]},"ver":0})),
    sub_zero    => users_token(0),
    tampered    => do {
        my ($h, $c, $s) = split /\./, users_token($alice);
        my ($h2, $c2) = split /\./, users_token($bye);
        "$h.$c2.$s";
    },
    extra_part  => users_token($alice) . '.x',
    garbage     => 'not-a-token',
    oversized   => 'a' x 5000,
    gone        => users_token($gone),
    revoked     => users_token($revoked, ver => 2),
);

repeat_each(1);

# Assertions per block: 3 (status, body, one error log pattern), plus one
# per header checked (TEST 1 three; TEST 8, 10, 18 and 20 one) and 3 per
# request after the first (TEST 41 and 43); TEST 42 only checks that nginx
# refuses to start (1).
plan tests => repeat_each() * (3 * blocks() + 11);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: register answers 201, the user and its Location
--- request
POST /auth/register
{"email":"reg-Bob@example.com","name":"Bob","password":"secretpassword123"}
--- more_headers
Content-Type: application/json
--- error_code: 201
--- response_headers_like
Location: /users/\d+
Cache-Control: no-store
Content-Type: application/json; charset=utf-8
--- response_body_like chomp
^\{"id" : \d+, "email" : "reg-Bob\@example\.com", "name" : "Bob", "is_active" : true, "is_superuser" : false, "created_at" : "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", "updated_at" : "[^"]+Z"\}$
--- no_error_log
[error]



=== TEST 2: the same email in other case is taken
--- request
POST /auth/register
{"email":"REG-bob@EXAMPLE.com","password":"secretpassword123"}
--- more_headers
Content-Type: application/json
--- error_code: 409
--- response_body chomp
{"detail":"Email already registered"}
--- no_error_log
[error]



=== TEST 3: every bad field is reported at once
--- request
POST /auth/register
{"email":"not-an-email","password":"short","name":1,"is_superuser":true}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body_like chomp
"loc":\["body","email"\].*"loc":\["body","password"\].*"loc":\["body","name"\].*"loc":\["body","is_superuser"\],"msg":"extra fields not permitted","type":"value_error.extra"
--- no_error_log
[error]



=== TEST 4: a missing required field
--- request
POST /auth/register
{"email":"reg-missing@example.com"}
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body chomp
{"detail":[{"loc":["body","password"],"msg":"field required","type":"value_error.missing"}]}
--- no_error_log
[error]



=== TEST 5: malformed JSON is 422 at loc ["body"]
--- request
POST /auth/register
{"email":
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body_like chomp
^\{"detail":\[\{"loc":\["body"\],"msg":"invalid JSON: [^"]+","type":"value_error.jsondecode"\}\]\}$
--- no_error_log
[error]



=== TEST 6: a body that is not an object
--- request
POST /auth/register
[["email","x@example.com"]]
--- more_headers
Content-Type: application/json
--- error_code: 422
--- response_body_like chomp
"loc":\["body"\]
--- no_error_log
[error]



=== TEST 7: the wrong content type is 415
--- request
POST /auth/register
email=x@example.com
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 415
--- response_body chomp
{"detail":"Unsupported Media Type"}
--- no_error_log
[error]



=== TEST 8: login answers a bearer token and its lifetime
--- request
POST /auth/login
username=auth-alice@example.com&password=secretpassword123
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- response_headers
Cache-Control: no-store
--- response_body_like chomp
^\{"access_token":"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+","token_type":"bearer","expires_in":1800,"refresh_token":"[A-Za-z0-9_-]{64}","refresh_expires_in":604800\}$
--- no_error_log
[error]



=== TEST 9: the email is matched case-insensitively at login
--- request
POST /auth/login
username=AUTH-Alice@Example.COM&password=secretpassword123
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- response_body_like chomp
"token_type":"bearer"
--- no_error_log
[error]



=== TEST 10: a wrong password is 401 with WWW-Authenticate
--- request
POST /auth/login
username=auth-alice@example.com&password=wrongpassword
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer
--- response_body chomp
{"detail":"Incorrect email or password"}
--- no_error_log
[error]



=== TEST 11: an unknown email gets the same answer
--- request
POST /auth/login
username=nobody-here@example.com&password=secretpassword123
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 401
--- response_body chomp
{"detail":"Incorrect email or password"}
--- no_error_log
[error]



=== TEST 12: an inactive user with the right password is 403
--- request
POST /auth/login
username=auth-inactive@example.com&password=secretpassword123
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 403
--- response_body chomp
{"detail":"Inactive user"}
--- no_error_log
[error]



=== TEST 13: an inactive user with a wrong password is 401
--- request
POST /auth/login
username=auth-inactive@example.com&password=wrongpassword
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 401
--- response_body chomp
{"detail":"Incorrect email or password"}
--- no_error_log
[error]



=== TEST 14: the form is decoded strictly: + is a space, %XX a byte
--- request
POST /auth/login
username=auth-odd%40example.com&password=p%40ss+word%2B100%25%C3%A9
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- response_body_like chomp
"token_type":"bearer"
--- no_error_log
[error]



=== TEST 15: %00 in a password is refused, not truncated
--- request
POST /auth/login
username=auth-alice@example.com&password=secretpassword123%00x
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 422
--- response_body_like chomp
"loc":\["body","password"\]
--- no_error_log
[error]



=== TEST 16: a missing form field is 422
--- request
POST /auth/login
username=auth-alice@example.com
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 422
--- response_body chomp
{"detail":[{"loc":["body","password"],"msg":"field required","type":"value_error.missing"}]}
--- no_error_log
[error]



=== TEST 17: login takes a form, not JSON
--- request
POST /auth/login
{"username":"auth-alice@example.com","password":"secretpassword123"}
--- more_headers
Content-Type: application/json
--- error_code: 415
--- response_body chomp
{"detail":"Unsupported Media Type"}
--- no_error_log
[error]



=== TEST 18: GET /auth/me with a valid token
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::token"
--- response_headers
Cache-Control: no-store
--- response_body_like chomp
^\{"id" : \d+, "email" : "auth-alice\@example\.com", "name" : "Alice", "is_active" : true, "is_superuser" : false, "created_at" : "[^"]+", "updated_at" : "[^"]+"\}$
--- no_error_log
[error]



=== TEST 19: POST /auth/test-token answers the same user
--- request
POST /auth/test-token
--- more_headers eval
"Authorization: Bearer $::token"
--- response_body_like chomp
"email" : "auth-alice\@example\.com"
--- no_error_log
[error]



=== TEST 20: no Authorization header
--- request
GET /auth/me
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer
--- response_body chomp
{"detail":"Not authenticated"}
--- no_error_log
[error]



=== TEST 21: another scheme is not a bearer token
--- request
GET /auth/me
--- more_headers
Authorization: Basic YWxpY2U6c2VjcmV0
--- error_code: 401
--- response_body chomp
{"detail":"Not authenticated"}
--- no_error_log
[error]



=== TEST 22: a forged or broken token (none) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{none}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 23: a forged or broken token (none_signed) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{none_signed}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 24: a forged or broken token (lower_alg) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{lower_alg}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 25: a forged or broken token (hs384) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{hs384}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 26: a forged or broken token (hs512) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{hs512}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 27: a forged or broken token (rs256) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{rs256}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 28: a forged or broken token (other_key) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{other_key}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 29: a forged or broken token (expired) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{expired}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 30: a forged or broken token (no_exp) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{no_exp}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 31: a forged or broken token (no_ver) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{no_ver}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 32: a forged or broken token (ver_string) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{ver_string}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 33: a forged or broken token (sub_number) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{sub_number}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 34: a forged or broken token (sub_zero) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{sub_zero}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 35: a forged or broken token (tampered) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{tampered}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 36: a forged or broken token (extra_part) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{extra_part}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 37: a forged or broken token (garbage) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{garbage}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 38: a forged or broken token (oversized) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{oversized}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 39: a forged or broken token (gone) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{gone}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 40: a forged or broken token (revoked) is 401
--- request
GET /auth/me
--- more_headers eval
"Authorization: Bearer $::forged{revoked}"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 41: logout answers 204 and revokes the token at once
--- request eval
["POST /auth/logout", "GET /auth/me"]
--- more_headers eval
"Authorization: Bearer $::bye_token"
--- error_code eval
[204, 401]
--- response_body eval
["", '{"detail":"Could not validate credentials"}']
--- no_error_log
[error]



=== TEST 42: a short JWT secret keeps nginx from starting
--- http_config
users_jwt_secret "too-short";
--- must_die
--- request
GET /healthz




=== TEST 43: the per-IP limit on the password routes answers JSON 429
--- http_config
limit_req_zone $binary_remote_addr zone=users_auth:1m rate=1r/m;
limit_req_status 429;
--- config
users_request_id on;
limit_req zone=users_auth;
include $TEST_NGINX_CONF_DIR/users_locations.conf;
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- request eval
["POST /auth/login\nusername=x", "POST /auth/login\nusername=x"]
--- error_code eval
[422, 429]
--- response_body eval
['{"detail":[{"loc":["body","password"],"msg":"field required","type":"value_error.missing"}]}', '{"detail":"Too Many Requests"}']
--- no_error_log
[alert]
