package Test::Nginx::Socket;

# A project-local stand-in for openresty's Test::Nginx::Socket, used only
# where the real one is not installed (prove -I. -It/harness). It runs the
# project's t/*.t files unchanged, within the subset that t::harness::Runner
# lists; anything outside it stops the run instead of being skipped. The work is done by
# t::harness::Runner, t::harness::Server and t::harness::Client (found
# through -I.), which t::lib::Scenario shares.
#
# Like the real module it is a Test::Base subclass made with Spiffy's
# "-Base". That is what lets a project module say
# "use Test::Nginx::Socket -Base;" and what exports the functions below,
# plus Test::Base's own (plan, blocks, ...), to every test file. Spiffy's
# source filter adds "my $self = shift;" to each "sub name {" in this
# file, so every named sub here carries a prototype, which it leaves alone.

use Test::Base -Base;

use t::harness::Runner;
use Test::Nginx::Socket::Filter;

our @EXPORT = qw(
    env_to_nginx run_tests repeat_each no_shuffle add_block_preprocessor
    no_root_location log_level workers master_on timeout worker_connections
    check_accum_error_log
);

# set by the functions below, read by run_tests()
my %Setting = (
    repeat_each        => 1,
    shuffle            => !$ENV{TEST_NGINX_NO_SHUFFLE},
    preprocessors      => [],
    env                => [],
    root_location      => 1,
    log_level          => $ENV{TEST_NGINX_LOG_LEVEL} || 'debug',
    workers            => 1,
    master             => ($ENV{TEST_NGINX_MASTER_PROCESS} // '') eq 'on',
    worker_connections => 64,
    timeout            => $ENV{TEST_NGINX_TIMEOUT} || 3,
    accum_log          => $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG},
);

sub run_tests (;@) {
    t::harness::Runner::run_tests(\%Setting);
}

# Each block's request(s) and checks run N times against the same nginx.
sub repeat_each (@) {
    $Setting{repeat_each} = shift if @_;
    return $Setting{repeat_each};
}

sub no_shuffle (;@) {
    $Setting{shuffle} = 0;
}

# The last one registered runs first, as in the real harness.
sub add_block_preprocessor (&) {
    unshift @{ $Setting{preprocessors} }, shift;
}

sub env_to_nginx (@) {
    Carp::croak('env_to_nginx: no arguments specified') unless @_;
    for my $v (@_) {
        Carp::croak("env_to_nginx: bad argument value: $v")
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @{ $Setting{env} }, $v;
    }
}

sub no_root_location (;@) {
    $Setting{root_location} = 0;
}

sub log_level (@) {
    $Setting{log_level} = shift if @_;
    return $Setting{log_level};
}

sub workers (@) {
    $Setting{workers} = shift if @_;
    return $Setting{workers};
}

sub master_on (;@) {
    $Setting{master} = 1;
}

# The client's per-I/O timeout (seconds), also the grace period of QUIT.
sub timeout (@) {
    $Setting{timeout} = shift if @_;
    return $Setting{timeout};
}

sub worker_connections (@) {
    $Setting{worker_connections} = shift if @_;
    return $Setting{worker_connections};
}

sub check_accum_error_log (;@) {
    $Setting{accum_log} = 1;
}
