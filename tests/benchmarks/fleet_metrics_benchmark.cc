// Fleet-size /metrics and store, in process (#17 items 3 and 4), side by side in one run:
// - scrape cost at N domains: the per-scrape path of before (metric families built from every
//   result, sorted and serialized by prometheus-cpp at each scrape: DomainMetricFamilies +
//   SerializeMetrics) against the fleet path (series serialized once per check, a scrape copies
//   them: FleetExposition), plain and gzip (MetricsCache, the kept part rebuilt every scrape
//   as when every scrape follows a change, and served from the kept part);
// - memory per domain of a stored result and of its series: the store before item 3 (the
//   result without its OK findings, observation as objects, and its series), rebuilt here as it
//   was, against the store now (the observation packed: SnapshotStore);
// - CPU per domain of a put, before and now, and of unpacking a kept result (what /report and
//   /metrics?domain= add), alone and with the judgement they make again.
// Prints ratios; no network. Run: build/tests/fleet_metrics_benchmark [N]   (default 10000)
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
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

// What the store kept per domain before #17 item 3: the result without its OK findings (the
// observation as objects) and its series. Rebuilt here to measure it beside the store now.
struct KeptBefore {
  std::shared_ptr<const CheckResult> result;
  std::size_t ok_findings = 0;
  DomainSeries series;
};

// The put of the store before item 3: a copy of the result, its OK findings dropped, its series
// rendered.
std::shared_ptr<const KeptBefore> PutBefore(const CheckResult& whole) {
  CheckResult lean = whole;
  auto kept = std::make_shared<KeptBefore>();
  kept->ok_findings = static_cast<std::size_t>(std::erase_if(
      lean.findings, [](const Finding& finding) { return finding.severity == Severity::kOk; }));
  lean.findings.shrink_to_fit();
  kept->result = std::make_shared<const CheckResult>(std::move(lean));
  kept->series = RenderDomainSeries(*kept->result, /*with_restored=*/true, MetricsDetail{},
                                    kept->ok_findings);
  return kept;
}

double PerDomainMicros(double seconds, std::size_t domains) {
  return seconds * 1e6 / static_cast<double>(domains);
}

