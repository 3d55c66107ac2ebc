// Scheduler with a fake clock and real worker threads. Conditions are awaited with bounded
// polling (never timing assertions: these machines are noisy).
#include "exporter/daemon/scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeClock;

// Records runs; a run can be held open until released, to test overlap and concurrency.
class Recorder {
 public:
  void Run(const std::string& domain) {
    std::unique_lock<std::mutex> lock(mutex_);
    ++runs_[domain];
    ++running_[domain];
    ++concurrent_;
    max_concurrent_ = std::max(max_concurrent_, concurrent_);
    max_same_domain_ = std::max(max_same_domain_, running_[domain]);
    changed_.notify_all();
    changed_.wait_for(lock, seconds(10), [&] { return !hold_; });
    --running_[domain];
    --concurrent_;
    changed_.notify_all();
  }
  // Waits (bounded) until `predicate` holds. The predicate runs under the recorder's lock:
  // it reads the fields directly (runs_, concurrent_), never the locking accessors.
  bool WaitFor(const std::function<bool()>& predicate, milliseconds limit = seconds(10)) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, limit, predicate);
  }
  void Hold(bool hold) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      hold_ = hold;
    }
    changed_.notify_all();
  }
  int runs(const std::string& domain) {
    std::lock_guard<std::mutex> lock(mutex_);
    return runs_[domain];
  }
  int max_concurrent() {
    std::lock_guard<std::mutex> lock(mutex_);
    return max_concurrent_;
  }
  int max_same_domain() {
    std::lock_guard<std::mutex> lock(mutex_);
    return max_same_domain_;
  }
  // Guarded by mutex_; read directly only inside WaitFor predicates.
  std::map<std::string, int> runs_;
  int concurrent_ = 0;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, int> running_;
  int max_concurrent_ = 0;
  int max_same_domain_ = 0;
  bool hold_ = false;
};

