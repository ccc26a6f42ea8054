# /users: administration by superusers, and one's own account.
use t::lib::Users;
use t::lib::Fixtures;

users_sql("DELETE FROM users WHERE email ILIKE 'u-%\@example.com'");
our $admin = users_fixture(email => 'u-admin@example.com', superuser => 1);
our $admin_token = users_token($admin);
our $bob = users_fixture(email => 'u-bob@example.com', name => 'Bob');
our $bob_token = users_token($bob);
our $carol = users_fixture(email => 'u-carol@example.com', name => 'Carol');
our $dave = users_fixture(email => 'u-dave@example.com');
our $dave_token = users_token($dave);
our $erin = users_fixture(email => 'u-erin@example.com');
our $erin_token = users_token($erin);
our $frank = users_fixture(email => 'u-frank@example.com');
our $frank_token = users_token($frank);
our $gone = users_fixture(email => 'u-gone@example.com');
users_sql("DELETE FROM users WHERE id = $gone");

repeat_each(1);

# Assertions: 3 per request (status, body, one error log pattern); TEST 2
# and 6 make four requests, TEST 15 three, TEST 9, 10, 12, 16, 18 and 25
# two; TEST 1 also checks a header.
plan tests => repeat_each() * (3 * blocks() + 43);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: GET /users/me
--- request
GET /users/me
--- more_headers eval
"Authorization: Bearer $::bob_token"
--- response_headers
Cache-Control: no-store
--- response_body_like chomp
^\{"id" : \d+, "email" : "u-bob\@example\.com", "name" : "Bob", "is_active" : true, "is_superuser" : false, "created_at" : "[^"]+Z", "updated_at" : "[^"]+Z"\}$
--- no_error_log
[error]



=== TEST 2: a normal user gets 403 on every superuser route
--- request eval
["GET /users", "GET /users/$::carol", "PUT /users/$::carol\n{\"name\":\"X\"}",
 "DELETE /users/$::carol"]
--- more_headers eval
"Authorization: Bearer $::bob_token\nContent-Type: application/json"
--- error_code eval
[403, 403, 403, 403]
--- response_body eval
[('{"detail":"Not enough privileges"}') x 4]
--- no_error_log
[error]



=== TEST 3: nothing changed by the attempts above
--- request eval
"GET /users/$::carol"
--- more_headers eval
"Authorization: Bearer $::admin_token"
--- response_body_like chomp
"name" : "Carol"
--- no_error_log
[error]



=== TEST 4: a superuser reads any user
--- request eval
"GET /users/$::bob"
--- more_headers eval
"Authorization: Bearer $::admin_token"
--- response_body_like chomp
"email" : "u-bob\@example\.com"
--- no_error_log
[error]



=== TEST 5: a missing user is 404
--- request eval
"GET /users/$::gone"
--- more_headers eval
"Authorization: Bearer $::admin_token"
--- error_code: 404
--- response_body chomp
{"detail":"User not found"}
--- no_error_log
[error]



=== TEST 6: ids that are not positive 64-bit integers are 422
--- request eval
["GET /users/abc", "GET /users/0", "GET /users/-1",
 "GET /users/9223372036854775808"]
--- more_headers eval
"Authorization: Bearer $::admin_token"
--- error_code eval
[422, 422, 422, 422]
--- response_body eval
['{"detail":[{"loc":["path","user_id"],"msg":"value is not a valid integer","type":"type_error.integer"}]}',
 '{"detail":[{"loc":["path","user_id"],"msg":"ensure this value is greater than 0","type":"value_error.number.not_gt"}]}',
 '{"detail":[{"loc":["path","user_id"],"msg":"ensure this value is greater than 0","type":"value_error.number.not_gt"}]}',
 '{"detail":[{"loc":["path","user_id"],"msg":"ensure this value is less than or equal to 9223372036854775807","type":"value_error.number.not_le"}]}']
--- no_error_log
[error]



=== TEST 7: authentication comes before the path check
--- request
GET /users/abc
--- error_code: 401
--- response_body chomp
{"detail":"Not authenticated"}
--- no_error_log
[error]



