// `smtp_exporter healthcheck`: against a real ExporterApp on loopback (healthy), a stopped one
// (unhealthy), and its flag handling. No domains are configured, so nothing is probed.
#include "exporter/cmd/healthcheck_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "exporter/daemon/app.h"
#include "tests/support/in_process_exporter.h"
#include "tests/support/lab.h"
#include "tests/support/loopback_server.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;

class HealthcheckCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("smtpx-health");
    const std::string config = dir_ + "/smtp_exporter.yml";
    std::ofstream(config) << "global:\n  dns_servers: ['127.0.0.1:1']\ndomains: []\n";
    AppOptions options;
    options.config_path = config;
    options.listen_address = "127.0.0.1:0";
    app_ = testing::StartInProcessExporter(options);
    ASSERT_NE(app_, nullptr);
  }
  void TearDown() override {
    testing::StopInProcessExporter(app_);
    testing::RunCommand("rm -rf '" + dir_ + "'");
  }
  int Run(const std::vector<std::string>& args) {
    out_.str("");
    err_.str("");
    return RunHealthcheckCommand(args, out_, err_);
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(app_->port()); }

  std::string dir_;
  std::unique_ptr<ExporterApp> app_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(HealthcheckCommandTest, HealthyExporterExitsZero) {
  EXPECT_EQ(Run({"--web.listen-address", Address()}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "healthy\n");
  // A wildcard listen address is reached over loopback, as in the container.
  EXPECT_EQ(Run({"--web.listen-address=:" + std::to_string(app_->port())}), 0) << err_.str();
  EXPECT_EQ(Run({"--web.listen-address=0.0.0.0:" + std::to_string(app_->port()),
                 "--timeout=2s"}),
            0)
      << err_.str();
}

TEST_F(HealthcheckCommandTest, StoppedExporterExitsOne) {
  const std::string address = Address();
  app_->Shutdown();
  app_->Wait();
  EXPECT_EQ(Run({"--web.listen-address", address, "--timeout", "2s"}), 1);
  EXPECT_THAT(err_.str(), HasSubstr("unhealthy: cannot reach " + address));
}

// A listener that trickles a valid 200 reply, one byte per 100 ms (3.8 s in all): httplib's
// timeouts apply per read, so before the whole-exchange budget the healthcheck waited for all
// of it and said healthy; now it gives up when --timeout is spent (#16: the SDK's healthcheck
// has one 2 s budget for the whole request).
TEST_F(HealthcheckCommandTest, TricklingReplyIsUnhealthyWithinTheTimeout) {
  auto server = testing::LoopbackServer::Start([](testing::LoopbackConnection& connection) {
    if (!connection.ReadLine()) {
      return;
    }
    const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for (const char byte : reply) {
      if (!connection.SendAll(std::string(1, byte))) {
        return;  // the client gave up
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  ASSERT_TRUE(server.ok()) << server.error().message;
  const std::string address = "127.0.0.1:" + std::to_string(server.value()->port());
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(Run({"--web.listen-address", address, "--timeout", "1s"}), 1) << out_.str();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LT(seconds, 2.5);
  EXPECT_THAT(err_.str(), HasSubstr("no complete reply within 1000 ms"));
}

TEST_F(HealthcheckCommandTest, BadFlagsExitTwo) {
  EXPECT_EQ(Run({"--web.listen-address", "nonsense"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("is not host:port"));
  EXPECT_EQ(Run({"--web.listen-address", "127.0.0.1:0"}), 2);
  EXPECT_EQ(Run({"--timeout", "forever"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--timeout must be"));
  EXPECT_EQ(Run({"--bogus"}), 2);
  EXPECT_EQ(Run({"extra"}), 2);
  EXPECT_EQ(Run({"--help"}), 0);
  EXPECT_THAT(out_.str(), HasSubstr("usage: smtp_exporter healthcheck"));
}

TEST(HealthcheckTargetTest, WildcardsBecomeLoopback) {
  EXPECT_EQ(HealthcheckTarget(":10125"), std::make_pair(std::string("127.0.0.1"), 10125));
  EXPECT_EQ(HealthcheckTarget("0.0.0.0:80"), std::make_pair(std::string("127.0.0.1"), 80));
  EXPECT_EQ(HealthcheckTarget("[::]:10125"), std::make_pair(std::string("::1"), 10125));
  EXPECT_EQ(HealthcheckTarget("10.1.2.3:10125"), std::make_pair(std::string("10.1.2.3"), 10125));
  EXPECT_EQ(HealthcheckTarget(":0"), std::nullopt);
  EXPECT_EQ(HealthcheckTarget("10125"), std::nullopt);
}


// With --web.config.file the probe speaks TLS when the exporter does, and a 401 from behind
// basic auth counts as healthy (the probe knows a hash, not the password); without the flag,
// the same exporter is unreachable to it.
TEST(HealthcheckWebConfigTest, FollowsTheExportersTlsAndBasicAuth) {
  const std::string dir = testing::MakeTempDir("smtpx-health-tls");
  const auto certs =
      testing::RunCommand(SMTP_EXPORTER_SOURCE_DIR "/tests/lab/web_tls.sh '" + dir + "'");
  ASSERT_EQ(certs.exit_code, 0) << certs.output;
  std::ofstream(dir + "/smtp_exporter.yml")
      << "global:\n  dns_servers: ['127.0.0.1:1']\ndomains: []\n";
  // A cost-4 bcrypt hash of "pw" (the probe never sends a password, so gets 401).
  std::ofstream(dir + "/web.yml")
      << "tls_server_config: {cert_file: server.crt, key_file: server.key}\n"
         "basic_auth_users:\n  prometheus: $2b$04$eoTDEVdd15DUXPvxoV23IulsO7t04C1lgDf6U0TmLNzGUunwKFD9W\n";
  AppOptions options;
  options.config_path = dir + "/smtp_exporter.yml";
  options.listen_address = "127.0.0.1:0";
  options.web_config_path = dir + "/web.yml";
  auto app = testing::StartInProcessExporter(options);
  ASSERT_NE(app, nullptr);
  const std::string address = "127.0.0.1:" + std::to_string(app->port());
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(RunHealthcheckCommand({"--web.listen-address", address, "--web.config.file",
                                   dir + "/web.yml"},
                                  out, err),
            0)
      << err.str();
  EXPECT_EQ(RunHealthcheckCommand({"--web.listen-address", address, "--timeout", "2s"}, out, err),
            1);
  EXPECT_EQ(RunHealthcheckCommand({"--web.listen-address", address, "--web.config.file",
                                   dir + "/absent.yml"},
                                  out, err),
            2);
  testing::StopInProcessExporter(app);
  testing::RunCommand("rm -rf '" + dir + "'");
}

}  // namespace
}  // namespace smtp_exporter
