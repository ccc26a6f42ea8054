# The audit log: every event of docs/api.md ("Metrics and audit") written
# by the change it records, with its actor and subject, read back through
# GET /audit (superuser) with its filters and pages; nothing secret in it,
# nothing with users_audit off, nothing for a change that rolled back.
use t::lib::Users;
use t::lib::Fixtures;

users_sql("DELETE FROM users WHERE email ILIKE 'au-%\@example.com'");
users_sql("DELETE FROM audit_events");
our $pw = users_password();
our $admin = users_fixture(email => 'au-admin@example.com', superuser => 1);
our $admin_token = users_token($admin);
our $alice = users_fixture(email => 'au-alice@example.com');
our $bob = users_fixture(email => 'au-bob@example.com');
our $bob_token = users_token($bob);
our $carol = users_fixture(email => 'au-carol@example.com', name => 'Carol');
our $carol_token = users_token($carol);
our $dave = users_fixture(email => 'au-dave@example.com');
our $erin = users_fixture(email => 'au-erin@example.com');
our $erin_token = users_token($erin);
our $frank = users_fixture(email => 'au-frank@example.com');
our $grace = users_fixture(email => 'au-grace@example.com');
our $grace_token = users_token($grace);
our $heidi = users_fixture(email => 'au-heidi@example.com');
our $heidi_token = users_token($heidi);

# the admin's token on every request of a block, a form or JSON body
our $as_admin = "Authorization: Bearer $::admin_token";
our $form = "Content-Type: application/x-www-form-urlencoded";
our $json = "Content-Type: application/json";

# what lies between two keys of an event: anything but an object, save {}
# and a login's {"session_id": ...}
our $o = '(?:[^{}]|\{\}|\{"session_id": "[0-9a-f-]{36}"\})*';

# three events of an account that does not exist, for the pages
our @paged = map {
    users_sql("INSERT INTO audit_events (event, user_id)"
              . " VALUES ('user_deleted', 987654321) RETURNING id")
} 1 .. 3;

# the throttle digest of an address, as the events keep it
sub account { users_sql("SELECT encode(users_login_key('$_[0]'), 'hex')") }
our $alice_account = account('AU-Alice@example.com');
our $nobody_account = account('au-nobody@example.com');

repeat_each(1);

# Assertions, per request: a status and an error log pattern (47
# requests); a body check (31 requests: not in TEST 8 and 12); a
# body_unlike (7 requests of TEST 2, 5 and 6)
plan tests => repeat_each() * (2 * 47 + 31 + 7);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a login records login_succeeded, with the request's address, agent and id
--- request eval
["POST /auth/login\nusername=au-alice\@example.com&password=$::pw",
 "GET /audit?user_id=$::alice"]
