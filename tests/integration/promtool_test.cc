// The metrics golden files (written by unit/metrics_test.cc from MetricsCollector and
// RenderProbeMetrics) must pass `promtool check metrics` from Debian's prometheus package:
// parseable exposition format, HELP on every family, counters ending in _total, base units.
// promtool is a required test dependency: a missing promtool fails, it never skips.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

using testing::ReadFile;
using testing::RunCommand;

std::string GoldenPath(const std::string& name) {
  return std::string(SMTP_EXPORTER_SOURCE_DIR) + "/tests/testdata/metrics/" + name;
}

void ExpectPromtoolClean(const std::string& name) {
  const std::string path = GoldenPath(name);
  // An empty file would pass trivially.
  ASSERT_THAT(ReadFile(path), ::testing::HasSubstr("# TYPE smtp_domain_status gauge\n")) << path;
  const testing::CommandResult check = RunCommand("promtool check metrics < '" + path + "'");
  EXPECT_EQ(check.exit_code, 0) << "promtool check metrics " << path << ":\n" << check.output;
}

TEST(PromtoolTest, PromtoolIsInstalled) {
  const testing::CommandResult which = RunCommand("command -v promtool");
  ASSERT_EQ(which.exit_code, 0) << "promtool not found: install Debian's prometheus package";
}

TEST(PromtoolTest, FullMetricsAreLintClean) { ExpectPromtoolClean("full.prom"); }

TEST(PromtoolTest, ProbeMetricsAreLintClean) { ExpectPromtoolClean("probe.prom"); }

}  // namespace
}  // namespace smtp_exporter
