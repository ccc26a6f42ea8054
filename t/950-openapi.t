# The OpenAPI document and the module cannot drift apart: every documented
# path and method is called and its answers are validated against the
# document's schemas (scripts/openapi-check.pl), with the docs pages served
# as conf/users_docs.conf serves them.
use strict;
use warnings;
use Test::More;
use Cwd qw(getcwd);
use t::lib::Scenario;

my $docs = getcwd() . '/build/docs';
plan skip_all => 'build/docs is missing: run scripts/docs.sh'
    unless -f "$docs/openapi.json";

start_nginx(config => <<'_EOC_');
users_request_id on;
include $TEST_NGINX_CONF_DIR/users_locations.conf;
include $TEST_NGINX_CONF_DIR/users_docs.conf;
location / {
    users_api not_found;
}
_EOC_

# the docs are found relative to nginx's prefix, as in production
my $root = $ENV{TEST_NGINX_SERVROOT} // getcwd() . '/t/servroot';
symlink $docs, "$root/docs" or die "symlink: $!";

my $port = $ENV{TEST_NGINX_SERVER_PORT} // 1984;
my $out = `perl scripts/openapi-check.pl http://127.0.0.1:$port 2>&1`;
my $rc = $?;
my ($passed, $failed) = $out =~ /(\d+) passed, (\d+) failed/;
ok(defined $passed && $passed > 0, "the drift check ran ($passed checks)");
is($rc, 0, 'every documented route answers as documented')
    or diag join "\n", grep { /^not ok|^#/ } split /\n/, $out;

my $log = error_log_text();
unlike($log, qr/\[(alert|crit)\]|exited on signal/, 'no alert or crash');

nginx_stop();
unlink "$root/docs";
done_testing();
