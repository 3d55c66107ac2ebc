// End to end against real MTAs other than Postfix (#15 "widen the lab"): Exim 4.96
// (tests/lab/exim.sh, unpacked from Debian's package, in a private mount namespace) and aiosmtpd
// (tests/lab/aiosmtpd.sh). Each listens on its own loopback addresses, one failure mode per
// address, and each lab domain ex-*.lab.test / aio-*.lab.test has its MX there. The
// smtp_exporter binary runs `check DOMAIN` through the lab's Knot; each row asserts the exact
// set of non-OK findings, and then reads the server's own log of that session: it ended with
// QUIT (RFC 5321 §4.1.1.10), saw no DATA, no synchronisation error and no early talk (RFC 5321
// §4.3.1, RFC 2920 §3.1). The servers are started by the suites and stopped by PID; a server
// that cannot start fails every row of its suite (never a skip).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/lab_environment.h"
#include "tests/integration/shared_session_expect.h"
#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

using testing::Eventually;
using testing::kSmtpPort;
using testing::LabEnvironment;
using testing::NonOkFindings;
using testing::ReadFile;
using testing::RunCommand;
using testing::RunLabCheck;

struct MtaScenario {
  const char* domain;
  const char* address;  // where the scenario's server listens (its MX host's only address)
  const char* status;
  int exit_code;
  std::set<std::string> findings;  // "code:severity" of every non-OK finding
  // Exim only: the session's command list as Exim logs it ("C=..." of "no MAIL in SMTP
  // connection"), for sessions that never reach MAIL; "" when not checked.
  const char* exim_commands = "";
  // The greeting phase must have taken at least this long (a greet pause really happened).
  double min_greeting_seconds = 0;
  // Where the probe first failed and why (#15 item 7), "phase/reason", or "" for no failure.
  const char* failure = "";
};

// Test names and failure messages show the domain, not the struct's bytes.
void PrintTo(const MtaScenario& scenario, std::ostream* os) { *os << scenario.domain; }

// Exim advertises PIPELINING and 8BITMIME but no ENHANCEDSTATUSCODES: since #15 item 5,
// smtp.extension.missing judges only the first two, so only ex-sync (no PIPELINING) has it.
// Every lab MX host has an A record only, hence smtp.ipv6.missing on every row.
const MtaScenario kEximScenarios[] = {
    {"ex-good.lab.test", "127.0.0.40", "info", 0, {"smtp.ipv6.missing:info"}},
    {"ex-notls.lab.test",
     "127.0.0.41",
     "crit",
     2,
     {"smtp.all_no_starttls:crit", "smtp.starttls.missing:warn", "smtp.ipv6.missing:info"}},
    {"ex-auth.lab.test",
     "127.0.0.42",
     "crit",
     2,
     {"smtp.auth.plaintext:crit", "smtp.ipv6.missing:info"}},
    {"ex-relay.lab.test",
     "127.0.0.43",
     "crit",
     2,
     {"smtp.open_relay:crit", "smtp.ipv6.missing:info"}},
    {"ex-nopm.lab.test",
     "127.0.0.44",
     "crit",
     2,
     {"smtp.postmaster.rejected:crit", "smtp.ipv6.missing:info"}},
    {"ex-nonull.lab.test",
     "127.0.0.45",
     "crit",
     2,
     {"smtp.null_sender.rejected:crit", "smtp.ipv6.missing:info"}},
    // Greylisting: 451 to every local RCPT is temporary (RFC 5321 §4.2.1), not judged.
    {"ex-greylist.lab.test",
     "127.0.0.46",
     "info",
     0,
     {"smtp.probe.temporary:info", "smtp.ipv6.missing:info"}},
    // A 2 s pause before the banner (acl_smtp_connect delay), inside the 5 s timeout: waited
    // for (the greeting phase took >= 1.9 s), and Exim (smtp_enforce_sync) logs no early talk.
    {"ex-greetdelay.lab.test", "127.0.0.47", "info", 0, {"smtp.ipv6.missing:info"}, "", 1.9},
    // helo_verify_hosts with a resolver that cannot answer: 451 to EHLO. A 4yz is "try later",
    // not "command not recognized" (RFC 5321 §3.2, §4.2.1): #15 item 3 makes it WARN
    // smtp.ehlo.deferred, and the probe says QUIT without trying HELO (Exim's command list).
    {"ex-heloverify.lab.test",
     "127.0.0.48",
     "warn",
     1,
     {"smtp.ehlo.deferred:warn", "smtp.ipv6.missing:info"},
     "C=EHLO,QUIT",
     0,
     "ehlo/reply_4xx"},
    // No PIPELINING advertised, smtp_enforce_sync: any command sent before the previous reply
    // would be logged as a synchronisation error (RFC 2920 §3.1).
    {"ex-sync.lab.test",
     "127.0.0.49",
     "info",
     0,
     {"smtp.extension.missing:info", "smtp.ipv6.missing:info"}},
};

