#include "probes/observation_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "exporter/check/evaluate.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

TEST(ObservationJsonTest, CarriesTheFieldsReadersNeed) {
  EndpointObservation e;
  e.domain = "example.org";
  e.mx_name = "mx.example.org";
  e.ip = *IpAddress::Parse("192.0.2.25");
  e.connect_status = ConnectStatus::kConnected;
  e.greeting = Reply{220, {"220 mx.example.org ESMTP"}};
  e.extensions_plain.Add({"STARTTLS", ""});
  e.extensions_tls.Add({"AUTH", "PLAIN"});
  e.starttls.offered = e.starttls.attempted = e.starttls.ok = true;
  e.starttls.tls.version = "TLSv1.3";
  e.open_relay.outcome = ProbeOutcome::kAccepted;
  e.transcript.push_back({0.5, TranscriptEntry::Direction::kServer, "220 mx.example.org ESMTP"});

  const nlohmann::json j = ToJson(e);
  EXPECT_EQ(j["connect"]["status"], "connected");
  EXPECT_EQ(j["greeting"]["reply"]["code"], 220);
  EXPECT_EQ(j["extensions"]["union"].size(), 2u);
  EXPECT_EQ(j["starttls"]["tls"]["version"], "TLSv1.3");
  EXPECT_EQ(j["transactions"]["open_relay"]["outcome"], "accepted");
  EXPECT_EQ(j["transactions"]["null_sender"]["outcome"], "not_tested");
  EXPECT_EQ(j["transcript"][0]["dir"], "server");
  EXPECT_EQ(j["family"], "ipv4");
}

TEST(ObservationJsonTest, OlderDocumentsWithoutSessionReadAsASessionOfTheirOwn) {
  EndpointObservation shared;
  shared.session_domains = 5;
  shared.session_opened_for = "other.example";
  nlohmann::json j = ToJson(shared);
  EXPECT_EQ(j["session"]["domains"], 5);
  EXPECT_EQ(j["session"]["opened_for"], "other.example");
  DomainObservation obs;
  obs.domain = "example.org";
  obs.endpoints = {shared};
  nlohmann::json document = ToJson(obs);
  document["endpoints"][0].erase("session");
  const Result<DomainObservation> read = DomainObservationFromJson(document);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read.value().endpoints.at(0).session_domains, 1u);
  EXPECT_EQ(read.value().endpoints.at(0).session_opened_for, "");
}

TEST(ObservationJsonTest, InvalidUtf8FromTheNetworkDoesNotThrow) {
  EndpointObservation e;
  e.greeting = Reply{220, {"220 \xff\xfe broken \xc3"}};
  std::string text;
  EXPECT_NO_THROW(text = DumpJson(ToJson(e)));
  EXPECT_NE(text.find("broken"), std::string::npos);
  EXPECT_TRUE(nlohmann::json::accept(text));
}


