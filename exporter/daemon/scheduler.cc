#include "exporter/daemon/scheduler.h"

#include <algorithm>
#include <cstdint>

namespace smtp_exporter {
namespace {

// Longest a worker sleeps before re-reading the clock; bounds the effect of a missed wake-up.
constexpr auto kMaxSleep = std::chrono::milliseconds(500);

}  // namespace

Scheduler::Scheduler(const Clock& clock, std::size_t concurrency, RunFunction run,
                     std::chrono::milliseconds stagger)
    : clock_(clock),
      concurrency_(std::max<std::size_t>(1, concurrency)),
      run_(std::move(run)),
      stagger_(stagger) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!workers_.empty() || stopping_) {
    return;
  }
  for (std::size_t i = 0; i < concurrency_; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

void Scheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) {
      worker.join();
    }
  }
  workers_.clear();
}

void Scheduler::Wake() {
  // Under the lock: a worker between reading the clock and waiting holds it, so the wake-up
  // lands either before it reads the clock or while it waits, never in between (a lost
  // wake-up left a fake-clock test waiting a whole kMaxSleep).
  { const std::lock_guard<std::mutex> lock(mutex_); }
  changed_.notify_all();
}

std::chrono::milliseconds Scheduler::Jittered(const ScheduledDomain& domain) {
  if (domain.jitter.count() <= 0) {
    return domain.interval;
  }
  std::uniform_int_distribution<long long> spread(-domain.jitter.count(), domain.jitter.count());
  return std::max(std::chrono::milliseconds(1000),
                  domain.interval + std::chrono::milliseconds(spread(random_)));
}

void Scheduler::SetDomains(const std::vector<ScheduledDomain>& domains) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const SteadyTime now = clock_.Now();
    // Removed domains.
    for (auto it = entries_.begin(); it != entries_.end();) {
      const bool kept = std::any_of(domains.begin(), domains.end(), [&](const auto& d) {
        return d.name == it->first;
      });
      if (kept) {
        ++it;
        continue;
      }
      queue_.erase({it->second.due, it->first});
      if (it->second.running) {
        it->second.removed = true;  // the worker drops it when the check ends
        ++it;
      } else {
        it = entries_.erase(it);
      }
    }
    // Added or changed domains; new ones are due when their held result is an interval old,
    // or else spread over the stagger window.
    const auto held_result_fresh = [](const ScheduledDomain& d) {
      return d.last_check_age && d.last_check_age->count() >= 0 && *d.last_check_age < d.interval;
    };
    std::size_t added = 0;
    std::size_t to_add = 0;
    for (const auto& d : domains) {
      const auto it = entries_.find(d.name);
      if ((it == entries_.end() || it->second.removed) && !held_result_fresh(d)) {
        ++to_add;
      }
    }
    for (const auto& d : domains) {
      auto it = entries_.find(d.name);
      if (it != entries_.end() && !it->second.removed) {
        it->second.config = d;
        continue;
      }
      SteadyTime due = now;
      if (held_result_fresh(d)) {
        due += d.interval - *d.last_check_age;
      } else {
        const auto window = std::min(d.interval, stagger_);
        due += std::chrono::milliseconds(
            to_add <= 1 ? 0
                        : window.count() * static_cast<std::int64_t>(added) /
                              static_cast<std::int64_t>(to_add));
        ++added;
      }
      if (it != entries_.end()) {
        // Removed and re-added while its check was running: schedule it again.
        it->second.removed = false;
        it->second.config = d;
        it->second.due = due;
        continue;
      }
      Entry entry{d, due, false, false};
      queue_.insert({entry.due, d.name});
      entries_.emplace(d.name, std::move(entry));
    }
  }
  changed_.notify_all();
}

std::optional<SteadyTime> Scheduler::NextDue(const std::string& domain) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = entries_.find(domain);
  if (it == entries_.end() || it->second.running) {
    return std::nullopt;
  }
  return it->second.due;
}

void Scheduler::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (queue_.empty()) {
      changed_.wait_for(lock, kMaxSleep);
      continue;
    }
    const auto [due, name] = *queue_.begin();
    const SteadyTime now = clock_.Now();
    if (due > now) {
      const auto sleep = std::min<std::chrono::steady_clock::duration>(due - now, kMaxSleep);
      changed_.wait_for(lock, sleep);
      continue;
    }
    queue_.erase(queue_.begin());
    Entry& entry = entries_.at(name);
    entry.running = true;
    ++in_flight_;
    lock.unlock();
    run_(name);
    lock.lock();
    --in_flight_;
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      continue;
    }
    it->second.running = false;
    if (it->second.removed) {
      entries_.erase(it);
      continue;
    }
    if (it->second.due <= now) {
      // Next run counts from the end of this one, so a slow check never overlaps itself.
      it->second.due = clock_.Now() + Jittered(it->second.config);
    }
    queue_.insert({it->second.due, name});
  }
}

}  // namespace smtp_exporter
