// Prometheus metrics built from snapshots at scrape time (node_exporter's const-metrics idea):
// every call builds its metric families afresh from the snapshots it is given, so a domain
// removed from the configuration leaves no stale series, and nothing here keeps state between
// scrapes. docs/metrics.md lists every series.
//
// A value that was not measured (probe disabled, endpoint unreachable, lookup failed) is absent,
// never 0. Families are sorted by name and samples by label values, so output is deterministic;
// empty families are left out. Label values come only from bounded sources (domain, MX name, IP,
// finding code and subject, EHLO keyword, TLS version and cipher); they are made valid UTF-8 and
// bounded in length, and the serializer escapes quotes, backslashes and newlines.
//
// Thread safety: the free functions are pure and thread-safe. MetricsCollector::Collect is
// thread-safe if its two callbacks are (the daemon's SnapshotStore::All and Health are).
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

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
};

// Per-domain and per-endpoint families for `snapshots` (null entries are skipped).
// `with_restored`: also smtp_check_restored (CheckResult::restored), for the daemon, whose
// results may come from its state on disk; a /probe or checker-mode result is always fresh,
// so those leave it out. MetricsCollector sets it.
std::vector<prometheus::MetricFamily> DomainMetricFamilies(
    const std::vector<std::shared_ptr<const CheckResult>>& snapshots, bool with_restored = false);

// smtp_exporter_* families describing the exporter itself.
std::vector<prometheus::MetricFamily> ExporterMetricFamilies(const ExporterHealth& health);

// Each domain's latest result, as the daemon's store gives them at a scrape.
using LatestResults = std::function<std::vector<std::shared_ptr<const CheckResult>>()>;

// /metrics: the latest results plus the exporter's health, both read at each Collect().
class MetricsCollector : public prometheus::Collectable {
 public:
  // An empty `health` leaves the exporter families out.
  MetricsCollector(LatestResults results, std::function<ExporterHealth()> health);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  LatestResults results_;
  std::function<ExporterHealth()> health_;
};

// Text exposition format 0.0.4 (prometheus::TextSerializer).
std::string SerializeMetrics(const std::vector<prometheus::MetricFamily>& families);

// For the blackbox-style /probe: the domain's families plus probe_success and
// probe_duration_seconds, serialized.
std::string RenderProbeMetrics(const CheckResult& snapshot, bool success, double duration_seconds);

}  // namespace smtp_exporter
