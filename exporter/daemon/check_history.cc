#include "exporter/daemon/check_history.h"

#include <algorithm>
#include <set>

namespace smtp_exporter {

// A zero bound would keep nothing and make Add() a busy no-op; one record is the least useful.
CheckHistory::CheckHistory(std::size_t length) : length_(std::max<std::size_t>(length, 1)) {}

void CheckHistory::Add(const std::string& domain, const CheckRecord& record) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& records = records_[domain];
  records.push_back(record);
  while (records.size() > length_) {
    records.pop_front();
  }
}

std::vector<CheckRecord> CheckHistory::Get(const std::string& domain) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = records_.find(domain);
  if (it == records_.end()) {
    return {};
  }
  return {it->second.begin(), it->second.end()};
}

void CheckHistory::Retain(const std::vector<std::string>& keep) {
  // A set, not a scan of `keep` per domain: a config of thousands of domains reloads in
  // n log n, not n squared, while holding the lock readers wait on.
  const std::set<std::string> kept(keep.begin(), keep.end());
  std::lock_guard<std::mutex> lock(mutex_);
  std::erase_if(records_, [&](const auto& entry) { return !kept.contains(entry.first); });
}

std::size_t CheckHistory::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return records_.size();
}

}  // namespace smtp_exporter
