// Prometheus metrics of check results, in the text exposition format 0.0.4. docs/metrics.md
// lists every series.
//
// Two ways to build them:
// - DomainMetricFamilies / RenderProbeMetrics: prometheus-cpp metric families built from the
//   results given (node_exporter's const-metrics idea), for one-domain views (/probe,
//   /metrics?domain=, the checker mode), with every series.
// - DomainSeries + FleetExposition: the fleet /metrics. A domain's series are serialized once,
//   when its check finishes (RenderDomainSeries), and a scrape only copies those bytes family by
//   family: no per-scrape metric objects and no sorting of a million labels. The bytes are
//   those TextSerializer writes for the same families (a test holds the two equal).
//
// A value that was not measured (probe disabled, endpoint unreachable, lookup failed) is absent,
// never 0. Families are sorted by name and samples by label values, so output is deterministic;
// empty families are left out. Label values come only from bounded sources (domain, MX name, IP,
// finding code and subject, EHLO keyword, TLS version and cipher); they are made valid UTF-8 and
// bounded in length, and the serializer escapes quotes, backslashes and newlines.
//
// Thread safety: the free functions are pure and thread-safe; a DomainSeries is immutable once
// built.
#pragma once

#include <prometheus/metric_family.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "exporter/check/check.h"

namespace smtp_exporter {

// The exporter's own state, read at scrape time.
struct ExporterHealth {
  std::string version;
  std::string revision;
  bool config_last_reload_successful = true;
  double config_last_reload_success_timestamp_seconds = 0;
  // Completed checks by result: "ok", "info", "warn", "crit", "error" (those five are always
  // exported, 0 when missing here).
  std::map<std::string, std::uint64_t> checks_total;
  std::int64_t checks_in_flight = 0;
  std::size_t domains = 0;  // configured domains
  std::size_t http_connections = 0;  // open on the HTTP port now
  std::uint64_t http_connections_refused_total = 0;  // over --web.max-connections
  // Scheduled checks' SMTP sessions (SharedSessions::Stats).
  std::uint64_t sessions_total = 0;
  std::uint64_t session_probes_total = 0;
  std::uint64_t session_probed_again_total = 0;
};

// Per-domain and per-endpoint families for `snapshots` (null entries are skipped).
// `with_restored`: also smtp_check_restored (CheckResult::restored), for the daemon, whose
// results may come from its state on disk; a /probe or checker-mode result is always fresh,
// so those leave it out. `detail`: which optional per-endpoint series to include.
std::vector<prometheus::MetricFamily> DomainMetricFamilies(
    const std::vector<std::shared_ptr<const CheckResult>>& snapshots, bool with_restored = false,
    const MetricsDetail& detail = MetricsDetail::Full());

// smtp_exporter_* families describing the exporter itself.
std::vector<prometheus::MetricFamily> ExporterMetricFamilies(const ExporterHealth& health);

// One domain's series in the text format, serialized once when its check finishes: for each
// domain family (an index into DomainFamilyCount()), that domain's sample lines, sorted by labels,
// without # HELP and # TYPE. Immutable once built.
class DomainSeries {
 public:
  DomainSeries() = default;  // no series
  // The lines of family `family` (< DomainFamilyCount()); empty when it has none.
  std::string_view Lines(std::size_t family) const;
  std::size_t bytes() const { return text_.size(); }
  std::size_t series() const { return series_; }

 private:
  friend DomainSeries RenderDomainSeries(const CheckResult&, bool, const MetricsDetail&,
                                         std::size_t);
  // Every family's lines, in family order, in one allocation (a fleet keeps 10 000 of these):
  // family i is text_[ends_[i - 1], ends_[i]), with ends_[-1] = 0.
  std::string text_;
  std::vector<std::uint32_t> ends_;  // empty when there are no series
  std::size_t series_ = 0;
};

// How many per-domain families there are (smtp_domain_status, smtp_endpoint_up, ...).
std::size_t DomainFamilyCount();

// `result`'s series, as DomainMetricFamilies({result}, with_restored, detail) gives them.
// `omitted_ok_findings`: OK findings `result` no longer carries (a store that keeps results
// without them), counted in smtp_findings{severity="ok"} all the same.
DomainSeries RenderDomainSeries(const CheckResult& result, bool with_restored,
                                const MetricsDetail& detail, std::size_t omitted_ok_findings = 0);

// The fleet /metrics text: every domain family that has a sample, in name order, its # HELP and
// # TYPE lines and then the lines of each domain in `domains` in the order given (give them
// sorted by domain: samples are then sorted as DomainMetricFamilies sorts them), and then
// `tail` (the exporter's own families, serialized; they come last so that a cached prefix can
// be reused while they change at every scrape). Holds pointers: the DomainSeries must outlive it.
class FleetExposition {
 public:
  FleetExposition(std::vector<const DomainSeries*> domains, std::string tail);

  // Calls `write` with the text in consecutive chunks of kWriteChunkBytes (the last one
  // shorter): a domain's lines of one family are a line or a few, and every consumer (a socket,
  // a compressor) wants few large pieces. Stops early when `write` returns false; returns false
  // if it did.
  bool Write(const std::function<bool(std::string_view)>& write) const;
  // The same without the tail.
  bool WriteDomains(const std::function<bool(std::string_view)>& write) const;
  static constexpr std::size_t kWriteChunkBytes = 64 * 1024;
  const std::string& tail() const { return tail_; }
  // Length of the whole text, in bytes.
  std::size_t size() const { return size_; }
  // Number of series.
  std::size_t series() const { return series_; }

 private:
  // Calls `piece` with the domains' part as it is stored: headers and each domain's lines.
  bool ForEachPiece(const std::function<bool(std::string_view)>& piece) const;
  // Write() and WriteDomains(): the pieces, and the tail when `with_tail`, in chunks.
  bool WriteChunks(const std::function<bool(std::string_view)>& write, bool with_tail) const;

  std::vector<const DomainSeries*> domains_;
  std::string tail_;
  std::size_t size_ = 0;
  std::size_t series_ = 0;
};

// Text exposition format 0.0.4 (prometheus::TextSerializer).
std::string SerializeMetrics(const std::vector<prometheus::MetricFamily>& families);

// For the blackbox-style /probe: the domain's families plus probe_success and
// probe_duration_seconds, serialized.
std::string RenderProbeMetrics(const CheckResult& snapshot, bool success, double duration_seconds);

}  // namespace smtp_exporter
