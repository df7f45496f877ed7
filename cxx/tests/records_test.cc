#include "hotloop/records.hpp"

#include <gtest/gtest.h>

TEST(Records, Placeholder) { EXPECT_EQ(hotloop::kFrequencyCount, 33u); }
