// Metrics built from snapshots: the whole /metrics and /probe output against golden files
// (tests/testdata/metrics/*.prom, checked by promtool in integration/promtool_test.cc), and
// targeted checks: unmeasured values are absent rather than 0, a removed domain leaves no
// series, label values are escaped and bounded, the EHLO keyword cardinality cap.
#include "exporter/report/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/metric_family.h>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "exporter/check/findings.h"
#include "exporter/daemon/snapshot_store.h"
#include "exporter/check/rules.h"
#include "exporter/daemon/snapshot_store.h"
#include "probes/dns_observation.h"
#include "probes/observation.h"
#include "tests/support/golden.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using LabelMap = std::map<std::string, std::string>;
using testing::ExpectGolden;
using testing::HealthyDomain;
using testing::HealthySubmission;
using testing::Ip;
using testing::Mx;
using testing::Plan;
using testing::Reverse;
using testing::UnreachableEndpoint;

Finding MakeFinding(std::string code, Severity severity, Subject subject) {
  Finding finding;
  const Rule* rule = RuleForCode(code);
  finding.rule = rule != nullptr ? std::string(rule->name) : "";
  finding.code = std::move(code);
  finding.severity = severity;
  finding.subject = std::move(subject);
  finding.message = "message";
  return finding;
}

Subject Endpoint(const std::string& domain, const std::string& mx, const char* ip) {
  return Subject::Endpoint(domain, mx, Ip(ip), 25);
}

// Dual stack, TLS everywhere, every probe answered as it should.
std::shared_ptr<const CheckResult> HealthySnapshot() {
  auto snapshot = std::make_shared<CheckResult>();
  DomainObservation& obs = snapshot->observation;
  obs = HealthyDomain("good.example", {{10, "mx1.good.example", {"192.0.2.10", "2001:db8::10"}}});
  // DANE collected (test_dane): one validated DANE-EE record.
  obs.dns.mx_targets[0].tlsa = {"_25._tcp.mx1.good.example",
                                {DnsStatus::kOk, ""},
                                {{3, 1, 1, 32, "8f2a31d1"}},
                                true};
  obs.started_at_unix = 1700000000;
  obs.duration_seconds = 1.25;
  // An enforce MTA-STS policy and a TLS-RPT record (RFC 8461, RFC 8460).
  obs.mta_sts = MtaStsObservation{};
  obs.mta_sts->record_lookup = {DnsStatus::kOk, "", {"v=STSv1; id=1"}};
  obs.mta_sts->record_count = 1;
  obs.mta_sts->record_id = "1";
  obs.mta_sts->fetch_status = PolicyFetchStatus::kOk;
  obs.mta_sts->policy = MtaStsPolicy{MtaStsMode::kEnforce, {"mx1.good.example"}, 604800};
  obs.tls_rpt = TlsRptObservation{};
  obs.tls_rpt->record_lookup = {DnsStatus::kOk, "", {"v=TLSRPTv1; rua=mailto:tls@good.example"}};
  obs.tls_rpt->record_count = 1;
  obs.tls_rpt->rua = {"mailto:tls@good.example"};
  snapshot->findings = {
      MakeFinding("smtp.open_relay", Severity::kOk, Endpoint("good.example", "mx1.good.example", "192.0.2.10")),
      MakeFinding("smtp.open_relay", Severity::kOk, Endpoint("good.example", "mx1.good.example", "2001:db8::10")),
      MakeFinding("smtp.starttls.missing", Severity::kOk, Endpoint("good.example", "mx1.good.example", "192.0.2.10")),
      MakeFinding("smtp.starttls.missing", Severity::kOk, Endpoint("good.example", "mx1.good.example", "2001:db8::10")),
  };
  snapshot->status = Severity::kOk;
  return snapshot;
}