// Every field set, so that a field the reader forgets shows as a difference.
DomainObservation RichObservation() {
  using testing::HealthyEndpoint;
  using testing::Ip;
  using testing::Mx;
  using testing::Reverse;
  DomainObservation obs;
  obs.domain = "example.org";
  obs.started_at_unix = 1764400000.25;
  obs.duration_seconds = 1.5;
  obs.dns.domain = "example.org";
  obs.dns.mx = {DnsStatus::kOk, ""};
  obs.dns.mx_targets = {Mx(10, "mx1.example.org", {"192.0.2.1", "2001:db8::1"}),
                        Mx(20, "mx2.example.org", {"192.0.2.2"})};
  obs.dns.mx_targets[1].cname_chain = {"alias.example.net"};
  obs.dns.mx_targets[1].aaaa = {DnsStatus::kServFail, "server failed"};
  // DANE: validated records (one unusable) at mx1, a failed TLSA lookup at mx2.
  obs.dns.mx_targets[0].tlsa = {"_25._tcp.mx1.example.org",
                                {DnsStatus::kOk, ""},
                                {{3, 1, 1, 32, "0a1b"}, {0, 0, 2, 64, "ff"}},
                                true};
  obs.dns.mx_targets[1].tlsa = {
      "_25._tcp.mx2.example.org", {DnsStatus::kServFail, "server failure"}, {}, false};
  obs.dns.null_mx_mixed = true;
  obs.dns.implicit_a = {DnsStatus::kNoData, ""};
  obs.dns.implicit_addresses = {Ip("192.0.2.9")};
  obs.dns.reverse = {Reverse("192.0.2.1", DnsStatus::kOk, {"mx1.example.org"}, true),
                     Reverse("192.0.2.2", DnsStatus::kNxDomain, {}, std::nullopt)};
  obs.dns.reverse[1].fcrdns_failures = {{"mx2.example.org", {DnsStatus::kTimeout, "no answer"}}};
  obs.dns.timed_out = true;
  obs.dns.duration_seconds = 0.25;
  obs.plan.endpoints = {{"mx1.example.org", 10, Ip("192.0.2.1"), {"mx3.example.org"}},
                        {"mx1.example.org", 10, Ip("2001:db8::1"), {}}};
  obs.plan.dropped_over_cap = 3;
  EndpointObservation healthy = HealthyEndpoint("example.org", "mx1.example.org", "192.0.2.1");
  healthy.starttls.tls.peer_dns_names = {"mx1.example.org", "mx.example.org"};
  healthy.starttls.tls.peer_not_after_unix = 1800000000;
  healthy.starttls.plaintext_bytes_discarded = 7;
  healthy.protocol_violations = {"bare LF", "line over 512 octets"};
  healthy.phases = {{"connect", 0.01}, {"greeting", 0.02}, {"ehlo", 0.03}, {"total", 0.2}};
  healthy.transcript = {{0.0, TranscriptEntry::Direction::kNote, "connected"},
                        {0.01, TranscriptEntry::Direction::kServer, "220 mx1 ESMTP \u00e9"},
                        {0.02, TranscriptEntry::Direction::kClient, "EHLO probe"}};
  EndpointObservation odd = healthy;
  odd.ip = Ip("2001:db8::1");
  odd.port = 2525;
  odd.connect_status = ConnectStatus::kConnected;
  odd.helo = Reply{250, {"250 ok"}};
  odd.ehlo = Reply{502, {"502 5.5.2 no"}};
  odd.esmtp = false;
  odd.helo_fallback = true;
  odd.session_domains = 7;  // a shared session, opened for another domain's check
  odd.session_opened_for = "other.example";
  odd.starttls = {};
  odd.starttls.error = "handshake failed";
  odd.tls_ehlo.reset();
  odd.transactions_channel = TransactionChannel::kPlainReconnect;
  odd.transactions_pipelined = true;
  odd.postmaster = {ProbeOutcome::kTemporary,
                    {{"RCPT TO:<postmaster@example.org>", Reply{450, {"450 later"}}, ""},
                     {"RSET", std::nullopt, "timeout"}},
                    "greylisted"};
  odd.limit_exceeded = "reply over 100 lines";
  odd.session_error = "timeout: no reply";
  odd.session_error_code = ErrorCode::kTimeout;
  odd.failure = ProbeFailure{"transactions", FailureReason::kTimeout};
  EndpointObservation dead;
  dead.domain = "example.org";
  dead.mx_name = "mx2.example.org";
  dead.ip = Ip("192.0.2.2");
  dead.connect_status = ConnectStatus::kNoRoute;
  dead.connect_error = "Network is unreachable";
  obs.endpoints = {healthy, odd, dead};
  // The policy records (RFC 8461, RFC 8460): every field set, an enforce policy over an MX it
  // does not cover, so their verdicts are compared too.
  MtaStsObservation mta_sts;
  mta_sts.record_lookup = {DnsStatus::kOk, "", {"v=spf1 -all", "v=STSv1; id=20260101"}};
  mta_sts.record_count = 1;
  mta_sts.record_id = "20260101";
  mta_sts.policy_host = "mta-sts.example.org";
  mta_sts.fetch_status = PolicyFetchStatus::kOk;
  mta_sts.http_status = 200;
  mta_sts.policy_address = Ip("192.0.2.80");
  mta_sts.policy_body = "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.org\r\nmax_age: 86400\r\n";
  mta_sts.policy = MtaStsPolicy{MtaStsMode::kEnforce, {"mx1.example.org"}, 86400};
  mta_sts.fetch_seconds = 0.25;
  obs.mta_sts = mta_sts;
  TlsRptObservation tls_rpt;
  tls_rpt.record_lookup = {DnsStatus::kOk, "", {"v=TLSRPTv1; rua=ftp://x"}};
  tls_rpt.record_count = 1;
  tls_rpt.record_error = "the URI \"ftp://x\" is neither mailto: nor https: (RFC 8460 §3)";
  obs.tls_rpt = tls_rpt;
  obs.submission = {testing::HealthySubmission(obs.domain, "mx1.example.org", "192.0.2.1", 587),
                    testing::HealthySubmission(obs.domain, "mx1.example.org", "192.0.2.1", 465)};
  obs.submission[0].auth_before_tls = true;
  return obs;
}

