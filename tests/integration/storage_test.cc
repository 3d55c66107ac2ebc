// --storage.path end to end, with the real binary against the lab: the exporter checks two lab
// domains (good.lab.test, relay.lab.test) and writes their results, is stopped with SIGTERM,
// and is started again with the same directory but a DNS server that never answers (a UDP
// socket of this test on loopback that reads nothing), so no new check can complete: its very
// first /metrics already serves both results, marked restored, with their real check times and
// verdicts. Also: an unusable directory is an error and exit code 1. Only loopback is
// contacted; every wait is bounded.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/lab_environment.h"
#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

using testing::Eventually;
using ::testing::HasSubstr;
using testing::LabEnvironment;
using testing::MakeTempDir;
using testing::ReadFile;
using testing::RunCommand;

// The line of `metrics` starting with `series` ("name{labels}"), or "".
std::string Line(const std::string& metrics, const std::string& series) {
  const std::size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) {
    return "";
  }
  return metrics.substr(at + 1, metrics.find('\n', at + 1) - at - 1);
}

// A DNS server that never answers: a UDP socket bound on 127.0.0.1 that nobody reads.
class SilentDnsServer {
 public:
  SilentDnsServer() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot bind a UDP socket on 127.0.0.1";
      return;
    }
    port_ = ntohs(address.sin_port);
  }
  ~SilentDnsServer() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("smtpx-storage");
    state_ = dir_ + "/state";
  }
  void TearDown() override {
    Stop();
    RunCommand("rm -rf '" + dir_ + "'");
  }

  // Starts the binary on a port the kernel picks; the port is read from its start-up log line.
  void Start(const std::string& config_text) {
    std::ofstream(dir_ + "/smtp_exporter.yml", std::ios::trunc) << config_text;
    log_ = dir_ + "/daemon" + std::to_string(++runs_) + ".log";
    const auto started =
        RunCommand(std::string(SMTP_EXPORTER_BINARY) + " --config.file '" + dir_ +
                   "/smtp_exporter.yml' --web.listen-address 127.0.0.1:0" + " --storage.path '" +
                   state_ + "' > '" + log_ + "' 2>&1 & echo $!");
    ASSERT_EQ(started.exit_code, 0) << started.output;
    pid_ = started.output.substr(0, started.output.find_first_of(" \n"));
    ASSERT_FALSE(pid_.empty());
    // The start-up line says "(port N)". Read by hand: std::regex trips GCC 12's
    // -Wmaybe-uninitialized under ASan (a false positive in <regex>'s std::function).
    int port = 0;
    std::string log;
    ASSERT_TRUE(Eventually(
        [&] {
          log = ReadFile(log_);
          const auto at = log.find("(port ");
          if (at == std::string::npos) {
            return false;
          }
          const char* digits = log.data() + at + 6;
          const auto [end, error] = std::from_chars(digits, log.data() + log.size(), port);
          return error == std::errc() && end < log.data() + log.size() && *end == ')' && port > 0;
        },
        std::chrono::seconds(10)))
        << log;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port);
    client_->set_read_timeout(10, 0);
  }
  void Stop() {
    if (pid_.empty()) {
      return;
    }
    const auto stopped =
        RunCommand("kill " + pid_ + " && for i in $(seq 50); do kill -0 " + pid_ +
                   " 2>/dev/null || exit 0; sleep 0.1; done; kill -9 " + pid_ + "; exit 1");
    EXPECT_EQ(stopped.exit_code, 0) << "the daemon ignored SIGTERM for 5 s";
    pid_.clear();
  }
  std::string Metrics() {
    const auto res = client_->Get("/metrics");
    return res && res->status == 200 ? res->body : "";
  }

  std::string dir_;
  std::string state_;
  std::string log_;
  std::string pid_;
  int runs_ = 0;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(StorageTest, ARestartServesTheLastResultsAtOnce) {
  const std::vector<std::string> domains = {"good.lab.test", "relay.lab.test"};
  Start(LabEnvironment::DaemonConfig(domains, "10m", 4));
  std::string first;
  ASSERT_TRUE(Eventually(
      [&] {
        first = Metrics();
        return first.find("smtp_check_restored{domain=\"good.lab.test\"} 0") != std::string::npos &&
               first.find("smtp_check_restored{domain=\"relay.lab.test\"} 0") !=
                   std::string::npos &&
               std::filesystem::exists(state_ + "/good.lab.test.json") &&
               std::filesystem::exists(state_ + "/relay.lab.test.json");
      },
      // Start-up checks are staggered over the first minute.
      std::chrono::seconds(90)))
      << first << ReadFile(log_);
  first = Metrics();
  Stop();

  // The second life: the same directory, but DNS never answers, so no check can complete for
  // at least dns_timeout (30 s) while the test looks.
  SilentDnsServer silent;
  std::string config = LabEnvironment::DaemonConfig(domains, "10m", 4);
  config.replace(config.find(LabEnvironment::DnsServer()), LabEnvironment::DnsServer().size(),
                 silent.Address());
  config.insert(config.find("  dns_servers:"), "  dns_timeout: 30s\n");
  Start(config);
  std::string metrics;
  ASSERT_TRUE(Eventually([&] { return !(metrics = Metrics()).empty(); }, std::chrono::seconds(10)));
  EXPECT_THAT(metrics, HasSubstr("\nsmtp_check_restored{domain=\"good.lab.test\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("\nsmtp_check_restored{domain=\"relay.lab.test\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("\nsmtp_domain_status{domain=\"good.lab.test\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("\nsmtp_domain_status{domain=\"relay.lab.test\"} 3\n"));
  EXPECT_THAT(metrics, HasSubstr("smtp_open_relay{domain=\"relay.lab.test\",mx=\"mx-relay.lab."
                                 "test\",ip=\"127.0.0.5\",family=\"ipv4\"} 1"));
  EXPECT_EQ(Line(metrics, "smtp_check_timestamp_seconds{domain=\"good.lab.test\"}"),
            Line(first, "smtp_check_timestamp_seconds{domain=\"good.lab.test\"}"));
  EXPECT_EQ(Line(metrics, "smtp_check_timestamp_seconds{domain=\"relay.lab.test\"}"),
            Line(first, "smtp_check_timestamp_seconds{domain=\"relay.lab.test\"}"));
  EXPECT_EQ(Line(metrics, "smtp_domain_status{domain=\"relay.lab.test\"}"),
            Line(first, "smtp_domain_status{domain=\"relay.lab.test\"}"));
  const auto report = client_->Get("/report?domain=relay.lab.test");
  ASSERT_TRUE(report);
  EXPECT_THAT(report->body, HasSubstr("restored from disk</strong>, checked at "));
  EXPECT_THAT(ReadFile(log_), HasSubstr("restored the results of 2 of 2 domains"));
}

// Drift detection (issue #19 §2) end to end: the lab's striptls responder shows STARTTLS to a
// client name once and masks it afterwards, as a STRIPTLS middlebox switching on between two
// checks would. The daemon's second check finds STARTTLS lost (smtp.drift.starttls_lost, its
// change timestamp, the report's Changes section); a restart keeps the history.
TEST_F(StorageTest, StartTlsLostBetweenTwoChecksIsReportedAndSurvivesARestart) {
  std::string config = LabEnvironment::DaemonConfig({"striptls.lab.test"}, "2s", 1);
  // A client name of this run only: the responder shows STARTTLS once per name.
  const std::string helo = "drift-" + std::to_string(::getpid()) + "-" +
                           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) +
                           ".lab.test";
  config.replace(config.find("probe.lab.test"), std::string("probe.lab.test").size(), helo);
  Start(config);
  const std::string lost =
      "smtp_finding{domain=\"striptls.lab.test\",rule=\"smtp.posture_drift\",code=\"smtp.drift."
      "starttls_lost\",severity=\"warn\",subject=\"mx-striptls.lab.test [127.0.0.23]\"";
  const std::string changed_at = "smtp_change_timestamp_seconds{domain=\"striptls.lab.test\","
                                 "kind=\"starttls\"}";
  std::string metrics;
  ASSERT_TRUE(Eventually(
      [&] {
        metrics = Metrics();
        return metrics.find(lost) != std::string::npos &&
               metrics.find(changed_at) != std::string::npos &&
               std::filesystem::exists(state_ + "/striptls.lab.test.json");
      },
      std::chrono::seconds(60)))
      << metrics << ReadFile(log_);
  // The mask that replaced it is a new EHLO keyword: an INFO change of its own.
  EXPECT_THAT(metrics, HasSubstr("smtp_finding{domain=\"striptls.lab.test\",rule=\"smtp.posture_"
                                 "drift\",code=\"smtp.drift.changed\",severity=\"info\""));
  const auto html = client_->Get("/report?domain=striptls.lab.test");
  ASSERT_TRUE(html);
  EXPECT_THAT(html->body, HasSubstr("<section id=\"posture-changes\">"));
  EXPECT_THAT(html->body, HasSubstr("<tr class=\"posture-change\" data-kind=\"starttls\">"));
  EXPECT_THAT(html->body, HasSubstr("data-code=\"smtp.drift.starttls_lost\""));
  const auto json = client_->Get("/report?domain=striptls.lab.test&format=json");
  ASSERT_TRUE(json);
  const nlohmann::json doc = nlohmann::json::parse(json->body);
  EXPECT_EQ(doc.at("restored"), false);
  const nlohmann::json& changes = doc.at("posture").at("changes");
  ASSERT_FALSE(changes.empty()) << doc.at("posture").dump();
  EXPECT_EQ(changes.at(0).at("kind"), "starttls");
  EXPECT_EQ(changes.at(0).at("before"), "offered");
  EXPECT_EQ(changes.at(0).at("after"), "not offered");
  const std::string changed_line = Line(Metrics(), changed_at);
  Stop();

  // After a restart (DNS silent, so only the restored result is shown): still lost, with the
  // same change time.
  SilentDnsServer silent;
  config.replace(config.find(LabEnvironment::DnsServer()), LabEnvironment::DnsServer().size(),
                 silent.Address());
  config.insert(config.find("  dns_servers:"), "  dns_timeout: 30s\n");
  Start(config);
  ASSERT_TRUE(Eventually([&] { return !(metrics = Metrics()).empty(); }, std::chrono::seconds(10)));
  EXPECT_THAT(metrics, HasSubstr("\nsmtp_check_restored{domain=\"striptls.lab.test\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr(lost));
  EXPECT_EQ(Line(metrics, changed_at), changed_line);
}

TEST_F(StorageTest, AnUnusableDirectoryIsAnErrorAtStartUp) {
  std::ofstream(dir_ + "/smtp_exporter.yml")
      << LabEnvironment::DaemonConfig({"good.lab.test"}, "10m", 1);
  std::ofstream(dir_ + "/file") << "a regular file\n";
  const auto run = RunCommand(std::string(SMTP_EXPORTER_BINARY) + " --config.file '" + dir_ +
                              "/smtp_exporter.yml' --web.listen-address 127.0.0.1:0" +
                              " --storage.path '" + dir_ + "/file/state'");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_THAT(run.output, HasSubstr("--storage.path " + dir_ + "/file/state: cannot create"));
  const auto empty = RunCommand(std::string(SMTP_EXPORTER_BINARY) + " --storage.path=");
  EXPECT_EQ(empty.exit_code, 2) << empty.output;
}

}  // namespace
}  // namespace smtp_exporter
