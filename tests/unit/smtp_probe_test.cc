// ProbeEndpoint against scripted servers: each test pairs a server script with the exact client
// transcript it must produce (every Expect() line) and the observation it must yield.
#include "probes/smtp_probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;
using testing::FakeClock;
using ::testing::HasSubstr;
using testing::Script;
using testing::ScriptedTransportFactory;

constexpr const char* kHelo = "probe.test";
const TlsDetails kTls{
    "TLSv1.3", "TLS_AES_256_GCM_SHA384", "CN=mx.example.org", {"mx.example.org"}, 1'900'000'000};

Script& Greet(Script& s) { return s.Reply({"220 mx.example.org ESMTP Postfix"}); }

Script& EhloWith(Script& s, std::initializer_list<std::string> lines) {
  return s.Expect("EHLO probe.test").Reply(lines);
}

// The three transaction probes as a well-behaved server answers them.
Script& GoodTransactions(Script& s) {
  return s.Expect("MAIL FROM:<>")
      .Reply({"250 2.1.0 Ok"})
      .Expect("RCPT TO:<postmaster@example.org>")
      .Reply({"250 2.1.5 Ok"})
      .Expect("RSET")
      .Reply({"250 2.0.0 Ok"})
      .Expect("MAIL FROM:<checker@probe.test>")
      .Reply({"250 2.1.0 Ok"})
      .Expect("RCPT TO:<postmaster@example.com>")
      .Reply({"554 5.7.1 <postmaster@example.com>: Relay access denied"})
      .Expect("RSET")
      .Reply({"250 2.0.0 Ok"});
}

Script& Quit(Script& s) { return s.Expect("QUIT").Reply({"221 2.0.0 Bye"}); }

class SmtpProbeTest : public ::testing::Test {
 protected:
  SmtpProbeTest() {
    options_.helo_name = kHelo;
    target_.domain = "example.org";
    target_.mx_name = "mx.example.org.";
    target_.ip = *IpAddress::Parse("192.0.2.25");
  }

  EndpointObservation Probe() { return ProbeEndpoint(factory_, clock_, target_, options_); }

  // Every script was followed exactly and played to its end.
  void ExpectScriptsFollowed() {
    for (const auto& transport : factory_.transports()) {
      for (const auto& failure : transport->failures()) ADD_FAILURE() << failure;
      EXPECT_TRUE(transport->finished()) << "script not played to the end";
    }
  }

  FakeClock clock_;
  ScriptedTransportFactory factory_;
  CheckOptions options_;
  EndpointTarget target_;
};

TEST_F(SmtpProbeTest, HealthyServerWithStartTls) {
  // Lock-step, though PIPELINING is advertised: the pipelined session is smtp_pipelining_test's.
  options_.pipelining = false;
  Script s;
  Greet(s);
  EhloWith(s, {"250-mx.example.org", "250-PIPELINING", "250-SIZE 10240000", "250-STARTTLS",
               "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250 DSN"});
  s.Expect("STARTTLS").Reply({"220 2.0.0 Ready to start TLS"}).TlsOk(kTls);
  EhloWith(s, {"250-mx.example.org", "250-PIPELINING", "250-SIZE 10240000", "250-AUTH PLAIN LOGIN",
               "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250 DSN"});
  GoodTransactions(s);
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_EQ(obs.connect_status, ConnectStatus::kConnected);
  EXPECT_EQ(obs.greeting->lines.front(), "220 mx.example.org ESMTP Postfix");
  EXPECT_EQ(obs.announced_hostname, "mx.example.org");
  EXPECT_EQ(obs.mx_name, "mx.example.org");
  EXPECT_TRUE(obs.esmtp);
  EXPECT_FALSE(obs.helo_fallback);
  EXPECT_TRUE(obs.extensions_plain.Has("STARTTLS"));
  EXPECT_FALSE(obs.extensions_plain.Has("AUTH"));
  EXPECT_TRUE(obs.extensions_tls.Has("AUTH"));
  EXPECT_FALSE(obs.extensions_tls.Has("STARTTLS"));
  EXPECT_TRUE(obs.ExtensionsUnion().Has("STARTTLS"));
  EXPECT_TRUE(obs.ExtensionsUnion().Has("AUTH"));
  EXPECT_FALSE(obs.auth_before_tls);
  EXPECT_TRUE(obs.starttls.ok);
  EXPECT_EQ(obs.starttls.tls.version, "TLSv1.3");
  EXPECT_EQ(factory_.transports()[0]->sni(), "mx.example.org");
  EXPECT_EQ(obs.transactions_channel, TransactionChannel::kTls);
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kAccepted);
  EXPECT_EQ(obs.postmaster.outcome, ProbeOutcome::kAccepted);
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kRejected);
  EXPECT_EQ(obs.open_relay.steps.back().reply->code, 554);
  EXPECT_TRUE(obs.session_error.empty()) << obs.session_error;
  EXPECT_TRUE(obs.protocol_violations.empty());
  std::vector<std::string> phases;
  for (const auto& p : obs.phases) phases.push_back(p.phase);
  EXPECT_THAT(phases, ElementsAre("connect", "greeting", "ehlo", "starttls", "tls_ehlo",
                                  "transactions", "total"));
  EXPECT_FALSE(obs.failure.has_value());
}