// aiosmtpd 1.4 never advertises PIPELINING (it accepts pipelined commands all the same), so
// smtp.extension.missing (PIPELINING) is on every row.
const MtaScenario kAiosmtpdScenarios[] = {
    {"aio-good.lab.test",
     "127.0.0.60",
     "info",
     0,
     {"smtp.extension.missing:info", "smtp.ipv6.missing:info"}},
    {"aio-notls.lab.test",
     "127.0.0.61",
     "crit",
     2,
     {"smtp.all_no_starttls:crit", "smtp.starttls.missing:warn", "smtp.extension.missing:info",
      "smtp.ipv6.missing:info"}},
    {"aio-auth.lab.test",
     "127.0.0.62",
     "crit",
     2,
     {"smtp.auth.plaintext:crit", "smtp.extension.missing:info", "smtp.ipv6.missing:info"}},
    {"aio-nopm.lab.test",
     "127.0.0.63",
     "crit",
     2,
     {"smtp.postmaster.rejected:crit", "smtp.extension.missing:info", "smtp.ipv6.missing:info"}},
};

// The lines of `path` after byte `offset` that contain `needle`.
std::vector<std::string> LinesAfter(const std::string& path, std::size_t offset,
                                    const std::string& needle) {
  const std::string text = ReadFile(path);
  std::vector<std::string> lines;
  if (offset >= text.size()) {
    return lines;
  }
  std::istringstream in(text.substr(offset));
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) {
      lines.push_back(line);
    }
  }
  return lines;
}

std::size_t CountContaining(const std::vector<std::string>& lines, const std::string& part) {
  std::size_t n = 0;
  for (const auto& line : lines) {
    if (line.find(part) != std::string::npos) {
      ++n;
    }
  }
  return n;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) {
    text += line + "\n";
  }
  return text;
}

// Runs the check of one row and compares its findings; returns after the check process ended.
// Its document, or an empty object.
nlohmann::json ExpectFindings(const MtaScenario& scenario) {
  const auto run = RunLabCheck(scenario.domain);
  EXPECT_EQ(run.exit_code, scenario.exit_code) << run.output;
  if (!nlohmann::json::accept(run.output)) {
    ADD_FAILURE() << run.output;
    return nlohmann::json::object();
  }
  const auto doc = nlohmann::json::parse(run.output);
  EXPECT_EQ(doc["status"], scenario.status);
  EXPECT_EQ(NonOkFindings(doc), scenario.findings);
  if (doc["endpoints"].size() != 1u) {
    ADD_FAILURE() << "endpoints: " << doc["endpoints"].size();
    return doc;
  }
  const auto& failure = doc["endpoints"][0]["failure"];
  if (*scenario.failure == '\0') {
    EXPECT_TRUE(failure.is_null()) << failure.dump();
  } else if (!failure.is_object()) {
    ADD_FAILURE() << failure.dump();
  } else {
    EXPECT_EQ(failure["phase"].get<std::string>() + "/" + failure["reason"].get<std::string>(),
              scenario.failure);
  }
  if (scenario.min_greeting_seconds > 0) {
    EXPECT_GE(doc["endpoints"][0]["phases"]["greeting"].get<double>(),
              scenario.min_greeting_seconds);
  }
  // The same verdicts in lock-step; its session is logged too, and must be as polite.
  testing::ExpectLockStepAgrees(scenario.domain, doc);
  return doc;
}

