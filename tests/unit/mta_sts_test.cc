// MTA-STS (RFC 8461) and TLS-RPT (RFC 8460): the record and policy parsers, the MX pattern
// match, the TXT answer reader, and the rules smtp.mta_sts and smtp.tls_rpt from hand-built
// observations (a healthy domain with one thing changed).
#include "probes/mta_sts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "exporter/check/check.h"
#include "exporter/check/evaluate.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---- The _mta-sts record (RFC 8461 §3.1) ------------------------------------------------

TEST(MtaStsRecordTest, ReadsTheId) {
  EXPECT_EQ(ParseMtaStsRecord("v=STSv1; id=20160831085700Z;").value(), "20160831085700Z");
  EXPECT_EQ(ParseMtaStsRecord("v=STSv1;id=abc").value(), "abc");
  EXPECT_EQ(ParseMtaStsRecord("v=STSv1; id=abc; ext_1=x:y").value(), "abc");
  EXPECT_EQ(ParseMtaStsRecord("v=STSv1 ;  id=abc  ").value(), "abc");
}

TEST(MtaStsRecordTest, RefusesWhatTheGrammarDoesNot) {
  for (const char* bad :
       {"", "v=STSv1", "v=STSv1;", "id=abc; v=STSv1", "v=STSv2; id=abc",
        "v=STSv1; id=", "v=STSv1; id=a-b", "v=STSv1; id=123456789012345678901234567890123",
        "v=STSv1; id=a; id=b", "v=STSv1;; id=a", "v=STSv1; id=a; junk", "v=STSv1; id=a; -x=y",
        "v=STSv1; id=a; x=y;z", " v=STSv1; id=a"}) {
    EXPECT_FALSE(ParseMtaStsRecord(bad).ok()) << bad;
  }
}

TEST(MtaStsRecordTest, ExactlyOneVersionedRecordCounts) {
  EXPECT_EQ(SelectMtaStsRecord({"v=spf1 -all", "v=STSv1; id=1"}).value(), "1");
  const auto none = SelectMtaStsRecord({"v=spf1 -all", "v=STSv10; id=1"});
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.error().message, HasSubstr("no TXT record"));
  const auto two = SelectMtaStsRecord({"v=STSv1; id=1", "v=STSv1; id=2"});
  ASSERT_FALSE(two.ok());
  EXPECT_THAT(two.error().message, HasSubstr("2 TXT records"));
  EXPECT_EQ(
      RecordsWithVersion({"v=STSv1; id=1", "v=STSv1", "v=STSv1x", "x v=STSv1"}, "v=STSv1").size(),
      2u);
}

// ---- The policy file (RFC 8461 §3.2) ------------------------------------------------------

TEST(MtaStsPolicyTest, ReadsTheRfcExample) {
  const auto policy = ParseMtaStsPolicy(
      "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
      "mx: backupmx.example.com\r\nmax_age: 604800\r\n");
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  EXPECT_EQ(policy.value().mode, MtaStsMode::kEnforce);
  EXPECT_THAT(policy.value().mx,
              ElementsAre("mail.example.com", "*.example.net", "backupmx.example.com"));
  EXPECT_EQ(policy.value().max_age_seconds, 604800);
}

TEST(MtaStsPolicyTest, AcceptsLfOrderAndExtensions) {
  const auto policy = ParseMtaStsPolicy(
      "max_age:86400\nmode:   testing\nfuture_key: whatever\nmx: mx.example.org\n"
      "version: STSv1");
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  EXPECT_EQ(policy.value().mode, MtaStsMode::kTesting);
  EXPECT_EQ(policy.value().max_age_seconds, 86400);
  const auto none = ParseMtaStsPolicy("version: STSv1\nmode: none\nmax_age: 0\n");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_TRUE(none.value().mx.empty());
}

TEST(MtaStsPolicyTest, RefusesBrokenPolicies) {
  const std::string ok_tail = "mx: mx.example.org\nmax_age: 600\n";
  const std::vector<std::string> bad_policies = {
      "<html>not found</html>",
      "mode: enforce\n" + ok_tail,
      "version: STSv2\nmode: enforce\n" + ok_tail,
      "version: STSv1\nmode: strict\n" + ok_tail,
      "version: STSv1\nmode: enforce\nmx: mx.example.org\n",
      "version: STSv1\nmode: enforce\nmax_age: 600\n",
      "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 31557601\n",
      "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: -1\n",
      "version: STSv1\nmode: enforce\nmx: mx.example.org\nmax_age: 12345678901\n",
      "version: STSv1\nmode: enforce\nmx: mx .example.org\nmax_age: 600\n",
      "version: STSv1\nmode: enforce\nmx: *.*.example.org\nmax_age: 600\n",
      "version: STSv1\nmode: enforce\nmode: none\n" + ok_tail,
      "version: STSv1\nmode: enforce\nno colon here\n" + ok_tail,
      std::string(kMaxPolicyBytes + 1, 'a')};
  for (const std::string& bad : bad_policies) {
    EXPECT_FALSE(ParseMtaStsPolicy(bad).ok()) << bad.substr(0, 60);
  }
}