// IPv4 only. mx1: an open relay without STARTTLS, AUTH offered in plaintext, no PTR, the
// postmaster probe disabled. mx2: connection refused, its PTR lookup failed.
std::shared_ptr<const CheckResult> RelaySnapshot() {
  auto snapshot = std::make_shared<CheckResult>();
  DomainObservation& obs = snapshot->observation;
  obs.domain = "relay.example";
  obs.started_at_unix = 1700000030.25;
  obs.duration_seconds = 3.5;
  // No MTA-STS record; the TLS-RPT lookup failed (no series for it).
  obs.mta_sts = MtaStsObservation{};
  obs.mta_sts->record_lookup.status = DnsStatus::kNxDomain;
  obs.tls_rpt = TlsRptObservation{};
  obs.tls_rpt->record_lookup.status = DnsStatus::kServFail;
  obs.dns.domain = obs.domain;
  obs.dns.mx.status = DnsStatus::kOk;
  obs.dns.mx_targets = {Mx(10, "mx1.relay.example", {"198.51.100.7"}),
                        Mx(20, "mx2.relay.example", {"198.51.100.8"})};
  // DANE: a TLSA record no resolver validated at mx1, none at mx2.
  obs.dns.mx_targets[0].tlsa = {"_25._tcp.mx1.relay.example",
                                {DnsStatus::kOk, ""},
                                {{3, 1, 1, 32, "8f2a31d1"}},
                                false};
  obs.dns.mx_targets[1].tlsa = {"_25._tcp.mx2.relay.example", {DnsStatus::kNxDomain, ""}, {}, false};
  obs.dns.reverse = {
      Reverse("198.51.100.7", DnsStatus::kNxDomain, {}, std::nullopt),
      Reverse("198.51.100.8", DnsStatus::kServFail, {}, std::nullopt),
  };
  Plan(&obs);

  EndpointObservation open;
  open.domain = obs.domain;
  open.mx_name = "mx1.relay.example";
  open.ip = *IpAddress::Parse("198.51.100.7");
  open.connect_status = ConnectStatus::kConnected;
  open.greeting = Reply{220, {"220 mail.relay.example ESMTP"}};
  open.ehlo = Reply{
      250, {"250-mail.relay.example", "250-PIPELINING", "250-AUTH PLAIN LOGIN", "250 8BITMIME"}};
  open.esmtp = true;
  open.extensions_plain = ExtensionSet::FromEhloReply(*open.ehlo);
  open.auth_before_tls = true;
  open.transactions_channel = TransactionChannel::kPlain;
  open.null_sender.outcome = ProbeOutcome::kAccepted;
  open.postmaster.outcome = ProbeOutcome::kNotTested;
  open.open_relay.outcome = ProbeOutcome::kAccepted;
  open.phases = {
      {"connect", 0.02}, {"greeting", 0.1}, {"ehlo", 0.01}, {"transactions", 0.2}, {"total", 0.35}};

  EndpointObservation refused = UnreachableEndpoint(obs.domain, "mx2.relay.example", "198.51.100.8",
                                                    ConnectStatus::kRefused, "Connection refused");
  refused.phases = {{"connect", 0.001}, {"total", 0.001}};
  refused.failure = ProbeFailure{"connect", FailureReason::kRefused};
  obs.endpoints = {open, refused};
  // Submission (RFC 8314) on mx1: 587 offers AUTH PLAIN LOGIN before STARTTLS; 465 is fine.
  EndpointObservation submission =
      HealthySubmission(obs.domain, "mx1.relay.example", "198.51.100.7", 587);
  submission.ehlo = Reply{250, {"250-mail.relay.example", "250-AUTH PLAIN LOGIN", "250 STARTTLS"}};
  submission.extensions_plain = ExtensionSet::FromEhloReply(*submission.ehlo);
  submission.auth_before_tls = true;
  obs.submission = {submission,
                    HealthySubmission(obs.domain, "mx1.relay.example", "198.51.100.7", 465)};

  snapshot->findings = {
      MakeFinding("smtp.all_no_starttls", Severity::kCrit, Subject::Domain("relay.example")),
      MakeFinding("smtp.auth.plaintext", Severity::kCrit, Endpoint("relay.example", "mx1.relay.example", "198.51.100.7")),
      MakeFinding("smtp.open_relay", Severity::kCrit, Endpoint("relay.example", "mx1.relay.example", "198.51.100.7")),
      MakeFinding("smtp.tcp.unreachable", Severity::kCrit, Endpoint("relay.example", "mx2.relay.example", "198.51.100.8")),
      MakeFinding("smtp.ptr.missing", Severity::kWarn, Endpoint("relay.example", "mx1.relay.example", "198.51.100.7")),
      MakeFinding("smtp.starttls.missing", Severity::kWarn, Endpoint("relay.example", "mx1.relay.example", "198.51.100.7")),
      MakeFinding("smtp.ipv6.missing", Severity::kInfo, Subject::Domain("relay.example")),
      MakeFinding("smtp.null_sender.rejected", Severity::kOk, Endpoint("relay.example", "mx1.relay.example", "198.51.100.7")),
      MakeFinding("smtp.submission.plaintext_auth", Severity::kCrit,
                  Subject::Service("relay.example", "mx1.relay.example",
                                   *IpAddress::Parse("198.51.100.7"), 587)),
  };
  snapshot->status = Severity::kCrit;
  return snapshot;
}

// The MX lookup failed with SERVFAIL: nothing is known about the mail service.
std::shared_ptr<const CheckResult> BrokenSnapshot() {
  auto snapshot = std::make_shared<CheckResult>();
  DomainObservation& obs = snapshot->observation;
  obs.domain = "broken.example";
  obs.started_at_unix = 1700000060;
  obs.duration_seconds = 0.75;
  obs.dns.domain = obs.domain;
  obs.dns.mx.status = DnsStatus::kServFail;
  obs.dns.mx.error = "SERVFAIL";
  snapshot->findings = {MakeFinding("smtp.dns.error", Severity::kError, Subject::Domain("broken.example"))};
  snapshot->status = Severity::kError;
  return snapshot;
}

ExporterHealth Health() {
  ExporterHealth health;
  health.version = "0.1.0";
  health.revision = "abc1234";
  health.config_last_reload_successful = true;
  health.config_last_reload_success_timestamp_seconds = 1699999000;
  health.checks_total = {{"ok", 10}, {"crit", 4}, {"error", 1}};
  health.checks_in_flight = 1;
  health.domains = 3;
  return health;
}