// What is wrong in Exim's log lines of the sessions on one address: every session opens with
// "(TCP/IP connection count = N)" and must end with "closed by QUIT" (RFC 5321 §4.1.1.10).
// Early talk (RFC 5321 §4.3.1) and pipelining without PIPELINING (RFC 2920 §3.1) both show as
// "SMTP protocol synchronization error"; a dropped session as "closed by EOF", "lost" or
// "unexpected disconnection"; DATA as our ACL's "LAB-DATA-SEEN", a received message as "<=".
std::vector<std::string> EximSessionProblems(const std::vector<std::string>& lines) {
  std::vector<std::string> problems;
  const std::size_t opened = CountContaining(lines, "TCP/IP connection count");
  if (opened == 0) {
    problems.emplace_back("no session");
  } else if (CountContaining(lines, "closed by QUIT") != opened) {
    problems.emplace_back("a session did not end with QUIT");
  }
  for (const char* bad : {"synchronization error", "unexpected disconnection", "closed by EOF",
                          " lost", "LAB-DATA-SEEN", " <= ", "TLS error"}) {
    if (CountContaining(lines, bad) > 0) {
      problems.emplace_back(bad);
    }
  }
  return problems;
}

// The same for tests/lab/aiosmtpd_lab.py's session log: "open", "QUIT", "close quit=yes|no
// [(error)]" (an error there is a reset or an unclean TLS end), "EARLY-TALKER", "DATA-SEEN",
// "AUTH-SEEN" (the exporter never authenticates).
std::vector<std::string> AiosmtpdSessionProblems(const std::vector<std::string>& lines) {
  std::vector<std::string> problems;
  const std::size_t opened = CountContaining(lines, " open");
  if (opened == 0) {
    problems.emplace_back("no session");
  } else if (CountContaining(lines, " close quit=yes") != opened) {
    problems.emplace_back("a session did not end with QUIT");
  }
  for (const char* bad : {"quit=no", "quit=yes (", "EARLY-TALKER", "DATA-SEEN", "AUTH-SEEN"}) {
    if (CountContaining(lines, bad) > 0) {
      problems.emplace_back(bad);
    }
  }
  return problems;
}

// Waits (bounded) until `problems` of the log lines after `offset` that contain `needle` is
// empty, since a server may log a session's end a moment after the client has gone; returns
// the last problems and lines.
std::vector<std::string> SettledProblems(
    const std::string& path, std::size_t offset, const std::string& needle,
    std::vector<std::string> (*problems_of)(const std::vector<std::string>&),
    std::vector<std::string>& lines, std::chrono::seconds limit = std::chrono::seconds(10)) {
  std::vector<std::string> problems;
  Eventually(
      [&] {
        lines = LinesAfter(path, offset, needle);
        problems = problems_of(lines);
        return problems.empty();
      },
      limit);
  return problems;
}

// A raw client through bash's /dev/tcp (IP literals only: no name lookup), bounded by timeout.
testing::CommandResult RawClient(const std::string& address, const std::string& script) {
  return RunCommand("timeout 10 bash -c 'exec 3<>/dev/tcp/" + address + "/" +
                    std::to_string(kSmtpPort) + " && " + script + "' 2>&1");
}

std::string TestName(const ::testing::TestParamInfo<MtaScenario>& info) {
  std::string name = info.param.domain;
  for (char& c : name) {
    if (c == '.' || c == '-') c = '_';
  }
  return name;
}

