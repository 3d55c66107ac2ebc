// CheckHistory (exporter/daemon/check_history.h): bounded per domain, oldest first, pruned by
// Retain, records built from the findings' own severities, safe under concurrent use.
#include "exporter/daemon/check_history.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace smtp_exporter {
namespace {

CheckRecord At(double unix_seconds, Severity status = Severity::kOk) {
  CheckRecord record;
  record.checked_at_unix = unix_seconds;
  record.status = status;
  return record;
}

TEST(CheckHistoryTest, KeepsTheLastRecordsOldestFirst) {
  CheckHistory history;
  EXPECT_TRUE(history.Get("example.org").empty());
  for (int i = 1; i <= 50; ++i) {
    history.Add("example.org", At(i));
  }
  const auto records = history.Get("example.org");
  ASSERT_EQ(records.size(), kCheckHistoryLength);
  EXPECT_EQ(kCheckHistoryLength, 48u);
  EXPECT_EQ(records.front().checked_at_unix, 3);  // 1 and 2 were dropped
  EXPECT_EQ(records.back().checked_at_unix, 50);
  for (std::size_t i = 1; i < records.size(); ++i) {
    EXPECT_LT(records[i - 1].checked_at_unix, records[i].checked_at_unix);
  }
}

TEST(CheckHistoryTest, DomainsAreKeptApartAndRetainDropsRemovedOnes) {
  CheckHistory history(3);
  history.Add("a.example", At(1, Severity::kCrit));
  history.Add("b.example", At(2));
  history.Add("c.example", At(3));
  EXPECT_EQ(history.size(), 3u);
  EXPECT_EQ(history.Get("a.example"), std::vector<CheckRecord>{At(1, Severity::kCrit)});
  history.Retain({"a.example", "c.example", "new.example"});
  EXPECT_EQ(history.size(), 2u);
  EXPECT_TRUE(history.Get("b.example").empty());
  EXPECT_EQ(history.Get("c.example").size(), 1u);
  EXPECT_TRUE(history.Get("new.example").empty());  // Retain adds nothing
}

TEST(CheckHistoryTest, AZeroBoundStillKeepsTheLatest) {
  CheckHistory history(0);
  history.Add("a.example", At(1));
  history.Add("a.example", At(2));
  EXPECT_EQ(history.Get("a.example"), std::vector<CheckRecord>{At(2)});
}

TEST(CheckHistoryTest, RecordCountsTheFindingsBySeverity) {
  CheckResult result;
  result.observation.started_at_unix = 1700000000;
  result.observation.duration_seconds = 2.5;
  result.status = Severity::kError;
  std::vector<Finding>& findings = result.findings;
  findings.resize(7);
  const Severity severities[] = {Severity::kError, Severity::kCrit, Severity::kCrit,
                                 Severity::kWarn,  Severity::kInfo, Severity::kOk,
                                 Severity::kOk};
  for (std::size_t i = 0; i < findings.size(); ++i) {
    findings[i].severity = severities[i];
  }
  const CheckRecord record = MakeCheckRecord(result);
  EXPECT_EQ(record.checked_at_unix, 1700000000);
  EXPECT_EQ(record.duration_seconds, 2.5);
  EXPECT_EQ(record.status, Severity::kError);
  EXPECT_EQ(record.error, 1u);
  EXPECT_EQ(record.crit, 2u);
  EXPECT_EQ(record.warn, 1u);
  EXPECT_EQ(record.info, 1u);
}

// Writers (the scheduler's workers, a reload) and readers (HTTP handlers) at once; meaningful
// under ThreadSanitizer (scripts/dev.sh test), and the bound holds throughout.
TEST(CheckHistoryTest, ConcurrentWritersReadersAndRetain) {
  CheckHistory history(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&history, t] {
      const std::string domain = "d" + std::to_string(t % 2) + ".example";
      for (int i = 0; i < 500; ++i) {
        history.Add(domain, At(i));
        if (history.Get(domain).size() > 8) {
          ADD_FAILURE() << "bound exceeded";
        }
        if (i % 100 == 0) {
          history.Retain({"d0.example", "d1.example"});
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(history.Get("d0.example").size(), 8u);
  EXPECT_EQ(history.Get("d1.example").size(), 8u);
}

}  // namespace
}  // namespace smtp_exporter