// The fleet /metrics text over `store`'s entries, as the daemon serves it: with the exporter's
// own families (Health()) as the tail, or none.
std::string FleetText(const SnapshotStore& store, bool with_health = true) {
  const auto entries = store.Entries();
  std::vector<const DomainSeries*> series;
  for (const auto& entry : entries) {
    series.push_back(&entry->series);
  }
  const FleetExposition exposition(
      series, with_health ? SerializeMetrics(ExporterMetricFamilies(Health())) : std::string());
  std::string text;
  EXPECT_TRUE(exposition.Write([&](std::string_view piece) {
    text.append(piece);
    return true;
  }));
  EXPECT_EQ(text.size(), exposition.size());
  return text;
}

// good.example's result is one the daemon restored from disk at start-up (--storage.path).
// Returns the results put, whole (the store keeps them without their OK findings), sorted by
// domain as the store sorts them.
std::vector<std::shared_ptr<const CheckResult>> PutAll(SnapshotStore* store) {
  auto restored = std::make_shared<CheckResult>(*HealthySnapshot());
  restored->restored = true;
  const std::vector<std::shared_ptr<const CheckResult>> all = {BrokenSnapshot(), restored,
                                                               RelaySnapshot()};
  for (const auto& snapshot : all) {
    store->Put(snapshot->observation.domain, *snapshot);
  }
  return all;
}

// Values of the samples of family `name` whose labels include every pair of `labels`.
std::vector<double> Samples(const std::vector<prometheus::MetricFamily>& families,
                            const std::string& name, const LabelMap& labels) {
  std::vector<double> values;
  for (const auto& family : families) {
    if (family.name != name) {
      continue;
    }
    for (const auto& metric : family.metric) {
      std::size_t matched = 0;
      for (const auto& label : metric.label) {
        const auto it = labels.find(label.name);
        if (it != labels.end() && it->second == label.value) {
          ++matched;
        }
      }
      if (matched == labels.size()) {
        values.push_back(family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                        : metric.gauge.value);
      }
    }
  }
  return values;
}

bool HasFamily(const std::vector<prometheus::MetricFamily>& families, const std::string& name) {
  for (const auto& family : families) {
    if (family.name == name) {
      return true;
    }
  }
  return false;
}

std::vector<prometheus::MetricFamily> FamiliesOf(std::shared_ptr<const CheckResult> snapshot) {
  return DomainMetricFamilies({std::move(snapshot)});
}

// #15 item 7: where an endpoint probe failed and why, as blackbox users ask for
// (blackbox_exporter#1528); and a 4yz to EHLO is neither "EHLO works" nor "EHLO refused".
TEST(MetricsTest, FailedPhaseAndReasonPerEndpoint) {
  auto snapshot = std::make_shared<CheckResult>(*HealthySnapshot());
  ASSERT_FALSE(snapshot->observation.endpoints.empty());
  EndpointObservation& e = snapshot->observation.endpoints[0];
  const std::string ip = e.ip.ToString();
  EXPECT_TRUE(Samples(FamiliesOf(snapshot), "smtp_probe_failed_phase", {{"ip", ip}}).empty());

  e.ehlo = Reply{451, {"451 Temporary local problem - please try later"}};
  e.esmtp = false;
  e.failure = ProbeFailure{"ehlo", FailureReason::kReply4xx};
  const auto families = FamiliesOf(snapshot);
  EXPECT_THAT(Samples(families, "smtp_probe_failed_phase",
                      {{"ip", ip}, {"phase", "ehlo"}, {"reason", "reply_4xx"}}),
              ElementsAre(1.0));
  EXPECT_EQ(Samples(families, "smtp_probe_failed_phase", {{"ip", ip}}).size(), 1u);
  EXPECT_TRUE(Samples(families, "smtp_esmtp", {{"ip", ip}}).empty());
}

TEST(MetricsGoldenTest, FullMetricsMatchGolden) {
  SnapshotStore store;
  store.SetMetricsDetail(MetricsDetail::Full());
  PutAll(&store);
  ExpectGolden("metrics/full.prom", FleetText(store), "Metrics*");
}

TEST(MetricsGoldenTest, ProbeMetricsMatchGolden) {
  ExpectGolden("metrics/probe.prom", RenderProbeMetrics(*RelaySnapshot(), true, 2.5), "Metrics*");
}

TEST(MetricsTest, FamiliesAreSortedDescribedAndFreeOfDuplicateSeries) {
  SnapshotStore store;
  auto families = DomainMetricFamilies(PutAll(&store), /*with_restored=*/true);
  for (auto& family : ExporterMetricFamilies(Health())) {
    families.push_back(std::move(family));
  }
  ASSERT_FALSE(families.empty());
  for (std::size_t i = 0; i < families.size(); ++i) {
    const auto& family = families[i];
    SCOPED_TRACE(family.name);
    EXPECT_FALSE(family.help.empty());
    EXPECT_FALSE(family.metric.empty());
    // Sorted by name: the domain families, then the exporter's own.
    if (i > 0 && family.name.rfind("smtp_exporter_", 0) == families[i - 1].name.rfind("smtp_exporter_", 0)) {
      EXPECT_LT(families[i - 1].name, family.name);
    }
    for (std::size_t j = 1; j < family.metric.size(); ++j) {
      EXPECT_LT(family.metric[j - 1].label, family.metric[j].label);
    }
  }
}

