#include "exporter/daemon/snapshot_store.h"

#include <set>
#include <utility>

namespace smtp_exporter {
namespace {

// The entry of a kept (lean) result: its series count the OK findings it no longer carries.
std::shared_ptr<const SnapshotStore::Entry> MakeEntry(std::shared_ptr<const CheckResult> result,
                                                      std::size_t ok_findings,
                                                      const MetricsDetail& detail) {
  auto entry = std::make_shared<SnapshotStore::Entry>();
  entry->series = RenderDomainSeries(*result, /*with_restored=*/true, detail, ok_findings);
  entry->result = std::move(result);
  entry->ok_findings = ok_findings;
  return entry;
}

}  // namespace

std::shared_ptr<const CheckResult> SnapshotStore::Put(const std::string& domain,
                                                      CheckResult result) {
  const std::size_t ok_findings = static_cast<std::size_t>(std::erase_if(
      result.findings, [](const Finding& finding) { return finding.severity == Severity::kOk; }));
  result.findings.shrink_to_fit();
  std::shared_ptr<const CheckResult> kept = std::make_shared<const CheckResult>(std::move(result));
  MetricsDetail detail;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    detail = detail_;
  }
  // Rendered outside the lock: readers never wait on it. A detail change in between is caught
  // below, where the entry is rendered again.
  auto entry = MakeEntry(kept, ok_findings, detail);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!(detail == detail_)) {
    entry = MakeEntry(kept, ok_findings, detail_);
  }
  entries_[domain] = std::move(entry);
  ++generation_;
  return kept;
}

std::shared_ptr<const CheckResult> SnapshotStore::Put(
    const std::string& domain, const std::shared_ptr<const CheckResult>& result) {
  return Put(domain, CheckResult(*result));
}

std::shared_ptr<const CheckResult> SnapshotStore::Get(const std::string& domain) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = entries_.find(domain);
  return it == entries_.end() ? nullptr : it->second->result;
}

std::vector<std::shared_ptr<const CheckResult>> SnapshotStore::All() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<const CheckResult>> out;
  out.reserve(entries_.size());
  for (const auto& [domain, entry] : entries_) {
    out.push_back(entry->result);
  }
  return out;
}

std::vector<std::shared_ptr<const SnapshotStore::Entry>> SnapshotStore::Entries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<const Entry>> out;
  out.reserve(entries_.size());
  for (const auto& [domain, entry] : entries_) {
    out.push_back(entry);
  }
  return out;
}

void SnapshotStore::Retain(const std::vector<std::string>& keep) {
  const std::set<std::string, std::less<>> kept(keep.begin(), keep.end());
  std::lock_guard<std::mutex> lock(mutex_);
  if (std::erase_if(entries_, [&](const auto& entry) { return !kept.contains(entry.first); }) >
      0) {
    ++generation_;
  }
}

void SnapshotStore::SetMetricsDetail(const MetricsDetail& detail) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (detail == detail_) {
    return;
  }
  detail_ = detail;
  // Rare (a reload that changes `metrics:`), so rendered under the lock.
  for (auto& [domain, entry] : entries_) {
    entry = MakeEntry(entry->result, entry->ok_findings, detail_);
  }
  ++generation_;
}

std::size_t SnapshotStore::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

std::uint64_t SnapshotStore::generation() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return generation_;
}

}  // namespace smtp_exporter