TEST_F(SmtpProbeTest, EhloRejectedFallsBackToHelo) {
  Script s;
  s.Reply({"220 old.example.org SMTP Sendmail 8.6 ready"});
  s.Expect("EHLO probe.test").Reply({"502 5.5.2 Command not recognized"});
  s.Expect("HELO probe.test").Reply({"250 old.example.org"});
  GoodTransactions(s);
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_FALSE(obs.esmtp);
  EXPECT_TRUE(obs.helo_fallback);
  EXPECT_EQ(obs.ehlo->code, 502);
  EXPECT_FALSE(obs.starttls.offered);
  EXPECT_FALSE(obs.greeting_mentions_esmtp);
  EXPECT_EQ(obs.transactions_channel, TransactionChannel::kPlain);
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kAccepted);
}

// RFC 5321 §4.1.1.10 (and our README): every session ends with QUIT, also when the server
// refuses both greetings (Exim's helo_verify_hosts answers 451 to EHLO and to HELO).
// #15 item 3: a 4yz to EHLO (Exim's helo_verify_hosts with a deferred DNS lookup) is "try
// later", not "command not recognized": no HELO fallback, but still QUIT.
TEST_F(SmtpProbeTest, EhloDeferredStopsWithoutHeloAndEndsWithQuit) {
  Script s;
  Greet(s);
  s.Expect("EHLO probe.test").Reply({"451 Temporary local problem - please try later"});
  // Exim answers QUIT ~200 ms late: that wait is the session's, not the EHLO phase's.
  s.Expect("QUIT").Elapse(std::chrono::milliseconds(200), &clock_).Reply({"221 2.0.0 Bye"});
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_TRUE(factory_.transports()[0]->closed_by_client());
  EXPECT_EQ(obs.PhaseSeconds("ehlo"), 0.0);
  EXPECT_EQ(obs.PhaseSeconds("total"), 0.2);
  EXPECT_EQ(obs.ehlo->code, 451);
  EXPECT_FALSE(obs.helo.has_value());
  EXPECT_FALSE(obs.esmtp);
  EXPECT_THAT(obs.session_error, HasSubstr("EHLO was deferred with 451"));
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kError);
  ASSERT_TRUE(obs.failure.has_value());
  EXPECT_EQ(obs.failure->phase, "ehlo");
  EXPECT_EQ(obs.failure->reason, FailureReason::kReply4xx);
}

TEST_F(SmtpProbeTest, EhloAndHeloRefusedStillEndWithQuit) {
  Script s;
  Greet(s);
  s.Expect("EHLO probe.test").Reply({"550 5.7.1 Access denied"});
  s.Expect("HELO probe.test").Reply({"550 5.7.1 Access denied"});
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_TRUE(factory_.transports()[0]->closed_by_client());
  EXPECT_EQ(obs.helo->code, 550);
  EXPECT_EQ(obs.session_error_code, ErrorCode::kProtocol);
  EXPECT_THAT(obs.session_error, HasSubstr("both EHLO and HELO were refused"));
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kError);
  ASSERT_TRUE(obs.failure.has_value());
  EXPECT_EQ(obs.failure->phase, "ehlo");
  EXPECT_EQ(obs.failure->reason, FailureReason::kReply5xx);
}

