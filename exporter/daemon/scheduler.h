// Scheduler: checks every configured domain at start-up (staggered) and then every interval
// ± jitter, with at most `concurrency` checks at once and never two checks of the same domain
// at the same time. A domain whose result is already held and younger than its interval (one
// restored from disk) is first due when that result is an interval old, not at start-up.
// SetDomains() applies a reload: removed domains stop being scheduled (a check in flight
// finishes but is not rescheduled), added domains are due at once, changed intervals apply
// from the next run.
//
// Thread safety: every public method is thread-safe. The run function is called from the
// scheduler's worker threads, at most once at a time per domain.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "config/base/clock.h"

namespace smtp_exporter {

struct ScheduledDomain {
  std::string name;
  std::chrono::milliseconds interval{std::chrono::minutes(5)};
  std::chrono::milliseconds jitter{std::chrono::seconds(30)};
  // How long ago the check behind the result already held for this domain started (a result
  // restored from disk at start-up), if one is held. Only read when the domain is new to the
  // scheduler: younger than `interval`, the domain is first due when that result is an
  // interval old, so a restart does not re-check a whole fleet at once (and its MX hosts do
  // not see every domain's probes again within the first minute). Unset, negative (the wall
  // clock stepped back) or at least `interval`: due at start-up, staggered.
  std::optional<std::chrono::milliseconds> last_check_age;
};

class Scheduler {
 public:
  // Runs one check of `domain`; returns when it is done. Called from worker threads.
  using RunFunction = std::function<void(const std::string& domain)>;

  // `stagger`: start-up checks are spread evenly over min(interval, stagger). Default: 60 s.
  Scheduler(const Clock& clock, std::size_t concurrency, RunFunction run,
            std::chrono::milliseconds stagger = std::chrono::seconds(60));
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void Start();
  // Stops scheduling and joins the workers (checks in flight run to their end: cancel them
  // through the probes' cancellation flag first for a fast stop).
  void Stop();

  void SetDomains(const std::vector<ScheduledDomain>& domains);

  std::size_t in_flight() const { return in_flight_.load(); }
  // When `domain` is next due (Clock::Now() units), or nullopt if unknown or running.
  std::optional<SteadyTime> NextDue(const std::string& domain) const;
  // Wakes the workers so they re-read the clock (tests with a fake clock use this).
  void Wake();

 private:
  struct Entry {
    ScheduledDomain config;
    SteadyTime due;
    bool running = false;
    bool removed = false;
  };
  void WorkerLoop();
  std::chrono::milliseconds Jittered(const ScheduledDomain& domain);

  const Clock& clock_;
  const std::size_t concurrency_;
  const RunFunction run_;
  const std::chrono::milliseconds stagger_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Entry> entries_;
  std::set<std::pair<SteadyTime, std::string>> queue_;  // due, domain (not running)
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::atomic<std::size_t> in_flight_{0};
  std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace smtp_exporter
