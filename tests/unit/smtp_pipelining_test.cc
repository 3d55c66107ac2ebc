// RFC 2920 pipelining of the transaction probes: against one server behaviour, the pipelined
// session must send the probes as one group (one write, before any of their replies is read)
// and reach exactly the verdicts of the lock-step session, for every combination of the
// test_null_sender / test_postmaster / test_open_relay options.
//
// The server here is a behaviour, not a script (tests/support/scripted_transport.h fixes the
// order of lines, and the two modes send different lines): it answers each command as it
// arrives, keeps the transaction state a real server keeps (the sender of the open MAIL), and
// once it closes or falls silent it stays so, as a real server's input loop would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "probes/smtp_probe.h"
#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using testing::FakeClock;
using ::testing::HasSubstr;

// What the server does with one command.
struct Answer {
  std::string bytes;   // sent back (may be empty)
  bool close = false;  // then it closes the connection
  bool hang = false;   // then it falls silent for good (reads time out)
};

Answer Line(std::string line) { return Answer{line + "\r\n"}; }

// Overrides the default answer to `command`, given the sender of the open transaction ("" for
// the null sender; nullopt when no MAIL is open). nullopt: the default.
using Behaviour = std::function<std::optional<Answer>(const std::string& command,
                                                      const std::optional<std::string>& sender)>;

struct SentLine {
  std::string text;
  int write = 0;         // which Write() call carried it
  int reads_before = 0;  // Read() calls made before it was written
};

class BehaviourTransport final : public Transport {
 public:
  BehaviourTransport(Behaviour behaviour, bool pipelining, std::vector<SentLine>* sent)
      : behaviour_(std::move(behaviour)), pipelining_(pipelining), sent_(sent) {
    out_ = "220 mx.example.org ESMTP\r\n";
  }

  Result<std::string> Read(std::size_t max_bytes, Deadline /*deadline*/) override {
    ++reads_;
    if (!out_.empty()) {
      std::string chunk = out_.substr(0, max_bytes);
      out_.erase(0, chunk.size());
      return chunk;
    }
    if (closed_) {
      return Error{ErrorCode::kConnectionClosed, "server closed the connection"};
    }
    return Error{ErrorCode::kTimeout, "deadline passed while waiting for the server"};
  }

  Status Write(std::string_view data, Deadline /*deadline*/) override {
    ++writes_;
    pending_.append(data);
    for (std::size_t end; (end = pending_.find("\r\n")) != std::string::npos;) {
      const std::string line = pending_.substr(0, end);
      pending_.erase(0, end + 2);
      sent_->push_back({line, writes_, reads_});
      if (!closed_ && !hung_) {
        Serve(line);
      }
    }
    return Status::Ok();  // as TCP: writes to a peer that closed still succeed at first
  }

  Result<TlsDetails> StartTls(const std::string& /*server_name*/, Deadline /*deadline*/) override {
    return TlsDetails{"TLSv1.3",
                      "TLS_AES_256_GCM_SHA384",
                      "CN=mx.example.org",
                      {"mx.example.org"},
                      1'900'000'000};
  }

  void Close(Deadline /*deadline*/) override {}

 private:
  void Serve(const std::string& command) {
    const std::string verb = command.substr(0, 4);
    if (std::optional<Answer> answer = behaviour_(command, sender_)) {
      out_ += answer->bytes;
      closed_ = answer->close;
      hung_ = answer->hang;
      if (verb == "MAIL" && answer->bytes.starts_with("2")) {
        sender_ = SenderOf(command);
      }
      return;
    }
    if (verb == "EHLO") {
      out_ += pipelining_ ? "250-mx.example.org\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
                          : "250-mx.example.org\r\n250 STARTTLS\r\n";
    } else if (verb == "STAR") {
      out_ += "220 2.0.0 Ready to start TLS\r\n";
    } else if (verb == "MAIL") {
      if (sender_) {
        out_ += "503 5.5.1 Error: nested MAIL command\r\n";
      } else {
        sender_ = SenderOf(command);
        out_ += "250 2.1.0 Ok\r\n";
      }
    } else if (verb == "RCPT") {
      if (!sender_) {
        out_ += "503 5.5.1 Error: need MAIL command\r\n";
      } else if (command.find("@example.org>") != std::string::npos) {
        out_ += "250 2.1.5 Ok\r\n";
      } else {
        out_ += "554 5.7.1 Relay access denied\r\n";
      }
    } else if (verb == "RSET") {
      sender_.reset();
      out_ += "250 2.0.0 Ok\r\n";
    } else if (verb == "QUIT") {
      out_ += "221 2.0.0 Bye\r\n";
      closed_ = true;
    } else {
      out_ += "502 5.5.2 Error: command not recognized\r\n";
    }
  }

  static std::string SenderOf(const std::string& mail) {
    const std::size_t open = mail.find('<');
    const std::size_t close = mail.find('>');
    return open == std::string::npos || close == std::string::npos
               ? ""
               : mail.substr(open + 1, close - open - 1);
  }

  Behaviour behaviour_;
  bool pipelining_;
  std::vector<SentLine>* sent_;
  std::string out_;
  std::string pending_;
  std::optional<std::string> sender_;
  bool closed_ = false;
  bool hung_ = false;
  int reads_ = 0;
  int writes_ = 0;
};

class BehaviourFactory final : public TransportFactory {
 public:
  BehaviourFactory(Behaviour behaviour, bool pipelining)
      : behaviour_(std::move(behaviour)), pipelining_(pipelining) {}
  Result<std::unique_ptr<Transport>> Connect(const IpAddress& /*ip*/, std::uint16_t /*port*/,
                                             Deadline /*deadline*/) override {
    ++connects_;
    return std::unique_ptr<Transport>(
        std::make_unique<BehaviourTransport>(behaviour_, pipelining_, &sent_));
  }
  const std::vector<SentLine>& sent() const { return sent_; }
  int connects() const { return connects_; }