// RFC 8461 / RFC 8460: the record gauges, the policy's mode (one 1, two 0) and max_age; no
// series when the lookup failed or nothing was collected.
TEST(MetricsTest, TransportPolicySeries) {
  const auto good = FamiliesOf(HealthySnapshot());
  const LabelMap domain = {{"domain", "good.example"}};
  EXPECT_THAT(Samples(good, "smtp_mta_sts_record", domain), ElementsAre(1));
  EXPECT_THAT(Samples(good, "smtp_mta_sts_mode", {{"domain", "good.example"}, {"mode", "enforce"}}),
              ElementsAre(1));
  EXPECT_THAT(Samples(good, "smtp_mta_sts_mode", {{"domain", "good.example"}, {"mode", "testing"}}),
              ElementsAre(0));
  EXPECT_THAT(Samples(good, "smtp_mta_sts_mode", {{"domain", "good.example"}, {"mode", "none"}}),
              ElementsAre(0));
  EXPECT_THAT(Samples(good, "smtp_mta_sts_policy_max_age_seconds", domain), ElementsAre(604800));
  EXPECT_THAT(Samples(good, "smtp_tls_rpt_record", domain), ElementsAre(1));
  const auto relay = FamiliesOf(RelaySnapshot());
  const LabelMap relay_domain = {{"domain", "relay.example"}};
  EXPECT_THAT(Samples(relay, "smtp_mta_sts_record", relay_domain), ElementsAre(0));
  EXPECT_TRUE(Samples(relay, "smtp_mta_sts_mode", relay_domain).empty());
  EXPECT_TRUE(Samples(relay, "smtp_mta_sts_policy_max_age_seconds", relay_domain).empty());
  EXPECT_TRUE(Samples(relay, "smtp_tls_rpt_record", relay_domain).empty());
}

TEST(MetricsTest, HealthyDomain) {
  const auto families = FamiliesOf(HealthySnapshot());
  const LabelMap domain = {{"domain", "good.example"}};
  EXPECT_THAT(Samples(families, "smtp_domain_status", domain), ElementsAre(0));
  EXPECT_THAT(Samples(families, "smtp_check_success", domain), ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_mx_records", domain), ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_null_mx", domain), ElementsAre(0));
  EXPECT_THAT(Samples(families, "smtp_endpoints", {{"domain", "good.example"}, {"family", "ipv4"}}),
              ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_endpoints", {{"domain", "good.example"}, {"family", "ipv6"}}),
              ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_findings", {{"domain", "good.example"}, {"severity", "ok"}}),
              ElementsAre(4));
  EXPECT_THAT(
      Samples(families, "smtp_findings", {{"domain", "good.example"}, {"severity", "crit"}}),
      ElementsAre(0));
  EXPECT_FALSE(HasFamily(families, "smtp_finding"));  // OK findings are no series
  EXPECT_THAT(Samples(families, "smtp_starttls_ok", domain), ElementsAre(1, 1));
  EXPECT_THAT(Samples(families, "smtp_open_relay", domain), ElementsAre(0, 0));
  EXPECT_THAT(Samples(families, "smtp_tls_version_info",
                      {{"ip", "2001:db8::10"},
                       {"family", "ipv6"},
                       {"version", "TLSv1.3"},
                       {"cipher", "TLS_AES_256_GCM_SHA384"}}),
              ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_extension",
                      {{"ip", "192.0.2.10"}, {"extension", "STARTTLS"}, {"stage", "plain"}}),
              ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_extension",
                      {{"ip", "192.0.2.10"}, {"extension", "STARTTLS"}, {"stage", "tls"}}),
              ElementsAre());
  EXPECT_THAT(Samples(families, "smtp_phase_duration_seconds",
                      {{"ip", "192.0.2.10"}, {"phase", "starttls"}}),
              ElementsAre(0.031));
  EXPECT_THAT(Samples(families, "smtp_tls_cert_not_after_timestamp_seconds", domain),
              ElementsAre(1735689600, 1735689600));
}

