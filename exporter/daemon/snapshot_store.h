// SnapshotStore: each domain's latest check result (a "snapshot": a CheckResult, immutable
// once published) and its series for the fleet /metrics, serialized once when the result is
// put (RenderDomainSeries), so a scrape only copies bytes. A kept result has only its findings
// that are not OK: most of a healthy domain's findings are OK ones (44 of 44 for a healthy
// 3-endpoint domain, about 35 KB), and at fleet size they were most of the memory. Their
// counts are in the series; a view that lists passed checks judges the kept observation again
// (rules are pure: ExporterApp::FullResult). The scheduler replaces a domain's
// entry whole; readers (/metrics, /report, the overview) take a shared_ptr to an immutable entry
// and never wait on a probe. A generation number counts the changes, so a cache of the
// rendered /metrics (MetricsCache) knows when it is out of date.
//
// Thread safety: SnapshotStore is thread-safe; a published entry is never modified.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "exporter/check/check.h"
#include "exporter/report/metrics.h"

namespace smtp_exporter {

class SnapshotStore {
 public:
  struct Entry {
    std::shared_ptr<const CheckResult> result;  // without OK findings
    std::size_t ok_findings = 0;                 // how many it had
    DomainSeries series;  // the whole result's fleet /metrics series (with smtp_check_restored)
  };

  // Renders `result`'s series, then keeps it without its OK findings; returns what is kept.
  std::shared_ptr<const CheckResult> Put(const std::string& domain, CheckResult result);
  // The same for a shared result (copied).
  std::shared_ptr<const CheckResult> Put(const std::string& domain,
                                         const std::shared_ptr<const CheckResult>& result);
  // nullptr if the domain has no snapshot yet.
  std::shared_ptr<const CheckResult> Get(const std::string& domain) const;
  // Every snapshot, ordered by domain.
  std::vector<std::shared_ptr<const CheckResult>> All() const;
  // Every entry, ordered by domain.
  std::vector<std::shared_ptr<const Entry>> Entries() const;
  // Drops the snapshots of domains not in `keep` (after a reload removed them).
  void Retain(const std::vector<std::string>& keep);
  // Which optional series the entries carry (the config's `metrics:` section); a change
  // renders every entry's series again. Default: MetricsDetail{}.
  void SetMetricsDetail(const MetricsDetail& detail);
  std::size_t size() const;
  // Grows by at least one whenever an entry is put or dropped, or the series change.
  std::uint64_t generation() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const Entry>> entries_;
  MetricsDetail detail_;
  std::uint64_t generation_ = 0;
};

}  // namespace smtp_exporter
