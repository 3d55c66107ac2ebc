// DANE (RFC 7672), from the wire to the verdict: TLSA replies read by ParseDnsAnswer (the AD bit,
// the rcode, the three parameters, bounds), the TLSA lookups ProbeDns makes (only when asked),
// and the smtp.dane rule, one test per finding, from hand-built observations.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "exporter/check/evaluate.h"
#include "probes/dns_probe.h"
#include "probes/domain_check.h"
#include "probes/observation_json.h"
#include "probes/resolver.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/observations.h"
#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::FakeClock;
using testing::FakeResolver;

constexpr unsigned char kAd = 0x20;

void U16(std::vector<unsigned char>* out, unsigned value) {
  out->push_back(static_cast<unsigned char>(value >> 8));
  out->push_back(static_cast<unsigned char>(value & 0xff));
}

void Name(std::vector<unsigned char>* out, const std::string& name) {
  std::size_t start = 0;
  while (start < name.size()) {
    const auto dot = name.find('.', start);
    const std::string label =
        name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    out->push_back(static_cast<unsigned char>(label.size()));
    out->insert(out->end(), label.begin(), label.end());
    if (dot == std::string::npos) {
      break;
    }
    start = dot + 1;
  }
  out->push_back(0);
}

struct Rdata {
  unsigned type = 52;
  std::vector<unsigned char> bytes;
};

// A reply to "_25._tcp.mx1.example.org TLSA" with header flags byte 3 = `flags_low` (RA, AD,
// rcode) and these answer records, each owned by the question name (a compression pointer).
std::vector<unsigned char> Reply(unsigned char flags_low, const std::vector<Rdata>& answers) {
  std::vector<unsigned char> m = {0xab, 0xcd, 0x81, flags_low};
  U16(&m, 1);
  U16(&m, static_cast<unsigned>(answers.size()));
  U16(&m, 0);
  U16(&m, 0);
  Name(&m, "_25._tcp.mx1.example.org");
  U16(&m, 52);
  U16(&m, 1);
  for (const Rdata& rr : answers) {
    m.push_back(0xc0);
    m.push_back(12);
    U16(&m, rr.type);
    U16(&m, 1);
    U16(&m, 0);
    U16(&m, 300);
    U16(&m, static_cast<unsigned>(rr.bytes.size()));
    m.insert(m.end(), rr.bytes.begin(), rr.bytes.end());
  }
  return m;
}

Rdata Tlsa(unsigned char usage, unsigned char selector, unsigned char matching,
           std::size_t data_length) {
  Rdata rr;
  rr.bytes = {usage, selector, matching};
  for (std::size_t i = 0; i < data_length; ++i) {
    rr.bytes.push_back(static_cast<unsigned char>(i));
  }
  return rr;
}

DnsAnswer Parse(const std::vector<unsigned char>& message) {
  DnsAnswer answer;
  ParseDnsAnswer({"_25._tcp.mx1.example.org", DnsType::kTlsa}, message.data(),
                 static_cast<int>(message.size()), &answer);
  return answer;
}

// ---- ParseDnsAnswer -------------------------------------------------------------------------

TEST(TlsaAnswerTest, ReadsTheRecordsAndTheAdBit) {
  const auto validated = Parse(Reply(0x80 | kAd, {Tlsa(3, 1, 1, 32), Tlsa(2, 0, 2, 64)}));
  EXPECT_EQ(validated.status, DnsStatus::kOk);
  EXPECT_TRUE(validated.authenticated);
  ASSERT_EQ(validated.tlsa.size(), 2u);
  EXPECT_EQ(validated.tlsa[0].usage, 3);
  EXPECT_EQ(validated.tlsa[0].selector, 1);
  EXPECT_EQ(validated.tlsa[0].matching_type, 1);
  EXPECT_EQ(validated.tlsa[0].data_length, 32u);
  EXPECT_EQ(validated.tlsa[0].data_hex.substr(0, 8), "00010203");
  EXPECT_EQ(validated.tlsa[1].usage, 2);
  EXPECT_EQ(validated.tlsa[1].data_length, 64u);

  // The same reply from a resolver that did not validate it: AD clear.
  const auto plain = Parse(Reply(0x80, {Tlsa(3, 1, 1, 32)}));
  EXPECT_EQ(plain.status, DnsStatus::kOk);
  EXPECT_FALSE(plain.authenticated);
  EXPECT_EQ(plain.tlsa.size(), 1u);
}

