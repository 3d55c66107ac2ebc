// The overview page (/) for a large deployment: 1 000 domains, each with the findings the
// rules draw from a realistic observation (two MX hosts, IPv4 and IPv6, a mix of open relays,
// missing STARTTLS and PTR, unreachable IPv6, failed DNS) and a full history of 48 checks with
// status changes. Measures what the "/" handler does per request: reading the store and the
// history, building the rows (MakeIndexRow), rendering (RenderIndexHtml); and the rendering
// alone, unfiltered and filtered. The target is "well under a second" per request.
//
// Run: build/tests/overview_benchmark   (the time column is per request; bytes = page size)
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "exporter/daemon/check_history.h"
#include "exporter/report/html.h"
#include "exporter/report/html_report.h"
#include "exporter/report/overview.h"
#include "exporter/daemon/snapshot_store.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using testing::EvaluatedFixture;
using testing::HealthyDomain;
using testing::Reverse;
using testing::UnreachableEndpoint;
using testing::WithoutStartTls;

constexpr double kNow = 1700000000;

// Domain `i`: two MX hosts with an IPv4 and an IPv6 address each; about one domain in three
// has something wrong, as in a real portfolio.
std::shared_ptr<const CheckResult> MakeSnapshot(int i) {
  const std::string domain = "domain" + std::to_string(i) + ".example";
  const std::string mx1 = "mx1." + domain;
  const std::string mx2 = "mx2." + domain;
  const std::string n = std::to_string(i % 250 + 1);
  const std::string v4a = "198.51.100." + n;
  const std::string v4b = "203.0.113." + n;
  const std::string v6a = "2001:db8::a:" + n;
  const std::string v6b = "2001:db8::b:" + n;
  DomainObservation obs;
  if (i % 50 == 0) {  // the resolver failed: nothing probed
    obs.domain = domain;
    obs.dns.domain = domain;
    obs.dns.mx = {DnsStatus::kServFail, "Server failure"};
  } else {
    // Endpoints in this order: mx1 v4, mx1 v6, mx2 v4, mx2 v6.
    obs = HealthyDomain(domain, {{10, mx1, {v4a, v6a}}, {20, mx2, {v4b, v6b}}});
    if (i % 5 == 0) {
      obs.dns.reverse[0] = Reverse(v4a.c_str(), DnsStatus::kNxDomain, {}, std::nullopt);
    }
    if (i % 20 == 0) {
      obs.endpoints[0].open_relay.outcome = ProbeOutcome::kAccepted;
    }
    if (i % 7 == 0) {
      WithoutStartTls(&obs.endpoints[2]);
      WithoutStartTls(&obs.endpoints[3]);
    }
    if (i % 11 == 0) {
      for (const std::size_t v6 : {1u, 3u}) {
        obs.endpoints[v6] =
            UnreachableEndpoint(domain, v6 == 1 ? mx1 : mx2, (v6 == 1 ? v6a : v6b).c_str(),
                                ConnectStatus::kTimeout, "no answer within 12 s");
      }
    }
  }
  obs.started_at_unix = kNow - 60;
  obs.duration_seconds = 1.5;
  return std::make_shared<CheckResult>(EvaluatedFixture(std::move(obs)));
}

// 48 checks five minutes apart; the last is the snapshot's. Some domains flapped on the way.
void FillHistory(int i, const CheckResult& snapshot, const std::string& domain,
                 CheckHistory* history) {
  for (int k = 0; k < static_cast<int>(kCheckHistoryLength); ++k) {
    CheckRecord record = MakeCheckRecord(snapshot);
    record.checked_at_unix = kNow - 60 - 300.0 * (static_cast<int>(kCheckHistoryLength) - 1 - k);
    record.duration_seconds = 1.0 + 0.01 * k;
    if (i % 3 == 0 && k % 16 < 4) {
      record.status = Severity::kWarn;
      record.warn = 1;
    }
    history->Add(domain, record);
  }
}

// What the daemon holds for `count` configured domains.
struct Daemon {
  std::vector<std::string> domains;
  SnapshotStore store;
  CheckHistory history;

  explicit Daemon(int count) {
    for (int i = 0; i < count; ++i) {
      const auto snapshot = MakeSnapshot(i);
      domains.push_back(snapshot->observation.domain);
      FillHistory(i, *snapshot, domains.back(), &history);
      store.Put(domains.back(), *snapshot);
    }
  }

  // As app.cc's "/" handler builds them.
  std::vector<IndexRow> Rows() const {
    std::vector<IndexRow> rows;
    rows.reserve(domains.size());
    for (const auto& domain : domains) {
      const auto snapshot = store.Get(domain);
      IndexRow row = MakeIndexRow(domain, snapshot ? &snapshot->summary : nullptr,
                                  history.Get(domain), kNow + 240);
      row.report_href = "/report?domain=" + UrlEncodeQueryValue(domain);
      row.json_href = row.report_href + "&format=json";
      rows.push_back(std::move(row));
    }
    return rows;
  }
};

const Daemon& Shared(int count) {
  static const Daemon* const daemon = new Daemon(count);
  return *daemon;
}

HtmlPageContext Context() {
  HtmlPageContext context;
  context.now_unix = kNow;
  context.index_href = "/";
  context.metrics_href = "/metrics";
  context.generator = "smtp_exporter benchmark";
  return context;
}

// The whole request minus HTTP: store and history reads, rows, page.
void BM_OverviewRequest(benchmark::State& state) {
  const Daemon& daemon = Shared(static_cast<int>(state.range(0)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string html = RenderIndexHtml(daemon.Rows(), OverviewFilter{}, Context());
    bytes = html.size();
    benchmark::DoNotOptimize(html.data());
  }
  state.counters["domains"] = static_cast<double>(state.range(0));
  state.counters["page_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_OverviewRequest)->Arg(1000)->Unit(benchmark::kMillisecond);

// Rendering alone, rows built once.
void BM_OverviewRender(benchmark::State& state) {
  const Daemon& daemon = Shared(static_cast<int>(state.range(0)));
  const std::vector<IndexRow> rows = daemon.Rows();
  for (auto _ : state) {
    const std::string html = RenderIndexHtml(rows, OverviewFilter{}, Context());
    benchmark::DoNotOptimize(html.data());
  }
  state.counters["domains"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_OverviewRender)->Arg(1000)->Unit(benchmark::kMillisecond);

// A filtered view: every row is still read and matched, few are drawn.
void BM_OverviewRequestFiltered(benchmark::State& state) {
  const Daemon& daemon = Shared(static_cast<int>(state.range(0)));
  OverviewFilter filter;
  filter.code = "smtp.open_relay";
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string html = RenderIndexHtml(daemon.Rows(), filter, Context());
    bytes = html.size();
    benchmark::DoNotOptimize(html.data());
  }
  state.counters["page_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_OverviewRequestFiltered)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace smtp_exporter

BENCHMARK_MAIN();
