package t::lib::Users;

# The suite's test module: "use t::lib::Users;" gives a t/*.t file
# everything of Test::Nginx::Socket (openresty's, or the local one in
# t/harness/ where it is not installed) plus the defaults every block
# needs: the module loaded, its thread pool, database, JWT secret and first
# superuser, the JSON access log format, and, for a block without its own
# "--- config", the API's router.
#
# A default line is prepended to its section only when the block does not
# already mention the directive (or the included file) anywhere in its
# configuration sections; so a block overrides a default by setting the
# directive itself, and leaves one out by naming it in a comment
# ("# no users_first_superuser"). The $TEST_NGINX_* names are expanded by
# the harness, from the environment the test command exports.

use Test::Nginx::Socket -Base;

# [section, what marks the directive as present, default line]
my @DEFAULTS = (
    [main_config => 'load_module', 'load_module $TEST_NGINX_USERS_MODULE;'],
    [main_config => 'thread_pool', 'thread_pool users_argon2 threads=2 max_queue=64;'],
    [http_config => 'users_pg_conninfo',
        'users_pg_conninfo "$TEST_NGINX_PG_CONNINFO";'],
    [http_config => 'users_jwt_secret',
        'users_jwt_secret file:$TEST_NGINX_JWT_SECRET_FILE;'],
    [http_config => 'users_password_thread_pool',
        'users_password_thread_pool users_argon2;'],
    [http_config => 'users_first_superuser',
        'users_first_superuser file:$TEST_NGINX_SU_EMAIL_FILE'
        . ' file:$TEST_NGINX_SU_PASSWORD_FILE;'],
    [http_config => 'json_log.conf', 'include $TEST_NGINX_CONF_DIR/json_log.conf;'],
);

# Under a slow runner (scripts/valgrind.sh sets TEST_NGINX_TIME_FACTOR) a
# connection that is only slow to set up (18 statements to prepare) must
# not count as down, nor a request that only waits longer for a slot (50
# racing registrations, each query seconds long under valgrind): the
# database timeouts grow by the same factor.
my ($FACTOR) = ($ENV{TEST_NGINX_TIME_FACTOR} // '') =~ /^(\d+(?:\.\d+)?)$/;
if ($FACTOR && $FACTOR > 1) {
    push @DEFAULTS,
        [http_config => 'users_pg_connect_timeout',
            'users_pg_connect_timeout ' . int(2000 * $FACTOR) . 'ms;'],
        [http_config => 'users_pg_query_timeout',
            'users_pg_query_timeout ' . int(5000 * $FACTOR) . 'ms;'],
        [http_config => 'users_pg_pool',
            'users_pg_pool queue_timeout=' . int(3000 * $FACTOR) . 'ms;'],
        [http_config => 'users_readyz_timeout',
            'users_readyz_timeout ' . int(1500 * $FACTOR) . 'ms;'];
}

# the server {} of a block that brings no "--- config": the router and,
# as in conf/nginx.conf, a JSON 404 for every other path (so the harness's
# own static "location /" is left out)
my $DEFAULT_CONFIG = <<'_EOC_';
users_request_id on;
include $TEST_NGINX_CONF_DIR/users_locations.conf;
location / {
    users_api not_found;
}
_EOC_

no_root_location();

# Adds the defaults to a hash of section texts (main_config, http_config,
# config, post_main_config; undef or absent when the block has none). Also
# used by t::lib::Scenario, so scenarios run the module configured the same way.
# (The prototype keeps Spiffy's -Base source filter, which turns every
# "sub name {" of this file into a method, away from this function.)
sub add_defaults ($) {
    my $sections = shift;
    my $mentioned = join "\n", grep { defined }
        @$sections{qw(main_config http_config config post_main_config)};
    my %prepend;
    for (@DEFAULTS) {
        my ($section, $mark, $line) = @$_;
        $prepend{$section} .= "$line\n" unless $mentioned =~ /\b\Q$mark\E\b/;
    }
    $sections->{$_} = $prepend{$_} . ($sections->{$_} // '') for keys %prepend;
    $sections->{config} //= $DEFAULT_CONFIG;
}

add_block_preprocessor(sub {
    my $block = shift;
    my %sections = map { $_ => scalar $block->$_ }
        qw(main_config http_config config post_main_config);
    add_defaults(\%sections);
    for my $name (qw(main_config http_config config)) {
        $block->set_value($name => $sections{$name}) if defined $sections{$name};
    }
});
