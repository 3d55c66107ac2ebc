#include "probes/ip_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
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

}  // namespace
}  // namespace smtp_exporter
