// IpConnectionLimiter: at most N simultaneous probes of any one IP address, across every domain
// being checked. Many domains share their provider's MX hosts; without this, checking them in
// parallel would trip anti-abuse limits (postscreen, connection rate limits) and our probing
// would turn into false failures. The wait happens before an endpoint probe starts, so it never
// eats into the probe's own timeout.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace smtp_exporter {

class IpConnectionLimiter {
 public:
  explicit IpConnectionLimiter(std::size_t per_ip) : per_ip_(per_ip == 0 ? 1 : per_ip) {}

  // Blocks until a slot for `ip` is free and takes it (true). Gives up without a slot (false)
  // once `cancelled` becomes true, or once `deadline` passes when one is given (a /probe must
  // answer within its scrape budget, however busy the address is).
  bool Acquire(const std::string& ip, const std::atomic<bool>* cancelled = nullptr,
               std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);
  void Release(const std::string& ip);

  // Holds a slot for its lifetime.
  class Slot {
   public:
    Slot(IpConnectionLimiter* limiter, std::string ip) : limiter_(limiter), ip_(std::move(ip)) {}
    ~Slot() {
      if (limiter_ != nullptr) {
        limiter_->Release(ip_);
      }
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    IpConnectionLimiter* limiter_;
    std::string ip_;
  };

  // Slots in use for `ip` (for tests and metrics).
  std::size_t InUse(const std::string& ip) const;

 private:
  const std::size_t per_ip_;
  mutable std::mutex mutex_;
  std::condition_variable released_;
  std::map<std::string, std::size_t> in_use_;
};

}  // namespace smtp_exporter