// ---- Exim --------------------------------------------------------------------------------------

class EximLab : public ::testing::TestWithParam<MtaScenario> {
 public:
  static void SetUpTestSuite() {
    const auto start = RunCommand(LabEnvironment::SourceDir() + "/tests/lab/exim.sh start " +
                                  LabEnvironment::state_dir() + " " + std::to_string(kSmtpPort));
    started_ = start.exit_code == 0;
    start_output_ = start.output;
  }
  static void TearDownTestSuite() {
    const auto stop = RunCommand(LabEnvironment::SourceDir() + "/tests/lab/exim.sh stop " +
                                 LabEnvironment::state_dir());
    EXPECT_EQ(stop.exit_code, 0) << stop.output;
  }

 protected:
  static std::string MainLog() { return LabEnvironment::state_dir() + "/exim/log/mainlog"; }
  static inline bool started_ = false;
  static inline std::string start_output_;
};

TEST_P(EximLab, ExactFindingsAndAPoliteSession) {
  const MtaScenario& scenario = GetParam();
  ASSERT_TRUE(started_) << "could not start Exim (tests/lab/exim.sh; scripts/dev.sh deps fetches "
                           "it):\n"
                        << start_output_;
  const std::size_t offset = ReadFile(MainLog()).size();
  const nlohmann::json doc = ExpectFindings(scenario);
  // Exim advertises PIPELINING everywhere but ex-sync, so the transaction probes go as one
  // group wherever they run (not after ex-heloverify's deferred EHLO); smtp_enforce_sync would
  // log a synchronisation error if the group broke RFC 2920 §3.1.
  const std::string domain = scenario.domain;
  const bool pipelines = domain != "ex-sync.lab.test" && domain != "ex-heloverify.lab.test";
  EXPECT_EQ(testing::PipelinedEndpoints(doc), pipelines ? 1 : 0);

  // Exim logs with I=[interface]:port.
  std::vector<std::string> lines;
  const auto problems = SettledProblems(
      MainLog(), offset, std::string("I=[") + scenario.address + "]:", EximSessionProblems, lines);
  EXPECT_THAT(problems, ::testing::IsEmpty()) << "Exim logged:\n" << Joined(lines);
  if (*scenario.exim_commands != '\0') {
    EXPECT_THAT(Joined(lines), ::testing::HasSubstr(scenario.exim_commands));
  }
}

INSTANTIATE_TEST_SUITE_P(Exim, EximLab, ::testing::ValuesIn(kEximScenarios), TestName);

// Exim with one session for four domains, pipelined (one of them a relay it refuses): the
// verdicts of each domain's own session, and Exim logs no synchronisation error or other
// problem for the long group.
class EximSharedSession : public EximLab {};

TEST_F(EximSharedSession, EachDomainGetsTheVerdictsOfItsOwnSession) {
  ASSERT_TRUE(started_) << start_output_;
  const std::size_t offset = ReadFile(MainLog()).size();
  testing::ExpectSharedSessionEqualsOwn(
      "127.0.0.40", "mx-ex-good.lab.test",
      {"ex-good.lab.test", "ex-notls.lab.test", "elsewhere.example", "ex-auth.lab.test"},
      /*pipelining=*/true, /*pipelined=*/true);
  std::vector<std::string> lines;
  const auto problems =
      SettledProblems(MainLog(), offset, "I=[127.0.0.40]:", EximSessionProblems, lines);
  EXPECT_THAT(problems, ::testing::IsEmpty()) << "Exim logged:\n" << Joined(lines);
}

// Positive controls: the log checks above do see a rude client. Each is a raw session that
// breaks one rule, and EximSessionProblems must name it.
class EximLogControls : public EximLab {};

