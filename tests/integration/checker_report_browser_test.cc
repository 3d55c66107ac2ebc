// The happyDomain checker mode's HTML report in a real browser (issue #16), with and without a
// TLS checker's related tls_probes data: the real smtp_exporter binary runs in the checker mode
// over the lab (checker_process.h), and tests/browser/checker_report_test.mjs collects real
// observations from it (POST /collect), asks for the report twice (POST /report, Accept:
// text/html, without and with `related`) and drives Debian's chromium through playwright-core
// over the documents: what smtp.tls_quality says, which MX panel shows the TLS findings, no
// console error, a phone's width; then negative controls prove each of those checks can fail.
// Screenshots and pages go to SMTP_EXPORTER_BROWSER_ARTIFACTS-checker. Missing node, chromium or
// node_modules fail the test (run scripts/dev.sh deps); only loopback is contacted and every
// wait is bounded.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <string>

#include "tests/integration/browser_tools.h"
#include "tests/integration/checker_process.h"
#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

std::string Quote(const std::string& text) { return "'" + text + "'"; }

TEST(CheckerReportBrowserTest, ReportWithAndWithoutTlsDataInChromium) {
  ASSERT_EQ(testing::MissingBrowserTools(), "");
  const std::string dir = testing::MakeTempDir("smtpx-checker-browser");
  ASSERT_FALSE(dir.empty());
  testing::CheckerProcess checker;
  ASSERT_TRUE(checker.Start(dir + "/checker.log")) << checker.Log();

  const std::string artifacts = std::string(SMTP_EXPORTER_BROWSER_ARTIFACTS) + "-checker";
  testing::RunCommand("rm -rf " + Quote(artifacts) + " && mkdir -p " + Quote(artifacts));
  std::cout << "[ browser  ] screenshots and pages: " << artifacts << std::endl;
  // checker_report_test.mjs stops itself after 240 s; the outer limit is the last resort.
  const auto run = testing::RunBrowserScript(
      "checker_report_test.mjs", Quote("http://" + checker.listen()) + " " + Quote(artifacts), 300);
  std::ofstream(artifacts + "/checker_report_test.log", std::ios::trunc) << run.output;
  EXPECT_EQ(run.exit_code, 0) << "tests/browser/checker_report_test.mjs failed (exit "
                              << run.exit_code
                              << "; 2 = set-up problem: " << testing::kBrowserDepsHint
                              << "); artifacts in " << artifacts << ":\n"
                              << run.output << "\nthe checker's log:\n"
                              << checker.Log();
  if (run.exit_code == 0) {
    const auto summary = run.output.rfind("checker_report_test: ");
    std::cout << "[ browser  ] "
              << (summary == std::string::npos ? run.output : run.output.substr(summary));
  }
  EXPECT_EQ(checker.Terminate(), 0) << checker.Log();
  testing::RunCommand("rm -rf " + Quote(dir));
}

}  // namespace
}  // namespace smtp_exporter