TEST(TlsaAnswerTest, RcodesAndEmptyAnswers) {
  EXPECT_EQ(Parse(Reply(0x80 | kAd, {})).status, DnsStatus::kNoData);
  const auto nx = Parse(Reply(0x80 | kAd | 3, {}));
  EXPECT_EQ(nx.status, DnsStatus::kNxDomain);
  EXPECT_TRUE(nx.authenticated);  // a validated denial of existence
  EXPECT_EQ(Parse(Reply(0x80 | 2, {})).status, DnsStatus::kServFail);
  EXPECT_EQ(Parse(Reply(0x80 | 5, {})).status, DnsStatus::kRefused);
  const auto odd = Parse(Reply(0x80 | 4, {}));
  EXPECT_EQ(odd.status, DnsStatus::kError);
  EXPECT_THAT(odd.error, HasSubstr("rcode 4"));
  // Only TLSA records count: a CNAME in front of them is skipped.
  Rdata cname;
  cname.type = 5;
  Name(&cname.bytes, "tlsa.example.net");
  EXPECT_EQ(Parse(Reply(0x80, {cname})).status, DnsStatus::kNoData);
  EXPECT_EQ(Parse(Reply(0x80, {cname, Tlsa(3, 1, 1, 32)})).tlsa.size(), 1u);
}

TEST(TlsaAnswerTest, BoundedAndMalformedRepliesAreData) {
  // A whole certificate (Full(0)) keeps its length, but only 64 bytes of it are shown.
  const auto full = Parse(Reply(0x80, {Tlsa(3, 0, 0, 1000)}));
  ASSERT_EQ(full.tlsa.size(), 1u);
  EXPECT_EQ(full.tlsa[0].data_length, 1000u);
  EXPECT_EQ(full.tlsa[0].data_hex.size(), 2 * TlsaRecord::kMaxTlsaDataShown);
  // No more than kMaxTlsaRecords records are kept.
  const auto many = Parse(Reply(0x80, std::vector<Rdata>(40, Tlsa(3, 1, 1, 32))));
  EXPECT_EQ(many.status, DnsStatus::kOk);
  EXPECT_EQ(many.tlsa.size(), DaneLookup::kMaxTlsaRecords);

  const auto short_rdata = Parse(Reply(0x80, {Rdata{52, {3, 1}}}));
  EXPECT_EQ(short_rdata.status, DnsStatus::kError);
  EXPECT_THAT(short_rdata.error, HasSubstr("shorter than its three parameters"));
  auto truncated = Reply(0x80, {Tlsa(3, 1, 1, 32)});
  truncated.resize(truncated.size() - 5);
  EXPECT_EQ(Parse(truncated).status, DnsStatus::kError);
  EXPECT_TRUE(Parse(truncated).tlsa.empty());
  EXPECT_EQ(Parse({0x00, 0x01}).status, DnsStatus::kError);
  // A pointer loop in a name stops at the label bound.
  std::vector<unsigned char> loop = {0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0xc0, 12};
  EXPECT_EQ(Parse(loop).status, DnsStatus::kError);
}

// ---- ProbeDns -------------------------------------------------------------------------------

class DaneProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    resolver_.SetMx("example.org", {{10, "mx1.example.org"}, {20, "192.0.2.9"}});
    resolver_.SetAddresses("mx1.example.org", DnsType::kA, {"192.0.2.1"});
    DnsAnswer tlsa;
    tlsa.status = DnsStatus::kOk;
    tlsa.tlsa = {{3, 1, 1, 32, "ab"}};
    tlsa.authenticated = true;
    resolver_.Set("_10025._tcp.mx1.example.org", DnsType::kTlsa, tlsa);
  }
  std::vector<DnsQuery> TlsaQueries() const {
    std::vector<DnsQuery> tlsa;
    for (const DnsQuery& query : resolver_.asked()) {
      if (query.type == DnsType::kTlsa) tlsa.push_back(query);
    }
    return tlsa;
  }
  FakeClock clock_;
  FakeResolver resolver_;
};

TEST_F(DaneProbeTest, LooksUpTlsaAtThePortOfEachHostNamedMx) {
  const auto dns = ProbeDns(resolver_, clock_, "example.org",
                            clock_.Now() + std::chrono::seconds(5), {}, std::uint16_t{10025});
  // The IP literal gets no TLSA query (RFC 7672 §2.2.2 names hosts).
  EXPECT_THAT(TlsaQueries(), ElementsAre(DnsQuery{"_10025._tcp.mx1.example.org", DnsType::kTlsa}));
  ASSERT_EQ(dns.mx_targets.size(), 2u);
  const DaneLookup& dane = dns.mx_targets[0].tlsa;
  EXPECT_EQ(dane.name, "_10025._tcp.mx1.example.org");
  EXPECT_EQ(dane.lookup.status, DnsStatus::kOk);
  EXPECT_TRUE(dane.authenticated);
  EXPECT_THAT(dane.records, ElementsAre(TlsaRecord{3, 1, 1, 32, "ab"}));
  EXPECT_EQ(dns.mx_targets[1].tlsa.lookup.status, DnsStatus::kNotQueried);
}

