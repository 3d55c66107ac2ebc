#include "exporter/cmd/check_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "probes/observation_json.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using testing::FakeClock;
using testing::FakeResolver;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Script;
using testing::ScriptedTransportFactory;

class CheckCommandTest : public ::testing::Test {
 protected:
  CheckCommandTest() {
    resolver_.SetMx("lab.test", {{10, "mx.lab.test"}});
    resolver_.SetAddresses("mx.lab.test", DnsType::kA, {"192.0.2.25"});
    resolver_.SetAddresses("mx.lab.test", DnsType::kAaaa, {});
    resolver_.SetPtr("192.0.2.25", {"mx.lab.test"});
  }

  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    const CheckDependencies deps{factory_, clock_,
                                 [this](const ResolverOptions& options) {
                                   resolver_options_ = options;
                                   return Result<std::unique_ptr<Resolver>>(
                                       std::make_unique<testing::ResolverRef>(resolver_));
                                 },
                                 terminal_};
    return RunCheckCommand(args, deps, out_, err_);
  }
  // A server that answers EHLO without STARTTLS; transactions disabled by the tests using it.
  void AddQuietServer() {
    factory_.AddScript(Script()
                           .Reply({"220 mx.lab.test ESMTP"})
                           .Expect("EHLO probe.lab.test")
                           .Reply({"250-mx.lab.test", "250 SIZE 1000"})
                           .Expect("QUIT")
                           .Reply({"221 Bye"}));
  }
  static std::vector<std::string> NoTransactions() {
    return {"--helo-name",       "probe.lab.test", "--test-null-sender=false",
            "--test-postmaster", "false",          "--test-open-relay=false"};
  }
  std::vector<std::string> Args(std::vector<std::string> head) {
    for (auto& extra : NoTransactions()) head.push_back(extra);
    return head;
  }

  FakeClock clock_;
  TerminalInfo terminal_;  // not a terminal, NO_COLOR and TERM unset: like a monitoring system
  ScriptedTransportFactory factory_;
  FakeResolver resolver_;
  ResolverOptions resolver_options_;
  std::ostringstream out_, err_;
};

TEST_F(CheckCommandTest, UsageErrorsExitUnknown) {
  EXPECT_EQ(Run({}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--bogus"}), kExitUnknown);
  EXPECT_THAT(err_.str(), HasSubstr("unknown flag --bogus"));
  EXPECT_EQ(Run({"not a domain"}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--endpoint", "mx.example.org"}), kExitUnknown);
  EXPECT_THAT(err_.str(), HasSubstr("not an IPv4 or IPv6 address"));
  EXPECT_EQ(Run({"example.org", "--timeout", "soon"}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--format", "xml"}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--test-open-relay", "maybe"}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--test-probe-address", "a@b>c"}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--mx-name", "mx.example.org"}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--endpoint-concurrency", "0"}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--dns-timeout", "x"}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--dns-tries", "0"}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--dns-servers", "127.0.0.1,ns1.example.org"}), kExitUnknown);
  EXPECT_THAT(err_.str(), HasSubstr("--dns-servers: \"ns1.example.org\" is not an IPv4"));
  EXPECT_EQ(Run({"a-.example.org"}), kExitUnknown);
  EXPECT_THAT(err_.str(), HasSubstr("starts or ends with a hyphen"));
  EXPECT_EQ(factory_.connects(), 0);
}

