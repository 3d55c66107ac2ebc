// The daemon with --storage.path, hermetic: the ExporterApp runs in-process over a fake resolver
// (behind a gate the test opens and closes) and a scripted transport factory that refuses every
// connection, so nothing leaves the process but the test's own HTTP requests on loopback.
// A restart serves the stored results at once, marked restored and with their real check time,
// until the domain is checked again; changed options, removed domains, bad files and a vanished
// directory are handled without a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "exporter/daemon/app.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/in_process_exporter.h"
#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Forwards to a resolver once open; while closed, every lookup waits (up to 30 s), so a check
// started then cannot finish before the test has looked at what the daemon serves.
class GatedResolver final : public Resolver {
 public:
  explicit GatedResolver(const Resolver& target) : target_(target) {}
  void Close() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    opened_.notify_all();
  }
  std::vector<DnsAnswer> Resolve(const std::vector<DnsQuery>& queries,
                                 Deadline deadline) const override {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      opened_.wait_for(lock, std::chrono::seconds(30), [&] { return open_; });
    }
    return target_.Resolve(queries, deadline);
  }

 private:
  const Resolver& target_;
  mutable std::mutex mutex_;
  mutable std::condition_variable opened_;
  bool open_ = true;
};

// The line of `metrics` starting with `series` ("name{labels}"), or "".
std::string Line(const std::string& metrics, const std::string& series) {
  const std::size_t at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) {
    return "";
  }
  return metrics.substr(at + 1, metrics.find('\n', at + 1) - at - 1);
}

