// The `check` command's text report (exporter/report/text_report.h): the transport-security
// policies and DANE lines an operator reads there, with every value from the network escaped
// for the terminal.
#include "exporter/report/text_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::HealthyDomain;

DomainObservation Domain() {
  return HealthyDomain("policy.example", {{10, "mx1.policy.example", {"198.51.100.10"}}});
}

TEST(TextReportTest, PoliciesAreShownWhenCollected) {
  DomainObservation obs = Domain();
  EXPECT_EQ(RenderPoliciesText(obs), "");  // not collected: no block at all
  EXPECT_THAT(RenderDomainText(obs, {}, Severity::kOk, false),
              Not(HasSubstr("Transport-security policies")));

  MtaStsObservation m;
  m.record_lookup = {DnsStatus::kOk, "", {"v=STSv1; id=20261130", "unrelated"}};
  m.record_count = 1;
  m.record_id = "20261130";
  m.policy_host = "mta-sts.policy.example";
  m.fetch_status = PolicyFetchStatus::kOk;
  m.http_status = 200;
  m.policy = MtaStsPolicy{MtaStsMode::kEnforce, {"mx1.policy.example", "*.backup.example"}, 604800};
  obs.mta_sts = m;
  TlsRptObservation t;
  t.record_lookup = {DnsStatus::kOk, "", {"v=TLSRPTv1; rua=mailto:tlsrpt@policy.example"}};
  t.record_count = 1;
  t.rua = {"mailto:tlsrpt@policy.example"};
  obs.tls_rpt = t;

  const std::string text = RenderDomainText(obs, {}, Severity::kOk, false);
  EXPECT_THAT(text, HasSubstr("Transport-security policies of policy.example\n"
                              "  MTA-STS record _mta-sts.policy.example: ok\n"
                              "      v=STSv1; id=20261130\n"
                              "  MTA-STS policy https://mta-sts.policy.example/.well-known/"
                              "mta-sts.txt: ok (HTTP 200)\n"
                              "      mode enforce, max_age 604800 s, mx: mx1.policy.example "
                              "*.backup.example\n"
                              "  TLS-RPT record _smtp._tls.policy.example: ok\n"
                              "      v=TLSRPTv1; rua=mailto:tlsrpt@policy.example\n"));
  EXPECT_THAT(text, Not(HasSubstr("unrelated")));
  // Between the DNS block and the endpoints.
  EXPECT_LT(text.find("DNS of policy.example"), text.find("Transport-security policies"));
  EXPECT_LT(text.find("Transport-security policies"), text.find("Endpoint 198.51.100.10"));
}

TEST(TextReportTest, AFailedFetchSaysWhyAndServerTextIsEscaped) {
  DomainObservation obs = Domain();
  MtaStsObservation m;
  m.record_lookup = {DnsStatus::kOk, "", {"v=STSv1; id=\x1b[31mred"}};
  m.record_count = 1;
  m.record_error = "the id \"\x1b[31mred\" is not 1 to 32 letters and digits";
  m.policy_host = "mta-sts.policy.example";
  m.fetch_status = PolicyFetchStatus::kHttpStatus;
  m.http_status = 301;
  m.fetch_error = "redirects are not followed (RFC 8461 §3.3)";
  obs.mta_sts = m;
  const std::string text = RenderPoliciesText(obs);
  EXPECT_THAT(text, HasSubstr("mta-sts.txt: http_status (HTTP 301): redirects are not followed"));
  EXPECT_THAT(text, HasSubstr("ok, the id \"\\x1b[31mred\" is not"));
  EXPECT_THAT(text, Not(HasSubstr("\x1b")));
  EXPECT_THAT(text, Not(HasSubstr("TLS-RPT")));  // not collected
}

TEST(TextReportTest, DnsBlockShowsTlsaPerMxHostWhenCollected) {
  DomainObservation obs = HealthyDomain("dane.example", {{10, "mx1.dane.example", {"198.51.100.10"}},
                                                         {20, "mx2.dane.example", {"198.51.100.11"}},
                                                         {30, "mx3.dane.example", {"198.51.100.12"}},
                                                         {40, "mx4.dane.example", {"198.51.100.13"}}});
  EXPECT_THAT(RenderDnsText(obs.dns), Not(HasSubstr("TLSA")));  // not collected
  auto& targets = obs.dns.mx_targets;
  targets[0].tlsa = {"_25._tcp.mx1.dane.example", {DnsStatus::kOk, ""},
                     {{3, 1, 1, 32, "8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1"}},
                     true};
  targets[1].tlsa = {"_25._tcp.mx2.dane.example", {DnsStatus::kOk, ""}, {{2, 0, 0, 900, "3082"}},
                     false};
  targets[2].tlsa = {"_25._tcp.mx3.dane.example", {DnsStatus::kNxDomain, ""}, {}, true};
  targets[3].tlsa = {"_25._tcp.mx4.dane.example", {DnsStatus::kServFail, "bogus \x1b[0m"}, {}, false};
  const std::string text = RenderDnsText(obs.dns);
  EXPECT_THAT(text, HasSubstr("      TLSA _25._tcp.mx1.dane.example: 1 record, DNSSEC-validated "
                              "(AD)\n        3 1 1 8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468"
                              "dd953d7d6a3021f1\n"));
  // A Full(0) record is cut for display, and says so.
  EXPECT_THAT(text, HasSubstr("      TLSA _25._tcp.mx2.dane.example: 1 record, NOT validated (no AD "
                              "bit)\n        2 0 0 3082...\n"));
  EXPECT_THAT(text, HasSubstr("      TLSA _25._tcp.mx3.dane.example: nxdomain, no TLSA\n"));
  EXPECT_THAT(text, HasSubstr("      TLSA _25._tcp.mx4.dane.example: servfail (bogus \\x1b[0m), "
                              "no TLSA\n"));
  EXPECT_THAT(text, Not(HasSubstr("\x1b")));
}

TEST(TextReportTest, ASharedSessionSaysSo) {
  DomainObservation obs = Domain();
  EXPECT_THAT(RenderDomainText(obs, {}, Severity::kOk, false), Not(HasSubstr("shared:")));
  obs.endpoints.at(0).session_domains = 12;
  obs.endpoints.at(0).session_opened_for = "first.example";
  EXPECT_THAT(RenderDomainText(obs, {}, Severity::kOk, false),
              HasSubstr("shared: one session served 12 domains whose MX hosts share this "
                        "address (opened for first.example's check)"));
}

}  // namespace
}  // namespace smtp_exporter