TEST_F(EximLogControls, TheLogChecksSeeEarlyTalkPipeliningWithoutPipeliningAndADrop) {
  ASSERT_TRUE(started_) << start_output_;
  const std::size_t offset = ReadFile(MainLog()).size();
  // .47 greets after 2 s: EHLO at once is talking before the greeting.
  RawClient("127.0.0.47", "printf \"EHLO early.lab.test\\r\\n\" >&3 && cat <&3 >/dev/null");
  // .49 advertises no PIPELINING: MAIL and RCPT in one write (python: bash's stdout is line
  // buffered, so its printf would write them one by one).
  RunCommand(
      "timeout 10 /usr/bin/python3 -I -c '"
      R"(
import socket, time
s = socket.create_connection(("127.0.0.49", )" +
      std::to_string(kSmtpPort) +
      R"(), timeout=5)
s.recv(512)
s.sendall(b"EHLO rude.lab.test\r\n")
time.sleep(0.3)
s.recv(4096)
s.sendall(b"MAIL FROM:<a@lab.test>\r\nRCPT TO:<postmaster@lab.test>\r\n")
time.sleep(0.3)
s.close()
)"
      "' 2>&1");
  // .40: read the greeting, then close without QUIT.
  RawClient("127.0.0.40", "head -n 1 <&3 >/dev/null");
  std::vector<std::string> lines;
  const auto saw = [&](const char* address, const char* problem) {
    return Eventually(
        [&] {
          lines = LinesAfter(MainLog(), offset, std::string("I=[") + address + "]:");
          const auto problems = EximSessionProblems(lines);
          return std::find(problems.begin(), problems.end(), problem) != problems.end();
        },
        std::chrono::seconds(10));
  };
  EXPECT_TRUE(saw("127.0.0.47", "synchronization error")) << Joined(lines);
  EXPECT_THAT(Joined(lines), ::testing::HasSubstr("input sent without waiting for greeting"));
  EXPECT_TRUE(saw("127.0.0.49", "synchronization error")) << Joined(lines);
  EXPECT_THAT(Joined(lines), ::testing::HasSubstr("pipelining was not advertised"));
  EXPECT_TRUE(saw("127.0.0.40", " lost")) << Joined(lines);
  EXPECT_TRUE(saw("127.0.0.40", "a session did not end with QUIT")) << Joined(lines);
}

// ---- aiosmtpd ----------------------------------------------------------------------------------

// aiosmtpd for one test suite: started before its first test, stopped by PID after its last.
template <typename Row>
class AiosmtpdSuite : public ::testing::TestWithParam<Row> {
 public:
  static void SetUpTestSuite() {
    const auto start = RunCommand(LabEnvironment::SourceDir() + "/tests/lab/aiosmtpd.sh start " +
                                  LabEnvironment::state_dir() + " " + std::to_string(kSmtpPort));
    started_ = start.exit_code == 0;
    start_output_ = start.output;
  }
  static void TearDownTestSuite() {
    const auto stop = RunCommand(LabEnvironment::SourceDir() + "/tests/lab/aiosmtpd.sh stop " +
                                 LabEnvironment::state_dir());
    EXPECT_EQ(stop.exit_code, 0) << stop.output;
  }

 protected:
  static std::string SessionLog() { return LabEnvironment::state_dir() + "/aiosmtpd/sessions.log"; }
  static inline bool started_ = false;
  static inline std::string start_output_;
};
using AiosmtpdLab = AiosmtpdSuite<MtaScenario>;

TEST_P(AiosmtpdLab, ExactFindingsAndAPoliteSession) {
  const MtaScenario& scenario = GetParam();
  ASSERT_TRUE(started_) << "could not start aiosmtpd (tests/lab/aiosmtpd.sh; Debian's "
                           "python3-aiosmtpd):\n"
                        << start_output_;
  const std::size_t offset = ReadFile(SessionLog()).size();
  // aiosmtpd advertises no PIPELINING: lock-step.
  EXPECT_EQ(testing::PipelinedEndpoints(ExpectFindings(scenario)), 0);

  const std::string domain = scenario.domain;
  std::vector<std::string> lines;
  const auto problems =
      SettledProblems(SessionLog(), offset, " " + domain.substr(0, domain.find('.')) + " ",
                      AiosmtpdSessionProblems, lines);
  EXPECT_THAT(problems, ::testing::IsEmpty()) << "aiosmtpd logged:\n" << Joined(lines);
}

