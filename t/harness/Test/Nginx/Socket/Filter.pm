package Test::Nginx::Socket::Filter;

# Test::Base's "eval" filter returns Perl's error message as the section's
# value when the code does not compile or dies, so a typo in an eval section
# silently becomes the expected value. This subclass dies instead. Test::Base
# finds it by name: the filter class of a Test::Nginx::Socket block list is
# Test::Nginx::Socket::Filter when that package exists.

use strict;
use warnings;

use parent 'Test::Base::Filter';

sub eval {
    my ($self, @value) = @_;
    $self->assert_scalar(@value);
    # compiled here, under strict: "$uri" in an eval string is an error, as
    # with the real harness (escape nginx variables as \$uri)
    my @result = CORE::eval($value[0]);
    die $self->current_block->name . " - eval filter failed: $@" if $@;
    return @result;
}

1;