--- more_headers eval
"$::as_admin\n$::form\nUser-Agent: audit-test/1.0\nX-Request-ID: audit-login-1"
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/access_token/,
 qr/^\[\{"id" : \d+, "at" : "[^"]+Z", "event" : "login_succeeded", "actor_id" : $::alice, "user_id" : $::alice, "ip" : "127\.0\.0\.1", "user_agent" : "audit-test\/1\.0", "request_id" : "audit-login-[12]", "details" : \{"session_id": "[0-9a-f-]{36}"\}\}\]$/]
--- no_error_log
[error]



=== TEST 2: failed logins: the known and the unknown address, by their digest only
--- request eval
["POST /auth/login\nusername=AU-Alice\@example.com&password=wrongpassword",
 "POST /auth/login\nusername=au-nobody\@example.com&password=wrongpassword",
 "GET /audit?event=login_failed"]
--- more_headers eval
"$::as_admin\n$::form"
--- error_code eval
[401, 401, 200]
--- response_body_like eval
[qr/Incorrect/, qr/Incorrect/,
 qr/^\[\{"id" : \d+, "at" : "[^"]+", "event" : "login_failed", "actor_id" : null, "user_id" : null, [^\]]*"details" : \{"reason": "password", "account": "$::nobody_account"\}\}, \{$::o"event" : "login_failed", "actor_id" : null, "user_id" : $::alice, [^\]]*"details" : \{"reason": "password", "account": "$::alice_account"\}\}\]$/]
--- response_body_unlike eval
["wrongpassword", "wrongpassword", "wrongpassword|nobody"]
--- no_error_log
[error]



=== TEST 3: the login refused by the database records login_throttled
--- http_config
users_login_throttle failures=2 window=60s;
--- request eval
["POST /auth/login\nusername=au-bob\@example.com&password=wrongpassword",
 "POST /auth/login\nusername=au-bob\@example.com&password=wrongpassword",
 "POST /auth/login\nusername=au-bob\@example.com&password=wrongpassword",
 "GET /audit?user_id=$::bob&event=login_throttled"]
--- more_headers eval
"$::as_admin\n$::form"
--- error_code eval
[401, 401, 429, 200]
--- response_body_like eval
[qr/Incorrect/, qr/Incorrect/, qr/Too many/,
 qr/^\[\{$::o"event" : "login_throttled", "actor_id" : null, "user_id" : $::bob, $::o"details" : \{"account": "[0-9a-f]{64}"\}\}\]$/]
--- no_error_log
[error]



=== TEST 4: logout
--- request eval
["POST /auth/logout", "GET /audit?user_id=$::bob&event=logout"]
--- more_headers eval
["Authorization: Bearer $::bob_token", $::as_admin]
--- error_code eval
[204, 200]
--- response_body_like eval
[qr/^$/,
 qr/^\[\{$::o"event" : "logout", "actor_id" : $::bob, "user_id" : $::bob, /]
--- no_error_log
[error]



=== TEST 5: a registration: user_registered by the new user, no address or password in it
--- request eval
["POST /auth/register\n{\"email\":\"au-new\@example.com\",\"password\":\"registerpass1\",\"name\":\"New\"}",
 "GET /audit?event=user_registered&limit=1"]
--- more_headers eval
"$::as_admin\n$::json"
--- error_code eval
[201, 200]
--- response_body_like eval
[qr/au-new/,
 qr/^\[\{$::o"event" : "user_registered", "actor_id" : (\d+), "user_id" : \1, $::o"details" : \{\}\}\]$/]
--- response_body_unlike eval
["registerpass1", "registerpass1|au-new"]
--- no_error_log
[error]



=== TEST 6: PUT /users/me with a new password: user_updated (the fields' names) and password_changed
--- request eval
["PUT /users/me\n{\"name\":\"Caroline\",\"password\":\"newpassword123\",\"current_password\":\"$::pw\"}",
 "GET /audit?user_id=$::carol"]
--- more_headers eval
["Authorization: Bearer $::carol_token\n$::json", $::as_admin]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/Caroline/,
 qr/^\[\{$::o"event" : "password_changed", "actor_id" : $::carol, "user_id" : $::carol, $::o"details" : \{\}\}, \{$::o"event" : "user_updated", "actor_id" : $::carol, "user_id" : $::carol, $::o"details" : \{"fields": \["name", "password"\]\}\}\]$/]
--- response_body_unlike eval
["newpassword123", "newpassword123|Caroline|current_password"]
--- no_error_log
[error]



=== TEST 7: a superuser deactivates and promotes, then demotes: each change its event
--- request eval
["PUT /users/$::dave\n{\"is_active\":false,\"is_superuser\":true}",
 "PUT /users/$::dave\n{\"is_superuser\":false}",
 "PUT /users/$::dave\n{\"is_active\":false}",
 "GET /audit?user_id=$::dave"]
--- more_headers eval
"$::as_admin\n$::json"
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
[qr/"is_active" : false/, qr/"is_superuser" : false/, qr/"is_active" : false/,
 qr/^\[\{$::o"event" : "user_updated", "actor_id" : $::admin, "user_id" : $::dave, $::o"details" : \{"fields": \["is_active"\]\}\}, \{$::o"event" : "superuser_revoked", "actor_id" : $::admin, "user_id" : $::dave, $::o\}, \{$::o"event" : "user_updated", $::o"details" : \{"fields": \["is_superuser"\]\}\}, \{$::o"event" : "superuser_granted", "actor_id" : $::admin, $::o\}, \{$::o"event" : "user_deactivated", "actor_id" : $::admin, "user_id" : $::dave, $::o\}, \{$::o"event" : "user_updated", $::o"details" : \{"fields": \["is_active", "is_superuser"\]\}\}\]$/]
--- no_error_log
[error]



=== TEST 8: profile, preferences and avatar changes are user_updated; removing no avatar is none
--- request eval
["PUT /profile/me\n{\"bio\":\"Hello\",\"location\":\"Lisbon\"}",
 "PUT /profile/me/preferences\n{\"theme\":\"dark\",\"language\":\"pt\"}",
 "DELETE /profile/me/avatar",
 "PUT /profile/me\n{\"avatar_url\":\"https://example.com/a.png\"}",
 "DELETE /profile/me/avatar"]
--- more_headers eval
"Authorization: Bearer $::erin_token\n$::json"
--- error_code eval
[200, 200, 200, 200, 200]
--- no_error_log
[error]



=== TEST 9: ... as the log shows
--- request eval
"GET /audit?user_id=$::erin"
--- more_headers eval
$::as_admin
--- response_body_like eval
qr/^\[\{$::o"event" : "user_updated", "actor_id" : $::erin, "user_id" : $::erin, $::o"details" : \{"fields": \["avatar_url"\]\}\}, \{$::o"details" : \{"fields": \["avatar_url"\]\}\}, \{$::o"details" : \{"fields": \["language", "theme"\]\}\}, \{$::o"details" : \{"fields": \["bio", "location"\]\}\}\]$/
--- no_error_log
[error]



=== TEST 10: a deletion records user_deleted; the event outlives the user
--- request eval
["DELETE /users/$::frank", "GET /audit?user_id=$::frank"]
--- more_headers eval
$::as_admin
--- error_code eval
[204, 200]
--- response_body_like eval
[qr/^$/,
 qr/^\[\{$::o"event" : "user_deleted", "actor_id" : $::admin, "user_id" : $::frank, /]
--- no_error_log
[error]



=== TEST 11: a change that fails (a taken email, 409) leaves no event
--- request eval
["PUT /users/$::grace\n{\"email\":\"au-alice\@example.com\",\"name\":\"Not Grace\"}",
 "GET /audit?user_id=$::grace"]
--- more_headers eval
"$::as_admin\n$::json"
--- error_code eval
[409, 200]
--- response_body eval
['{"detail":"Email already registered"}', "[]"]
--- no_error_log
[error]



=== TEST 12: users_audit off writes nothing
--- config
users_audit off;
include $TEST_NGINX_CONF_DIR/users_locations.conf;
--- request eval
["POST /auth/login\nusername=au-grace\@example.com&password=$::pw",
 "POST /auth/login\nusername=au-grace\@example.com&password=wrongpassword",
 "PUT /profile/me\n{\"bio\":\"Quiet\"}",
 "POST /auth/logout"]
--- more_headers eval
["$::form", "$::form", "Authorization: Bearer $::grace_token\n$::json",
 "Authorization: Bearer $::grace_token"]
--- error_code eval
[200, 401, 200, 204]
--- no_error_log
[error]



=== TEST 13: ... nothing for grace
--- request eval
"GET /audit?user_id=$::grace"
--- more_headers eval
$::as_admin
--- response_body chomp
[]
--- no_error_log
[error]



=== TEST 14: pages: limit, then before the last id of the page
--- request eval
["GET /audit?user_id=987654321&limit=2",
 "GET /audit?user_id=987654321&limit=2&before=$::paged[1]",
 "GET /audit?user_id=987654321&event=user_deleted&before=$::paged[0]",
 "GET /audit?user_id=987654321&event=logout"]
--- more_headers eval
$::as_admin
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
[qr/^\[\{"id" : $::paged[2], $::o\}, \{"id" : $::paged[1], $::o\}\]$/,
 qr/^\[\{"id" : $::paged[0], $::o\}\]$/,
 qr/^\[\]$/,
 qr/^\[\]$/]
--- no_error_log
[error]



=== TEST 15: only superusers read the log
--- request eval
["GET /audit", "GET /audit"]
--- more_headers eval
["Authorization: Bearer $::heidi_token", ""]
--- error_code eval
[403, 401]
--- response_body eval
['{"detail":"Not enough privileges"}', '{"detail":"Not authenticated"}']
--- no_error_log
[error]



=== TEST 16: bad filters are 422 at their query key
--- request eval
["GET /audit?limit=0", "GET /audit?limit=1001", "GET /audit?user_id=abc",
 "GET /audit?before=-1", "GET /audit?event=login"]
--- more_headers eval
$::as_admin
--- error_code eval
[422, 422, 422, 422, 422]
--- response_body eval
['{"detail":[{"loc":["query","limit"],"msg":"ensure this value is greater than or equal to 1","type":"value_error.number.not_ge"}]}',
 '{"detail":[{"loc":["query","limit"],"msg":"ensure this value is less than or equal to 1000","type":"value_error.number.not_le"}]}',
 '{"detail":[{"loc":["query","user_id"],"msg":"value is not a valid integer","type":"type_error.integer"}]}',
 '{"detail":[{"loc":["query","before"],"msg":"ensure this value is greater than or equal to 1","type":"value_error.number.not_ge"}]}',
 q{{"detail":[{"loc":["query","event"],"msg":"value is not a valid enumeration member; permitted: 'login_succeeded', 'login_failed', 'login_throttled', 'logout', 'session_ended', 'refresh_reuse_detected', 'password_changed', 'user_registered', 'user_updated', 'user_deactivated', 'user_deleted', 'superuser_granted', 'superuser_revoked'","type":"type_error.enum"}]}}]
--- no_error_log
[error]



=== TEST 17: a user agent of any bytes is kept as printable ASCII, and never fails the write
--- request eval
["POST /auth/login\nusername=au-heidi\@example.com&password=$::pw",
 "GET /audit?user_id=$::heidi&event=login_succeeded"]
--- more_headers eval
["$::form\nUser-Agent: caf\xc3\xa9 \xff\x01\"quoted\" \\path", $::as_admin]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/access_token/,
 qr/^\[\{$::o"user_agent" : "caf\?\? \?\?\\"quoted\\" \\\\path", $::o\}\]$/]
--- no_error_log
[error]
