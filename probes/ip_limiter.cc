#include "probes/ip_limiter.h"

#include <algorithm>
#include <chrono>

namespace smtp_exporter {

bool IpConnectionLimiter::Acquire(const std::string& ip, const std::atomic<bool>* cancelled,
                                  std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    const auto it = in_use_.find(ip);
    if (it == in_use_.end() || it->second < per_ip_) {
      break;
    }
    if (cancelled != nullptr && cancelled->load()) {
      return false;
    }
    // Bounded waits so a cancellation is seen promptly even without a notification.
    auto wait = std::chrono::steady_clock::duration(std::chrono::milliseconds(100));
    if (deadline) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= *deadline) {
        return false;
      }
      wait = std::min(wait, *deadline - now);
    }
    released_.wait_for(lock, wait);
  }
  ++in_use_[ip];
  return true;
}

void IpConnectionLimiter::Release(const std::string& ip) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = in_use_.find(ip);
    if (it != in_use_.end() && --it->second == 0) {
      in_use_.erase(it);
    }
  }
  released_.notify_all();
}

std::size_t IpConnectionLimiter::InUse(const std::string& ip) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = in_use_.find(ip);
  return it == in_use_.end() ? 0 : it->second;
}

}  // namespace smtp_exporter