=== TEST 8: list with bad skip and limit reports both
--- request
GET /users?skip=-1&limit=1001
--- more_headers eval
"Authorization: Bearer $::admin_token"
--- error_code: 422
--- response_body chomp
{"detail":[{"loc":["query","skip"],"msg":"ensure this value is greater than or equal to 0","type":"value_error.number.not_ge"},{"loc":["query","limit"],"msg":"ensure this value is less than or equal to 1000","type":"value_error.number.not_le"}]}
--- no_error_log
[error]



=== TEST 9: list limits: not an integer, zero
--- request eval
["GET /users?limit=abc", "GET /users?limit=0"]
--- more_headers eval
"Authorization: Bearer $::admin_token"
--- error_code eval
[422, 422]
--- response_body eval
['{"detail":[{"loc":["query","limit"],"msg":"value is not a valid integer","type":"type_error.integer"}]}',
 '{"detail":[{"loc":["query","limit"],"msg":"ensure this value is greater than or equal to 1","type":"value_error.number.not_ge"}]}']
--- no_error_log
[error]



=== TEST 10: skip beyond the end is an empty list, even the largest skip
--- request eval
["GET /users?skip=9223372036854775807", "GET /users?skip=100000000"]
--- more_headers eval
"Authorization: Bearer $::admin_token"
--- error_code eval
[200, 200]
--- response_body eval
["[]", "[]"]
--- no_error_log
[error]



=== TEST 11: the list is ordered by id and honours limit
--- request
GET /users?limit=2
--- more_headers eval
"Authorization: Bearer $::admin_token"
--- response_body_like chomp
^\[\{"id" : (\d+), .*\}, \{"id" : \d+, .*\}\]$
--- no_error_log
[error]



=== TEST 12: PUT /users/me changes the name; null clears it
--- request eval
["PUT /users/me\n{\"name\":\"Robert\"}", "PUT /users/me\n{\"name\":null}"]
--- more_headers eval
"Authorization: Bearer $::bob_token\nContent-Type: application/json"
--- response_body_like eval
['"name" : "Robert"', '"name" : null']
--- no_error_log
[error]



=== TEST 13: one's own status is not one's own to change
--- request
PUT /users/me
{"is_superuser":true,"is_active":false}
--- more_headers eval
"Authorization: Bearer $::bob_token\nContent-Type: application/json"
--- error_code: 422
--- response_body chomp
{"detail":[{"loc":["body","is_superuser"],"msg":"extra fields not permitted","type":"value_error.extra"},{"loc":["body","is_active"],"msg":"extra fields not permitted","type":"value_error.extra"}]}
--- no_error_log
[error]



=== TEST 14: mass assignment is refused
--- request
PUT /users/me
{"id":1,"hashed_password":"x","created_at":"2020-01-01T00:00:00Z"}
--- more_headers eval
"Authorization: Bearer $::bob_token\nContent-Type: application/json"
--- error_code: 422
--- response_body_like chomp
"loc":\["body","id"\].*"loc":\["body","hashed_password"\].*"loc":\["body","created_at"\]
--- no_error_log
[error]



=== TEST 15: a new password needs the right current one
--- request eval
["PUT /users/me\n{\"password\":\"newpassword123\"}",
 "PUT /users/me\n{\"password\":\"newpassword123\",\"current_password\":\"wrong-password\"}",
 "PUT /users/me\n{\"current_password\":\"secretpassword123\"}"]
--- more_headers eval
"Authorization: Bearer $::dave_token\nContent-Type: application/json"
--- error_code eval
[400, 400, 422]
--- response_body eval
['{"detail":"Incorrect password"}', '{"detail":"Incorrect password"}',
 '{"detail":[{"loc":["body","current_password"],"msg":"current_password is only accepted with password","type":"value_error"}]}']
--- no_error_log
[error]



=== TEST 16: a password change revokes older tokens at once
--- request eval
["PUT /users/me\n{\"password\":\"newpassword123\",\"current_password\":\"secretpassword123\"}",
 "GET /users/me"]