// ---- MX pattern matching (RFC 8461 §4.1) ----------------------------------------------------

TEST(MtaStsMatchTest, WildcardCoversExactlyOneLabel) {
  EXPECT_TRUE(MxPatternMatches("mail.example.com", "mail.example.com"));
  EXPECT_TRUE(MxPatternMatches("mail.example.com", "MAIL.Example.COM."));
  EXPECT_FALSE(MxPatternMatches("mail.example.com", "mail2.example.com"));
  EXPECT_TRUE(MxPatternMatches("*.example.com", "mx1.example.com"));
  EXPECT_FALSE(MxPatternMatches("*.example.com", "example.com"));
  EXPECT_FALSE(MxPatternMatches("*.example.com", "a.b.example.com"));
  EXPECT_FALSE(MxPatternMatches("*.example.com", "mx1.notexample.com"));
  EXPECT_FALSE(MxPatternMatches("*.example.com", ".example.com"));
  EXPECT_FALSE(MxPatternMatches("", "mx1.example.com"));
}

// ---- The _smtp._tls record (RFC 8460 §3) ----------------------------------------------------

TEST(TlsRptRecordTest, ReadsReportingUris) {
  EXPECT_THAT(ParseTlsRptRecord("v=TLSRPTv1; rua=mailto:reports@example.com").value(),
              ElementsAre("mailto:reports@example.com"));
  EXPECT_THAT(
      ParseTlsRptRecord("v=TLSRPTv1;rua=mailto:a@example.com, https://reports.example.com/tls;")
          .value(),
      ElementsAre("mailto:a@example.com", "https://reports.example.com/tls"));
}

TEST(TlsRptRecordTest, RefusesBadRecordsAndSchemes) {
  for (const char* bad :
       {"v=TLSRPTv1", "v=TLSRPTv1; rua=", "v=TLSRPTv1; rua=ftp://example.com",
        "v=TLSRPTv1; rua=mailto:", "v=TLSRPTv1; rua=mailto:nobody", "v=TLSRPTv1; rua=https://",
        "v=TLSRPTv1; rua=mailto:a@example.com,", "rua=mailto:a@example.com; v=TLSRPTv1",
        "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com",
        " v=TLSRPTv1; rua=mailto:a@example.com"}) {
    EXPECT_FALSE(ParseTlsRptRecord(bad).ok()) << bad;
  }
  EXPECT_FALSE(SelectTlsRptRecord(
                   {"v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com"})
                   .ok());
}

// ---- Collection through a fake resolver: nothing is asked when the options are off ----------

TEST(TransportPoliciesTest, OptionsOffAskNothing) {
  testing::FakeResolver resolver;
  CheckOptions options;
  options.test_mta_sts = false;
  options.test_tls_rpt = false;
  const TransportPolicies found = ProbeTransportPolicies(
      resolver, "example.org", options, std::chrono::steady_clock::now() + std::chrono::seconds(1));
  EXPECT_FALSE(found.mta_sts.has_value());
  EXPECT_FALSE(found.tls_rpt.has_value());
  EXPECT_TRUE(resolver.asked().empty());
}

