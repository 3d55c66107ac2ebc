#include "exporter/check_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;
using testing::FakeClock;
using testing::Script;
using testing::ScriptedTransportFactory;

class CheckCommandTest : public ::testing::Test {
 protected:
  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    return RunCheckCommand(args, factory_, clock_, out_, err_);
  }
  void AddQuietServer() {
    factory_.AddScript(Script()
                           .Reply({"220 mx.lab.test ESMTP"})
                           .Expect("EHLO probe.lab.test")
                           .Reply({"250-mx.lab.test", "250 SIZE 1000"})
                           .Expect("QUIT")
                           .Reply({"221 Bye"}));
  }
  FakeClock clock_;
  ScriptedTransportFactory factory_;
  std::ostringstream out_, err_;
};

TEST_F(CheckCommandTest, UsageErrorsExitUnknown) {
  EXPECT_EQ(Run({}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--bogus"}), kExitUnknown);
  EXPECT_THAT(err_.str(), HasSubstr("unknown flag --bogus"));
  EXPECT_EQ(Run({"not a domain", "--endpoint", "127.0.0.1"}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--endpoint", "mx.example.org"}), kExitUnknown);
  EXPECT_THAT(err_.str(), HasSubstr("not an IPv4 or IPv6 address"));
  EXPECT_EQ(Run({"example.org", "--endpoint", "127.0.0.1", "--timeout", "soon"}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--endpoint", "127.0.0.1", "--format", "xml"}), kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--endpoint", "127.0.0.1", "--test-open-relay", "maybe"}),
            kExitUnknown);
  EXPECT_EQ(Run({"example.org", "--endpoint", "127.0.0.1", "--test-probe-address", "a@b>c"}),
            kExitUnknown);
  EXPECT_EQ(factory_.connects(), 0);
}

TEST_F(CheckCommandTest, WithoutEndpointSaysWhatIsMissing) {
  EXPECT_EQ(Run({"example.org"}), kExitUnknown);
  EXPECT_THAT(err_.str(), HasSubstr("--endpoint"));
}

TEST_F(CheckCommandTest, JsonOutput) {
  AddQuietServer();
  EXPECT_EQ(Run({"lab.test", "--endpoint", "127.0.0.2:2525", "--mx-name", "mx.lab.test",
                 "--helo-name", "probe.lab.test", "--test-null-sender=false",
                 "--test-postmaster", "false", "--test-open-relay=false", "--format", "json"}),
            0);
  const auto doc = nlohmann::json::parse(out_.str());
  EXPECT_EQ(doc["schema_version"], 1);
  EXPECT_EQ(doc["domain"], "lab.test");
  EXPECT_EQ(doc["endpoints"][0]["port"], 2525);
  EXPECT_EQ(doc["endpoints"][0]["mx"], "mx.lab.test");
  EXPECT_EQ(doc["endpoints"][0]["extensions"]["size_limit"], 1000);
}

TEST_F(CheckCommandTest, TextOutputShowsBannerVerbatim) {
  AddQuietServer();
  EXPECT_EQ(Run({"lab.test", "--endpoint", "127.0.0.2", "--helo-name", "probe.lab.test",
                 "--test-null-sender=false", "--test-postmaster=false",
                 "--test-open-relay=false"}),
            0);
  EXPECT_THAT(out_.str(), HasSubstr("220 mx.lab.test ESMTP"));
  EXPECT_THAT(out_.str(), HasSubstr("STARTTLS: not offered"));
}

TEST_F(CheckCommandTest, UnreachableEndpointExitsCritical) {
  factory_.AddConnectError(Error{ErrorCode::kConnectionRefused, "refused"});
  EXPECT_EQ(Run({"lab.test", "--endpoint", "127.0.0.2", "--helo-name", "probe.lab.test"}), 2);
  EXPECT_THAT(out_.str(), HasSubstr("connect: refused"));
}

}  // namespace
}  // namespace smtp_exporter
