// SnapshotStore: each domain's latest check result (a "snapshot": a CheckResult, immutable
// once published). The scheduler replaces a domain's snapshot whole; readers (/metrics,
// /report, the overview) take a shared_ptr to an immutable result and never wait on a probe.
//
// Thread safety: SnapshotStore is thread-safe; a published CheckResult is never modified.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/check/check.h"

namespace smtp_exporter {

class SnapshotStore {
 public:
  void Put(const std::string& domain, std::shared_ptr<const CheckResult> snapshot);
  // nullptr if the domain has no snapshot yet.
  std::shared_ptr<const CheckResult> Get(const std::string& domain) const;
  // Every snapshot, ordered by domain.
  std::vector<std::shared_ptr<const CheckResult>> All() const;
  // Drops the snapshots of domains not in `keep` (after a reload removed them).
  void Retain(const std::vector<std::string>& keep);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const CheckResult>> snapshots_;
};

}  // namespace smtp_exporter