TEST_F(DaneProbeTest, NothingIsQueriedWhenTheOptionOrTheRuleIsOff) {
  testing::ScriptedTransportFactory transports;
  for (int i = 0; i < 3; ++i) {
    transports.AddConnectError(Error{ErrorCode::kConnectionRefused, "refused"});
  }
  DomainCheckSettings settings;
  settings.endpoint_concurrency = 1;  // the scripted factory is single-threaded
  CheckOptions options = testing::FixtureOptions();
  options.port = 10025;
  ASSERT_FALSE(options.test_dane);  // off by default
  CheckDomain("example.org", options, settings, resolver_, transports, clock_);
  EXPECT_THAT(TlsaQueries(), IsEmpty());

  options.test_dane = true;
  const CheckOptions rule_off =
      EffectiveOptions(options, RuleSelection::Defaults().With("smtp.dane", false));
  CheckDomain("example.org", rule_off, settings, resolver_, transports, clock_);
  EXPECT_THAT(TlsaQueries(), IsEmpty());

  const auto obs = CheckDomain("example.org", options, settings, resolver_, transports, clock_);
  EXPECT_EQ(TlsaQueries().size(), 1u);
  EXPECT_EQ(obs.dns.mx_targets[0].tlsa.records.size(), 1u);
}

// ---- The rule -------------------------------------------------------------------------------

DomainObservation WithTlsa(DnsStatus status, std::vector<TlsaRecord> records,
                           bool authenticated) {
  DomainObservation obs = testing::HealthyDomain("example.org", {{10, "mx1.example.org",
                                                                  {"192.0.2.1"}}});
  DaneLookup& dane = obs.dns.mx_targets[0].tlsa;
  dane.name = "_25._tcp.mx1.example.org";
  dane.lookup = {status, IsDnsFailure(status) ? "server failure" : ""};
  dane.records = std::move(records);
  dane.authenticated = authenticated;
  return obs;
}

