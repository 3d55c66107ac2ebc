// The SMTP probe against a real Postfix (Debian's), started by the lab environment on loopback
// at a high port, one listener per behaviour. Nothing but 127.0.0.x and ::1 is contacted. These
// tests never skip: a missing Postfix is a failure.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "probes/smtp_probe.h"
#include "tests/integration/lab_environment.h"
#include "tests/integration/shared_session_expect.h"
#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeTempDir;
using testing::RunCommand;

using testing::kSmtpPort;
using testing::LabEnvironment;

class PostfixProbeTest : public ::testing::Test {
 protected:
  EndpointObservation Probe(const std::string& domain, const std::string& ip,
                            const std::string& mx, bool pipelining = true) {
    CheckOptions options;
    options.pipelining = pipelining;
    options.helo_name = "probe.lab.test";
    options.timeout = std::chrono::seconds(15);
    return ProbeEndpoint(transports_, SystemClock::Instance(),
                         EndpointTarget{domain, mx, *IpAddress::Parse(ip), kSmtpPort}, options);
  }
  TcpTransportFactory transports_;
};

// One session for several domains whose MX is this Postfix (#17 item 2): each domain gets the
// verdicts and details its own session gets, with its own RCPT replies and none of the others',
// whether Postfix accepts that domain's postmaster (mydestination) or refuses it (a relay).
TEST_F(PostfixProbeTest, ASharedSessionGivesEachDomainTheVerdictsOfItsOwn) {
  for (const bool pipelining : {true, false}) {
    SCOPED_TRACE(pipelining ? "pipelined" : "lock-step");
    const auto shared = testing::ExpectSharedSessionEqualsOwn(
        "127.0.0.2", "mx-good.lab.test",
        {"good.lab.test", "notls.lab.test", "elsewhere.example", "auth.lab.test"}, pipelining,
        pipelining);
    ASSERT_EQ(shared.size(), 4u);
    EXPECT_EQ(shared[2].observation.postmaster.outcome, ProbeOutcome::kRejected);  // a relay
    EXPECT_EQ(shared[1].observation.postmaster.outcome, ProbeOutcome::kAccepted);
  }
}

TEST_F(PostfixProbeTest, GoodServer) {
  const auto obs = Probe("good.lab.test", "127.0.0.2", "mx-good.lab.test");
  EXPECT_EQ(obs.connect_status, ConnectStatus::kConnected);
  ASSERT_TRUE(obs.greeting.has_value());
  EXPECT_EQ(obs.greeting->lines, std::vector<std::string>{"220 mx-good.lab.test ESMTP lab"});
  EXPECT_EQ(obs.announced_hostname, "mx-good.lab.test");
  EXPECT_TRUE(obs.esmtp);
  EXPECT_TRUE(obs.extensions_plain.Has("STARTTLS"));
  EXPECT_TRUE(obs.extensions_plain.Has("PIPELINING"));
  EXPECT_TRUE(obs.extensions_plain.Has("8BITMIME"));
  EXPECT_TRUE(obs.extensions_plain.SizeLimit().has_value());
  EXPECT_FALSE(obs.auth_before_tls);
  EXPECT_TRUE(obs.starttls.ok) << obs.starttls.error;
  EXPECT_EQ(obs.starttls.tls.version, "TLSv1.3");
  EXPECT_FALSE(obs.starttls.tls.cipher.empty());
  EXPECT_EQ(obs.starttls.tls.peer_subject, "CN=mx-good.lab.test");
  EXPECT_THAT(obs.starttls.tls.peer_dns_names, ElementsAre("mx-good.lab.test"));
  EXPECT_TRUE(obs.starttls.tls.peer_not_after_unix.has_value());
  // RFC 3207 §4.2: STARTTLS is no longer offered once TLS is up.
  EXPECT_FALSE(obs.extensions_tls.Has("STARTTLS"));
  EXPECT_TRUE(obs.extensions_tls.Has("PIPELINING"));
  EXPECT_EQ(obs.transactions_channel, TransactionChannel::kTls);
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kAccepted);
  EXPECT_EQ(obs.postmaster.outcome, ProbeOutcome::kAccepted);
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kRejected);
  EXPECT_THAT(obs.open_relay.steps.back().reply->lines.front(), HasSubstr("Relay access denied"));
  EXPECT_TRUE(obs.session_error.empty()) << obs.session_error;
  EXPECT_TRUE(obs.protocol_violations.empty());
  // PIPELINING after TLS: the transaction probes and QUIT went to Postfix as one group, and
  // the transcript shows it as it happened: eight commands, then their eight replies.
  EXPECT_TRUE(obs.transactions_pipelined);
  std::vector<std::string> wire;
  for (const auto& entry : obs.transcript) {
    if (entry.direction != TranscriptEntry::Direction::kNote) {
      wire.push_back((entry.direction == TranscriptEntry::Direction::kClient ? "C: " : "S: ") +
                     entry.text.substr(0, entry.text.find(' ', 6)));
    }
  }
  ASSERT_GE(wire.size(), 16u);
  wire.erase(wire.begin(), wire.end() - 16);
  EXPECT_THAT(wire, ElementsAre("C: MAIL FROM:<>", "C: RCPT TO:<postmaster@good.lab.test>",
                                "C: RSET", "C: MAIL FROM:<checker@probe.lab.test>",
                                "C: RCPT TO:<postmaster@good.lab.test>",
                                "C: RCPT TO:<postmaster@example.com>", "C: RSET", "C: QUIT",
                                "S: 250 2.1.0", "S: 250 2.1.5", "S: 250 2.0.0", "S: 250 2.1.0",
                                "S: 250 2.1.5", "S: 554 5.7.1", "S: 250 2.0.0", "S: 221 2.0.0"));
}