--- more_headers eval
"Authorization: Bearer $::erin_token\nContent-Type: application/json"
--- error_code eval
[200, 401]
--- response_body_like eval
['"email" : "u-erin\@example\.com"', 'Could not validate credentials']
--- no_error_log
[error]



=== TEST 17: a taken email is 409, whatever its case
--- request
PUT /users/me
{"email":"U-CAROL@example.com"}
--- more_headers eval
"Authorization: Bearer $::bob_token\nContent-Type: application/json"
--- error_code: 409
--- response_body chomp
{"detail":"Email already registered"}
--- no_error_log
[error]



=== TEST 18: a superuser cannot change their own status or password here
--- request eval
["PUT /users/$::admin\n{\"is_active\":false}",
 "PUT /users/$::admin\n{\"password\":\"anotherpassword1\"}"]
--- more_headers eval
"Authorization: Bearer $::admin_token\nContent-Type: application/json"
--- error_code eval
[400, 400]
--- response_body eval
['{"detail":"Superusers cannot change their own status"}',
 '{"detail":"Use /users/me to change your own password"}']
--- no_error_log
[error]



=== TEST 19: a superuser updates another user
--- request eval
"PUT /users/$::carol\n{\"name\":\"Caroline\",\"is_superuser\":false}"
--- more_headers eval
"Authorization: Bearer $::admin_token\nContent-Type: application/json"
--- response_body_like chomp
"name" : "Caroline"
--- no_error_log
[error]



=== TEST 20: null is refused on a field that is not nullable
--- request eval
"PUT /users/$::carol\n{\"email\":null,\"is_active\":null}"
--- more_headers eval
"Authorization: Bearer $::admin_token\nContent-Type: application/json"
--- error_code: 422
--- response_body chomp
{"detail":[{"loc":["body","email"],"msg":"none is not an allowed value","type":"type_error.none.not_allowed"},{"loc":["body","is_active"],"msg":"none is not an allowed value","type":"type_error.none.not_allowed"}]}
--- no_error_log
[error]



=== TEST 21: deactivation revokes the user's tokens
--- request eval
"PUT /users/$::frank\n{\"is_active\":false}"
--- more_headers eval
"Authorization: Bearer $::admin_token\nContent-Type: application/json"
--- response_body_like chomp
"is_active" : false
--- no_error_log
[error]



=== TEST 22: ... so the deactivated user's token is 401
--- request
GET /users/me
--- more_headers eval
"Authorization: Bearer $::frank_token"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 23: updating a missing user is 404
--- request eval
"PUT /users/$::gone\n{\"name\":\"x\"}"
--- more_headers eval
"Authorization: Bearer $::admin_token\nContent-Type: application/json"
--- error_code: 404
--- response_body chomp
{"detail":"User not found"}
--- no_error_log
[error]



=== TEST 24: a superuser cannot delete themselves
--- request eval
"DELETE /users/$::admin"
--- more_headers eval
"Authorization: Bearer $::admin_token"
--- error_code: 400
--- response_body chomp
{"detail":"Superusers cannot delete themselves"}
--- no_error_log
[error]



=== TEST 25: delete answers 204 with no body, then 404
--- request eval
["DELETE /users/$::dave", "DELETE /users/$::dave"]
--- more_headers eval
"Authorization: Bearer $::admin_token"
--- error_code eval
[204, 404]
--- response_body eval
["", '{"detail":"User not found"}']
--- no_error_log
[error]



=== TEST 26: a deleted user's token is 401
--- request
GET /users/me
--- more_headers eval
"Authorization: Bearer $::dave_token"
--- error_code: 401
--- response_body chomp
{"detail":"Could not validate credentials"}
--- no_error_log
[error]



=== TEST 27: PUT without a JSON content type is 415, after authentication
--- request
PUT /users/me
name=x
--- more_headers eval
"Authorization: Bearer $::bob_token\nContent-Type: text/plain"
--- error_code: 415
--- response_body chomp
{"detail":"Unsupported Media Type"}
--- no_error_log
[error]



=== TEST 28: an unauthenticated PUT with a bad body is 401 first
--- request
PUT /users/me
{bad
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"detail":"Not authenticated"}
--- no_error_log
[error]
