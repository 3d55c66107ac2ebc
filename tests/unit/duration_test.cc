#include "config/duration.h"

#include <gtest/gtest.h>

namespace smtp_exporter {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, ParsesPrometheusFormsAndSeedSeconds) {
  EXPECT_EQ(ParseDuration("12"), milliseconds(12000));
  EXPECT_EQ(ParseDuration("12s"), milliseconds(12000));
  EXPECT_EQ(ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(ParseDuration("5m"), milliseconds(300000));
  EXPECT_EQ(ParseDuration("1h30m"), milliseconds(5400000));
  EXPECT_EQ(ParseDuration("1d"), milliseconds(86400000));
  EXPECT_EQ(ParseDuration("0s"), milliseconds(0));
}

TEST(DurationTest, RejectsBadInput) {
  for (const char* bad : {"", "s", "12x", "-5s", "1.5s", "5 m", "m5", "999999999999999y",
                          "1s2", " 5s"}) {
    EXPECT_FALSE(ParseDuration(bad).has_value()) << bad;
  }
}

TEST(DurationTest, FormatsShortest) {
  EXPECT_EQ(FormatDuration(milliseconds(90000)), "1m30s");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(12500)), "12s500ms");
  EXPECT_EQ(FormatDuration(milliseconds(3600000)), "1h");
}

}  // namespace
}  // namespace smtp_exporter