TEST(MetricsTest, UnmeasuredValuesAreAbsentNotZero) {
  const auto families = FamiliesOf(RelaySnapshot());
  const LabelMap open = {{"domain", "relay.example"}, {"mx", "mx1.relay.example"}};
  const LabelMap refused = {{"domain", "relay.example"}, {"mx", "mx2.relay.example"}};

  // The open relay pages; the disabled postmaster probe is absent.
  EXPECT_THAT(Samples(families, "smtp_open_relay", open), ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_null_sender_accepted", open), ElementsAre(1));
  EXPECT_FALSE(HasFamily(families, "smtp_postmaster_accepted"));
  // No STARTTLS offered is a measured 0, and no TLS series follow.
  EXPECT_THAT(Samples(families, "smtp_starttls_ok", open), ElementsAre(0));
  EXPECT_FALSE(HasFamily(families, "smtp_tls_version_info"));
  EXPECT_FALSE(HasFamily(families, "smtp_tls_cert_not_after_timestamp_seconds"));
  EXPECT_THAT(Samples(families, "smtp_auth_plaintext", open), ElementsAre(1));
  // NXDOMAIN for the PTR is "no PTR" (0); FCrDNS is then undecided (absent). SERVFAIL: absent.
  EXPECT_THAT(Samples(families, "smtp_ptr_present", open), ElementsAre(0));
  EXPECT_THAT(Samples(families, "smtp_ptr_present", refused), ElementsAre());
  EXPECT_FALSE(HasFamily(families, "smtp_fcrdns_ok"));
  // The unreachable endpoint is down, and nothing else is claimed about it.
  EXPECT_THAT(Samples(families, "smtp_endpoint_up", refused), ElementsAre(0));
  for (const char* name : {"smtp_esmtp", "smtp_starttls_ok", "smtp_auth_plaintext",
                           "smtp_extension", "smtp_null_sender_accepted", "smtp_open_relay"}) {
    EXPECT_THAT(Samples(families, name, refused), ElementsAre()) << name;
  }
  EXPECT_THAT(Samples(families, "smtp_endpoints", {{"family", "ipv6"}}), ElementsAre(0));

  // SERVFAIL on the MX lookup: status error, no MX count, no null MX verdict, no plan.
  const auto broken = FamiliesOf(BrokenSnapshot());
  const LabelMap domain = {{"domain", "broken.example"}};
  EXPECT_THAT(Samples(broken, "smtp_domain_status", domain), ElementsAre(4));
  EXPECT_THAT(Samples(broken, "smtp_check_success", domain), ElementsAre(0));
  EXPECT_THAT(
      Samples(broken, "smtp_findings", {{"domain", "broken.example"}, {"severity", "error"}}),
      ElementsAre(1));
  EXPECT_THAT(
      Samples(broken, "smtp_finding",
              {{"code", "smtp.dns.error"}, {"severity", "error"}, {"subject", "broken.example"}}),
      ElementsAre(1));
  for (const char* name :
       {"smtp_mx_records", "smtp_null_mx", "smtp_endpoints", "smtp_endpoint_up"}) {
    EXPECT_FALSE(HasFamily(broken, name)) << name;
  }
}

TEST(MetricsTest, InconclusiveProbeOutcomesAreAbsent) {
  auto snapshot = std::make_shared<CheckResult>(*HealthySnapshot());
  snapshot->observation.endpoints[0].open_relay.outcome = ProbeOutcome::kTemporary;
  snapshot->observation.endpoints[1].open_relay.outcome = ProbeOutcome::kError;
  snapshot->observation.endpoints[0].null_sender.outcome = ProbeOutcome::kRejected;
  snapshot->observation.endpoints[1].postmaster.outcome = ProbeOutcome::kNotTested;
  const auto families = FamiliesOf(snapshot);
  EXPECT_FALSE(HasFamily(families, "smtp_open_relay"));
  EXPECT_THAT(Samples(families, "smtp_null_sender_accepted", {{"ip", "192.0.2.10"}}),
              ElementsAre(0));
  EXPECT_THAT(Samples(families, "smtp_postmaster_accepted", {}), ElementsAre(1));
}

TEST(MetricsTest, HandshakeFailureAndHeloFallback) {
  auto snapshot = std::make_shared<CheckResult>(*HealthySnapshot());
  EndpointObservation& failed = snapshot->observation.endpoints[0];
  failed.starttls.ok = false;
  failed.starttls.error = "handshake failure";
  failed.extensions_tls = ExtensionSet();
  EndpointObservation& helo = snapshot->observation.endpoints[1];
  helo.esmtp = false;
  helo.helo_fallback = true;
  helo.extensions_plain = ExtensionSet();
  helo.extensions_tls = ExtensionSet();
  helo.starttls = StartTlsObservation();
  const auto families = FamiliesOf(snapshot);
  EXPECT_THAT(Samples(families, "smtp_starttls_ok", {{"ip", "192.0.2.10"}}), ElementsAre(0));
  EXPECT_THAT(Samples(families, "smtp_starttls_ok", {{"ip", "2001:db8::10"}}), ElementsAre(0));
  EXPECT_THAT(Samples(families, "smtp_esmtp", {{"ip", "2001:db8::10"}}), ElementsAre(0));
  EXPECT_THAT(Samples(families, "smtp_auth_plaintext", {{"ip", "2001:db8::10"}}), ElementsAre());
  EXPECT_FALSE(HasFamily(families, "smtp_tls_version_info"));
  EXPECT_THAT(Samples(families, "smtp_extension", {{"stage", "tls"}}), ElementsAre());

  // Greeted with 554: down, and no EHLO verdict.
  auto rejected = std::make_shared<CheckResult>(*HealthySnapshot());
  for (EndpointObservation& e : rejected->observation.endpoints) {
    EndpointObservation fresh;
    fresh.domain = e.domain;
    fresh.mx_name = e.mx_name;
    fresh.ip = e.ip;
    e = fresh;
    e.connect_status = ConnectStatus::kConnected;
    e.greeting = Reply{554, {"554 go away"}};
  }
  const auto rejected_families = FamiliesOf(rejected);
  EXPECT_THAT(Samples(rejected_families, "smtp_endpoint_up", {}), ElementsAre(0, 0));
  EXPECT_FALSE(HasFamily(rejected_families, "smtp_esmtp"));
  EXPECT_FALSE(HasFamily(rejected_families, "smtp_starttls_ok"));
}

TEST(MetricsTest, NullMxAndFixedEndpoint) {
  auto null_mx = std::make_shared<CheckResult>();
  null_mx->observation.domain = "nomail.example";
  null_mx->observation.dns.mx.status = DnsStatus::kOk;
  null_mx->observation.dns.null_mx = true;
  const auto families = FamiliesOf(null_mx);
  EXPECT_THAT(Samples(families, "smtp_null_mx", {}), ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_mx_records", {}), ElementsAre(0));
  EXPECT_THAT(Samples(families, "smtp_endpoints", {}), ElementsAre(0, 0));

  // --endpoint: no MX lookup, but a plan of one address.
  auto fixed = std::make_shared<CheckResult>();
  fixed->observation.domain = "fixed.example";
  fixed->observation.plan.endpoints.push_back({"mx.fixed.example", 0, Ip("2001:db8::25"), {}});
  const auto fixed_families = FamiliesOf(fixed);
  EXPECT_FALSE(HasFamily(fixed_families, "smtp_mx_records"));
  EXPECT_FALSE(HasFamily(fixed_families, "smtp_null_mx"));
  EXPECT_THAT(Samples(fixed_families, "smtp_endpoints", {{"family", "ipv6"}}), ElementsAre(1));
  EXPECT_THAT(Samples(fixed_families, "smtp_endpoints", {{"family", "ipv4"}}), ElementsAre(0));
}

TEST(MetricsTest, ARestoredResultIsMarkedAndKeepsItsCheckTime) {
  const LabelMap domain = {{"domain", "good.example"}};
  EXPECT_THAT(Samples(DomainMetricFamilies({HealthySnapshot()}, /*with_restored=*/true),
                      "smtp_check_restored", domain),
              ElementsAre(0));
  // /probe and the checker mode: always fresh, so no such series.
  EXPECT_FALSE(HasFamily(FamiliesOf(HealthySnapshot()), "smtp_check_restored"));
  auto restored = std::make_shared<CheckResult>(*HealthySnapshot());
  restored->restored = true;
  const auto families = DomainMetricFamilies({restored}, /*with_restored=*/true);
  EXPECT_THAT(Samples(families, "smtp_check_restored", domain), ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_check_timestamp_seconds", domain), ElementsAre(1700000000));
  EXPECT_THAT(Samples(families, "smtp_domain_status", domain), ElementsAre(0));
}

TEST(MetricsTest, RemovedDomainVanishes) {
  SnapshotStore store;
  PutAll(&store);
  EXPECT_THAT(FleetText(store), HasSubstr("domain=\"relay.example\""));
  store.Retain({"good.example", "broken.example"});
  const std::string after = FleetText(store);
  EXPECT_THAT(after, Not(HasSubstr("relay.example")));
  EXPECT_THAT(after, HasSubstr("domain=\"good.example\""));
  // Families only relay.example had are gone entirely, HELP and TYPE included.
  store.Retain({});
  const std::string empty = FleetText(store);
  EXPECT_THAT(empty, Not(HasSubstr("domain=")));
  // Families without samples are left out entirely, HELP and TYPE included.
  EXPECT_THAT(empty, Not(HasSubstr("smtp_endpoint_up")));
  EXPECT_THAT(empty, Not(HasSubstr("smtp_domain_status")));
  EXPECT_THAT(empty, HasSubstr("smtp_exporter_domains 3\n"));
}

TEST(MetricsTest, LabelValuesAreEscapedAndBounded) {
  auto snapshot = std::make_shared<CheckResult>();
  snapshot->observation.domain = "we\"ird\\dom\nain";
  snapshot->findings = {
      MakeFinding("smtp.mx.cname", Severity::kCrit, Subject::Host("d", "mx \"1\"\\\n")),
      MakeFinding("smtp.mx.unresolvable", Severity::kCrit,
                  Subject::Domain("bad\xff\xc0utf8 \xe2\x82\xac")),
      MakeFinding("smtp.mx.ip_literal", Severity::kCrit, Subject::Host("d", std::string(5000, 'x'))),
  };
  snapshot->status = Severity::kCrit;
  const std::string text = SerializeMetrics(FamiliesOf(snapshot));
  EXPECT_THAT(text, HasSubstr("smtp_domain_status{domain=\"we\\\"ird\\\\dom\\nain\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("subject=\"mx \\\"1\\\"\\\\\\n\""));
  EXPECT_THAT(text, HasSubstr("mx=\"mx \\\"1\\\"\\\\\\n\""));
  // Invalid UTF-8 becomes U+FFFD, valid multi-byte characters stay.
  EXPECT_THAT(text, HasSubstr("subject=\"bad\xef\xbf\xbd\xef\xbf\xbdutf8 \xe2\x82\xac\""));
  EXPECT_THAT(text, Not(HasSubstr(std::string(400, 'x'))));
  EXPECT_THAT(text, HasSubstr("subject=\"" + std::string(320, 'x') + "\""));
  EXPECT_THAT(text, HasSubstr("mx=\"" + std::string(320, 'x') + "\""));
  // Only the label values carry these bytes: every line is one sample or comment.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.rfind("smtp_", 0) == 0 || line.rfind("# ", 0) == 0) << line;
  }
}

TEST(MetricsTest, ExtensionCardinalityIsCapped) {
  auto snapshot = std::make_shared<CheckResult>(*HealthySnapshot());
  snapshot->observation.endpoints.resize(1);
  EndpointObservation& e = snapshot->observation.endpoints[0];
  ExtensionSet plain;
  plain.Add({"lower-case", ""});  // upper-cased by ExtensionSet, kept
  plain.Add({"BAD_KEY", ""});
  plain.Add({"X<SCRIPT>", ""});
  plain.Add({std::string(33, 'L'), ""});
  plain.Add({std::string(32, 'K'), ""});
  for (int i = 0; i < 80; ++i) {
    plain.Add({"X-EXT-" + std::to_string(100 + i), ""});
  }
  e.extensions_plain = plain;
  const auto families = FamiliesOf(snapshot);
  const std::vector<double> plain_samples =
      Samples(families, "smtp_extension", {{"stage", "plain"}});
  EXPECT_EQ(plain_samples.size(), 50U);
  EXPECT_THAT(Samples(families, "smtp_extension", {{"extension", "LOWER-CASE"}}), ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_extension", {{"extension", std::string(32, 'K')}}),
              ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_extension", {{"extension", "BAD_KEY"}}), ElementsAre());
  EXPECT_THAT(Samples(families, "smtp_extension", {{"extension", "X-EXT-147"}}), ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_extension", {{"extension", "X-EXT-148"}}), ElementsAre());
  EXPECT_EQ(Samples(families, "smtp_extension", {{"stage", "tls"}}).size(),
            HealthySnapshot()->observation.endpoints[0].extensions_tls.items().size());
}

TEST(MetricsTest, DuplicateFindingsAreOneSeries) {
  auto snapshot = std::make_shared<CheckResult>(*RelaySnapshot());
  snapshot->findings.push_back(snapshot->findings.front());
  const auto families = FamiliesOf(snapshot);
  EXPECT_THAT(Samples(families, "smtp_finding", {{"code", "smtp.all_no_starttls"}}),
              ElementsAre(1));
  // The five CRIT findings, the duplicate counted again.
  EXPECT_THAT(Samples(families, "smtp_findings", {{"severity", "crit"}}), ElementsAre(6));
}

// The submission ports (RFC 8314): one series per (host, address, port), the port a label.
TEST(MetricsTest, SubmissionSeriesPerPort) {
  const auto families = FamiliesOf(RelaySnapshot());
  const LabelMap at587 = {{"host", "mx1.relay.example"}, {"ip", "198.51.100.7"}, {"port", "587"}};
  const LabelMap at465 = {{"host", "mx1.relay.example"}, {"ip", "198.51.100.7"}, {"port", "465"}};
  EXPECT_THAT(Samples(families, "smtp_submission_up", at587), ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_submission_up", at465), ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_submission_tls", at587), ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_submission_auth_before_tls", at587), ElementsAre(1));
  EXPECT_THAT(Samples(families, "smtp_submission_plaintext_auth_before_tls", at587),
              ElementsAre(1));
  // 465 has no plaintext stage: nothing was said before TLS.
  EXPECT_TRUE(Samples(families, "smtp_submission_auth_before_tls", at465).empty());
  EXPECT_THAT(Samples(families, "smtp_submission_auth_after_tls", at465), ElementsAre(1));
  // The finding names the port in its subject, so 587 and 465 stay apart.
  EXPECT_THAT(Samples(families, "smtp_finding",
                      {{"code", "smtp.submission.plaintext_auth"},
                       {"subject", "mx1.relay.example [198.51.100.7]:587"}}),
              ElementsAre(1));

  // A 465 whose TLS handshake failed: down, not encrypted, no AUTH series.
  auto snapshot = std::make_shared<CheckResult>(*RelaySnapshot());
  EndpointObservation& failed = snapshot->observation.submission.at(1);
  failed.starttls.ok = false;
  failed.greeting.reset();
  const auto broken = FamiliesOf(snapshot);
  EXPECT_THAT(Samples(broken, "smtp_submission_up", at465), ElementsAre(0));
  EXPECT_THAT(Samples(broken, "smtp_submission_tls", at465), ElementsAre(0));
  EXPECT_TRUE(Samples(broken, "smtp_submission_auth_after_tls", at465).empty());
}

TEST(MetricsTest, ExporterFamilies) {
  const auto families = ExporterMetricFamilies(Health());
  EXPECT_THAT(Samples(families, "smtp_exporter_build_info",
                      {{"version", "0.1.0"}, {"revision", "abc1234"}}),
              ElementsAre(1));
  // Every result is exported, 0 included; the family is a counter named *_total.
  EXPECT_THAT(Samples(families, "smtp_exporter_checks_total", {}), ElementsAre(4, 1, 0, 10, 0));
  const std::string text = SerializeMetrics(families);
  EXPECT_THAT(text, HasSubstr("# TYPE smtp_exporter_checks_total counter\n"
                              "smtp_exporter_checks_total{result=\"crit\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("smtp_exporter_config_last_reload_successful 1\n"));

  ExporterHealth failed = Health();
  failed.config_last_reload_successful = false;
  EXPECT_THAT(SerializeMetrics(ExporterMetricFamilies(failed)),
              HasSubstr("smtp_exporter_config_last_reload_successful 0\n"));

  // In the fleet text they come last, after every domain family: the daemon keeps the
  // domains' part compressed between scrapes and compresses only these (MetricsCache).
  SnapshotStore store;
  PutAll(&store);
  const std::string fleet = FleetText(store);
  EXPECT_THAT(fleet, EndsWith(SerializeMetrics(ExporterMetricFamilies(Health()))));
  EXPECT_THAT(FleetText(store, /*with_health=*/false), Not(HasSubstr("smtp_exporter_")));
}

// The fleet text is the one-domain views' text, byte for byte: serialized once per check
// (RenderDomainSeries) and concatenated per family, it must equal serializing every domain's
// families together, as DomainMetricFamilies does, with either detail.
TEST(MetricsTest, FleetTextEqualsSerializingAllFamiliesTogether) {
  for (const MetricsDetail& detail : {MetricsDetail{}, MetricsDetail::Full()}) {
    SCOPED_TRACE(detail.extensions);
    SnapshotStore store;
    store.SetMetricsDetail(detail);
    const auto whole = PutAll(&store);
    const std::string expected =
        SerializeMetrics(DomainMetricFamilies(whole, /*with_restored=*/true, detail));
    EXPECT_EQ(FleetText(store, /*with_health=*/false), expected);
    EXPECT_THAT(expected, HasSubstr("smtp_findings{domain=\"good.example\",severity=\"ok\"} 4\n"));
    // The store keeps results without their OK findings; the series still count them, also
    // when a new detail renders them again from what is kept.
    for (const auto& entry : store.Entries()) {
      for (const Finding& finding : entry->result->summary.active_findings) {
        EXPECT_NE(finding.severity, Severity::kOk) << finding.code;
      }
    }
    store.SetMetricsDetail(detail == MetricsDetail{} ? MetricsDetail::Full() : MetricsDetail{});
    store.SetMetricsDetail(detail);
    EXPECT_EQ(FleetText(store, /*with_health=*/false), expected);
  }
}

// #17: at fleet size the EHLO keywords and per-phase timings were most of the series; by
// default the fleet /metrics leaves them out, keeping phase="total" (the dashboard's slowest
// endpoints). The one-domain views keep everything.
TEST(MetricsTest, FleetDefaultLeavesOutExtensionsAndPhasesButTotal) {
  SnapshotStore store;
  PutAll(&store);
  const std::string bounded = FleetText(store);
  EXPECT_THAT(bounded, Not(HasSubstr("smtp_extension")));
  EXPECT_THAT(bounded, Not(HasSubstr("phase=\"ehlo\"")));
  EXPECT_THAT(bounded, HasSubstr("phase=\"total\""));
  EXPECT_THAT(bounded, HasSubstr("smtp_starttls_ok{"));

  store.SetMetricsDetail({.extensions = true, .phase_durations = false});
  EXPECT_THAT(FleetText(store), HasSubstr("smtp_extension{"));
  EXPECT_THAT(FleetText(store), Not(HasSubstr("phase=\"ehlo\"")));
  store.SetMetricsDetail({.extensions = false, .phase_durations = true});
  EXPECT_THAT(FleetText(store), Not(HasSubstr("smtp_extension")));
  EXPECT_THAT(FleetText(store), HasSubstr("phase=\"ehlo\""));

  const std::string one = SerializeMetrics(FamiliesOf(HealthySnapshot()));
  EXPECT_THAT(one, HasSubstr("smtp_extension{"));
  EXPECT_THAT(one, HasSubstr("phase=\"ehlo\""));
}

TEST(MetricsTest, ProbeAddsBlackboxSeries) {
  const std::string ok = RenderProbeMetrics(*HealthySnapshot(), true, 1.5);
  EXPECT_THAT(ok, HasSubstr("\nprobe_success 1\n"));
  EXPECT_THAT(ok, HasSubstr("\nprobe_duration_seconds 1.5\n"));
  EXPECT_THAT(ok, HasSubstr("smtp_domain_status{domain=\"good.example\"} 0\n"));
  EXPECT_THAT(ok, Not(HasSubstr("smtp_exporter_")));
  EXPECT_THAT(RenderProbeMetrics(*BrokenSnapshot(), false, 0.25), HasSubstr("\nprobe_success 0\n"));
}

}  // namespace
}  // namespace smtp_exporter