TEST_F(SmtpProbeTest, EhloAndHeloRefusedAfterStartTlsStillEndWithQuit) {
  Script s;
  Greet(s);
  EhloWith(s, {"250-mx.example.org", "250 STARTTLS"});
  s.Expect("STARTTLS").Reply({"220 2.0.0 Ready to start TLS"}).TlsOk(kTls);
  s.Expect("EHLO probe.test").Reply({"550 5.7.1 go away"});
  s.Expect("HELO probe.test").Reply({"550 5.7.1 go away"});
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_TRUE(obs.starttls.ok);
  EXPECT_THAT(obs.session_error, HasSubstr("EHLO and HELO refused after STARTTLS"));
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kError);
  ASSERT_TRUE(obs.failure.has_value());
  EXPECT_EQ(obs.failure->phase, "tls_ehlo");
  EXPECT_EQ(obs.failure->reason, FailureReason::kReply5xx);
}

TEST_F(SmtpProbeTest, StartTlsRefusedContinuesInPlaintext) {
  Script s;
  Greet(s);
  EhloWith(s, {"250-mx.example.org", "250 STARTTLS"});
  s.Expect("STARTTLS").Reply({"454 4.7.0 TLS not available due to local problem"});
  GoodTransactions(s);
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_TRUE(obs.starttls.offered);
  EXPECT_TRUE(obs.starttls.attempted);
  EXPECT_FALSE(obs.starttls.ok);
  EXPECT_EQ(obs.starttls.reply->code, 454);
  EXPECT_THAT(obs.starttls.error, HasSubstr("454 4.7.0"));
  EXPECT_EQ(obs.transactions_channel, TransactionChannel::kPlain);
  EXPECT_EQ(factory_.connects(), 1);
  // The probe went on in plaintext, but STARTTLS failed: smtp_probe_failed_phase says so.
  ASSERT_TRUE(obs.failure.has_value());
  EXPECT_EQ(obs.failure->phase, "starttls");
  EXPECT_EQ(obs.failure->reason, FailureReason::kReply4xx);
}

TEST_F(SmtpProbeTest, HandshakeFailureRetriesTransactionsOnAFreshPlainConnection) {
  Script first;
  Greet(first);
  EhloWith(first, {"250-mx.example.org", "250 STARTTLS"});
  first.Expect("STARTTLS").Reply({"220 2.0.0 Ready to start TLS"}).TlsFail("handshake failure");
  factory_.AddScript(first);
  Script second;
  Greet(second);
  EhloWith(second, {"250-mx.example.org", "250 STARTTLS"});
  GoodTransactions(second);
  Quit(second);
  factory_.AddScript(second);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_EQ(factory_.connects(), 2);
  EXPECT_TRUE(obs.starttls.attempted);
  EXPECT_FALSE(obs.starttls.ok);
  EXPECT_THAT(obs.starttls.error, HasSubstr("handshake failure"));
  EXPECT_EQ(obs.transactions_channel, TransactionChannel::kPlainReconnect);
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kAccepted);
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kRejected);
  EXPECT_TRUE(obs.PhaseSeconds("reconnect").has_value());
  ASSERT_TRUE(obs.failure.has_value());  // the first failure stays, the reconnect worked
  EXPECT_EQ(obs.failure->phase, "starttls");
  EXPECT_EQ(obs.failure->reason, FailureReason::kTlsHandshake);
}

