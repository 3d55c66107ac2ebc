#include "probes/ip_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace smtp_exporter {
namespace {

TEST(IpLimiterTest, AtMostNPerIpAcrossThreads) {
  IpConnectionLimiter limiter(2);
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(limiter.Acquire("192.0.2.1"));
        IpConnectionLimiter::Slot slot(&limiter, "192.0.2.1");
        const int now = ++inside;
        int seen = max_inside.load();
        while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        --inside;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_LE(max_inside.load(), 2);
  EXPECT_EQ(limiter.InUse("192.0.2.1"), 0u);
}

TEST(IpLimiterTest, OtherAddressesAreIndependentAndCancelStopsWaiting) {
  IpConnectionLimiter limiter(1);
  ASSERT_TRUE(limiter.Acquire("192.0.2.1"));
  ASSERT_TRUE(limiter.Acquire("192.0.2.2"));  // not blocked by the first address
  std::atomic<bool> cancelled{true};
  EXPECT_FALSE(limiter.Acquire("192.0.2.1", &cancelled));
  limiter.Release("192.0.2.1");
  limiter.Release("192.0.2.2");
  EXPECT_EQ(limiter.InUse("192.0.2.1"), 0u);
}

// A /probe must answer within its budget: a wait for a busy address ends at the deadline,
// without a slot; a free slot is still taken at once.
TEST(IpLimiterTest, AWaitEndsAtItsDeadlineWithoutASlot) {
  IpConnectionLimiter limiter(1);
  ASSERT_TRUE(limiter.Acquire("192.0.2.1"));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(limiter.Acquire("192.0.2.1", nullptr, started + std::chrono::milliseconds(200)));
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  EXPECT_LT(waited, std::chrono::seconds(2));
  EXPECT_EQ(limiter.InUse("192.0.2.1"), 1u);
  limiter.Release("192.0.2.1");
  EXPECT_TRUE(limiter.Acquire("192.0.2.1", nullptr, std::chrono::steady_clock::now()));
  limiter.Release("192.0.2.1");
  EXPECT_EQ(limiter.InUse("192.0.2.1"), 0u);
}

}  // namespace
}  // namespace smtp_exporter