TEST(TransportPoliciesTest, ReadsRecordsAndSkipsTheFetchWithoutAValidRecord) {
  testing::FakeResolver resolver;
  DnsAnswer mta_sts;
  mta_sts.status = DnsStatus::kOk;
  mta_sts.txt = {"v=STSv1; id=1", "v=STSv1; id=2"};
  resolver.Set("_mta-sts.example.org", DnsType::kTxt, mta_sts);
  DnsAnswer tls_rpt;
  tls_rpt.status = DnsStatus::kOk;
  tls_rpt.txt = {"v=TLSRPTv1; rua=mailto:tls@example.org"};
  resolver.Set("_smtp._tls.example.org", DnsType::kTxt, tls_rpt);
  const TransportPolicies found =
      ProbeTransportPolicies(resolver, "example.org", CheckOptions{},
                             std::chrono::steady_clock::now() + std::chrono::seconds(1));
  ASSERT_TRUE(found.mta_sts.has_value());
  EXPECT_EQ(found.mta_sts->record_count, 2u);
  EXPECT_THAT(found.mta_sts->record_error, HasSubstr("2 TXT records"));
  EXPECT_EQ(found.mta_sts->fetch_status, PolicyFetchStatus::kNotAttempted);
  ASSERT_TRUE(found.tls_rpt.has_value());
  EXPECT_THAT(found.tls_rpt->rua, ElementsAre("mailto:tls@example.org"));
  // Two TXT queries, and no address lookup of mta-sts.example.org: nothing to fetch.
  for (const DnsQuery& query : resolver.asked()) {
    EXPECT_EQ(query.type, DnsType::kTxt) << query.name;
  }
}

TEST(TransportPoliciesTest, PolicyHostWithoutAddressIsResolveFailed) {
  testing::FakeResolver resolver;
  DnsAnswer mta_sts;
  mta_sts.status = DnsStatus::kOk;
  mta_sts.txt = {"v=STSv1; id=1"};
  resolver.Set("_mta-sts.example.org", DnsType::kTxt, mta_sts);
  CheckOptions options;
  options.test_tls_rpt = false;
  const TransportPolicies found = ProbeTransportPolicies(
      resolver, "example.org", options, std::chrono::steady_clock::now() + std::chrono::seconds(1));
  ASSERT_TRUE(found.mta_sts.has_value());
  EXPECT_EQ(found.mta_sts->record_id, "1");
  EXPECT_EQ(found.mta_sts->fetch_status, PolicyFetchStatus::kResolveFailed);
  EXPECT_THAT(found.mta_sts->fetch_error, HasSubstr("mta-sts.example.org has no address"));
  EXPECT_FALSE(found.tls_rpt.has_value());
}

// A policy host in a denied network (a /probe caller's internal address) is never connected to.
TEST(TransportPoliciesTest, DeniedPolicyAddressIsNotFetched) {
  testing::FakeResolver resolver;
  DnsAnswer mta_sts;
  mta_sts.status = DnsStatus::kOk;
  mta_sts.txt = {"v=STSv1; id=1"};
  resolver.Set("_mta-sts.example.org", DnsType::kTxt, mta_sts);
  resolver.SetAddresses("mta-sts.example.org", DnsType::kA, {"127.0.0.1"});
  CheckOptions options;
  options.test_tls_rpt = false;
  options.mta_sts_port = 1;  // were it connected to, this would be refused, not "not allowed"
  const TransportPolicies found = ProbeTransportPolicies(
      resolver, "example.org", options, std::chrono::steady_clock::now() + std::chrono::seconds(2),
      {IpNetwork::Parse("127.0.0.0/8").value()});
  ASSERT_TRUE(found.mta_sts.has_value());
  EXPECT_EQ(found.mta_sts->fetch_status, PolicyFetchStatus::kError);
  EXPECT_THAT(found.mta_sts->fetch_error, HasSubstr("address not allowed: 127.0.0.1 is in"));
}

// ---- The rules ------------------------------------------------------------------------------

constexpr char kDomain[] = "example.org";

DomainObservation Domain() {
  return testing::HealthyDomain(kDomain, {{10, "mx1.example.org", {"198.51.100.25"}},
                                          {20, "mx2.example.org", {"198.51.100.26"}}});
}

MtaStsObservation GoodMtaSts(MtaStsMode mode, std::vector<std::string> mx) {
  MtaStsObservation m;
  m.record_lookup = {DnsStatus::kOk, "", {"v=STSv1; id=1"}};
  m.record_count = 1;
  m.record_id = "1";
  m.policy_host = "mta-sts.example.org";
  m.fetch_status = PolicyFetchStatus::kOk;
  m.http_status = 200;
  m.policy = MtaStsPolicy{mode, std::move(mx), 86400};
  return m;
}

TlsRptObservation GoodTlsRpt() {
  TlsRptObservation t;
  t.record_lookup = {DnsStatus::kOk, "", {"v=TLSRPTv1; rua=mailto:tls@example.org"}};
  t.record_count = 1;
  t.rua = {"mailto:tls@example.org"};
  return t;
}