int Run(int n) {
  std::printf("fleet_metrics_benchmark: %d domains of 3 endpoints each\n", n);
  const auto domains = static_cast<std::size_t>(n);
  const std::size_t heap0 = HeapInUse();
  std::vector<std::shared_ptr<const CheckResult>> results;
  results.reserve(domains);
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
  // The posture history a scheduled check adds (drift tracking, posture.h); these results have
  // none, so it is measured apart.
  std::size_t heap_posture = 0;
  {
    const std::size_t before_postures = HeapInUse();
    std::vector<PostureHistory> postures;
    postures.reserve(results.size());
    for (const auto& result : results) {
      postures.push_back(AdvancePosture(nullptr, result->observation));
    }
    heap_posture = HeapInUse() - before_postures - postures.capacity() * sizeof(PostureHistory);
  }
  std::size_t heap_before = 0;
  double put_before = 0;
  {
    std::map<std::string, std::shared_ptr<const KeptBefore>> kept;  // by domain, as the store
    const std::size_t heap = HeapInUse();
    const auto start = Clock::now();
    for (const auto& result : results) kept[result->observation.domain] = PutBefore(*result);
    put_before = Seconds(start);
    heap_before = HeapInUse() - heap;
  }
  SnapshotStore store;
  const std::size_t heap_empty_store = HeapInUse();
  double put_now = 0;
  {
    const auto start = Clock::now();
    for (const auto& result : results) store.Put(result->observation.domain, *result);
    put_now = Seconds(start);
  }
  const std::size_t heap_store = HeapInUse() - heap_empty_store;
  const std::shared_ptr<const CheckResult> first = results[0];
  const std::size_t whole_findings = first->findings.size();
  const auto ok_findings = static_cast<std::size_t>(
      std::count_if(first->findings.begin(), first->findings.end(),
                    [](const Finding& f) { return f.severity == Severity::kOk; }));
  results.clear();  // what is left is what the store keeps
  std::size_t series_bytes = 0;
  std::size_t packed_bytes = 0;
  for (const auto& entry : store.Entries()) {
    series_bytes += entry->series.bytes();
    packed_bytes += entry->result->packed_observation.capacity();
  }
  // A view that needs the observation unpacks it (every domain here, timed), and /report and
  // /metrics?domain= judge it again (ExporterApp::FullResult; a sample, timed).
  std::vector<std::shared_ptr<const CheckResult>> unpacked;
  unpacked.reserve(domains);
  double unpack = 0;
  {
    const auto entries = store.Entries();
    const auto start = Clock::now();
    for (const auto& entry : entries) {
      Result<CheckResult> result = entry->result->Unpack();
      if (!result.ok()) {
        std::fprintf(stderr, "unpack failed: %s\n", result.error().message.c_str());
        return 1;
      }
      unpacked.push_back(std::make_shared<const CheckResult>(std::move(result).value()));
    }
    unpack = Seconds(start);
  }
  const std::size_t judged = std::min<std::size_t>(domains, 1000);
  double unpack_and_judge = 0;
  {
    const auto entries = store.Entries();
    const auto start = Clock::now();
    for (std::size_t i = 0; i < judged; ++i) {
      Result<CheckResult> result = entries[i]->result->Unpack();
      const CheckResult full = EvaluateObservation(std::move(result.value().observation),
                                                   CheckOptions{}, RuleSelection::Defaults(),
                                                   result.value().posture);
      if (full.findings.size() != whole_findings) {
        std::fprintf(stderr, "judged again: %zu findings, not %zu\n", full.findings.size(),
                     whole_findings);
        return 1;
      }
    }
    unpack_and_judge = Seconds(start);
  }
  const auto kb = [n](std::size_t bytes) { return static_cast<double>(bytes) / n / 1024; };
  std::printf(
      "  memory per domain: whole result %.1f KB (observation %.1f KB; %zu findings, %zu OK)\n"
      "    kept by the store, before: %5.1f KB (result without OK findings + series)\n"
      "    kept by the store, now:    %5.1f KB (verdict + packed observation of %.1f KB + "
      "series of %.1f KB text)\n",
      kb(heap_results), kb(heap_observations), whole_findings, ok_findings, kb(heap_before),
      kb(heap_store), kb(packed_bytes), kb(series_bytes));
  std::printf("    not in these results: a first check's posture history, %.1f KB\n",
              kb(heap_posture));
  std::printf(
      "  cpu per domain:\n"
      "    put, before:               %7.1f us (copy, OK findings dropped, series rendered)\n"
      "    put, now:                  %7.1f us (the same, observation packed instead of copied)\n"
      "    unpack a kept result:      %7.1f us (a view that needs the observation)\n"
      "    unpack + judge again:      %7.1f us (/report, /metrics?domain=; %zu domains)\n",
      PerDomainMicros(put_before, domains), PerDomainMicros(put_now, domains),
      PerDomainMicros(unpack, domains), PerDomainMicros(unpack_and_judge, judged), judged);

  const std::string tail = SerializeMetrics(ExporterMetricFamilies({}));
  constexpr int kRounds = 3;
  double before = 1e9;
  std::size_t before_bytes = 0;
  for (int r = 0; r < kRounds; ++r) {
    const auto start = Clock::now();
    // The results the store before item 3 kept, as its All() handed them over.
    const std::string text = SerializeMetrics(DomainMetricFamilies(unpacked, true, {}));
    before = std::min(before, Seconds(start));
    before_bytes = text.size();
  }
  double before_full = 1e9;
  std::size_t before_full_bytes = 0;
  {
    const auto start = Clock::now();
    before_full_bytes =
        SerializeMetrics(DomainMetricFamilies(unpacked, true, MetricsDetail::Full())).size();
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
    store.Put(first->observation.domain, *first);  // a change: the next scrape rebuilds
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
