// Fleet-size /metrics and store, in process (#17 items 3 and 4), side by side in one run:
// - scrape cost at N domains: the per-scrape path of before (metric families built from every
//   result, sorted and serialized by prometheus-cpp at each scrape: DomainMetricFamilies +
//   SerializeMetrics) against the fleet path (series serialized once per check, a scrape copies
//   them: FleetExposition), plain and gzip (MetricsCache, the kept part rebuilt every scrape
//   as when every scrape follows a change, and served from the kept part);
// - memory per domain of a stored result and of its series.
// Prints ratios; no network. Run: build/tests/fleet_metrics_benchmark [N]   (default 10000)
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "exporter/check/check.h"
#include "exporter/daemon/metrics_cache.h"
#include "exporter/daemon/snapshot_store.h"
#include "exporter/report/metrics.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::size_t HeapInUse() { return mallinfo2().uordblks; }

// A domain as the issue's fleet has them: 3 endpoints (two IPv4, one IPv6) behind 2 MX hosts,
// healthy, with a transcript of a real session's length (about 25 lines per endpoint).
std::shared_ptr<const CheckResult> FleetDomain(int n) {
  const std::string domain = "d" + std::to_string(100000 + n) + ".example";
  const std::string provider = "mx" + std::to_string(n % 40) + ".provider.example";
  DomainObservation obs;
  obs.domain = domain;
  obs.started_at_unix = 1700000000 + n;
  obs.duration_seconds = 0.4;
  obs.dns.domain = domain;
  const char* ips[] = {"192.0.2.10", "192.0.2.11", "2001:db8::10"};
  for (const char* ip : ips) {
    EndpointObservation e = testing::HealthyEndpoint(domain, provider, ip);
    double at = 0;
    const auto line = [&](TranscriptEntry::Direction direction, std::string text) {
      e.transcript.push_back({at += 0.003, direction, std::move(text)});
    };
    using D = TranscriptEntry::Direction;
    line(D::kServer, "220 " + provider + " ESMTP Postfix");
    line(D::kClient, "EHLO probe.example.net");
    for (const auto& l : e.ehlo->lines) line(D::kServer, l);
    line(D::kClient, "STARTTLS");
    line(D::kServer, "220 2.0.0 Ready to start TLS");
    line(D::kNote, "TLS established: TLSv1.3 TLS_AES_256_GCM_SHA384");
    line(D::kClient, "EHLO probe.example.net");
    for (const auto& l : e.tls_ehlo->lines) line(D::kServer, l);
    line(D::kClient, "MAIL FROM:<>");
    line(D::kServer, "250 2.1.0 Ok");
    line(D::kClient, "RCPT TO:<postmaster@" + domain + ">");
    line(D::kServer, "250 2.1.5 Ok");
    line(D::kClient, "RSET");
    line(D::kServer, "250 2.0.0 Ok");
    line(D::kClient, "MAIL FROM:<checker@probe.example.net>");
    line(D::kServer, "250 2.1.0 Ok");
    line(D::kClient, "RCPT TO:<postmaster@example.com>");
    line(D::kServer, "454 4.7.1 <postmaster@example.com>: Relay access denied");
    line(D::kClient, "RSET");
    line(D::kServer, "250 2.0.0 Ok");
    line(D::kClient, "QUIT");
    line(D::kServer, "221 2.0.0 Bye");
    obs.endpoints.push_back(std::move(e));
  }
  return std::make_shared<const CheckResult>(EvaluateObservation(std::move(obs), CheckOptions{}));
}

std::size_t WriteAll(const FleetExposition& exposition) {
  std::string out;
  out.reserve(exposition.size());
  exposition.Write([&](std::string_view piece) {
    out.append(piece);
    return true;
  });
  return out.size();
}