// The findings of `code` that are not OK, as "severity subject".
std::vector<std::string> Failures(const DomainObservation& obs, std::string_view code,
                                  const RuleSelection& rules = RuleSelection::Defaults()) {
  std::vector<std::string> out;
  for (const Finding& f : Evaluate(obs, testing::FixtureOptions(), rules)) {
    if (f.code == code && f.severity != Severity::kOk) {
      out.push_back(std::string(SeverityName(f.severity)) + " " + f.subject.Text());
    }
  }
  return out;
}

bool HasOk(const DomainObservation& obs, std::string_view code) {
  const auto findings = Evaluate(obs, testing::FixtureOptions());
  return std::any_of(findings.begin(), findings.end(), [&](const Finding& f) {
    return f.code == code && f.severity == Severity::kOk;
  });
}

TEST(PolicyRulesTest, NotCollectedMeansNoFinding) {
  const DomainObservation obs = Domain();
  for (const Finding& f : Evaluate(obs, testing::FixtureOptions())) {
    EXPECT_NE(f.rule, "smtp.mta_sts");
    EXPECT_NE(f.rule, "smtp.tls_rpt");
  }
}

TEST(PolicyRulesTest, GoodEnforcePolicyPassesEverything) {
  DomainObservation obs = Domain();
  obs.mta_sts = GoodMtaSts(MtaStsMode::kEnforce, {"*.example.org"});
  obs.tls_rpt = GoodTlsRpt();
  for (const char* code :
       {"smtp.mta_sts.missing", "smtp.mta_sts.record_invalid", "smtp.mta_sts.policy_unavailable",
        "smtp.mta_sts.policy_invalid", "smtp.mta_sts.mx_not_covered",
        "smtp.mta_sts.starttls_missing", "smtp.tls_rpt.missing", "smtp.tls_rpt.invalid"}) {
    EXPECT_TRUE(Failures(obs, code).empty()) << code;
    EXPECT_TRUE(HasOk(obs, code)) << code;
  }
}

TEST(PolicyRulesTest, MissingRecordsAreInfo) {
  DomainObservation obs = Domain();
  obs.mta_sts = MtaStsObservation{};
  obs.mta_sts->record_lookup.status = DnsStatus::kNxDomain;
  obs.tls_rpt = TlsRptObservation{};
  obs.tls_rpt->record_lookup = {DnsStatus::kOk, "", {"v=spf1 -all"}};
  EXPECT_THAT(Failures(obs, "smtp.mta_sts.missing"), ElementsAre("info example.org"));
  EXPECT_THAT(Failures(obs, "smtp.tls_rpt.missing"), ElementsAre("info example.org"));
}

TEST(PolicyRulesTest, BrokenRecordsWarnAndLookupFailuresAreErrors) {
  DomainObservation obs = Domain();
  obs.mta_sts = GoodMtaSts(MtaStsMode::kEnforce, {"*.example.org"});
  obs.mta_sts->record_count = 2;
  obs.mta_sts->record_error = "2 TXT records start with v=STSv1";
  obs.mta_sts->fetch_status = PolicyFetchStatus::kNotAttempted;
  obs.mta_sts->policy.reset();
  obs.tls_rpt = GoodTlsRpt();
  obs.tls_rpt->record_error = "the URI \"ftp://x\" is neither mailto: nor https:";
  EXPECT_THAT(Failures(obs, "smtp.mta_sts.record_invalid"), ElementsAre("warn example.org"));
  EXPECT_THAT(Failures(obs, "smtp.tls_rpt.invalid"), ElementsAre("warn example.org"));
  obs.mta_sts->record_lookup.status = DnsStatus::kServFail;
  obs.tls_rpt->record_lookup.status = DnsStatus::kTimeout;
  EXPECT_THAT(Failures(obs, "smtp.mta_sts.record_invalid"), ElementsAre("error example.org"));
  EXPECT_THAT(Failures(obs, "smtp.tls_rpt.invalid"), ElementsAre("error example.org"));
  EXPECT_TRUE(Failures(obs, "smtp.mta_sts.missing").empty());
}

TEST(PolicyRulesTest, UnfetchableAndUnparsablePoliciesWarn) {
  DomainObservation obs = Domain();
  obs.mta_sts = GoodMtaSts(MtaStsMode::kEnforce, {"*.example.org"});
  obs.mta_sts->fetch_status = PolicyFetchStatus::kTlsFailed;
  obs.mta_sts->fetch_error = "the certificate did not verify";
  obs.mta_sts->policy.reset();
  EXPECT_THAT(Failures(obs, "smtp.mta_sts.policy_unavailable"), ElementsAre("warn example.org"));
  EXPECT_TRUE(Failures(obs, "smtp.mta_sts.mx_not_covered").empty());
  obs.mta_sts->fetch_status = PolicyFetchStatus::kInvalid;
  EXPECT_THAT(Failures(obs, "smtp.mta_sts.policy_invalid"), ElementsAre("warn example.org"));
  EXPECT_TRUE(Failures(obs, "smtp.mta_sts.policy_unavailable").empty());
}