// "code:severity" of the smtp.dane findings, OK ones included.
std::vector<std::string> DaneFindings(const DomainObservation& obs, bool test_dane = true) {
  CheckOptions options = testing::FixtureOptions();
  options.test_dane = test_dane;
  std::vector<std::string> out;
  for (const Finding& finding : Evaluate(obs, options)) {
    if (finding.rule == "smtp.dane") {
      out.push_back(finding.code + ":" + std::string(SeverityName(finding.severity)) + " " +
                    finding.message);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

const TlsaRecord kGood{3, 1, 1, 32, "00"};

TEST(DaneRuleTest, ValidatedUsableTlsaPassesEveryCode) {
  const auto findings = DaneFindings(WithTlsa(DnsStatus::kOk, {kGood}, true));
  ASSERT_EQ(findings.size(), 4u);
  for (const auto& finding : findings) {
    EXPECT_THAT(finding, HasSubstr(":ok ")) << finding;
  }
  EXPECT_THAT(findings[1], HasSubstr("1 TLSA record(s) at _25._tcp.mx1.example.org: 3 1 1"));
}

TEST(DaneRuleTest, NoTlsaIsInfo) {
  for (const DnsStatus status : {DnsStatus::kNxDomain, DnsStatus::kNoData}) {
    const auto findings = DaneFindings(WithTlsa(status, {}, false));
    ASSERT_EQ(findings.size(), 2u);
    EXPECT_THAT(findings[0], HasSubstr("smtp.dane.lookup_failed:ok"));
    EXPECT_THAT(findings[1], HasSubstr("smtp.dane.no_tlsa:info no TLSA record at "
                                       "_25._tcp.mx1.example.org"));
  }
}

TEST(DaneRuleTest, TlsaWithoutDnssecIsUseless) {
  const auto findings = DaneFindings(WithTlsa(DnsStatus::kOk, {kGood}, false));
  EXPECT_THAT(findings, ::testing::Contains(HasSubstr(
                            "smtp.dane.not_validated:warn TLSA records at "
                            "_25._tcp.mx1.example.org are published, but the answer is not "
                            "DNSSEC-validated")));
  EXPECT_THAT(findings, ::testing::Contains(HasSubstr("RFC 7672 §2.2")));
}

TEST(DaneRuleTest, UnusableParametersNameEachRecord) {
  const std::vector<TlsaRecord> records = {
      {0, 0, 1, 32, ""},   // PKIX-TA
      {1, 1, 1, 32, ""},   // PKIX-EE
      {4, 1, 1, 32, ""},   // unassigned usage
      {3, 2, 1, 32, ""},   // unassigned selector
      {3, 1, 3, 32, ""},   // unassigned matching type
      {3, 1, 1, 20, ""},   // SHA-256 of the wrong length
      {2, 0, 2, 32, ""},   // SHA-512 of the wrong length
      {3, 1, 0, 0, ""},    // Full with no data
      kGood};
  const auto findings = DaneFindings(WithTlsa(DnsStatus::kOk, records, true));
  std::string unusable;
  for (const auto& finding : findings) {
    if (finding.starts_with("smtp.dane.unusable_parameters:warn")) unusable = finding;
  }
  EXPECT_THAT(unusable, HasSubstr("8 of 9 TLSA record(s)"));
  EXPECT_THAT(unusable, HasSubstr("TLSA 0 0 1: PKIX-TA(0) is not for SMTP (RFC 7672 §3.1.3)"));
  EXPECT_THAT(unusable, HasSubstr("TLSA 1 1 1: PKIX-EE(1) is not for SMTP"));
  EXPECT_THAT(unusable, HasSubstr("unassigned usage 4"));
  EXPECT_THAT(unusable, HasSubstr("unassigned selector 2"));
  EXPECT_THAT(unusable, HasSubstr("unassigned matching type 3"));
  EXPECT_THAT(unusable, HasSubstr("a SHA2-256(1) digest of 20 bytes, not 32"));
  EXPECT_THAT(unusable, HasSubstr("a SHA2-512(2) digest of 32 bytes, not 64"));
  EXPECT_THAT(unusable, HasSubstr("Full(0) with no association data"));
  EXPECT_THAT(unusable, ::testing::Not(HasSubstr("none usable")));

  const auto only_pkix = DaneFindings(WithTlsa(DnsStatus::kOk, {records[0]}, true));
  EXPECT_THAT(only_pkix, ::testing::Contains(HasSubstr("none usable")));
}

TEST(DaneRuleTest, FailedLookupIsWarnAndNothingElse) {
  const auto findings = DaneFindings(WithTlsa(DnsStatus::kServFail, {}, false));
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_THAT(findings[0], HasSubstr("smtp.dane.lookup_failed:warn TLSA "
                                     "_25._tcp.mx1.example.org lookup failed"));
  EXPECT_THAT(findings[0], HasSubstr("defer mail"));
}

TEST(DaneRuleTest, SilentWhenNotCollectedOrOff) {
  DomainObservation obs = testing::HealthyDomain("example.org", {{10, "mx1.example.org",
                                                                  {"192.0.2.1"}}});
  EXPECT_THAT(DaneFindings(obs), IsEmpty());  // not collected
  EXPECT_THAT(DaneFindings(WithTlsa(DnsStatus::kOk, {kGood}, false), false), IsEmpty());
  obs = WithTlsa(DnsStatus::kOk, {kGood}, false);
  CheckOptions options = testing::FixtureOptions();
  options.test_dane = true;
  for (const Finding& finding :
       Evaluate(obs, options, RuleSelection::Defaults().With("smtp.dane", false))) {
    EXPECT_NE(finding.rule, "smtp.dane");
  }
}

TEST(DaneRuleTest, JsonRoundTripKeepsTheLookupAndOlderDocumentsReadAsNotCollected) {
  const DomainObservation obs = WithTlsa(DnsStatus::kOk, {kGood, {0, 0, 1, 32, "ff"}}, true);
  const nlohmann::json written = ToJson(obs);
  ASSERT_TRUE(written["dns"]["mx_targets"][0].contains("tlsa"));
  const Result<DomainObservation> read = DomainObservationFromJson(written);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read.value().dns.mx_targets[0].tlsa.records, obs.dns.mx_targets[0].tlsa.records);
  EXPECT_TRUE(read.value().dns.mx_targets[0].tlsa.authenticated);
  EXPECT_EQ(DaneFindings(read.value()), DaneFindings(obs));

  nlohmann::json older = written;
  older["dns"]["mx_targets"][0].erase("tlsa");
  const Result<DomainObservation> old = DomainObservationFromJson(older);
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_EQ(old.value().dns.mx_targets[0].tlsa.lookup.status, DnsStatus::kNotQueried);
  EXPECT_THAT(DaneFindings(old.value()), IsEmpty());

  nlohmann::json bad = written;
  bad["dns"]["mx_targets"][0]["tlsa"]["records"][0]["usage"] = 300;
  EXPECT_FALSE(DomainObservationFromJson(bad).ok());
}

}  // namespace
}  // namespace smtp_exporter
