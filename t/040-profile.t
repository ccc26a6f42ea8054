# /profile: one's own profile and preferences, public profiles.
use t::lib::Users;
use t::lib::Fixtures;

users_sql("DELETE FROM users WHERE email ILIKE 'p-%\@example.com'");
our $pat = users_fixture(email => 'p-pat@example.com', name => 'Pat');
our $pat_token = users_token($pat);
our $quinn = users_fixture(email => 'p-quinn@example.com', name => 'Quinn');
our $private = users_fixture(email => 'p-private@example.com',
    preferences => '{"privacy_public_profile": false}');
our $inactive = users_fixture(email => 'p-inactive@example.com', active => 0);
our $gone = users_fixture(email => 'p-gone@example.com');
users_sql("DELETE FROM users WHERE id = $gone");

# lengths are counted in characters: "é" is two bytes
our $bio_ok = "é" x 10000;
our $bio_long = "é" x 10001;

repeat_each(1);

# Assertions: 3 per request (status, body, one error log pattern); TEST 9
# makes six requests, TEST 15 four, TEST 14 three, TEST 11 two; TEST 1 and
# 17 also check a header.
plan tests => repeat_each() * (3 * blocks() + 35);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: GET /profile/me has every field and default preferences
--- request
GET /profile/me
--- more_headers eval
"Authorization: Bearer $::pat_token"
--- response_headers
Cache-Control: no-store
--- response_body_like chomp
^\{"id" : \d+, "email" : "p-pat\@example\.com", "name" : "Pat", "is_active" : true, "is_superuser" : false, "created_at" : "[^"]+Z", "updated_at" : "[^"]+Z", "bio" : null, "avatar_url" : null, "location" : null, "website" : null, "phone" : null, "preferences" : \{"theme" : "light", "language" : "en", "timezone" : "UTC", "notifications_email" : true, "notifications_sms" : false, "privacy_public_profile" : true\}\}$
--- no_error_log
[error]



=== TEST 2: PUT /profile/me applies what is present
--- request
PUT /profile/me
{"bio":"Hello","avatar_url":"https://example.com/a.png","location":"Paris","website":"http://example.org","phone":"+33 (1) 23-45.67"}
--- more_headers eval
"Authorization: Bearer $::pat_token\nContent-Type: application/json"
--- response_body_like chomp
"name" : "Pat", .*"bio" : "Hello", "avatar_url" : "https://example.com/a.png", "location" : "Paris", "website" : "http://example.org", "phone" : "\+33 \(1\) 23-45\.67"
--- no_error_log
[error]



=== TEST 3: null clears, absent keys stay
--- request
PUT /profile/me
{"location":null}
--- more_headers eval
"Authorization: Bearer $::pat_token\nContent-Type: application/json"
--- response_body_like chomp
"bio" : "Hello", "avatar_url" : "https://example.com/a.png", "location" : null
--- no_error_log
[error]



=== TEST 4: a body that changes nothing still answers the profile
--- request
PUT /profile/me
{}
--- more_headers eval
"Authorization: Bearer $::pat_token\nContent-Type: application/json"
--- response_body_like chomp
"email" : "p-pat\@example\.com"
--- no_error_log
[error]



=== TEST 5: DELETE /profile/me/avatar clears the avatar
--- request
DELETE /profile/me/avatar
--- more_headers eval
"Authorization: Bearer $::pat_token"
--- response_body_like chomp
"bio" : "Hello", "avatar_url" : null
--- no_error_log
[error]



=== TEST 6: a 10000-character bio of non-ASCII letters is accepted
--- request eval
"PUT /profile/me\n{\"bio\":\"$::bio_ok\"}"
--- more_headers eval
"Authorization: Bearer $::pat_token\nContent-Type: application/json"
--- response_body_like chomp
"bio" : "é
--- no_error_log
[error]



=== TEST 7: 10001 characters are not
--- request eval
"PUT /profile/me\n{\"bio\":\"$::bio_long\"}"
--- more_headers eval
"Authorization: Bearer $::pat_token\nContent-Type: application/json"
--- error_code: 422
--- response_body chomp
{"detail":[{"loc":["body","bio"],"msg":"ensure this value has at most 10000 characters","type":"value_error.any_str.max_length"}]}
--- no_error_log
[error]



=== TEST 8: every bad field is reported together
--- request
PUT /profile/me
{"avatar_url":"ftp://example.com/a","website":"not a url","phone":"call me","location":5,"is_superuser":true}
--- more_headers eval
"Authorization: Bearer $::pat_token\nContent-Type: application/json"
--- error_code: 422
--- response_body_like chomp
"loc":\["body","avatar_url"\].*"loc":\["body","location"\].*"loc":\["body","website"\].*"loc":\["body","phone"\].*"loc":\["body","is_superuser"\]
--- no_error_log
[error]