TEST(PolicyRulesTest, UncoveredMxIsCritUnderEnforceAndWarnUnderTesting) {
  DomainObservation obs = Domain();
  obs.mta_sts = GoodMtaSts(MtaStsMode::kEnforce, {"mx1.example.org"});
  EXPECT_THAT(Failures(obs, "smtp.mta_sts.mx_not_covered"), ElementsAre("crit mx2.example.org"));
  obs.mta_sts->policy->mode = MtaStsMode::kTesting;
  EXPECT_THAT(Failures(obs, "smtp.mta_sts.mx_not_covered"), ElementsAre("warn mx2.example.org"));
  obs.mta_sts->policy->mode = MtaStsMode::kNone;
  EXPECT_TRUE(Failures(obs, "smtp.mta_sts.mx_not_covered").empty());
}

TEST(PolicyRulesTest, NoStartTlsUnderEnforceIsCrit) {
  DomainObservation obs = Domain();
  testing::WithoutStartTls(&obs.endpoints[1]);
  obs.mta_sts = GoodMtaSts(MtaStsMode::kEnforce, {"*.example.org"});
  EXPECT_THAT(Failures(obs, "smtp.mta_sts.starttls_missing"),
              ElementsAre("crit mx2.example.org [198.51.100.26]"));
  obs.mta_sts->policy->mode = MtaStsMode::kTesting;
  EXPECT_THAT(Failures(obs, "smtp.mta_sts.starttls_missing"),
              ElementsAre("warn mx2.example.org [198.51.100.26]"));
}

TEST(PolicyRulesTest, DisabledRuleTurnsTheOptionOff) {
  const RuleSelection off = RuleSelection::Defaults().With("smtp.mta_sts", false);
  const CheckOptions effective = EffectiveOptions(CheckOptions{}, off);
  EXPECT_FALSE(effective.test_mta_sts);
  EXPECT_TRUE(effective.test_tls_rpt);
  EXPECT_FALSE(
      EffectiveOptions(CheckOptions{}, RuleSelection::Defaults().With("smtp.tls_rpt", false))
          .test_tls_rpt);
  DomainObservation obs = Domain();
  obs.mta_sts = GoodMtaSts(MtaStsMode::kEnforce, {"nomatch.example.net"});
  EXPECT_TRUE(Failures(obs, "smtp.mta_sts.mx_not_covered", off).empty());
}

// ---- The TXT answer reader (probes/resolver.cc) ------------------------------------------

// A DNS reply to "_mta-sts.example.org TXT" holding `strings` as one record's
// character-strings, built by hand (RFC 1035 §4.1, §3.3.14).
std::vector<unsigned char> TxtReply(const std::vector<std::string>& strings) {
  std::vector<unsigned char> m = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
  auto name = [&m] {
    for (const char* label : {"_mta-sts", "example", "org"}) {
      m.push_back(static_cast<unsigned char>(std::string(label).size()));
      m.insert(m.end(), label, label + std::string(label).size());
    }
    m.push_back(0);
  };
  name();
  m.insert(m.end(), {0, 16, 0, 1});
  m.insert(m.end(), {0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60});
  std::vector<unsigned char> rdata;
  for (const std::string& s : strings) {
    rdata.push_back(static_cast<unsigned char>(s.size()));
    rdata.insert(rdata.end(), s.begin(), s.end());
  }
  m.push_back(static_cast<unsigned char>(rdata.size() >> 8));
  m.push_back(static_cast<unsigned char>(rdata.size() & 0xff));
  m.insert(m.end(), rdata.begin(), rdata.end());
  return m;
}

TEST(TxtAnswerTest, JoinsCharacterStringsOfOneRecord) {
  const std::vector<unsigned char> reply = TxtReply({"v=STSv1; ", "id=42"});
  DnsAnswer answer;
  ParseDnsAnswer({"_mta-sts.example.org", DnsType::kTxt}, reply.data(),
                 static_cast<int>(reply.size()), &answer);
  EXPECT_EQ(answer.status, DnsStatus::kOk);
  EXPECT_THAT(answer.txt, ElementsAre("v=STSv1; id=42"));
}

}  // namespace
}  // namespace smtp_exporter
