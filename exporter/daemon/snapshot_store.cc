#include "exporter/daemon/snapshot_store.h"

#include <algorithm>

namespace smtp_exporter {

void SnapshotStore::Put(const std::string& domain, std::shared_ptr<const CheckResult> snapshot) {
  std::lock_guard<std::mutex> lock(mutex_);
  snapshots_[domain] = std::move(snapshot);
}

std::shared_ptr<const CheckResult> SnapshotStore::Get(const std::string& domain) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = snapshots_.find(domain);
  return it == snapshots_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const CheckResult>> SnapshotStore::All() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<const CheckResult>> out;
  out.reserve(snapshots_.size());
  for (const auto& [domain, snapshot] : snapshots_) {
    out.push_back(snapshot);
  }
  return out;
}

void SnapshotStore::Retain(const std::vector<std::string>& keep) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::erase_if(snapshots_, [&](const auto& entry) {
    return std::find(keep.begin(), keep.end(), entry.first) == keep.end();
  });
}

std::size_t SnapshotStore::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return snapshots_.size();
}

}  // namespace smtp_exporter