=== TEST 9: limits just inside and just outside
--- request eval
["PUT /profile/me\n{\"phone\":\"" . ("1" x 20) . "\"}",
 "PUT /profile/me\n{\"phone\":\"" . ("1" x 21) . "\"}",
 "PUT /profile/me\n{\"location\":\"" . ("l" x 255) . "\"}",
 "PUT /profile/me\n{\"location\":\"" . ("l" x 256) . "\"}",
 "PUT /profile/me\n{\"website\":\"https://e.com/" . ("w" x 486) . "\"}",
 "PUT /profile/me\n{\"website\":\"https://e.com/" . ("w" x 487) . "\"}"]
--- more_headers eval
"Authorization: Bearer $::pat_token\nContent-Type: application/json"
--- error_code eval
[200, 422, 200, 422, 200, 422]
--- response_body_like eval
['"phone" : "1{20}"', 'at most 20 characters', '"location" : "l{255}"',
 'at most 255 characters', '"website" : "https://e.com/w{486}"',
 'at most 500 characters']
--- no_error_log
[error]



=== TEST 10: preferences have all six keys, defaults filled
--- request
GET /profile/me/preferences
--- more_headers eval
"Authorization: Bearer $::pat_token"
--- response_body chomp
{"theme" : "light", "language" : "en", "timezone" : "UTC", "notifications_email" : true, "notifications_sms" : false, "privacy_public_profile" : true}
--- no_error_log
[error]



=== TEST 11: a preferences PUT merges the given keys
--- request eval
["PUT /profile/me/preferences\n{\"theme\":\"dark\",\"timezone\":\"Europe/Paris\"}",
 "PUT /profile/me/preferences\n{\"language\":\"pt-BR\",\"notifications_sms\":true}"]
--- more_headers eval
"Authorization: Bearer $::pat_token\nContent-Type: application/json"
--- response_body eval
['{"theme" : "dark", "language" : "en", "timezone" : "Europe/Paris", "notifications_email" : true, "notifications_sms" : false, "privacy_public_profile" : true}',
 '{"theme" : "dark", "language" : "pt-BR", "timezone" : "Europe/Paris", "notifications_email" : true, "notifications_sms" : true, "privacy_public_profile" : true}']
--- no_error_log
[error]



=== TEST 12: preference values are checked
--- request
PUT /profile/me/preferences
{"theme":"blue","language":"not a tag!","timezone":"Mars/Olympus","notifications_email":"yes","privacy_public_profile":null,"colour":"red"}
--- more_headers eval
"Authorization: Bearer $::pat_token\nContent-Type: application/json"
--- error_code: 422
--- response_body_like chomp
"loc":\["body","theme"\].*"loc":\["body","language"\].*"loc":\["body","timezone"\].*"loc":\["body","notifications_email"\].*"loc":\["body","privacy_public_profile"\].*"loc":\["body","colour"\]
--- no_error_log
[error]



=== TEST 13: a public profile shows only public fields
--- request eval
"GET /profile/$::quinn"
--- more_headers eval
"Authorization: Bearer $::pat_token"
--- response_body_like chomp
^\{"id" : \d+, "name" : "Quinn", "bio" : null, "avatar_url" : null, "location" : null, "website" : null, "created_at" : "[^"]+Z"\}$
--- no_error_log
[error]



=== TEST 14: private, inactive and missing users look the same: 404
--- request eval
["GET /profile/$::private", "GET /profile/$::inactive", "GET /profile/$::gone"]
--- more_headers eval
"Authorization: Bearer $::pat_token"
--- error_code eval
[404, 404, 404]
--- response_body eval
[('{"detail":"User not found"}') x 3]
--- no_error_log
[error]



=== TEST 15: privacy toggling hides and shows one's public profile
--- request eval
["PUT /profile/me/preferences\n{\"privacy_public_profile\":false}",
 "GET /profile/$::pat",
 "PUT /profile/me/preferences\n{\"privacy_public_profile\":true}",
 "GET /profile/$::pat"]
--- more_headers eval
"Authorization: Bearer $::pat_token\nContent-Type: application/json"
--- error_code eval
[200, 404, 200, 200]
--- response_body_like eval
['"privacy_public_profile" : false', 'User not found',
 '"privacy_public_profile" : true', '"name" : "Pat"']
--- no_error_log
[error]



=== TEST 16: public profiles need a user too
--- request eval
"GET /profile/$::quinn"
--- error_code: 401
--- response_body chomp
{"detail":"Not authenticated"}
--- no_error_log
[error]



=== TEST 17: /profile/me is never an id
--- request
POST /profile/me
--- more_headers eval
"Authorization: Bearer $::pat_token"
--- error_code: 405
--- response_headers
Allow: GET, PUT
--- response_body chomp
{"detail":"Method Not Allowed"}
--- no_error_log
[error]
