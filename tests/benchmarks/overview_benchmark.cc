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
#include "exporter/check/evaluate.h"
#include "exporter/daemon/snapshot_store.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using testing::HealthyEndpoint;
using testing::Mx;
using testing::Plan;
using testing::Reverse;

constexpr double kNow = 1700000000;

void WithoutStartTls(EndpointObservation* e) {
  e->ehlo = Reply{250,
                  {"250-" + e->mx_name, "250-PIPELINING", "250-SIZE 10240000",
                   "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250 SMTPUTF8"}};
  e->extensions_plain = ExtensionSet::FromEhloReply(*e->ehlo);
  e->starttls = {};
  e->tls_ehlo.reset();
  e->extensions_tls = {};
  e->transactions_channel = TransactionChannel::kPlain;
}

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
  obs.domain = domain;
  obs.started_at_unix = kNow - 60;
  obs.duration_seconds = 1.5;
  obs.dns.domain = domain;
  if (i % 50 == 0) {  // the resolver failed: nothing probed
    obs.dns.mx = {DnsStatus::kServFail, "Server failure"};
  } else {
    obs.dns.mx.status = DnsStatus::kOk;
    obs.dns.mx_targets = {Mx(10, mx1.c_str(), {v4a.c_str(), v6a.c_str()}),
                          Mx(20, mx2.c_str(), {v4b.c_str(), v6b.c_str()})};
    const bool ptr_missing = i % 5 == 0;
    obs.dns.reverse = {
        Reverse(v4a.c_str(), ptr_missing ? DnsStatus::kNxDomain : DnsStatus::kOk,
                ptr_missing ? std::vector<std::string>{} : std::vector<std::string>{mx1},
                ptr_missing ? std::nullopt : std::optional<bool>(true)),
        Reverse(v6a.c_str(), DnsStatus::kOk, {mx1}, true),
        Reverse(v4b.c_str(), DnsStatus::kOk, {mx2}, true),
        Reverse(v6b.c_str(), DnsStatus::kOk, {mx2}, true)};
    Plan(&obs);
    obs.endpoints = {
        HealthyEndpoint(domain, mx1, v4a.c_str()), HealthyEndpoint(domain, mx1, v6a.c_str()),
        HealthyEndpoint(domain, mx2, v4b.c_str()), HealthyEndpoint(domain, mx2, v6b.c_str())};
    if (i % 20 == 0) {
      obs.endpoints[0].open_relay.outcome = ProbeOutcome::kAccepted;
    }
    if (i % 7 == 0) {
      WithoutStartTls(&obs.endpoints[2]);
      WithoutStartTls(&obs.endpoints[3]);
    }
    if (i % 11 == 0) {
      for (const std::size_t v6 : {1u, 3u}) {
        EndpointObservation& e = obs.endpoints[v6];
        e = {};
        e.domain = domain;
        e.mx_name = v6 == 1 ? mx1 : mx2;
        e.ip = IpAddress::Parse(v6 == 1 ? v6a : v6b).value();
        e.connect_status = ConnectStatus::kTimeout;
        e.connect_error = "no answer within 12 s";
      }
    }
  }
  CheckOptions options;
  options.helo_name = "probe.example.net";
  auto snapshot = std::make_shared<CheckResult>();
  snapshot->findings = Evaluate(obs, options);
  snapshot->status = WorstSeverity(snapshot->findings);
  snapshot->observation = std::move(obs);
  return snapshot;
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
      store.Put(domains.back(), snapshot);
    }
  }

  // As app.cc's "/" handler builds them.
  std::vector<IndexRow> Rows() const {
    std::vector<IndexRow> rows;
    rows.reserve(domains.size());
    for (const auto& domain : domains) {
      const auto snapshot = store.Get(domain);
      IndexRow row = MakeIndexRow(domain, snapshot.get(), history.Get(domain), kNow + 240);
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