int Run(int n) {
  std::printf("fleet_metrics_benchmark: %d domains of 3 endpoints each\n", n);
  const std::size_t heap0 = HeapInUse();
  std::vector<std::shared_ptr<const CheckResult>> results;
  results.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    results.push_back(FleetDomain(i));
  }
  const std::size_t heap_results = HeapInUse() - heap0;
  std::size_t heap_observations = 0;
  {
    const std::size_t before_copies = HeapInUse();
    std::vector<DomainObservation> copies;
    copies.reserve(results.size());
    for (const auto& result : results) copies.push_back(result->observation);
    heap_observations = HeapInUse() - before_copies - copies.capacity() * sizeof(DomainObservation);
  }
  SnapshotStore store;
  for (const auto& result : results) {
    store.Put(result->observation.domain, result);
  }
  const std::shared_ptr<const CheckResult> first = results[0];
  const std::size_t whole_findings = first->findings.size();
  const auto ok_findings = static_cast<std::size_t>(
      std::count_if(first->findings.begin(), first->findings.end(),
                    [](const Finding& f) { return f.severity == Severity::kOk; }));
  results.clear();  // what is left is what the store keeps
  const std::size_t heap_store = HeapInUse() - heap0;
  std::size_t series_bytes = 0;
  for (const auto& entry : store.Entries()) series_bytes += entry->series.bytes();
  std::printf(
      "  memory per domain: whole result %.1f KB (observation %.1f KB; %zu findings, %zu OK)\n"
      "                     kept by the store %.1f KB (result without OK findings + series of "
      "%.1f KB text)\n",
      static_cast<double>(heap_results) / n / 1024,
      static_cast<double>(heap_observations) / n / 1024, whole_findings, ok_findings,
      static_cast<double>(heap_store) / n / 1024, static_cast<double>(series_bytes) / n / 1024);

  const std::string tail = SerializeMetrics(ExporterMetricFamilies({}));
  constexpr int kRounds = 3;
  double before = 1e9;
  std::size_t before_bytes = 0;
  for (int r = 0; r < kRounds; ++r) {
    const auto start = Clock::now();
    const std::string text = SerializeMetrics(DomainMetricFamilies(store.All(), true, {}));
    before = std::min(before, Seconds(start));
    before_bytes = text.size();
  }
  double before_full = 1e9;
  std::size_t before_full_bytes = 0;
  {
    const auto start = Clock::now();
    before_full_bytes =
        SerializeMetrics(DomainMetricFamilies(store.All(), true, MetricsDetail::Full())).size();
    before_full = Seconds(start);
  }
  double plain = 1e9;
  std::size_t plain_bytes = 0;
  std::size_t series = 0;
  for (int r = 0; r < kRounds; ++r) {
    const auto start = Clock::now();
    const auto entries = store.Entries();
    std::vector<const DomainSeries*> pointers;
    pointers.reserve(entries.size());
    for (const auto& entry : entries) pointers.push_back(&entry->series);
    const FleetExposition exposition(std::move(pointers), tail);
    plain_bytes = WriteAll(exposition);
    series = exposition.series();
    plain = std::min(plain, Seconds(start));
  }
  double rebuild = 1e9;
  double cached = 1e9;
  std::size_t gzip_bytes = 0;
  MetricsCache rebuilding(store, /*reuse_factor=*/0);
  MetricsCache keeping(store);
  for (int r = 0; r < kRounds; ++r) {
    store.Put(first->observation.domain, first);  // a change: the next scrape rebuilds
    auto start = Clock::now();
    gzip_bytes = rebuilding.Gzip(tail)->size();
    rebuild = std::min(rebuild, Seconds(start));
    (void)keeping.Gzip(tail);
    start = Clock::now();
    (void)keeping.Gzip(tail);
    cached = std::min(cached, Seconds(start));
  }
  std::printf("  series %zu (%.1f per domain), text %.1f MB, gzip %.2f MB\n", series,
              static_cast<double>(series) / n, static_cast<double>(plain_bytes) / 1e6,
              static_cast<double>(gzip_bytes) / 1e6);
  std::printf("  scrape, best of %d:\n", kRounds);
  std::printf("    before (families + TextSerializer per scrape): %8.3f s  (%.1f MB)\n", before,
              static_cast<double>(before_bytes) / 1e6);
  std::printf("    before, every series (the old default):         %8.3f s  (%.1f MB)\n",
              before_full, static_cast<double>(before_full_bytes) / 1e6);
  std::printf("    plain from kept series:                         %8.3f s  ratio %.3f\n", plain,
              plain / before);
  std::printf("    gzip, kept part rebuilt (after a change):       %8.3f s  ratio %.3f\n",
              rebuild, rebuild / before);
  std::printf("    gzip, kept part reused:                         %8.3f s  ratio %.4f\n",
              cached, cached / before);
  return 0;
}

}  // namespace
}  // namespace smtp_exporter

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  if (n <= 0 || n > 1000000) {
    std::fprintf(stderr, "usage: fleet_metrics_benchmark [DOMAINS (1..1000000)]\n");
    return 2;
  }
  return smtp_exporter::Run(n);
}
