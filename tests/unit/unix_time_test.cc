// exporter/report/unix_time.h: the one formatter of Unix times, in both of its shapes, at the
// edges the renderers meet (a time never taken, fractions, the calendar fields the history
// strip reads).
#include "exporter/report/unix_time.h"

#include <gtest/gtest.h>

namespace smtp_exporter {
namespace {

TEST(UnixTimeTest, Rfc3339InUtc) {
  EXPECT_EQ(FormatUnixRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatUnixRfc3339(1700000000), "2023-11-14T22:13:20Z");
}

TEST(UnixTimeTest, ForPeopleDropsFractionsAndSaysDashForNoTime) {
  EXPECT_EQ(FormatUnixUtc(1700000000.9), "2023-11-14 22:13:20 UTC");
  EXPECT_EQ(FormatUnixUtc(0), "-");
  EXPECT_EQ(FormatUnixUtc(-5), "-");
}

TEST(UnixTimeTest, CalendarFieldsAreUtc) {
  const std::tm tm = UtcCalendar(1700000000);
  EXPECT_EQ(tm.tm_year, 123);
  EXPECT_EQ(tm.tm_mon, 10);
  EXPECT_EQ(tm.tm_mday, 14);
  EXPECT_EQ(tm.tm_hour, 22);
  EXPECT_EQ(tm.tm_min, 13);
}

}  // namespace
}  // namespace smtp_exporter
