// Shared MX sessions (issue #17 item 2): one session serving several domains whose MX hosts
// share an address must give each domain the verdicts its own session gives, show it none of
// the other domains' recipients, and (SharedSessions) group exactly the probes that wait
// together, within the batch size, asking again alone whatever sharing may have changed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/base/clock.h"
#include "probes/ip_limiter.h"
#include "probes/observation_json.h"
#include "probes/shared_sessions.h"
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
using testing::SentLine;

const IpAddress kMxAddress = *IpAddress::Parse("192.0.2.25");
const std::vector<std::string> kDomains = {"example.org", "a.example.org", "b.example.org"};

EndpointTarget TargetFor(const std::string& domain,
                         EndpointService service = EndpointService::kMx) {
  return EndpointTarget{domain, "mx.example.org.", kMxAddress,
                        static_cast<std::uint16_t>(service == EndpointService::kMx ? 25 : 587),
                        service};
}

CheckOptions OptionsFor(int mask, bool pipelining) {
  CheckOptions options;
  options.helo_name = "probe.test";
  options.test_null_sender = (mask & 1) != 0;
  options.test_postmaster = (mask & 2) != 0;
  options.test_open_relay = (mask & 4) != 0;
  options.pipelining = pipelining;
  return options;
}

bool DeferredOwnRcpt(const EndpointObservation& obs) {
  for (const TransactionProbe* probe : {&obs.null_sender, &obs.postmaster}) {
    for (const SmtpStep& step : probe->steps) {
      if (step.command.starts_with("RCPT TO:<postmaster@") && step.reply &&
          (step.reply->IsTransient() || step.reply->code == 552)) {
        return true;
      }
    }
  }
  return false;
}

std::string TranscriptText(const EndpointObservation& obs) {
  std::string text;
  for (const TranscriptEntry& entry : obs.transcript) {
    text += entry.text + "\n";
  }
  return text;
}

class SharedSessionVerdictTest : public ::testing::TestWithParam<BehaviourCase> {};