// The same server with the `pipelining` option off: one command per round trip, and the same
// verdicts and details as the pipelined session.
TEST_F(PostfixProbeTest, LockStepAndPipelinedAgree) {
  for (const char* domain : {"good.lab.test", "nonull.lab.test", "nopm.lab.test",
                             "relay.lab.test"}) {
    SCOPED_TRACE(domain);
    const std::string d = domain;
    const std::string ip = d == "good.lab.test"     ? "127.0.0.2"
                           : d == "nonull.lab.test" ? "127.0.0.6"
                           : d == "nopm.lab.test"   ? "127.0.0.7"
                                                    : "127.0.0.5";
    const std::string mx = "mx-" + d;
    const auto pipelined = Probe(d, ip, mx);
    const auto lock_step = Probe(d, ip, mx, /*pipelining=*/false);
    EXPECT_TRUE(pipelined.transactions_pipelined);
    EXPECT_FALSE(lock_step.transactions_pipelined);
    const std::pair<const TransactionProbe*, const TransactionProbe*> pairs[] = {
        {&pipelined.null_sender, &lock_step.null_sender},
        {&pipelined.postmaster, &lock_step.postmaster},
        {&pipelined.open_relay, &lock_step.open_relay}};
    for (const auto& [pl, ls] : pairs) {
      EXPECT_EQ(ProbeOutcomeName(pl->outcome), ProbeOutcomeName(ls->outcome));
      EXPECT_EQ(pl->detail, ls->detail);
    }
    EXPECT_TRUE(pipelined.session_error.empty()) << pipelined.session_error;
  }
}

TEST_F(PostfixProbeTest, GoodServerOverIpv6) {
  const auto obs = Probe("good.lab.test", "::1", "mx-good.lab.test");
  EXPECT_EQ(obs.family(), IpFamily::kV6);
  EXPECT_TRUE(obs.starttls.ok) << obs.starttls.error;
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kRejected);
}

TEST_F(PostfixProbeTest, NoStartTls) {
  const auto obs = Probe("notls.lab.test", "127.0.0.3", "mx-notls.lab.test");
  EXPECT_TRUE(obs.esmtp);
  EXPECT_FALSE(obs.starttls.offered);
  EXPECT_FALSE(obs.starttls.attempted);
  EXPECT_EQ(obs.transactions_channel, TransactionChannel::kPlain);
  EXPECT_EQ(obs.postmaster.outcome, ProbeOutcome::kAccepted);
}

