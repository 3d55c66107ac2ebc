// RFC 2920 pipelining of the transaction probes: against one server behaviour, the pipelined
// session must send the probes as one group (one write, before any of their replies is read)
// and reach exactly the verdicts of the lock-step session, for every combination of the
// test_null_sender / test_postmaster / test_open_relay options.
//
// The server here is a behaviour, not a script (tests/support/behaviour_server.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "probes/smtp_probe.h"
#include "tests/support/behaviour_server.h"
#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using testing::AsUsual;
using testing::Answer;
using testing::Behaviour;
using testing::BehaviourCase;
using testing::BehaviourFactory;
using testing::Behaviours;
using testing::FakeClock;
using testing::Line;
using testing::On;
using testing::SentLine;
using testing::While;
using ::testing::HasSubstr;

struct ProbeRun {
  EndpointObservation obs;
  std::vector<SentLine> sent;
  int connects = 0;
};

ProbeRun ProbeWith(const Behaviour& behaviour, CheckOptions options, bool advertise = true) {
  FakeClock clock;
  BehaviourFactory factory(behaviour, advertise);
  options.helo_name = "probe.test";
  const EndpointTarget target{"example.org", "mx.example.org.", *IpAddress::Parse("192.0.2.25"),
                              25};
  ProbeRun run;
  run.obs = ProbeEndpoint(factory, clock, target, options);
  run.sent = factory.sent();
  run.connects = factory.connects();
  return run;
}

bool IsTransactionCommand(const std::string& line) {
  return line.starts_with("MAIL ") || line.starts_with("RCPT ") || line == "RSET" || line == "QUIT";
}

std::string Describe(const CheckOptions& o) {
  return std::string("null_sender=") + (o.test_null_sender ? "on" : "off") +
         " postmaster=" + (o.test_postmaster ? "on" : "off") +
         " open_relay=" + (o.test_open_relay ? "on" : "off");
}

class PipeliningVerdictTest : public ::testing::TestWithParam<BehaviourCase> {};