INSTANTIATE_TEST_SUITE_P(Aiosmtpd, AiosmtpdLab, ::testing::ValuesIn(kAiosmtpdScenarios), TestName);

// aiosmtpd (no PIPELINING: the domains take their turns on one connection) with one session
// for three domains: the verdicts of each domain's own session.
class AiosmtpdSharedSession : public AiosmtpdLab {};

TEST_F(AiosmtpdSharedSession, EachDomainGetsTheVerdictsOfItsOwnSession) {
  ASSERT_TRUE(started_) << start_output_;
  testing::ExpectSharedSessionEqualsOwn(
      "127.0.0.60", "mx-aio-good.lab.test",
      {"aio-good.lab.test", "elsewhere.example", "aio-other.lab.test"},
      /*pipelining=*/true, /*pipelined=*/false);  // aiosmtpd advertises no PIPELINING
}

// ---- Message submission (RFC 8314) on aiosmtpd -------------------------------------------------

// One `check --submission ...` row against aiosmtpd's submission listeners (127.0.0.70-73, real
// ports 587 and 465, tests/lab/aiosmtpd_lab.py SUBMISSION).
struct SubmissionRow {
  const char* domain;
  const char* flags;
  const char* status;
  int exit_code;
  std::set<std::string> findings;  // "code:severity" of every non-OK finding
  // "<address>:<port>" of every submission session the check must have run, in order.
  std::vector<std::string> sessions;
  // aiosmtpd scenarios ("sub-good-587") whose sessions must have been polite: QUIT, no AUTH,
  // no DATA, no early talk. Not a 465 whose TLS handshake failed: nothing can be said there.
  std::vector<std::string> polite;
};

void PrintTo(const SubmissionRow& row, std::ostream* os) { *os << row.domain; }

const SubmissionRow kSubmissionRows[] = {
    // 587 with STARTTLS and AUTH only after it; 465 with implicit TLS and AUTH: nothing to say
    // beyond the MX's own findings (aiosmtpd has no PIPELINING; no AAAA in the lab).
    {"sub-good.lab.test",
     "--submission 587,465",
     "info",
     0,
     {"smtp.extension.missing:info", "smtp.ipv6.missing:info"},
     {"127.0.0.70:587", "127.0.0.70:465"},
     {"sub-good-587", "sub-good-465"}},
    // AUTH PLAIN LOGIN before STARTTLS on 587; plain SMTP on 465, where the TLS handshake fails.
    {"sub-auth.lab.test",
     "--submission 587,465",
     "crit",
     2,
     {"smtp.submission.plaintext_auth:crit", "smtp.submission.tls_failed:crit",
      "smtp.extension.missing:info", "smtp.ipv6.missing:info"},
     {"127.0.0.71:587", "127.0.0.71:465"},
     {"sub-auth-587"}},
    // No STARTTLS on 587; nothing listening on 465, the only address: CRIT.
    {"sub-notls.lab.test",
     "--submission 587,465",
     "crit",
     2,
     {"smtp.submission.no_starttls:crit", "smtp.submission.unreachable:crit",
      "smtp.extension.missing:info", "smtp.ipv6.missing:info"},
     {"127.0.0.72:587", "127.0.0.72:465"},
     {"sub-notls-587"}},
    // CRAM-MD5 (no password in clear) before STARTTLS on 587: WARN; 465 without AUTH: WARN.
    {"sub-cram.lab.test",
     "--submission 587,465",
     "warn",
     1,
     {"smtp.submission.auth_before_tls:warn", "smtp.submission.no_auth:warn",
      "smtp.extension.missing:info", "smtp.ipv6.missing:info"},
     {"127.0.0.73:587", "127.0.0.73:465"},
     {"sub-cram-587", "sub-cram-465"}},
    // A configured submission host instead of the MX hosts, resolved through the lab's Knot.
    {"aio-good.lab.test",
     "--submission 587 --submission-host mx-sub-good.lab.test",
     "info",
     0,
     {"smtp.extension.missing:info", "smtp.ipv6.missing:info"},
     {"127.0.0.70:587"},
     {"sub-good-587"}},
};