TEST_F(SmtpProbeTest, ServiceClosing421MidSession) {
  Script s;
  Greet(s);
  EhloWith(s, {"250 mx.example.org"});
  s.Expect("MAIL FROM:<>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.org>").Reply({"421 4.7.0 mx.example.org closing"});
  s.Close();
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  for (const auto& failure : factory_.transports()[0]->failures()) ADD_FAILURE() << failure;
  EXPECT_THAT(obs.session_error, HasSubstr("421 4.7.0"));
  // Nothing is sent after a 421 (RFC 5321 §3.8): no RSET, no QUIT.
  EXPECT_EQ(factory_.transports()[0]->client_lines().back(), "RCPT TO:<postmaster@example.org>");
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kError);
  EXPECT_THAT(obs.open_relay.detail, HasSubstr("session ended"));
  EXPECT_NE(obs.null_sender.outcome, ProbeOutcome::kAccepted);
  ASSERT_TRUE(obs.failure.has_value());
  EXPECT_EQ(obs.failure->phase, "transactions");
  EXPECT_EQ(obs.failure->reason, FailureReason::kReply4xx);
}

TEST_F(SmtpProbeTest, GreylistingIsTemporaryNotRejected) {
  Script s;
  Greet(s);
  EhloWith(s, {"250 mx.example.org"});
  s.Expect("MAIL FROM:<>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.org>").Reply({"450 4.2.0 Greylisted, try later"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  s.Expect("MAIL FROM:<checker@probe.test>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.org>").Reply({"450 4.2.0 Greylisted, try later"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  s.Expect("MAIL FROM:<checker@probe.test>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.com>").Reply({"450 4.2.0 Greylisted, try later"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_EQ(obs.postmaster.outcome, ProbeOutcome::kTemporary);
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kTemporary);
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kAccepted);
  // RFC 5321 §4.2.1: a 4xx defers, it does not refuse; the details must not say otherwise.
  EXPECT_EQ(obs.null_sender.detail,
            "MAIL FROM:<> accepted at MAIL; postmaster defers every sender");
  EXPECT_EQ(obs.postmaster.detail,
            "deferred (450) from the null sender and deferred (450) from a normal sender");
}

TEST_F(SmtpProbeTest, AuthAdvertisedBeforeStartTls) {
  Script s;
  Greet(s);
  EhloWith(s, {"250-mx.example.org", "250-AUTH PLAIN LOGIN", "250 STARTTLS"});
  s.Expect("STARTTLS").Reply({"220 2.0.0 Ready"}).TlsOk(kTls);
  EhloWith(s, {"250-mx.example.org", "250 AUTH PLAIN LOGIN"});
  GoodTransactions(s);
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_TRUE(obs.auth_before_tls);
  EXPECT_THAT(obs.extensions_plain.AuthMechanisms(), ElementsAre("PLAIN", "LOGIN"));
}

TEST_F(SmtpProbeTest, OpenRelayAccepted) {
  Script s;
  Greet(s);
  EhloWith(s, {"250 mx.example.org"});
  s.Expect("MAIL FROM:<>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.org>").Reply({"250 2.1.5 Ok"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  s.Expect("MAIL FROM:<checker@probe.test>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.com>").Reply({"250 2.1.5 Ok"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});  // never DATA
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kAccepted);
  EXPECT_THAT(obs.open_relay.detail, HasSubstr("OPEN RELAY"));
  for (const auto& line : factory_.transports()[0]->client_lines()) {
    EXPECT_NE(line, "DATA");
  }
}

TEST_F(SmtpProbeTest, PostmasterRejectedForEverySender) {
  Script s;
  Greet(s);
  EhloWith(s, {"250 mx.example.org"});
  s.Expect("MAIL FROM:<>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.org>")
      .Reply({"550 5.1.1 <postmaster@example.org>: Recipient address rejected"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  s.Expect("MAIL FROM:<checker@probe.test>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.org>")
      .Reply({"550 5.1.1 <postmaster@example.org>: Recipient address rejected"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  s.Expect("MAIL FROM:<checker@probe.test>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.com>").Reply({"554 5.7.1 Relay access denied"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_EQ(obs.postmaster.outcome, ProbeOutcome::kRejected);
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kAccepted);
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kRejected);
}

TEST_F(SmtpProbeTest, NullSenderRejectedAtMail) {
  Script s;
  Greet(s);
  EhloWith(s, {"250 mx.example.org"});
  s.Expect("MAIL FROM:<>").Reply({"550 5.7.1 <>: Sender address rejected: null sender"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  s.Expect("MAIL FROM:<checker@probe.test>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.org>").Reply({"250 2.1.5 Ok"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  s.Expect("MAIL FROM:<checker@probe.test>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.com>").Reply({"554 5.7.1 Relay access denied"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kRejected);
  EXPECT_EQ(obs.postmaster.outcome, ProbeOutcome::kAccepted);
}

TEST_F(SmtpProbeTest, NullSenderRejectedOnlyAtRcptIsAttributedToTheNullSender) {
  // Postfix with smtpd_delay_reject = yes refuses a bad sender at RCPT, not at MAIL.
  Script s;
  Greet(s);
  EhloWith(s, {"250 mx.example.org"});
  s.Expect("MAIL FROM:<>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.org>")
      .Reply({"550 5.7.1 <>: Sender address rejected: null sender rejected"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  s.Expect("MAIL FROM:<checker@probe.test>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.org>").Reply({"250 2.1.5 Ok"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  s.Expect("MAIL FROM:<checker@probe.test>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.com>").Reply({"554 5.7.1 Relay access denied"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kRejected);
  EXPECT_THAT(obs.null_sender.detail, HasSubstr("refused at RCPT"));
  EXPECT_EQ(obs.postmaster.outcome, ProbeOutcome::kAccepted);
}

TEST_F(SmtpProbeTest, RejectingGreetingGetsQuitAndNothingElse) {
  Script s;
  s.Reply({"554 5.7.1 mx.example.org: no SMTP service here"});
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_EQ(obs.greeting->code, 554);
  EXPECT_THAT(obs.session_error, HasSubstr("554"));
  EXPECT_FALSE(obs.ehlo.has_value());
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kError);
  ASSERT_TRUE(obs.failure.has_value());
  EXPECT_EQ(obs.failure->phase, "greeting");
  EXPECT_EQ(obs.failure->reason, FailureReason::kReply5xx);
  // #15 item 6: the enhanced status code is not the announced name.
  EXPECT_EQ(obs.announced_hostname, "mx.example.org");
}

TEST_F(SmtpProbeTest, Greeting421ClosesWithoutQuit) {
  Script s;
  s.Reply({"421 4.3.2 mx.example.org too busy"});
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_TRUE(factory_.transports()[0]->client_lines().empty());
  EXPECT_FALSE(factory_.transports()[0]->closed_by_client());  // the server hung up first
  EXPECT_EQ(obs.greeting->code, 421);
  ASSERT_TRUE(obs.failure.has_value());
  EXPECT_EQ(obs.failure->phase, "greeting");
  EXPECT_EQ(obs.failure->reason, FailureReason::kReply4xx);
}

TEST_F(SmtpProbeTest, ConnectionRefusedIsData) {
  factory_.AddConnectError(Error{ErrorCode::kConnectionRefused, "connect: Connection refused"});
  const EndpointObservation obs = Probe();
  EXPECT_EQ(obs.connect_status, ConnectStatus::kRefused);
  EXPECT_THAT(obs.connect_error, HasSubstr("refused"));
  EXPECT_FALSE(obs.greeting.has_value());
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kError);
  EXPECT_TRUE(obs.PhaseSeconds("total").has_value());
  ASSERT_TRUE(obs.failure.has_value());
  EXPECT_EQ(obs.failure->phase, "connect");
  EXPECT_EQ(obs.failure->reason, FailureReason::kRefused);
}

TEST_F(SmtpProbeTest, NoRouteIsKeptApartFromUnreachable) {
  factory_.AddConnectError(Error{ErrorCode::kNoRoute, "connect: Network is unreachable"});
  const EndpointObservation no_route = Probe();
  EXPECT_EQ(no_route.connect_status, ConnectStatus::kNoRoute);
  EXPECT_EQ(ConnectStatusName(no_route.connect_status), "no_route");
  EXPECT_THAT(no_route.connect_error, HasSubstr("no_route"));
  factory_.AddConnectError(Error{ErrorCode::kUnreachable, "connect: Network is unreachable"});
  EXPECT_EQ(Probe().connect_status, ConnectStatus::kUnreachable);
}

TEST_F(SmtpProbeTest, SilentServerTimesOut) {
  Script s;
  s.Silence();
  factory_.AddScript(s);
  const EndpointObservation obs = Probe();
  EXPECT_EQ(obs.connect_status, ConnectStatus::kConnected);
  EXPECT_THAT(obs.session_error, HasSubstr("timeout"));
  ASSERT_TRUE(obs.failure.has_value());
  EXPECT_EQ(obs.failure->phase, "greeting");
  EXPECT_EQ(obs.failure->reason, FailureReason::kTimeout);
}

// #15 item 4: the greeting has its own wait (greeting_timeout, RFC 5321 §4.5.3.2.1), and the
// time spent in it does not eat into `timeout`, the budget of the commands after it.
TEST_F(SmtpProbeTest, SlowGreetingHasItsOwnWaitAndLeavesTheCommandsTheirBudget) {
  options_.timeout = std::chrono::seconds(5);
  options_.greeting_timeout = std::chrono::seconds(30);
  options_.test_null_sender = false;
  options_.test_postmaster = false;
  options_.test_open_relay = false;
  const SteadyTime start = clock_.Now();
  Script s;
  s.Elapse(std::chrono::seconds(20), &clock_);  // a 20 s greet pause, longer than `timeout`
  Greet(s);
  EhloWith(s, {"250 mx.example.org"});
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  ASSERT_TRUE(obs.greeting.has_value());
  EXPECT_TRUE(obs.esmtp);
  EXPECT_FALSE(obs.failure.has_value());
  EXPECT_EQ(obs.PhaseSeconds("greeting"), 20.0);
  const std::vector<Deadline>& deadlines = factory_.transports()[0]->read_deadlines();
  ASSERT_GE(deadlines.size(), 2u);
  EXPECT_EQ(deadlines[0], start + std::chrono::seconds(30));  // the greeting's own wait
  EXPECT_EQ(deadlines[1], start + std::chrono::seconds(25));  // 5 s, counted after the greeting
}

TEST_F(SmtpProbeTest, DisabledProbesSendNoTransaction) {
  options_.test_null_sender = false;
  options_.test_postmaster = false;
  options_.test_open_relay = false;
  Script s;
  Greet(s);
  EhloWith(s, {"250 mx.example.org"});
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kNotTested);
  EXPECT_EQ(obs.postmaster.outcome, ProbeOutcome::kNotTested);
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kNotTested);
}

TEST_F(SmtpProbeTest, ProbeAddressInTheTestedDomainIsReplaced) {
  target_.domain = "example.com";
  options_.test_null_sender = false;
  options_.test_postmaster = false;
  Script s;
  Greet(s);
  EhloWith(s, {"250 mx.example.org"});
  s.Expect("MAIL FROM:<checker@probe.test>").Reply({"250 2.1.0 Ok"});
  s.Expect("RCPT TO:<postmaster@example.net>").Reply({"554 5.7.1 Relay access denied"});
  s.Expect("RSET").Reply({"250 2.0.0 Ok"});
  Quit(s);
  factory_.AddScript(s);

  const EndpointObservation obs = Probe();
  ExpectScriptsFollowed();
  EXPECT_EQ(obs.probe_recipient, "postmaster@example.net");
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kRejected);
}

TEST_F(SmtpProbeTest, GarbageFromTheServerEndsTheSessionAsData) {
  Script s;
  s.Send("SSH-2.0-OpenSSH_9.2\r\n");
  factory_.AddScript(s);
  const EndpointObservation obs = Probe();
  EXPECT_THAT(obs.session_error, HasSubstr("protocol"));
  EXPECT_FALSE(obs.greeting.has_value());
  EXPECT_EQ(obs.transcript.back().direction, TranscriptEntry::Direction::kNote);
}

TEST_F(SmtpProbeTest, EndlessReplyIsRecordedAsLimitExceeded) {
  Script s;
  for (int i = 0; i < 200; ++i) s.Send("220-still talking\r\n");
  factory_.AddScript(s);
  const EndpointObservation obs = Probe();
  EXPECT_THAT(obs.limit_exceeded, HasSubstr("more than 100 lines"));
  ASSERT_TRUE(obs.failure.has_value());
  EXPECT_EQ(obs.failure->reason, FailureReason::kLimitExceeded);
}

}  // namespace
}  // namespace smtp_exporter
