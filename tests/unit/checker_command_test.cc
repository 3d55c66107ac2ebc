// The checker mode's command line (Go `flag` spellings, /work/shared/happydomain-api.md §2) and
// its -healthcheck against a live server, a wildcard listen address and a dead one. Loopback
// only.
#include "exporter/cmd/checker_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

#include "exporter/checker/checker_server.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(CheckerCommandLineTest, EveryGoSpellingOfListen) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"-listen", "127.0.0.1:9"},
                                               std::vector<std::string>{"-listen=127.0.0.1:9"},
                                               std::vector<std::string>{"--listen", "127.0.0.1:9"},
                                               std::vector<std::string>{"--listen=127.0.0.1:9"}}) {
    EXPECT_TRUE(IsCheckerCommandLine(args)) << args[0];
    const Result<CheckerCommandLine> line = ParseCheckerCommandLine(args);
    ASSERT_TRUE(line.ok()) << args[0];
    EXPECT_EQ(line.value().listen, "127.0.0.1:9") << args[0];
    EXPECT_FALSE(line.value().healthcheck);
  }
}

TEST(CheckerCommandLineTest, DefaultsAndOtherFlags) {
  Result<CheckerCommandLine> line = ParseCheckerCommandLine({"-healthcheck"});
  ASSERT_TRUE(line.ok());
  EXPECT_TRUE(line.value().healthcheck);
  EXPECT_EQ(line.value().listen, ":8080");
  line = ParseCheckerCommandLine({"--healthcheck=false", "-listen", ":9090"});
  ASSERT_TRUE(line.ok());
  EXPECT_FALSE(line.value().healthcheck);
  line =
      ParseCheckerCommandLine({"-listen", ":8080", "--dns-servers", "127.0.0.1:15353,127.0.0.2"});
  ASSERT_TRUE(line.ok());
  ASSERT_EQ(line.value().dns_servers.size(), 2u);
  EXPECT_EQ(line.value().dns_servers[0].ToString(), "127.0.0.1:15353");
  EXPECT_EQ(line.value().dns_servers[1].ToString(), "127.0.0.2:53");
  EXPECT_FALSE(ParseCheckerCommandLine({"-listen", ":8080", "--dns-servers", "ns1.lab.test"}).ok());
  EXPECT_TRUE(ParseCheckerCommandLine({"-listen", ":1", "-h"}).value().help);
  EXPECT_TRUE(ParseCheckerCommandLine({"-listen", ":1", "--help"}).value().help);
}

TEST(CheckerCommandLineTest, DeniedNetworksDefaultToProbesAndCanBeCleared) {
  Result<CheckerCommandLine> line = ParseCheckerCommandLine({"-listen", ":1"});
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line.value().denied_networks, DefaultProbeDeniedNetworks());
  line = ParseCheckerCommandLine({"-listen", ":1", "-denied-networks=10.0.0.0/8,::1"});
  ASSERT_TRUE(line.ok()) << line.error().message;
  ASSERT_EQ(line.value().denied_networks.size(), 2u);
  EXPECT_EQ(line.value().denied_networks[0].ToString(), "10.0.0.0/8");
  EXPECT_EQ(line.value().denied_networks[1].ToString(), "::1/128");
  line = ParseCheckerCommandLine({"-listen", ":1", "-denied-networks="});
  ASSERT_TRUE(line.ok());
  EXPECT_TRUE(line.value().denied_networks.empty());
  line = ParseCheckerCommandLine({"-listen", ":1", "-denied-networks", "10.0.0.1/8"});
  ASSERT_FALSE(line.ok());
  EXPECT_THAT(line.error().message, ::testing::HasSubstr("-denied-networks"));
}

TEST(CheckerCommandLineTest, GoStopsAtTheFirstNonFlag) {
  // "-healthcheck true": the flag is set, "true" is not its value but the first argument, and
  // everything after it is an argument too (so "-listen" there is not read).
  const Result<CheckerCommandLine> line =
      ParseCheckerCommandLine({"-healthcheck", "true", "-listen", ":1"});
  ASSERT_TRUE(line.ok());
  EXPECT_TRUE(line.value().healthcheck);
  EXPECT_EQ(line.value().listen, ":8080");
  EXPECT_FALSE(IsCheckerCommandLine({"check", "-listen", ":1"}));
  EXPECT_FALSE(IsCheckerCommandLine({"--web.listen-address", ":1"}));
  EXPECT_FALSE(IsCheckerCommandLine({}));
}

TEST(CheckerCommandLineTest, UnknownFlagsAndMissingValuesAreErrors) {
  Result<CheckerCommandLine> line = ParseCheckerCommandLine({"-listen", ":1", "-bogus"});
  ASSERT_FALSE(line.ok());
  EXPECT_THAT(line.error().message, HasSubstr("unknown flag"));
  line = ParseCheckerCommandLine({"-listen"});
  ASSERT_FALSE(line.ok());
  EXPECT_THAT(line.error().message, HasSubstr("needs a value"));
}

class CheckerHealthcheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CheckerServerOptions options;
    options.listen_address = "127.0.0.1:0";
    server_ = std::make_unique<CheckerServer>(options);
    ASSERT_TRUE(server_->Bind().ok());
    server_->Start();
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::seconds(1));
    server_->Wait();
  }
  std::unique_ptr<CheckerServer> server_;
  std::ostringstream err_;
};

TEST_F(CheckerHealthcheckTest, LiveServerExitsZero) {
  EXPECT_EQ(RunCheckerHealthcheck("127.0.0.1:" + std::to_string(server_->port()), err_), 0)
      << err_.str();
  EXPECT_EQ(err_.str(), "");
}

TEST_F(CheckerHealthcheckTest, WildcardAddressesMeanLoopback) {
  // The server listens on 127.0.0.1 only: these succeed only if rewritten to it.
  EXPECT_EQ(RunCheckerHealthcheck(":" + std::to_string(server_->port()), err_), 0) << err_.str();
  EXPECT_EQ(RunCheckerHealthcheck("0.0.0.0:" + std::to_string(server_->port()), err_), 0)
      << err_.str();
}

TEST_F(CheckerHealthcheckTest, DeadAddressExitsOne) {
  // A loopback port nothing listens on: bound, then closed without listen().
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int dead_port = ntohs(address.sin_port);
  close(fd);
  EXPECT_EQ(RunCheckerHealthcheck("127.0.0.1:" + std::to_string(dead_port), err_), 1);
  EXPECT_THAT(err_.str(), StartsWith("healthcheck failed: "));
  err_.str("");
  EXPECT_EQ(RunCheckerHealthcheck("not-an-address", err_), 1);
  EXPECT_THAT(err_.str(), StartsWith("healthcheck failed: "));
}

}  // namespace
}  // namespace smtp_exporter
