// The one translation unit that defines the Boost.Test module for the unit tests.
#define BOOST_TEST_MODULE jobpulse_unit
#include <boost/test/unit_test.hpp>