// Waits (bounded, 10 s) until the scheduler has put `domain` back in its queue after a run.
// Its next due time is counted from the clock when that happens, so a test must not move the
// fake clock before (under load the worker can lag well behind the recorded run).
bool WaitUntilRequeued(const Scheduler& scheduler, const std::string& domain) {
  for (int i = 0; i < 1000; ++i) {
    if (scheduler.NextDue(domain).has_value()) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  return false;
}

ScheduledDomain Domain(const std::string& name, milliseconds interval = seconds(300)) {
  return ScheduledDomain{name, interval, milliseconds(0), std::nullopt};
}

TEST(SchedulerTest, ChecksEveryDomainAtStartupStaggeredThenEveryInterval) {
  FakeClock clock;
  Recorder recorder;
  Scheduler scheduler(clock, 4, [&](const std::string& d) { recorder.Run(d); }, seconds(60));
  scheduler.SetDomains({Domain("a.test"), Domain("b.test"), Domain("c.test")});
  scheduler.Start();
  // The first domain is due at once; the others are spread over the 60 s stagger window.
  EXPECT_TRUE(recorder.WaitFor([&] { return recorder.runs_["a.test"] == 1; }));
  EXPECT_EQ(recorder.runs("c.test"), 0);
  EXPECT_TRUE(WaitUntilRequeued(scheduler, "a.test"));  // next due: 300 s from now
  clock.Advance(seconds(61));
  scheduler.Wake();
  EXPECT_TRUE(recorder.WaitFor(
      [&] { return recorder.runs_["b.test"] == 1 && recorder.runs_["c.test"] == 1; }));
  EXPECT_EQ(recorder.runs("a.test"), 1);
  clock.Advance(seconds(300));
  scheduler.Wake();
  EXPECT_TRUE(recorder.WaitFor([&] { return recorder.runs_["a.test"] == 2; }));
  scheduler.Stop();
}

// A domain whose held result (one restored from disk) is younger than its interval is first
// due when that result is an interval old; with an older result, a negative age (the wall
// clock stepped back) or none, at start-up.
TEST(SchedulerTest, AFreshHeldResultIsCheckedAgainWhenItIsAnIntervalOld) {
  FakeClock clock;
  Recorder recorder;
  Scheduler scheduler(clock, 4, [&](const std::string& d) { recorder.Run(d); }, seconds(0));
  ScheduledDomain fresh = Domain("fresh.test");  // interval 300 s
  fresh.last_check_age = seconds(200);
  ScheduledDomain stale = Domain("stale.test");
  stale.last_check_age = seconds(300);
  ScheduledDomain stepped_back = Domain("stepped-back.test");
  stepped_back.last_check_age = seconds(-50);
  const SteadyTime start = clock.Now();
  scheduler.SetDomains({fresh, stale, stepped_back, Domain("new.test")});
  EXPECT_EQ(scheduler.NextDue("fresh.test"), std::optional<SteadyTime>(start + seconds(100)));
  scheduler.Start();
  EXPECT_TRUE(recorder.WaitFor([&] {
    return recorder.runs_["stale.test"] == 1 && recorder.runs_["stepped-back.test"] == 1 &&
           recorder.runs_["new.test"] == 1;
  }));
  clock.Advance(seconds(99));
  scheduler.Wake();
  // A negative check has to wait a little; 500 ms is plenty for a worker to (wrongly) start.
  EXPECT_FALSE(
      recorder.WaitFor([&] { return recorder.runs_["fresh.test"] > 0; }, milliseconds(500)));
  clock.Advance(seconds(1));
  scheduler.Wake();
  EXPECT_TRUE(recorder.WaitFor([&] { return recorder.runs_["fresh.test"] == 1; }));
  scheduler.Stop();
}

TEST(SchedulerTest, ADomainNeverOverlapsItself) {
  FakeClock clock;
  Recorder recorder;
  Scheduler scheduler(clock, 4, [&](const std::string& d) { recorder.Run(d); });
  recorder.Hold(true);
  scheduler.SetDomains({Domain("slow.test", seconds(10))});
  scheduler.Start();
  EXPECT_TRUE(recorder.WaitFor([&] { return recorder.runs_["slow.test"] == 1; }));
  // Far past its interval while the first check is still running: no second run starts.
  for (int i = 0; i < 5; ++i) {
    clock.Advance(seconds(60));
    scheduler.Wake();
  }
  // A negative check has to wait a little; 500 ms is plenty for a worker to (wrongly) start.
  EXPECT_FALSE(
      recorder.WaitFor([&] { return recorder.runs_["slow.test"] > 1; }, milliseconds(500)));
  recorder.Hold(false);
  scheduler.Stop();
  EXPECT_EQ(recorder.max_same_domain(), 1);
}

TEST(SchedulerTest, ConcurrencyIsBounded) {
  FakeClock clock;
  Recorder recorder;
  Scheduler scheduler(clock, 2, [&](const std::string& d) { recorder.Run(d); },
                      milliseconds(0));
  recorder.Hold(true);
  std::vector<ScheduledDomain> domains;
  for (int i = 0; i < 6; ++i) domains.push_back(Domain("d" + std::to_string(i) + ".test"));
  scheduler.SetDomains(domains);
  scheduler.Start();
  EXPECT_TRUE(recorder.WaitFor([&] { return recorder.concurrent_ == 2; }));
  recorder.Hold(false);
  EXPECT_TRUE(recorder.WaitFor([&] {
    int total = 0;
    for (const auto& [name, runs] : recorder.runs_) total += runs;
    return total == 6;
  }));
  scheduler.Stop();
  EXPECT_EQ(recorder.max_concurrent(), 2);
}

TEST(SchedulerTest, ReloadAddsAtOnceAndRemovesForGood) {
  FakeClock clock;
  Recorder recorder;
  Scheduler scheduler(clock, 2, [&](const std::string& d) { recorder.Run(d); });
  scheduler.SetDomains({Domain("keep.test", seconds(10)), Domain("drop.test", seconds(10))});
  scheduler.Start();
  clock.Advance(seconds(61));
  scheduler.Wake();
  EXPECT_TRUE(recorder.WaitFor(
      [&] { return recorder.runs_["keep.test"] >= 1 && recorder.runs_["drop.test"] >= 1; }));
  scheduler.SetDomains({Domain("keep.test", seconds(10)), Domain("new.test", seconds(10))});
  EXPECT_TRUE(recorder.WaitFor([&] { return recorder.runs_["new.test"] == 1; }));
  const int dropped_runs = recorder.runs("drop.test");
  for (int i = 0; i < 3; ++i) {
    // Advance only once keep.test is rescheduled (NextDue is empty while it runs); otherwise
    // its next due time would be computed from the already advanced clock.
    for (int wait = 0; wait < 500 && !scheduler.NextDue("keep.test").has_value(); ++wait) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    clock.Advance(seconds(20));
    scheduler.Wake();
    EXPECT_TRUE(recorder.WaitFor([&] { return recorder.runs_["keep.test"] >= 2 + i; }));
  }
  EXPECT_EQ(recorder.runs("drop.test"), dropped_runs);
  EXPECT_FALSE(scheduler.NextDue("drop.test").has_value());
  scheduler.Stop();
}

}  // namespace
}  // namespace smtp_exporter
