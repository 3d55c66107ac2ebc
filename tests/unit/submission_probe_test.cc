// The submission sessions (RFC 8314) against scripted servers: each test pairs a server script
// with the exact client transcript (every Expect() line; a MAIL, RCPT, DATA or AUTH the client
// sent would be a script failure) and the observation it must yield.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "probes/smtp_probe.h"
#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;
using testing::FakeClock;
using ::testing::HasSubstr;
using testing::Script;
using testing::ScriptedTransportFactory;

const TlsDetails kTls{
    "TLSv1.3", "TLS_AES_256_GCM_SHA384", "CN=mail.example.org", {"mail.example.org"}, 1'900'000'000};

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
  EXPECT_EQ(e.transactions_channel, TransactionChannel::kTls);
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

}  // namespace
}  // namespace smtp_exporter