TEST_F(CheckCommandTest, DnsServersAreHandedToTheResolver) {
  AddQuietServer();
  Run(Args({"lab.test", "--dns-servers", "127.0.0.1:5353,[::1]:5353", "--dns-timeout", "500ms",
            "--dns-tries", "3"}));
  ASSERT_EQ(resolver_options_.servers.size(), 2u);
  EXPECT_EQ(resolver_options_.servers[0].ToString(), "127.0.0.1:5353");
  EXPECT_EQ(resolver_options_.servers[1].ToString(), "[::1]:5353");
  EXPECT_EQ(resolver_options_.query_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(resolver_options_.tries, 3);
}

TEST_F(CheckCommandTest, WholeDomainJson) {
  AddQuietServer();
  const int code = Run(Args({"lab.test", "--format", "json"}));
  const auto doc = nlohmann::json::parse(out_.str());
  EXPECT_EQ(doc["schema_version"], kObservationSchemaVersion);
  EXPECT_EQ(doc["domain"], "lab.test");
  EXPECT_EQ(doc["dns"]["mx_targets"][0]["host"], "mx.lab.test");
  EXPECT_EQ(doc["dns"]["reverse"][0]["fcrdns_ok"], true);
  EXPECT_EQ(doc["endpoints"][0]["ip"], "192.0.2.25");
  EXPECT_EQ(doc["endpoints"][0]["extensions"]["size_limit"], 1000);
  // No STARTTLS anywhere: a CRIT finding, so exit code 2 and status "crit".
  EXPECT_EQ(doc["status"], "crit");
  EXPECT_EQ(code, 2);
  bool saw_all_no_starttls = false;
  for (const auto& finding : doc["findings"]) {
    saw_all_no_starttls = saw_all_no_starttls || finding["code"] == "smtp.all_no_starttls";
  }
  EXPECT_TRUE(saw_all_no_starttls);
  EXPECT_EQ(err_.str(), "");  // stderr is not a terminal: no progress
}

TEST_F(CheckCommandTest, TextPutsWhatToFixFirst) {
  AddQuietServer();
  Run(Args({"lab.test"}));
  const std::string text = out_.str();
  EXPECT_THAT(text, HasSubstr("220 mx.lab.test ESMTP"));
  const auto fix = text.find("What to fix");
  const auto dns = text.find("DNS of lab.test");
  const auto endpoint = text.find("Endpoint 192.0.2.25");
  const auto passed = text.find("Passed checks");
  ASSERT_NE(fix, std::string::npos);
  ASSERT_NE(passed, std::string::npos);
  EXPECT_LT(fix, dns);
  EXPECT_LT(dns, endpoint);
  EXPECT_LT(endpoint, passed);
}

// --format html: the standalone report page, with no links to a daemon and the same verdict
// (and exit code) as the other formats.
TEST_F(CheckCommandTest, HtmlIsAStandaloneReport) {
  AddQuietServer();
  const int code = Run(Args({"lab.test", "--format", "html", "--color=always"}));
  const std::string html = out_.str();
  EXPECT_EQ(code, 2);
  EXPECT_EQ(html.rfind("<!doctype html>", 0), 0u);
  EXPECT_THAT(html, HasSubstr("<main id=\"report\" data-domain=\"lab.test\" "
                              "data-status=\"crit\">"));
  EXPECT_THAT(html, HasSubstr("data-code=\"smtp.all_no_starttls\" data-severity=\"crit\""));
  EXPECT_THAT(html, HasSubstr("<pre class=\"banner\">220 mx.lab.test ESMTP</pre>"));
  EXPECT_THAT(html, Not(HasSubstr("href=")));  // nothing to link to outside a daemon
  EXPECT_THAT(html, Not(HasSubstr("\x1b[")));  // colour is for text only
}

TEST_F(CheckCommandTest, SingleEndpointSkipsMxButChecksPtr) {
  AddQuietServer();
  Run(Args({"lab.test", "--endpoint", "192.0.2.25:2525", "--mx-name", "mx.lab.test", "--format",
            "json"}));
  const auto doc = nlohmann::json::parse(out_.str());
  EXPECT_EQ(doc["dns"]["mx"]["status"], "not_queried");
  EXPECT_EQ(doc["endpoints"][0]["port"], 2525);
  EXPECT_EQ(doc["dns"]["reverse"][0]["ptr_names"][0], "mx.lab.test");
  for (const auto& finding : doc["findings"]) {
    EXPECT_NE(finding["code"], "smtp.mx.missing");
  }
}

TEST_F(CheckCommandTest, ColorAndProgressFlagsAreValidated) {
  EXPECT_EQ(Run({"lab.test", "--color=sometimes"}), kExitUnknown);
  EXPECT_THAT(err_.str(), HasSubstr("--color must be auto, always or never"));
  EXPECT_EQ(Run({"lab.test", "--progress", "yes"}), kExitUnknown);
  EXPECT_THAT(err_.str(), HasSubstr("--progress must be auto, always or never"));
  EXPECT_EQ(factory_.connects(), 0);
}

// What a monitoring system sees: no terminal, so no colour on stdout and nothing on stderr.
TEST_F(CheckCommandTest, NoTerminalMeansPlainTextAndNoProgress) {
  AddQuietServer();
  Run(Args({"lab.test"}));
  EXPECT_EQ(out_.str().find('\x1b'), std::string::npos);
  EXPECT_THAT(out_.str(), HasSubstr("CRIT  smtp.all_no_starttls"));
  EXPECT_EQ(err_.str(), "");
}

TEST_F(CheckCommandTest, TerminalGetsColourAndProgress) {
  terminal_.stdout_is_terminal = true;
  terminal_.stderr_is_terminal = true;
  AddQuietServer();
  Run(Args({"lab.test"}));
  EXPECT_THAT(out_.str(), HasSubstr("lab.test\x1b[0m: \x1b[1;31mCRIT\x1b[0m"));
  EXPECT_THAT(out_.str(), HasSubstr("\x1b[1;31mCRIT\x1b[0m  smtp.all_no_starttls"));
  EXPECT_THAT(out_.str(), HasSubstr("\x1b[32mOK\x1b[0m  smtp.tcp.unreachable"));
  EXPECT_THAT(err_.str(), HasSubstr("probed mx.lab.test [192.0.2.25]: connected, greeting 220 ("));
  EXPECT_EQ(out_.str().find("probed "), std::string::npos);  // progress never on stdout
}

TEST_F(CheckCommandTest, NoColorAndNeverWinOverATerminal) {
  terminal_.stdout_is_terminal = true;
  terminal_.no_color = "1";
  AddQuietServer();
  Run(Args({"lab.test"}));
  EXPECT_EQ(out_.str().find('\x1b'), std::string::npos);

  terminal_.no_color = "";
  AddQuietServer();
  Run(Args({"lab.test", "--color=never"}));
  EXPECT_EQ(out_.str().find('\x1b'), std::string::npos);
}

TEST_F(CheckCommandTest, AlwaysForcesColourAndProgressIntoPipes) {
  AddQuietServer();
  Run(Args({"lab.test", "--color", "always", "--progress=always"}));
  EXPECT_THAT(out_.str(), HasSubstr("\x1b[1;31mCRIT\x1b[0m"));
  EXPECT_THAT(err_.str(), HasSubstr("probed mx.lab.test [192.0.2.25]"));
}

TEST_F(CheckCommandTest, JsonIsNeverColoured) {
  terminal_.stdout_is_terminal = true;
  AddQuietServer();
  Run(Args({"lab.test", "--format", "json", "--color=always"}));
  EXPECT_EQ(out_.str().find('\x1b'), std::string::npos);
  EXPECT_TRUE(nlohmann::json::accept(out_.str()));
}

TEST_F(CheckCommandTest, UnreachableEndpointExitsCritical) {
  factory_.AddConnectError(Error{ErrorCode::kConnectionRefused, "refused"});
  EXPECT_EQ(Run({"lab.test", "--helo-name", "probe.lab.test"}), 2);
  EXPECT_THAT(out_.str(), HasSubstr("connect: refused"));
}

}  // namespace
}  // namespace smtp_exporter