TEST(ObservationJsonTest, RoundTripKeepsEveryFieldAndEveryVerdict) {
  const DomainObservation original = RichObservation();
  const nlohmann::json written = ToJson(original);
  // Through text, as /evaluate and state on disk will read it.
  const nlohmann::json reparsed = nlohmann::json::parse(DumpJson(written));
  const Result<DomainObservation> read = DomainObservationFromJson(reparsed);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(ToJson(read.value()), written);
  EXPECT_EQ(Evaluate(read.value(), CheckOptions{}), Evaluate(original, CheckOptions{}));
  CheckOptions with_dane;
  with_dane.test_dane = true;
  EXPECT_EQ(Evaluate(read.value(), with_dane), Evaluate(original, with_dane));
  CheckOptions with_submission;
  with_submission.submission = {587, 465};
  EXPECT_EQ(Evaluate(read.value(), with_submission), Evaluate(original, with_submission));
}

// The submission sessions came after schema version 1 shipped: absent, none; present, each is a
// submission endpoint (service "submission" or "submissions"), at most kMaxSubmissionEndpoints.
TEST(ObservationJsonTest, SubmissionIsOptionalBoundedAndChecked) {
  const nlohmann::json written = ToJson(RichObservation());
  ASSERT_EQ(written["submission"].size(), 2u);
  EXPECT_EQ(written["submission"][0]["service"], "submission");
  EXPECT_EQ(written["submission"][1]["service"], "submissions");
  EXPECT_EQ(written["endpoints"][0]["service"], "mx");

  nlohmann::json older = written;
  older.erase("submission");
  older["endpoints"][0].erase("service");
  const Result<DomainObservation> read = DomainObservationFromJson(older);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_TRUE(read.value().submission.empty());
  EXPECT_EQ(read.value().endpoints[0].service, EndpointService::kMx);

  nlohmann::json mx_there = written;
  mx_there["submission"][0]["service"] = "mx";
  EXPECT_FALSE(DomainObservationFromJson(mx_there).ok());
  nlohmann::json unknown = written;
  unknown["submission"][0]["service"] = "lmtp";
  EXPECT_FALSE(DomainObservationFromJson(unknown).ok());
  nlohmann::json many = written;
  for (std::size_t i = 0; i < kMaxSubmissionEndpoints; ++i) {
    many["submission"].push_back(written["submission"][0]);
  }
  const Result<DomainObservation> too_many = DomainObservationFromJson(many);
  ASSERT_FALSE(too_many.ok());
  EXPECT_THAT(too_many.error().message, ::testing::HasSubstr("$.submission has more than"));
}

// "pipelined" came after schema version 1 first shipped: a document without it reads as
// lock-step, and one with it keeps it.
TEST(ObservationJsonTest, PipelinedIsKeptAndOptional) {
  const nlohmann::json written = ToJson(RichObservation());
  ASSERT_TRUE(written["endpoints"][1]["transactions"]["pipelined"].get<bool>());
  nlohmann::json older = written;
  older["endpoints"][1]["transactions"].erase("pipelined");
  const Result<DomainObservation> read = DomainObservationFromJson(older);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_FALSE(read.value().endpoints[1].transactions_pipelined);
  EXPECT_FALSE(DomainObservationFromJson(written).value().endpoints[0].transactions_pipelined);
  EXPECT_TRUE(DomainObservationFromJson(written).value().endpoints[1].transactions_pipelined);
}