TEST_F(PostfixProbeTest, AuthBeforeStartTls) {
  const auto obs = Probe("auth.lab.test", "127.0.0.4", "mx-auth.lab.test");
  EXPECT_TRUE(obs.auth_before_tls);
  EXPECT_THAT(obs.extensions_plain.AuthMechanisms(), ::testing::IsSupersetOf({"PLAIN", "LOGIN"}));
  EXPECT_TRUE(obs.starttls.ok) << obs.starttls.error;
}

TEST_F(PostfixProbeTest, OpenRelay) {
  const auto obs = Probe("relay.lab.test", "127.0.0.5", "mx-relay.lab.test");
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kAccepted);
  EXPECT_EQ(obs.open_relay.steps.back().command, "RCPT TO:<postmaster@example.com>");
}

TEST_F(PostfixProbeTest, NullSenderRejected) {
  const auto obs = Probe("nonull.lab.test", "127.0.0.6", "mx-nonull.lab.test");
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kRejected);
  EXPECT_EQ(obs.null_sender.steps.front().reply->code, 550);
  EXPECT_EQ(obs.postmaster.outcome, ProbeOutcome::kAccepted);
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kRejected);
}

TEST_F(PostfixProbeTest, PostmasterRejected) {
  const auto obs = Probe("nopm.lab.test", "127.0.0.7", "mx-nopm.lab.test");
  EXPECT_EQ(obs.postmaster.outcome, ProbeOutcome::kRejected);
  EXPECT_EQ(obs.null_sender.outcome, ProbeOutcome::kAccepted);
}

TEST_F(PostfixProbeTest, NothingListening) {
  const auto obs = Probe("down.lab.test", "127.0.0.30", "mx-down.lab.test");
  EXPECT_EQ(obs.connect_status, ConnectStatus::kRefused);
  EXPECT_EQ(obs.open_relay.outcome, ProbeOutcome::kError);
}

// The done-when of the foundation issue: `check --endpoint` prints the verbatim banner, both
// extension sets, TLS version and cipher, and the three transaction replies.
TEST(CheckCommandEndToEnd, JsonAgainstRealPostfix) {
  const auto run = RunCommand(std::string(SMTP_EXPORTER_BINARY) +
                              " check good.lab.test --endpoint 127.0.0.2:" +
                              std::to_string(kSmtpPort) +
                              " --mx-name mx-good.lab.test --helo-name probe.lab.test"
                              " --dns-servers " + LabEnvironment::DnsServer() +
                              " --format json 2>/dev/null");
  // A healthy IPv4-only endpoint: only the informational "no IPv6" finding, exit 0.
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto doc = nlohmann::json::parse(run.output);
  const auto& e = doc["endpoints"][0];
  EXPECT_EQ(e["greeting"]["reply"]["lines"][0], "220 mx-good.lab.test ESMTP lab");
  EXPECT_FALSE(e["extensions"]["plain"].empty());
  EXPECT_FALSE(e["extensions"]["tls"].empty());
  EXPECT_EQ(e["starttls"]["tls"]["version"], "TLSv1.3");
  EXPECT_FALSE(e["starttls"]["tls"]["cipher"].get<std::string>().empty());
  EXPECT_EQ(e["transactions"]["null_sender"]["steps"][0]["reply"]["code"], 250);
  EXPECT_EQ(e["transactions"]["postmaster"]["steps"][0]["reply"]["code"], 250);
  EXPECT_EQ(e["transactions"]["open_relay"]["steps"][1]["reply"]["code"], 554);
}

TEST(CheckCommandEndToEnd, TextAgainstRealPostfix) {
  const auto run = RunCommand(std::string(SMTP_EXPORTER_BINARY) +
                              " check relay.lab.test --endpoint 127.0.0.5:" +
                              std::to_string(kSmtpPort) + " --helo-name probe.lab.test" +
                              " --dns-servers " + LabEnvironment::DnsServer());
  ASSERT_EQ(run.exit_code, 2) << run.output;  // CRIT: open relay
  EXPECT_THAT(run.output, HasSubstr("220 mx-good.lab.test ESMTP lab"));
  EXPECT_THAT(run.output, HasSubstr("OPEN RELAY"));
}

}  // namespace
}  // namespace smtp_exporter
