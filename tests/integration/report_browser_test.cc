// The HTML report in a real browser (issue #7): the daemon runs in-process over the lab (good,
// relay and the scripted responder's hostile domain), and tests/browser/report_test.mjs drives
// Debian's chromium through playwright-core against it: What to fix in severity order, open
// and closed endpoint panels, the OPEN RELAY badge, no script from a hostile server, nothing
// fetched off the daemon. Screenshots go to SMTP_EXPORTER_BROWSER_ARTIFACTS. Missing node,
// chromium or node_modules fail the test (run scripts/dev.sh deps); only loopback is
// contacted and every wait is bounded.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "exporter/daemon/app.h"
#include "tests/integration/browser_tools.h"
#include "tests/integration/lab_environment.h"
#include "tests/support/in_process_exporter.h"
#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

using testing::LabEnvironment;
using testing::MakeTempDir;
using testing::Eventually;
using testing::RunCommand;

constexpr const char* kDomains[] = {"good.lab.test", "relay.lab.test", "hostile.lab.test"};

std::string Quote(const std::string& text) { return "'" + text + "'"; }

class ReportBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("smtpx-browser");
    ASSERT_FALSE(dir_.empty());
    const std::string config_path = dir_ + "/smtp_exporter.yml";
    // Start-up checks are spread over min(interval, 60 s): a short interval has all three
    // reports within seconds. The re-checks that follow are fine: report_test.mjs reloads a
    // page whose check was replaced while it loaded.
    const std::string yaml =
        LabEnvironment::DaemonConfig({std::begin(kDomains), std::end(kDomains)}, "20s", 4);
    std::ofstream(config_path, std::ios::trunc) << yaml;
    AppOptions options;
    options.config_path = config_path;
    options.listen_address = "127.0.0.1:0";
    app_ = testing::StartInProcessExporter(options);
    ASSERT_NE(app_, nullptr);
  }
  void TearDown() override {
    testing::StopInProcessExporter(app_);
    RunCommand("rm -rf " + Quote(dir_));
  }

  std::string dir_;
  std::unique_ptr<ExporterApp> app_;
};

TEST_F(ReportBrowserTest, ReportPagesInChromium) {
  // The tools first: a missing one is a failure with a way out, never a skip.
  const std::string missing = testing::MissingBrowserTools();
  ASSERT_EQ(missing, "");

  // Every domain has a finished check (start-up checks are staggered over the interval).
  httplib::Client client("127.0.0.1", app_->port());
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(10));
  std::string pending;
  const bool ready = Eventually(
      [&] {
        pending.clear();
        for (const char* domain : kDomains) {
          auto res = client.Get(std::string("/report?domain=") + domain + "&format=json");
          if (!res || res->status != 200) pending += std::string(" ") + domain;
        }
        return pending.empty();
      },
      std::chrono::seconds(60));
  ASSERT_TRUE(ready) << "no report within 60 s for:" << pending;

  const std::string artifacts = SMTP_EXPORTER_BROWSER_ARTIFACTS;
  RunCommand("rm -rf " + Quote(artifacts) + " && mkdir -p " + Quote(artifacts));
  const std::string base = "http://127.0.0.1:" + std::to_string(app_->port());
  std::cout << "[ browser  ] screenshots and pages: " << artifacts << std::endl;
  // report_test.mjs stops itself after 180 s; the outer timeout is the last resort.
  const auto run = testing::RunBrowserScript("report_test.mjs", Quote(base) + " " + Quote(artifacts),
                                             300);
  std::ofstream(artifacts + "/report_test.log", std::ios::trunc) << run.output;
  EXPECT_EQ(run.exit_code, 0) << "tests/browser/report_test.mjs failed (exit " << run.exit_code
                              << "; 2 = set-up problem: " << testing::kBrowserDepsHint
                              << "); artifacts in " << artifacts << ":\n"
                              << run.output;
  if (run.exit_code == 0) {
    // The summary line, so a passing run still says what it checked and where the pictures are.
    const auto summary = run.output.rfind("report_test: ");
    std::cout << "[ browser  ] "
              << (summary == std::string::npos ? run.output : run.output.substr(summary));
  }
}

}  // namespace
}  // namespace smtp_exporter