TEST_P(PipeliningVerdictTest, OneGroupAndTheVerdictsOfLockStep) {
  for (int mask = 0; mask < 8; ++mask) {
    CheckOptions options;
    options.test_null_sender = (mask & 1) != 0;
    options.test_postmaster = (mask & 2) != 0;
    options.test_open_relay = (mask & 4) != 0;
    SCOPED_TRACE(Describe(options));

    options.pipelining = false;
    const ProbeRun lock_step = ProbeWith(GetParam().behaviour, options);
    options.pipelining = true;
    const ProbeRun pipelined = ProbeWith(GetParam().behaviour, options);

    EXPECT_FALSE(lock_step.obs.transactions_pipelined);
    const bool any_probe = mask != 0;
    EXPECT_EQ(pipelined.obs.transactions_pipelined, any_probe);

    // The verdicts, and how each was reached, are the lock-step ones.
    const std::pair<const TransactionProbe*, const TransactionProbe*> pairs[] = {
        {&lock_step.obs.null_sender, &pipelined.obs.null_sender},
        {&lock_step.obs.postmaster, &pipelined.obs.postmaster},
        {&lock_step.obs.open_relay, &pipelined.obs.open_relay}};
    for (const auto& [ls, pl] : pairs) {
      EXPECT_EQ(ProbeOutcomeName(pl->outcome), ProbeOutcomeName(ls->outcome));
      EXPECT_EQ(pl->detail, ls->detail);
    }
    EXPECT_EQ(pipelined.connects, 1);

    // Lock-step: one command per write, each after the previous reply was read.
    for (std::size_t i = 1; i < lock_step.sent.size(); ++i) {
      EXPECT_NE(lock_step.sent[i].write, lock_step.sent[i - 1].write);
      EXPECT_GT(lock_step.sent[i].reads_before, lock_step.sent[i - 1].reads_before);
    }
    // Pipelined: every transaction command, QUIT last, in one write.
    std::vector<SentLine> group;
    for (const SentLine& line : pipelined.sent) {
      if (IsTransactionCommand(line.text)) {
        group.push_back(line);
      }
    }
    ASSERT_FALSE(group.empty());
    EXPECT_EQ(group.back().text, "QUIT");
    for (const SentLine& line : group) {
      EXPECT_EQ(line.write, group.front().write) << line.text << " went out in another write";
    }
    EXPECT_EQ(group.size(), any_probe ? pipelined.sent.size() - 3 : 1u)  // EHLO STARTTLS EHLO
        << "commands after the group";
    for (const ProbeRun* run : {&lock_step, &pipelined}) {
      for (const SentLine& line : run->sent) {
        EXPECT_NE(line.text, "DATA");
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ServerBehaviours, PipeliningVerdictTest, ::testing::ValuesIn(Behaviours()),
                         [](const ::testing::TestParamInfo<BehaviourCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(PipeliningTest, TheGroupIsOneWriteOfEightCommandsAndTheTranscriptShowsIt) {
  const ProbeRun run = ProbeWith(AsUsual(), CheckOptions{});
  std::vector<std::string> group;
  for (const SentLine& line : run.sent) {
    if (line.write == run.sent.back().write) {
      group.push_back(line.text);
    }
  }
  EXPECT_THAT(group, ::testing::ElementsAre("MAIL FROM:<>", "RCPT TO:<postmaster@example.org>",
                                            "RSET", "MAIL FROM:<checker@probe.test>",
                                            "RCPT TO:<postmaster@example.org>",
                                            "RCPT TO:<postmaster@example.com>", "RSET", "QUIT"));
  // Every line of the group was written before the first of its replies was read.
  EXPECT_EQ(run.sent.size(), 3 + group.size());
  // The transcript: the eight commands in order, then the eight replies in order.
  std::vector<std::string> tail;
  for (const TranscriptEntry& entry : run.obs.transcript) {
    if (entry.direction != TranscriptEntry::Direction::kNote) {
      tail.push_back((entry.direction == TranscriptEntry::Direction::kClient ? "C: " : "S: ") +
                     entry.text);
    }
  }
  ASSERT_GE(tail.size(), 16u);
  tail.erase(tail.begin(), tail.end() - 16);
  EXPECT_THAT(tail,
              ::testing::ElementsAre(
                  "C: MAIL FROM:<>", "C: RCPT TO:<postmaster@example.org>", "C: RSET",
                  "C: MAIL FROM:<checker@probe.test>", "C: RCPT TO:<postmaster@example.org>",
                  "C: RCPT TO:<postmaster@example.com>", "C: RSET", "C: QUIT", "S: 250 2.1.0 Ok",
                  "S: 250 2.1.5 Ok", "S: 250 2.0.0 Ok", "S: 250 2.1.0 Ok", "S: 250 2.1.5 Ok",
                  "S: 554 5.7.1 Relay access denied", "S: 250 2.0.0 Ok", "S: 221 2.0.0 Bye"));
  EXPECT_TRUE(run.obs.transactions_pipelined);
  EXPECT_EQ(run.obs.open_relay.outcome, ProbeOutcome::kRejected);
  EXPECT_TRUE(run.obs.session_error.empty()) << run.obs.session_error;
  EXPECT_TRUE(run.obs.protocol_violations.empty());
}

TEST(PipeliningTest, NotAdvertisedMeansLockStep) {
  const ProbeRun run = ProbeWith(AsUsual(), CheckOptions{}, /*advertise=*/false);
  EXPECT_FALSE(run.obs.transactions_pipelined);
  for (std::size_t i = 1; i < run.sent.size(); ++i) {
    EXPECT_NE(run.sent[i].write, run.sent[i - 1].write);
  }
  EXPECT_EQ(run.obs.open_relay.outcome, ProbeOutcome::kRejected);
}

TEST(PipeliningTest, TheOptionOffMeansLockStep) {
  CheckOptions options;
  options.pipelining = false;
  const ProbeRun run = ProbeWith(AsUsual(), options);
  EXPECT_FALSE(run.obs.transactions_pipelined);
  // EHLO STARTTLS EHLO; MAIL RCPT RSET (postmaster accepted: no re-ask); MAIL RCPT RSET; QUIT
  EXPECT_EQ(run.sent.size(), 3u + 7u);
}

// The EHLO in force decides: after STARTTLS, the post-TLS reply (RFC 3207 §4.2).
TEST(PipeliningTest, OnlyThePostTlsEhloCounts) {
  int ehlo = 0;
  const Behaviour pre_tls_only = [&ehlo](const std::string& c, const std::optional<std::string>&) {
    if (!c.starts_with("EHLO ")) {
      return std::optional<Answer>();
    }
    ++ehlo;
    return std::optional<Answer>(ehlo == 1 ? Answer{"250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n"}
                                           : Answer{"250-mx\r\n250 SIZE 1000\r\n"});
  };
  const ProbeRun run = ProbeWith(pre_tls_only, CheckOptions{});
  EXPECT_FALSE(run.obs.transactions_pipelined);
  EXPECT_TRUE(run.obs.starttls.ok);
}

TEST(PipeliningTest, MoreRepliesThanCommandsIsAViolation) {
  const Behaviour twice = [](const std::string& c, const std::optional<std::string>&) {
    return c == "RSET" ? std::optional<Answer>(Answer{"250 2.0.0 Ok\r\n250 2.0.0 Ok again\r\n"})
                       : std::nullopt;
  };
  const ProbeRun run = ProbeWith(twice, CheckOptions{});
  EXPECT_TRUE(run.obs.transactions_pipelined);
  EXPECT_THAT(run.obs.protocol_violations,
              ::testing::Contains(HasSubstr("more replies than the pipelined group")));
}

}  // namespace
}  // namespace smtp_exporter
