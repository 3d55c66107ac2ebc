// The submission sessions (RFC 8314) against scripted servers: each test pairs a server script
// with the exact client transcript (every Expect() line; a MAIL, RCPT, DATA or AUTH the client
// sent would be a script failure) and the observation it must yield.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "probes/domain_check.h"
#include "probes/smtp_probe.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;
using testing::FakeClock;
using ::testing::HasSubstr;
using testing::Script;
using testing::ScriptedTransportFactory;

const TlsDetails kTls{"TLSv1.3",
                      "TLS_AES_256_GCM_SHA384",
                      "CN=mail.example.org",
                      {"mail.example.org"},
                      1'900'000'000};

class SubmissionProbeTest : public ::testing::Test {
 protected:
  SubmissionProbeTest() {
    options_.helo_name = "probe.test";
    target_.domain = "example.org";
    target_.mx_name = "mail.example.org";
    target_.ip = *IpAddress::Parse("192.0.2.58");
  }

  EndpointObservation Probe(std::uint16_t port, EndpointService service) {
    target_.port = port;
    target_.service = service;
    return ProbeEndpoint(factory_, clock_, target_, options_);
  }

  void ExpectScriptsFollowed() {
    ASSERT_FALSE(factory_.transports().empty());
    for (const auto& transport : factory_.transports()) {
      for (const auto& failure : transport->failures()) ADD_FAILURE() << failure;
      EXPECT_TRUE(transport->finished()) << "script not played to the end";
    }
  }

  FakeClock clock_;
  ScriptedTransportFactory factory_;
  CheckOptions options_;  // the transaction probes stay on: the submission session ignores them
  EndpointTarget target_;
};

TEST_F(SubmissionProbeTest, Port587ReadsAuthBeforeAndAfterStartTlsAndQuits) {
  Script s;
  s.Reply({"220 mail.example.org ESMTP"})
      .Expect("EHLO probe.test")
      .Reply({"250-mail.example.org", "250-PIPELINING", "250-STARTTLS", "250 8BITMIME"})
      .Expect("STARTTLS")
      .Reply({"220 2.0.0 Ready"})
      .TlsOk(kTls)
      .Expect("EHLO probe.test")
      .Reply({"250-mail.example.org", "250-PIPELINING", "250-AUTH PLAIN LOGIN", "250 8BITMIME"})
      .Expect("QUIT")
      .Reply({"221 Bye"});
  factory_.AddScript(std::move(s));

  const EndpointObservation e = Probe(587, EndpointService::kSubmission);
  ExpectScriptsFollowed();
  EXPECT_EQ(e.service, EndpointService::kSubmission);
  EXPECT_EQ(e.port, 587);
  EXPECT_FALSE(e.auth_before_tls);
  EXPECT_TRUE(e.starttls.ok);
  EXPECT_THAT(e.extensions_tls.AuthMechanisms(), ElementsAre("PLAIN", "LOGIN"));
  EXPECT_EQ(e.transactions_channel, TransactionChannel::kNone);
  EXPECT_EQ(e.null_sender.outcome, ProbeOutcome::kNotTested);
  EXPECT_EQ(e.open_relay.outcome, ProbeOutcome::kNotTested);
  EXPECT_TRUE(e.probe_recipient.empty());
  EXPECT_TRUE(factory_.transports().front()->closed_by_client());  // close_notify after QUIT
  EXPECT_EQ(factory_.transports().front()->sni(), "mail.example.org");
}

TEST_F(SubmissionProbeTest, Port587RecordsPlaintextAuthOfferedBeforeTls) {
  Script s;
  s.Reply({"220 mail.example.org ESMTP"})
      .Expect("EHLO probe.test")
      .Reply({"250-mail.example.org", "250-AUTH PLAIN LOGIN", "250 STARTTLS"})
      .Expect("STARTTLS")
      .Reply({"220 Ready"})
      .TlsOk(kTls)
      .Expect("EHLO probe.test")
      .Reply({"250-mail.example.org", "250 AUTH PLAIN LOGIN"})
      .Expect("QUIT")
      .Reply({"221 Bye"});
  factory_.AddScript(std::move(s));

  const EndpointObservation e = Probe(587, EndpointService::kSubmission);
  ExpectScriptsFollowed();
  EXPECT_TRUE(e.auth_before_tls);
  EXPECT_THAT(e.extensions_plain.AuthMechanisms(), ElementsAre("PLAIN", "LOGIN"));
}

// A server without STARTTLS on 587: nothing more is sent than EHLO and QUIT (no transaction,
// and no retry in plaintext as an MX sender would make).
TEST_F(SubmissionProbeTest, Port587WithoutStartTlsOnlyQuits) {
  Script s;
  s.Reply({"220 mail.example.org ESMTP"})
      .Expect("EHLO probe.test")
      .Reply({"250-mail.example.org", "250 AUTH PLAIN"})
      .Expect("QUIT")
      .Reply({"221 Bye"});
  factory_.AddScript(std::move(s));

  const EndpointObservation e = Probe(587, EndpointService::kSubmission);
  ExpectScriptsFollowed();
  EXPECT_FALSE(e.starttls.offered);
  EXPECT_FALSE(e.starttls.ok);
  EXPECT_TRUE(e.auth_before_tls);
}

TEST_F(SubmissionProbeTest, Port465StartsTlsBeforeReadingTheGreeting) {
  Script s;
  s.TlsOk(kTls)
      .Reply({"220 mail.example.org ESMTP"})
      .Expect("EHLO probe.test")
      .Reply({"250-mail.example.org", "250-AUTH PLAIN LOGIN", "250 8BITMIME"})
      .Expect("QUIT")
      .Reply({"221 Bye"});
  factory_.AddScript(std::move(s));

  const EndpointObservation e = Probe(465, EndpointService::kSubmissions);
  ExpectScriptsFollowed();
  EXPECT_EQ(e.service, EndpointService::kSubmissions);
  EXPECT_TRUE(e.starttls.attempted);
  EXPECT_TRUE(e.starttls.ok);
  EXPECT_FALSE(e.starttls.offered);
  EXPECT_EQ(e.starttls.tls.version, "TLSv1.3");
  // Everything was said over TLS: nothing counts as offered in plaintext.
  EXPECT_FALSE(e.auth_before_tls);
  EXPECT_TRUE(e.extensions_plain.empty());
  EXPECT_FALSE(e.ehlo.has_value());
  ASSERT_TRUE(e.tls_ehlo.has_value());
  EXPECT_THAT(e.extensions_tls.AuthMechanisms(), ElementsAre("PLAIN", "LOGIN"));
  EXPECT_TRUE(e.PhaseSeconds("tls").has_value());
  EXPECT_TRUE(factory_.transports().front()->closed_by_client());
}

// A plain SMTP server on 465 (or anything that is not TLS): the handshake fails before a
// single SMTP line is read or sent.
TEST_F(SubmissionProbeTest, Port465HandshakeFailureSendsNothing) {
  Script s;
  s.TlsFail("wrong version number");
  factory_.AddScript(std::move(s));

  const EndpointObservation e = Probe(465, EndpointService::kSubmissions);
  ExpectScriptsFollowed();
  EXPECT_TRUE(factory_.transports().front()->client_lines().empty());
  EXPECT_TRUE(e.starttls.attempted);
  EXPECT_FALSE(e.starttls.ok);
  EXPECT_THAT(e.starttls.error, HasSubstr("wrong version number"));
  EXPECT_FALSE(e.greeting.has_value());
  ASSERT_TRUE(e.failure.has_value());
  EXPECT_EQ(e.failure->phase, "tls");
  EXPECT_EQ(e.failure->reason, FailureReason::kTlsHandshake);
}

// ---- Planning: which sessions CheckDomain runs --------------------------------------------

class SubmissionPlanTest : public ::testing::Test {
 protected:
  SubmissionPlanTest() {
    resolver_.SetMx("example.org", {{10, "mx1.example.org"}});
    resolver_.SetAddresses("mx1.example.org", DnsType::kA, {"192.0.2.1"});
    resolver_.SetAddresses("smtp.example.org", DnsType::kA, {"192.0.2.7"});
    options_.helo_name = "probe.test";
    options_.test_mta_sts = false;
    options_.test_tls_rpt = false;
    settings_.endpoint_concurrency = 1;  // the scripted factory hands out connects in order
  }

  // Every connection is refused: the plan is what this test is about.
  DomainObservation Check(int connects) {
    for (int i = 0; i < connects; ++i) {
      transports_.AddConnectError(Error{ErrorCode::kConnectionRefused, "refused"});
    }
    DomainObservation obs =
        CheckDomain("example.org", options_, settings_, resolver_, transports_, clock_);
    EXPECT_EQ(transports_.connects(), connects);
    return obs;
  }

  static std::vector<std::string> Sessions(const DomainObservation& obs) {
    std::vector<std::string> out;
    for (const auto& e : obs.submission) {
      out.push_back(e.mx_name + " " + e.ip.ToString() + ":" + std::to_string(e.port) + " " +
                    std::string(EndpointServiceName(e.service)));
    }
    return out;
  }

  FakeClock clock_;
  testing::FakeResolver resolver_;
  ScriptedTransportFactory transports_;
  CheckOptions options_;
  DomainCheckSettings settings_;
};

TEST_F(SubmissionPlanTest, OffByDefault) {
  const DomainObservation obs = Check(1);  // the MX endpoint only
  EXPECT_TRUE(obs.submission.empty());
  EXPECT_EQ(obs.endpoints.size(), 1u);
}

TEST_F(SubmissionPlanTest, EachPortOnEachMxAddressApartFromTheMxEndpoints) {
  options_.submission = {587, 465};
  const DomainObservation obs = Check(3);
  ASSERT_EQ(obs.endpoints.size(), 1u);
  EXPECT_EQ(obs.endpoints[0].port, 25);
  EXPECT_EQ(obs.endpoints[0].service, EndpointService::kMx);
  EXPECT_THAT(Sessions(obs), ElementsAre("mx1.example.org 192.0.2.1:587 submission",
                                         "mx1.example.org 192.0.2.1:465 submissions"));
  EXPECT_EQ(obs.submission[0].connect_status, ConnectStatus::kRefused);
}

// The configured host is resolved through the check's resolver (never getaddrinfo).
TEST_F(SubmissionPlanTest, ConfiguredHostIsResolvedByTheChecksResolver) {
  options_.submission = {465};
  options_.submission_host = "smtp.example.org";
  const DomainObservation obs = Check(2);
  EXPECT_THAT(Sessions(obs), ElementsAre("smtp.example.org 192.0.2.7:465 submissions"));
  bool asked = false;
  for (const DnsQuery& query : resolver_.asked()) {
    asked = asked || (query.name == "smtp.example.org" && query.type == DnsType::kA);
  }
  EXPECT_TRUE(asked);
}

TEST_F(SubmissionPlanTest, ConfiguredHostWithoutAddressIsRecordedNotProbed) {
  options_.submission = {587};
  options_.submission_host = "nowhere.example.org";
  const DomainObservation obs = Check(1);
  EXPECT_TRUE(obs.submission.empty());
  EXPECT_THAT(obs.submission_host_error, HasSubstr("nowhere.example.org has no address"));
}

// A denied network is not connected to, on the submission ports either.
TEST_F(SubmissionPlanTest, DeniedNetworksApply) {
  options_.submission = {587};
  settings_.denied_networks = {IpNetwork::Parse("192.0.2.0/24").value()};
  const DomainObservation obs = Check(0);
  ASSERT_EQ(obs.submission.size(), 1u);
  ASSERT_TRUE(obs.submission[0].failure.has_value());
  EXPECT_EQ(obs.submission[0].failure->reason, FailureReason::kNotAllowed);
  EXPECT_EQ(obs.submission[0].service, EndpointService::kSubmission);
}

}  // namespace
}  // namespace smtp_exporter