// For every server behaviour, option combination and both transaction modes: each domain of a
// shared session gets its own session's verdicts, or is marked to be asked again alone; a
// server that handles every domain cleanly alone handles them cleanly together.
TEST_P(SharedSessionVerdictTest, EachDomainGetsTheVerdictsOfItsOwnSession) {
  for (const bool pipelining : {true, false}) {
    for (int mask = 0; mask < 8; ++mask) {
      const CheckOptions options = OptionsFor(mask, pipelining);
      SCOPED_TRACE(std::string("pipelining=") + (pipelining ? "on" : "off") +
                   " mask=" + std::to_string(mask));
      std::vector<EndpointObservation> alone;
      bool every_one_clean = true;
      for (const std::string& domain : kDomains) {
        FakeClock clock;
        BehaviourFactory factory(GetParam().behaviour, true);
        alone.push_back(ProbeEndpoint(factory, clock, TargetFor(domain), options));
        every_one_clean = every_one_clean && alone.back().session_error.empty() &&
                          !DeferredOwnRcpt(alone.back());
      }

      FakeClock clock;
      BehaviourFactory factory(GetParam().behaviour, true);
      int joins = 0;
      const SessionJoin join = [&joins] {
        ++joins;
        return std::vector<std::string>(kDomains.begin() + 1, kDomains.end());
      };
      const std::vector<SharedEndpointResult> shared =
          ProbeSharedEndpoint(factory, clock, TargetFor(kDomains[0]), options, join);
      EXPECT_EQ(joins, 1);
      EXPECT_EQ(factory.connects(), 1);
      ASSERT_EQ(shared.size(), kDomains.size());

      for (std::size_t i = 0; i < kDomains.size(); ++i) {
        const EndpointObservation& obs = shared[i].observation;
        SCOPED_TRACE(kDomains[i]);
        EXPECT_EQ(obs.domain, kDomains[i]);
        EXPECT_EQ(obs.session_domains, kDomains.size());
        EXPECT_EQ(obs.session_opened_for, i == 0 ? "" : kDomains[0]);
        if (every_one_clean) {
          EXPECT_FALSE(shared[i].needs_own_session);
        }
        if (!shared[i].needs_own_session) {
          const std::pair<const TransactionProbe*, const TransactionProbe*> pairs[] = {
              {&alone[i].null_sender, &obs.null_sender},
              {&alone[i].postmaster, &obs.postmaster},
              {&alone[i].open_relay, &obs.open_relay}};
          for (const auto& [own, in_shared] : pairs) {
            EXPECT_EQ(ProbeOutcomeName(in_shared->outcome), ProbeOutcomeName(own->outcome));
            EXPECT_EQ(in_shared->detail, own->detail);
          }
          EXPECT_EQ(obs.transactions_pipelined, alone[i].transactions_pipelined);
          EXPECT_EQ(obs.probe_recipient, alone[i].probe_recipient);
        }
        // No other domain's recipient shows in this domain's transcript or steps.
        const std::string transcript = TranscriptText(obs);
        const std::string steps = ToJson(obs).dump();
        for (std::size_t j = 0; j < kDomains.size(); ++j) {
          const std::string other = "<postmaster@" + kDomains[j] + ">";
          if (j != i) {
            EXPECT_THAT(transcript, ::testing::Not(::testing::HasSubstr(other)));
            EXPECT_THAT(steps, ::testing::Not(::testing::HasSubstr(other)));
          } else if (!shared[i].needs_own_session &&
                     TranscriptText(alone[i]).find(other) != std::string::npos) {
            EXPECT_THAT(transcript, ::testing::HasSubstr(other));
          }
        }
      }
      // Pipelined: every domain's transaction commands and QUIT in one write; never DATA.
      const std::vector<SentLine> sent = factory.sent();
      int last_write = -1;
      for (const SentLine& line : sent) {
        EXPECT_NE(line.text, "DATA");
        if (pipelining && (line.text.starts_with("MAIL ") || line.text.starts_with("RCPT "))) {
          if (last_write >= 0) {
            EXPECT_EQ(line.write, last_write) << line.text;
          }
          last_write = line.write;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ServerBehaviours, SharedSessionVerdictTest,
                         ::testing::ValuesIn(Behaviours()),
                         [](const ::testing::TestParamInfo<BehaviourCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(SharedSessionTest, TheGroupAsksEachPostmasterInBothTransactionsAndTheRelayOnce) {
  FakeClock clock;
  BehaviourFactory factory(AsUsual(), true);
  const SessionJoin join = [] { return std::vector<std::string>{"a.example.org"}; };
  const auto shared =
      ProbeSharedEndpoint(factory, clock, TargetFor("example.org"), OptionsFor(7, true), join);
  std::vector<std::string> group;
  const std::vector<SentLine> sent = factory.sent();
  for (const SentLine& line : sent) {
    if (line.write == sent.back().write) {
      group.push_back(line.text);
    }
  }
  EXPECT_THAT(group, ::testing::ElementsAre(
                         "MAIL FROM:<>", "RCPT TO:<postmaster@example.org>",
                         "RCPT TO:<postmaster@a.example.org>", "RSET",
                         "MAIL FROM:<checker@probe.test>", "RCPT TO:<postmaster@example.org>",
                         "RCPT TO:<postmaster@a.example.org>", "RCPT TO:<postmaster@example.com>",
                         "RSET", "QUIT"));
  ASSERT_EQ(shared.size(), 2u);
  for (const auto& result : shared) {
    EXPECT_FALSE(result.needs_own_session);
    EXPECT_EQ(result.observation.postmaster.outcome, ProbeOutcome::kAccepted);
    EXPECT_EQ(result.observation.open_relay.outcome, ProbeOutcome::kRejected);
    EXPECT_THAT(TranscriptText(result.observation),
                ::testing::HasSubstr("this session served 2 domains"));
  }
}

TEST(SharedSessionTest, NobodyJoiningIsExactlyTheUnsharedProbe) {
  for (const bool pipelining : {true, false}) {
    FakeClock clock_alone;
    BehaviourFactory factory_alone(AsUsual(), true);
    const EndpointObservation alone = ProbeEndpoint(factory_alone, clock_alone,
                                                    TargetFor("example.org"),
                                                    OptionsFor(7, pipelining));
    FakeClock clock;
    BehaviourFactory factory(AsUsual(), true);
    const SessionJoin nobody = [] { return std::vector<std::string>(); };
    const auto shared = ProbeSharedEndpoint(factory, clock, TargetFor("example.org"),
                                            OptionsFor(7, pipelining), nobody);
    ASSERT_EQ(shared.size(), 1u);
    EXPECT_FALSE(shared[0].needs_own_session);
    nlohmann::json expected = ToJson(alone);
    nlohmann::json got = ToJson(shared[0].observation);
    expected.erase("started_at");
    got.erase("started_at");
    EXPECT_EQ(got.dump(), expected.dump());
  }
}

// A server that answers 452 to every RCPT after the first of a transaction (a recipient limit
// of one, RFC 5321 §4.5.3.1.10) defers the joined domains' postmasters in a shared session:
// those are asked again alone and get their own session's verdict.
Behaviour OneRecipientPerTransaction() {
  return [rcpts = 0](const std::string& command,
                     const std::optional<std::string>&) mutable -> std::optional<Answer> {
    if (command.starts_with("MAIL ") || command == "RSET") {
      rcpts = 0;
    } else if (command.starts_with("RCPT ") && ++rcpts > 1 &&
               command != "RCPT TO:<postmaster@example.com>") {
      return Line("452 4.5.3 Too many recipients");
    }
    return std::nullopt;
  };
}

// A server that closes with 421 at the third RCPT of a transaction: a shared session of three
// domains breaks; alone, each domain's transactions have at most two.
Behaviour ClosesAtTheThirdRecipient() {
  return [rcpts = 0](const std::string& command,
                     const std::optional<std::string>&) mutable -> std::optional<Answer> {
    if (command.starts_with("MAIL ") || command == "RSET") {
      rcpts = 0;
    } else if (command.starts_with("RCPT ") && ++rcpts > 2) {
      return Answer{"421 4.7.0 Too many recipients, closing\r\n", true};
    }
    return std::nullopt;
  };
}

// Starts one Probe() per domain on its own thread, the first alone until it is connecting, so
// the others queue behind it; returns their results in `domains` order.
std::vector<std::optional<EndpointObservation>> ProbeTogether(
    SharedSessions& sessions, BehaviourFactory& factory, const std::vector<std::string>& domains,
    const CheckOptions& options, std::size_t expect_waiting,
    EndpointService service = EndpointService::kMx) {
  std::vector<std::optional<EndpointObservation>> results(domains.size());
  std::vector<std::thread> threads;
  factory.HoldConnections();
  const int connects_before = factory.connects();
  threads.emplace_back(
      [&] { results[0] = sessions.Probe(TargetFor(domains[0], service), options); });
  EXPECT_TRUE(factory.WaitForConnects(connects_before + 1, std::chrono::seconds(10)));
  for (std::size_t i = 1; i < domains.size(); ++i) {
    threads.emplace_back(
        [&, i] { results[i] = sessions.Probe(TargetFor(domains[i], service), options); });
  }
  for (int tries = 0; tries < 1000 && sessions.stats().waiting < expect_waiting; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(sessions.stats().waiting, expect_waiting);
  factory.ReleaseConnections();
  for (std::thread& thread : threads) {
    thread.join();
  }
  return results;
}

std::vector<std::string> Subdomains(int count) {
  std::vector<std::string> domains = {"example.org"};
  for (int i = 1; i < count; ++i) {
    domains.push_back("d" + std::to_string(i) + ".example.org");
  }
  return domains;
}

TEST(SharedSessionsTest, ProbesWaitingTogetherShareOneSession) {
  BehaviourFactory factory(AsUsual(), true);
  IpConnectionLimiter limiter(2);
  SharedSessions sessions(factory, SystemClock::Instance(), &limiter, kMaxDomainsPerSession);
  const std::vector<std::string> domains = Subdomains(6);
  const auto results = ProbeTogether(sessions, factory, domains, OptionsFor(7, true), 5);
  EXPECT_EQ(factory.connects(), 1);
  for (std::size_t i = 0; i < domains.size(); ++i) {
    ASSERT_TRUE(results[i].has_value());
    EXPECT_EQ(results[i]->domain, domains[i]);
    EXPECT_EQ(results[i]->session_domains, 6u);
    EXPECT_EQ(results[i]->postmaster.outcome, ProbeOutcome::kAccepted);
    EXPECT_EQ(results[i]->open_relay.outcome, ProbeOutcome::kRejected);
  }
  const SharedSessions::Stats stats = sessions.stats();
  EXPECT_EQ(stats.sessions, 1u);
  EXPECT_EQ(stats.domain_probes, 6u);
  EXPECT_EQ(stats.probed_again, 0u);
  EXPECT_EQ(stats.waiting, 0u);
  EXPECT_EQ(limiter.InUse(kMxAddress.ToString()), 0u);
}

// A submission session (587) asks nothing per domain: each waiting domain gets the whole
// session, as its own session would have been, and no transaction runs.
TEST(SharedSessionsTest, ASubmissionSessionServesEachWaitingDomainWhole) {
  BehaviourFactory factory(AsUsual(), true);
  SharedSessions sessions(factory, SystemClock::Instance(), nullptr, kMaxDomainsPerSession);
  const std::vector<std::string> domains = Subdomains(3);
  const auto results = ProbeTogether(sessions, factory, domains, OptionsFor(7, true), 2,
                                     EndpointService::kSubmission);
  EXPECT_EQ(factory.connects(), 1);
  FakeClock clock;
  BehaviourFactory alone_factory(AsUsual(), true);
  nlohmann::json alone = ToJson(ProbeEndpoint(alone_factory, clock,
                                              TargetFor(domains[0], EndpointService::kSubmission),
                                              OptionsFor(7, true)));
  for (std::size_t i = 0; i < domains.size(); ++i) {
    ASSERT_TRUE(results[i].has_value());
    EXPECT_EQ(results[i]->domain, domains[i]);
    EXPECT_EQ(results[i]->service, EndpointService::kSubmission);
    EXPECT_EQ(results[i]->session_domains, 3u);
    EXPECT_TRUE(results[i]->starttls.ok);
    EXPECT_EQ(results[i]->transactions_channel, TransactionChannel::kNone);
    EXPECT_TRUE(results[i]->probe_sender.empty());
    // The same session as its own, but for whose it is and the times.
    nlohmann::json got = ToJson(*results[i]);
    nlohmann::json want = alone;
    for (nlohmann::json* j : {&got, &want}) {
      j->erase("started_at");
      j->erase("phases");
      j->erase("session");
      j->erase("domain");
      for (auto& entry : (*j)["transcript"]) {
        entry.erase("at");
      }
    }
    EXPECT_EQ(got.dump(), want.dump());
  }
  for (const SentLine& line : factory.sent()) {
    EXPECT_FALSE(line.text.starts_with("MAIL ") || line.text.starts_with("RCPT "))
        << line.text;
  }
}

TEST(SharedSessionsTest, TheBatchSizeBoundsASession) {
  BehaviourFactory factory(AsUsual(), true);
  SharedSessions sessions(factory, SystemClock::Instance(), nullptr, 3);
  const auto results = ProbeTogether(sessions, factory, Subdomains(6), OptionsFor(7, true), 5);
  EXPECT_EQ(factory.connects(), 2);  // 3 domains each
  for (const auto& result : results) {
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->session_domains, 3u);
  }
}

TEST(SharedSessionsTest, OneDomainPerSessionSharesNothing) {
  BehaviourFactory factory(AsUsual(), true);
  SharedSessions sessions(factory, SystemClock::Instance(), nullptr, 1);
  const std::vector<std::string> domains = Subdomains(3);
  std::vector<std::thread> threads;
  std::vector<std::optional<EndpointObservation>> results(domains.size());
  for (std::size_t i = 0; i < domains.size(); ++i) {
    threads.emplace_back(
        [&, i] { results[i] = sessions.Probe(TargetFor(domains[i]), OptionsFor(7, true)); });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(factory.connects(), 3);
  for (const auto& result : results) {
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->session_domains, 1u);
  }
}

TEST(SharedSessionsTest, DeferredRecipientsAreAskedAgainAlone) {
  BehaviourFactory factory(OneRecipientPerTransaction(), true);
  SharedSessions sessions(factory, SystemClock::Instance(), nullptr, kMaxDomainsPerSession);
  const auto results = ProbeTogether(sessions, factory, Subdomains(3), OptionsFor(7, true), 2);
  EXPECT_EQ(factory.connects(), 3);  // the shared session, then the two deferred ones alone
  for (const auto& result : results) {
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->postmaster.outcome, ProbeOutcome::kAccepted) << result->domain;
    EXPECT_EQ(result->null_sender.outcome, ProbeOutcome::kAccepted) << result->domain;
  }
  EXPECT_EQ(results[0]->session_domains, 3u);  // its own recipients came first: settled
  EXPECT_EQ(results[1]->session_domains, 1u);
  EXPECT_EQ(sessions.stats().probed_again, 2u);
}

TEST(SharedSessionsTest, ABrokenSessionIsAskedAgainAloneAndShrinksTheBatch) {
  BehaviourFactory factory(ClosesAtTheThirdRecipient(), true);
  SharedSessions sessions(factory, SystemClock::Instance(), nullptr, kMaxDomainsPerSession);
  const auto results = ProbeTogether(sessions, factory, Subdomains(3), OptionsFor(7, true), 2);
  EXPECT_EQ(factory.connects(), 4);  // the broken shared session, then each domain alone
  for (const auto& result : results) {
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->session_domains, 1u);
    EXPECT_TRUE(result->session_error.empty()) << result->session_error;
    EXPECT_EQ(result->postmaster.outcome, ProbeOutcome::kAccepted);
    EXPECT_EQ(result->open_relay.outcome, ProbeOutcome::kRejected);
  }
  EXPECT_EQ(sessions.stats().probed_again, 3u);
  // The batch is halved (3 → 1): three more probes waiting together get a session each.
  const auto again = ProbeTogether(sessions, factory, Subdomains(3), OptionsFor(7, true), 2);
  EXPECT_EQ(factory.connects(), 7);
  for (const auto& result : again) {
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->postmaster.outcome, ProbeOutcome::kAccepted);
  }
}

TEST(SharedSessionsTest, AWaitingProbeLeavesWhenCancelled) {
  BehaviourFactory factory(AsUsual(), true);
  SharedSessions sessions(factory, SystemClock::Instance(), nullptr, kMaxDomainsPerSession);
  std::atomic<bool> cancelled{false};
  factory.HoldConnections();
  std::optional<EndpointObservation> opener;
  std::thread first([&] { opener = sessions.Probe(TargetFor("example.org"), OptionsFor(7, true)); });
  ASSERT_TRUE(factory.WaitForConnects(1, std::chrono::seconds(10)));
  std::optional<EndpointObservation> waiter = EndpointObservation{};
  std::thread second([&] {
    waiter = sessions.Probe(TargetFor("a.example.org"), OptionsFor(7, true), &cancelled);
  });
  for (int tries = 0; tries < 1000 && sessions.stats().waiting < 1; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  cancelled = true;
  second.join();  // returns while the session it waited for is still connecting
  EXPECT_FALSE(waiter.has_value());
  factory.ReleaseConnections();
  first.join();
  ASSERT_TRUE(opener.has_value());
  EXPECT_EQ(opener->session_domains, 1u);
  EXPECT_EQ(factory.connects(), 1);
}

}  // namespace
}  // namespace smtp_exporter
