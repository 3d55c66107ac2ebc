// CheckHistory: the last few results of each domain's scheduled checks (when, status, findings
// per severity, duration), kept in memory so the overview and the report can draw a history
// strip and say when the status last changed ("crit since 14:05, was ok"). SnapshotStore keeps
// the whole latest check; this keeps a small summary of the ones before it.
//
// Only scheduled checks are recorded: a /probe result is never stored (not here, not in the
// SnapshotStore), so a one-off probe with overridden options cannot paint the strip. Nothing
// survives a restart: the strip starts empty and fills one check per interval.
//
// Bounded: at most `length` records per domain (the oldest is dropped first), for the domains
// the scheduler checks; Retain() drops the others after a reload removed them.
//
// Thread safety: CheckHistory is thread-safe; Get() returns a copy.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "exporter/check/check.h"

namespace smtp_exporter {

// Records kept per domain. 48: two days at an hourly interval, four hours at five minutes; the
// overview draws one small cell per record.
inline constexpr std::size_t kCheckHistoryLength = 48;

class CheckHistory {
 public:
  explicit CheckHistory(std::size_t length = kCheckHistoryLength);

  // Appends `record` to the domain's history, dropping the oldest beyond the bound.
  void Add(const std::string& domain, const CheckRecord& record);
  // The domain's records, oldest first; empty if it has none.
  std::vector<CheckRecord> Get(const std::string& domain) const;
  // Drops the histories of domains not in `keep` (after a reload removed them).
  void Retain(const std::vector<std::string>& keep);
  // Domains with at least one record.
  std::size_t size() const;

 private:
  const std::size_t length_;
  mutable std::mutex mutex_;
  std::map<std::string, std::deque<CheckRecord>> records_;
};

}  // namespace smtp_exporter