bool WaitFor(const std::function<bool()>& predicate) {
  for (int i = 0; i < 200; ++i) {
    if (predicate()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return predicate();
}

class DaemonStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/smtpx-daemon-storage-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    config_ = dir_ + "/smtp_exporter.yml";
    state_ = dir_ + "/state";
    WriteConfig("");
    resolver_.SetMx("nullmx.example", {{0, ""}});
    resolver_.SetMx("refused.example", {{10, "mx.refused.example"}});
    resolver_.SetAddresses("mx.refused.example", DnsType::kA, {"192.0.2.1"});
    resolver_.SetAddresses("mx.refused.example", DnsType::kAaaa, {});
  }
  void TearDown() override {
    gate_.Open();
    testing::StopInProcessExporter(app_);
    app_.reset();
    std::filesystem::remove_all(dir_);
  }

  // dns_servers is never asked (the fake resolver answers); 192.0.2.1 is never connected to
  // (the scripted factory refuses every connection).
  void WriteConfig(const std::string& nullmx_options, bool with_refused = true,
                   const std::string& interval = "1h") {
    std::ofstream(config_, std::ios::trunc)
        << "global:\n"
           "  interval: "
        << interval
        << "\n"
           "  helo_name: probe.example.net\n"
           "  dns_servers: [\"127.0.0.1:1\"]\n"
           "domains:\n"
           "  - name: nullmx.example\n"
        << nullmx_options << (with_refused ? "  - name: refused.example\n" : "");
  }

  AppOptions Options() const {
    AppOptions options;
    options.config_path = config_;
    options.listen_address = "127.0.0.1:0";
    options.startup_stagger = std::chrono::milliseconds(0);
    options.storage_path = state_;
    return options;
  }
  AppDependencies Dependencies() {
    AppDependencies dependencies;
    dependencies.make_resolver =
        [this](const ResolverOptions&) -> Result<std::unique_ptr<Resolver>> {
      return std::unique_ptr<Resolver>(std::make_unique<testing::ResolverRef>(gate_));
    };
    dependencies.transports = &transports_;
    return dependencies;
  }
  void Start() {
    app_ = testing::StartInProcessExporter(Options(), Dependencies());
    ASSERT_NE(app_, nullptr);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", app_->port());
    client_->set_read_timeout(10, 0);
  }
  void Stop() {
    testing::StopInProcessExporter(app_);
    app_.reset();
  }
  std::string Get(const std::string& path) {
    const auto result = client_->Get(path);
    EXPECT_TRUE(result) << path;
    return result ? result->body : "";
  }
  // Both domains checked by this process and their results on disk.
  void RunFirstLife() {
    Start();
    ASSERT_NE(app_, nullptr);
    ASSERT_TRUE(WaitFor([&] {
      const std::string metrics = Get("/metrics");
      return metrics.find("smtp_check_restored{domain=\"nullmx.example\"} 0") !=
                 std::string::npos &&
             metrics.find("smtp_check_restored{domain=\"refused.example\"} 0") !=
                 std::string::npos &&
             std::filesystem::exists(state_ + "/nullmx.example.json") &&
             std::filesystem::exists(state_ + "/refused.example.json");
    })) << Get("/metrics");
    first_metrics_ = Get("/metrics");
    Stop();
  }

  std::string dir_;
  std::string config_;
  std::string state_;
  std::string first_metrics_;
  testing::FakeResolver resolver_;
  GatedResolver gate_{resolver_};
  testing::ScriptedTransportFactory transports_;
  std::unique_ptr<ExporterApp> app_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(DaemonStorageTest, ARestartServesTheStoredResultsAtOnceUntilCheckedAgain) {
  RunFirstLife();
  const std::string nullmx_time =
      Line(first_metrics_, "smtp_check_timestamp_seconds{domain=\"nullmx.example\"}");
  const std::string refused_time =
      Line(first_metrics_, "smtp_check_timestamp_seconds{domain=\"refused.example\"}");
  ASSERT_FALSE(nullmx_time.empty()) << first_metrics_;

  // The second life, with a 2 s interval: the stored results are due again when they are 2 s
  // old (DaemonStorageTest.ARestoredResultIsNotCheckedAgainBeforeItIsAnIntervalOld), and no
  // check can finish until the gate opens.
  WriteConfig("", /*with_refused=*/true, "2s");
  gate_.Close();
  Start();
  const std::string metrics = Get("/metrics");
  EXPECT_THAT(metrics, HasSubstr("\nsmtp_check_restored{domain=\"nullmx.example\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("\nsmtp_check_restored{domain=\"refused.example\"} 1\n"));
  // The verdicts of the first life, judged again, with their real check times.
  EXPECT_THAT(metrics, HasSubstr("\nsmtp_domain_status{domain=\"nullmx.example\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("\nsmtp_domain_status{domain=\"refused.example\"} 3\n"));
  EXPECT_THAT(metrics,
              HasSubstr("smtp_finding{domain=\"refused.example\",rule=\"smtp.endpoint_reachable\","
                        "code=\"smtp.tcp.unreachable\",severity=\"crit\""));
  EXPECT_EQ(Line(metrics, "smtp_check_timestamp_seconds{domain=\"nullmx.example\"}"), nullmx_time);
  EXPECT_EQ(Line(metrics, "smtp_check_timestamp_seconds{domain=\"refused.example\"}"),
            refused_time);
  EXPECT_THAT(
      Get("/report?domain=refused.example"),
      HasSubstr("<span class=\"restored\"><strong>restored from disk</strong>, checked at "));
  const std::string index = Get("/");
  EXPECT_THAT(index, HasSubstr("data-domain=\"refused.example\" data-status=\"crit\" "
                               "data-restored=\"true\""));
  EXPECT_THAT(index, HasSubstr("<strong>restored from disk</strong>, checked at"));

  // Checked again: the fresh result replaces the restored one.
  gate_.Open();
  ASSERT_TRUE(WaitFor([&] {
    const std::string now = Get("/metrics");
    return now.find("smtp_check_restored{domain=\"nullmx.example\"} 0") != std::string::npos &&
           now.find("smtp_check_restored{domain=\"refused.example\"} 0") != std::string::npos;
  })) << Get("/metrics");
  const std::string later = Get("/metrics");
  EXPECT_NE(Line(later, "smtp_check_timestamp_seconds{domain=\"nullmx.example\"}"), nullmx_time);
  EXPECT_THAT(Get("/report?domain=refused.example"), Not(HasSubstr("restored from disk")));
}

// A restart does not re-check the fleet: a restored result younger than the domain's interval
// stands until it is an interval old, as it would have without the restart.
TEST_F(DaemonStorageTest, ARestoredResultIsNotCheckedAgainBeforeItIsAnIntervalOld) {
  RunFirstLife();
  const std::size_t asked = resolver_.asked().size();
  Start();
  EXPECT_THAT(Get("/metrics"), HasSubstr("\nsmtp_check_restored{domain=\"nullmx.example\"} 1\n"));
  // A negative check has to wait a little: a start-up check would ask the resolver at once.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(resolver_.asked().size(), asked);
  const std::string metrics = Get("/metrics");
  EXPECT_THAT(metrics, HasSubstr("\nsmtp_check_restored{domain=\"nullmx.example\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("\nsmtp_check_restored{domain=\"refused.example\"} 1\n"));
}

TEST_F(DaemonStorageTest, ChangedOptionsAndRemovedDomainsAreNotRestored) {
  RunFirstLife();
  // nullmx.example is now probed with another HELO name; refused.example is gone.
  WriteConfig("    helo_name: other.example.net\n", /*with_refused=*/false);
  gate_.Close();
  Start();
  const std::string metrics = Get("/metrics");
  EXPECT_THAT(metrics, Not(HasSubstr("smtp_check_restored")));
  EXPECT_THAT(metrics, Not(HasSubstr("refused.example")));
  EXPECT_FALSE(std::filesystem::exists(state_ + "/refused.example.json"));
  EXPECT_TRUE(std::filesystem::exists(state_ + "/nullmx.example.json"));
}

TEST_F(DaemonStorageTest, ABadFileIsSkippedAndTheDaemonStarts) {
  std::filesystem::create_directories(state_);
  std::ofstream(state_ + "/nullmx.example.json") << "{\"format\": \"smtp_exporter.stored_res";
  gate_.Close();
  Start();
  EXPECT_THAT(Get("/metrics"), Not(HasSubstr("smtp_check_restored")));
  gate_.Open();
  // Checked, and the bad file replaced by a good one.
  ASSERT_TRUE(WaitFor([&] {
    return Get("/metrics").find("smtp_check_restored{domain=\"nullmx.example\"} 0") !=
           std::string::npos;
  }));
  Stop();
  gate_.Close();
  Start();
  EXPECT_THAT(Get("/metrics"), HasSubstr("smtp_check_restored{domain=\"nullmx.example\"} 1"));
}

TEST_F(DaemonStorageTest, AWriteFailureIsLoggedNotFatal) {
  gate_.Close();
  Start();
  std::filesystem::remove_all(state_);  // every write from now on fails
  gate_.Open();
  ASSERT_TRUE(WaitFor([&] {
    const std::string metrics = Get("/metrics");
    return metrics.find("smtp_check_restored{domain=\"nullmx.example\"} 0") != std::string::npos &&
           metrics.find("smtp_check_restored{domain=\"refused.example\"} 0") != std::string::npos;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // past the failed writes
  EXPECT_THAT(Get("/-/healthy"), HasSubstr("Healthy"));
  EXPECT_FALSE(std::filesystem::exists(state_));
}

TEST_F(DaemonStorageTest, AnUnusableDirectoryFailsStartUp) {
  std::ofstream(dir_ + "/file") << "a regular file\n";
  AppOptions options = Options();
  options.storage_path = dir_ + "/file/state";
  auto created = ExporterApp::Create(options, Dependencies());
  ASSERT_FALSE(created.ok());
  EXPECT_THAT(created.error().message, HasSubstr("--storage.path " + dir_ + "/file/state: "));
}

TEST_F(DaemonStorageTest, TwoExportersCannotShareADirectory) {
  gate_.Close();
  Start();
  auto second = ExporterApp::Create(Options(), Dependencies());
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.error().message, HasSubstr("in use by another smtp_exporter"));
}

}  // namespace
}  // namespace smtp_exporter
