// SnapshotStore: each domain's latest check result, kept lean (a "snapshot", immutable once
// published), and its series for the fleet /metrics, serialized once when the result is put
// (RenderDomainSeries), so a scrape only copies bytes.
//
// What a kept result holds, and why (#17 item 3, a lean store: at 10 000 domains the store was
// most of the daemon's memory):
// - the verdict as it is: status, the findings that are not OK, the posture history, and what
//   the overview reads of the observation (CheckSummary), so the overview of every domain and
//   the scheduler (when was it checked) unpack nothing;
// - the observation packed (PackObservation: its JSON document as CBOR, deflated): a healthy
//   3-endpoint domain's observation, about half of it transcripts, took 15 KB as objects and
//   takes 1.6 KB packed (fleet_metrics_benchmark). A view that needs it (the report,
//   /metrics?domain=, a new series detail) unpacks it, about 0.2 ms: KeptResult::Unpack;
// - not the OK findings: most of a healthy domain's findings are OK ones (44 of 44 for a
//   healthy 3-endpoint domain). Their counts are in the series; a view that lists passed checks
//   judges the unpacked observation again (rules are pure: ExporterApp::FullResult).
//
// The scheduler replaces a domain's entry whole; readers (/metrics, /report, the overview) take
// a shared_ptr to an immutable entry and never wait on a probe, nor on another reader's unpack.
// A generation number counts the changes, so a cache of the rendered /metrics (MetricsCache)
// knows when it is out of date.
//
// Thread safety: SnapshotStore is thread-safe; a published entry is never modified, and
// KeptResult::Unpack and the pack functions are pure (any number of threads at once).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/base/result.h"
#include "config/config.h"
#include "exporter/check/check.h"
#include "exporter/check/posture.h"
#include "exporter/report/metrics.h"
#include "exporter/report/overview.h"
#include "probes/dns_observation.h"

namespace smtp_exporter {

// The observation's JSON document (ToJson, probes/observation_json.h: the one codec of the
// observation, which the state on disk also uses) as CBOR (RFC 8949), deflated (RFC 1950), after
// a 4-byte little-endian length of the CBOR. CBOR rather than JSON text: smaller and quicker to
// read, and its strings are bytes, so server text that is not UTF-8 comes back as it was
// (DumpJson would replace it with U+FFFD).
std::string PackObservation(const DomainObservation& observation);
// Reads back what PackObservation wrote. kInvalidArgument when `packed` is not such bytes
// (cut short, damaged) or their document is not an observation (DomainObservationFromJson).
Result<DomainObservation> UnpackObservation(std::string_view packed);

// A check result as the store keeps it (see above).
struct KeptResult {
  CheckSummary summary;  // status, the findings that are not OK, when, restored
  std::size_t ok_findings = 0;  // how many OK findings the result had
  // Not packed: every scheduled check of the domain reads it (drift against the last check),
  // and it is a few KB (2.3 for a first check of 3 endpoints; at most kMaxPostureChanges
  // changes are logged).
  std::optional<PostureHistory> posture;
  std::string packed_observation;  // PackObservation

  // The result as it was put, without its OK findings. Fails only when the packed bytes are
  // damaged (UnpackObservation).
  Result<CheckResult> Unpack() const;
};

class SnapshotStore {
 public:
  struct Entry {
    std::shared_ptr<const KeptResult> result;
    DomainSeries series;  // the whole result's fleet /metrics series (with smtp_check_restored)
  };

  // Renders `result`'s series and packs its observation (outside the lock), then keeps it;
  // returns what is kept.
  std::shared_ptr<const KeptResult> Put(const std::string& domain, const CheckResult& result);
  // nullptr if the domain has no snapshot yet.
  std::shared_ptr<const KeptResult> Get(const std::string& domain) const;
  // Every entry, ordered by domain.
  std::vector<std::shared_ptr<const Entry>> Entries() const;
  // Drops the snapshots of domains not in `keep` (after a reload removed them).
  void Retain(const std::vector<std::string>& keep);
  // Which optional series the entries carry (the config's `metrics:` section); a change
  // unpacks every kept result and renders its series again. Default: MetricsDetail{}.
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