// mta_sts and tls_rpt came after schema version 1 shipped: absent, they read as "not
// collected"; present, every field comes back (RoundTripKeepsEveryFieldAndEveryVerdict).
TEST(ObservationJsonTest, PolicyRecordsAreOptionalAndChecked) {
  const nlohmann::json written = ToJson(RichObservation());
  ASSERT_TRUE(written.contains("mta_sts"));
  EXPECT_EQ(written["mta_sts"]["policy"]["mode"], "enforce");
  EXPECT_EQ(written["mta_sts"]["fetch_status"], "ok");
  const Result<DomainObservation> full = DomainObservationFromJson(written);
  ASSERT_TRUE(full.ok()) << full.error().message;
  EXPECT_EQ(full.value().mta_sts, RichObservation().mta_sts);
  EXPECT_EQ(full.value().tls_rpt, RichObservation().tls_rpt);
  nlohmann::json older = written;
  older.erase("mta_sts");
  older.erase("tls_rpt");
  const Result<DomainObservation> read = DomainObservationFromJson(older);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_FALSE(read.value().mta_sts.has_value());
  EXPECT_FALSE(read.value().tls_rpt.has_value());
  nlohmann::json bad = written;
  bad["mta_sts"]["fetch_status"] = "teleported";
  const Result<DomainObservation> wrong = DomainObservationFromJson(bad);
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.error().message,
              ::testing::HasSubstr("$.mta_sts.fetch_status has the unknown value"));
  bad = written;
  bad["mta_sts"]["policy"]["mode"] = "strict";
  EXPECT_FALSE(DomainObservationFromJson(bad).ok());
}

TEST(ObservationJsonTest, ReaderNamesWhatIsWrong) {
  const nlohmann::json good = ToJson(RichObservation());
  auto error_of = [](const nlohmann::json& json) {
    const Result<DomainObservation> read = DomainObservationFromJson(json);
    EXPECT_FALSE(read.ok());
    return read.ok() ? std::string() : read.error().message;
  };
  nlohmann::json j = good;
  j["schema_version"] = 99;
  EXPECT_THAT(error_of(j), ::testing::HasSubstr("unsupported observation schema_version 99"));
  j = good;
  j["endpoints"][0].erase("connect");
  EXPECT_THAT(error_of(j), ::testing::HasSubstr("$.endpoints[].connect is missing"));
  j = good;
  j["endpoints"][1]["ip"] = "mx.example.org";
  EXPECT_THAT(error_of(j), ::testing::HasSubstr("$.endpoints[].ip is not an IP address"));
  j = good;
  j["endpoints"][0]["port"] = 70000;
  EXPECT_THAT(error_of(j), ::testing::HasSubstr("port is out of range"));
  j = good;
  j["dns"]["mx"]["status"] = "maybe";
  EXPECT_THAT(error_of(j), ::testing::HasSubstr("$.dns.mx.status has the unknown value"));
  j = good;
  j["dns"]["null_mx"] = "yes";
  EXPECT_THAT(error_of(j), ::testing::HasSubstr("$.dns.null_mx is not a boolean"));
  j = good;
  j["endpoints"][1]["failure"]["reason"] = "bad_luck";
  EXPECT_THAT(error_of(j), ::testing::HasSubstr("failure.reason has the unknown value"));
  j = good;
  j["endpoints"][1].erase("failure");  // documents written before the field existed
  EXPECT_TRUE(DomainObservationFromJson(j).ok());
  EXPECT_THAT(error_of(nlohmann::json::array()), ::testing::HasSubstr("$ is not an object"));
  EXPECT_THAT(error_of(nlohmann::json(nullptr)), ::testing::HasSubstr("is not an object"));
}

}  // namespace
}  // namespace smtp_exporter