 private:
  Behaviour behaviour_;
  bool pipelining_;
  std::vector<SentLine> sent_;
  int connects_ = 0;
};

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

struct BehaviourCase {
  const char* name;
  Behaviour behaviour;
};

// Failure messages name the behaviour, not its bytes.
void PrintTo(const BehaviourCase& behaviour, std::ostream* os) { *os << behaviour.name; }

// Which open transactions an answer applies to.
enum class While { kAny, kNullSender, kOurSender };

// The server answers `command` (exactly, or every RCPT when `command` is "RCPT") with `answer`
// while a transaction of the given kind is open (kAny: also outside one); the rest as usual.
Behaviour On(std::string command, Answer answer, While when = While::kAny) {
  return
      [command, answer, when](const std::string& c,
                              const std::optional<std::string>& sender) -> std::optional<Answer> {
        const bool matches = command == "RCPT" ? c.starts_with("RCPT ") : c == command;
        const bool in_time =
            when == While::kAny || (sender && (when == While::kNullSender) == sender->empty());
        return matches && in_time ? std::optional<Answer>(answer) : std::nullopt;
      };
}

// The server as it is, answering everything the usual way.
Behaviour AsUsual() {
  return
      [](const std::string&, const std::optional<std::string>&) { return std::optional<Answer>(); };
}

// Server behaviours, each deterministic per command, so both modes meet the same server.
std::vector<BehaviourCase> Behaviours() {
  const std::string null_rcpt = "RCPT";  // the first RCPT of the null sender: any RCPT then
  const std::string postmaster = "RCPT TO:<postmaster@example.org>";
  const std::string relay = "RCPT TO:<postmaster@example.com>";
  const std::string our_mail = "MAIL FROM:<checker@probe.test>";
  const Answer drop{"", true};
  return {
      {"WellBehaved", AsUsual()},
      {"AcceptsEverything", On("RCPT", Line("250 2.1.5 Ok"))},
      {"NullSender5xxAtMail", On("MAIL FROM:<>", Line("550 5.7.1 No bounces here"))},
      {"NullSender4xxAtMail", On("MAIL FROM:<>", Line("451 4.3.0 Try again later"))},
      {"Every5xxAtRcpt", On("RCPT", Line("550 5.1.1 No such user"), While::kAny)},
      {"Every4xxAtRcpt", On("RCPT", Line("450 4.2.0 Greylisted, try later"), While::kAny)},
      // Postfix smtpd_delay_reject = yes: the sender's refusal comes at RCPT.
      {"DelayedRejectOfTheNullSender",
       On(null_rcpt, Line("550 5.7.1 <>: Sender address rejected"), While::kNullSender)},
      {"DelayedReject4xxOfTheNullSender",
       On(null_rcpt, Line("450 4.7.1 <>: Sender address deferred"), While::kNullSender)},
      {"OurSenderRefusedAtMail", On(our_mail, Line("553 5.7.1 Sender rejected"))},
      {"PostmasterRefusedFromOurSenderOnly",
       On(postmaster, Line("550 5.7.1 Not you"), While::kOurSender)},
      {"Closing421AtNullSenderRcpt",
       On(postmaster, Answer{"421 4.7.0 mx.example.org closing\r\n", true}, While::kNullSender)},
      {"Closing421AtOurSender", On(our_mail, Answer{"421 4.7.0 Too many commands\r\n", true})},
      {"Closing421AtRelayRcpt", On(relay, Answer{"421 4.7.0 closing\r\n", true})},
      {"DropsTheConnectionAtNullSenderMail", On("MAIL FROM:<>", drop)},
      {"DropsTheConnectionAtRelayRcpt", On(relay, drop)},
      {"DropsTheConnectionAtTheFirstRset", On("RSET", drop, While::kNullSender)},
      {"FallsSilentAtPostmasterRcpt", On(postmaster, Answer{"", false, true})},
      {"GarbageAtNullSenderRcpt",
       On(null_rcpt, Line("hello, this is not SMTP"), While::kNullSender)},
      {"GarbageAtRelayRcpt", On(relay, Line("9xx what"))},
      // 354 to RCPT: out of protocol, never a verdict.
      {"IntermediateReplyToRcpt", On("RCPT", Line("354 go ahead"), While::kAny)},
  };
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