using SubmissionRows = AiosmtpdSuite<SubmissionRow>;

// "sub_good_lab_test_0": the domain, then the row (aio-good.lab.test has rows elsewhere).
std::string SubmissionRowName(const ::testing::TestParamInfo<SubmissionRow>& row) {
  std::string name = std::string(row.param.domain) + "_" + std::to_string(row.index);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      c = '_';
    }
  }
  return name;
}

TEST_P(SubmissionRows, ExactFindingsAndPoliteSessions) {
  const SubmissionRow& row = GetParam();
  ASSERT_TRUE(started_) << "could not start aiosmtpd:\n" << start_output_;
  const std::size_t offset = ReadFile(SessionLog()).size();
  const auto run = RunLabCheck(row.domain, row.flags);
  EXPECT_EQ(run.exit_code, row.exit_code) << run.output;
  ASSERT_TRUE(nlohmann::json::accept(run.output)) << run.output;
  const auto doc = nlohmann::json::parse(run.output);
  EXPECT_EQ(doc["status"], row.status);
  EXPECT_EQ(NonOkFindings(doc), row.findings) << run.output;
  std::vector<std::string> sessions;
  for (const auto& e : doc["submission"]) {
    sessions.push_back(e["ip"].get<std::string>() + ":" + std::to_string(e["port"].get<int>()));
    // Never a transaction on a submission port.
    EXPECT_EQ(e["transactions"]["null_sender"]["outcome"], "not_tested");
    EXPECT_EQ(e["transactions"]["open_relay"]["outcome"], "not_tested");
  }
  EXPECT_EQ(sessions, row.sessions);
  for (const std::string& scenario : row.polite) {
    std::vector<std::string> lines;
    const auto problems =
        SettledProblems(SessionLog(), offset, " " + scenario + " ", AiosmtpdSessionProblems, lines);
    EXPECT_THAT(problems, ::testing::IsEmpty()) << scenario << " logged:\n" << Joined(lines);
  }
}

INSTANTIATE_TEST_SUITE_P(Aiosmtpd, SubmissionRows, ::testing::ValuesIn(kSubmissionRows),
                         SubmissionRowName);

class AiosmtpdLogControls : public AiosmtpdLab {};

TEST_F(AiosmtpdLogControls, TheLogChecksSeeDataAndADrop) {
  ASSERT_TRUE(started_) << start_output_;
  const std::size_t offset = ReadFile(SessionLog()).size();
  RawClient("127.0.0.60",
            "head -n 1 <&3 >/dev/null && printf \"EHLO rude.lab.test\\r\\n\" >&3 && sleep 0.3 && "
            "printf \"DATA\\r\\n\" >&3 && sleep 0.3");
  std::vector<std::string> lines;
  std::vector<std::string> problems;
  EXPECT_TRUE(Eventually(
      [&] {
        lines = LinesAfter(SessionLog(), offset, " aio-good ");
        problems = AiosmtpdSessionProblems(lines);
        return std::find(problems.begin(), problems.end(), "quit=no") != problems.end();
      },
      std::chrono::seconds(10)))
      << Joined(lines);
  EXPECT_THAT(problems, ::testing::Contains("DATA-SEEN"));
  EXPECT_THAT(problems, ::testing::Contains("a session did not end with QUIT"));
}

}  // namespace
}  // namespace smtp_exporter
