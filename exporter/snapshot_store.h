// Snapshot: the immutable result of one check of one domain (observation, findings, worst
// severity). SnapshotStore maps each domain to its latest snapshot. Writers (the scheduler,
// /probe) replace a domain's snapshot whole; readers (/metrics, /report) take a shared_ptr to
// an immutable snapshot and never wait on a probe.
//
// Thread safety: SnapshotStore is thread-safe; Snapshot is immutable once published.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/check/findings.h"
#include "probes/dns_observation.h"

namespace smtp_exporter {

struct Snapshot {
  DomainObservation observation;
  std::vector<Finding> findings;  // sorted worst first (Evaluate)
  Severity status = Severity::kOk;
};

class SnapshotStore {
 public:
  void Put(const std::string& domain, std::shared_ptr<const Snapshot> snapshot);
  // nullptr if the domain has no snapshot yet.
  std::shared_ptr<const Snapshot> Get(const std::string& domain) const;
  // Every snapshot, ordered by domain.
  std::vector<std::shared_ptr<const Snapshot>> All() const;
  // Drops the snapshots of domains not in `keep` (after a reload removed them).
  void Retain(const std::vector<std::string>& keep);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const Snapshot>> snapshots_;
};

}  // namespace smtp_exporter
