// The lab's latency proxy (tests/lab/delay_proxy.py, started by delay_proxy.sh and stopped by
// PID) end to end: `check good.lab.test` against the lab's Postfix directly and through the
// proxy, which adds a fixed delay in each direction. The phases the probe measures must grow by
// at least that delay (lower bounds: machines are noisy; the one upper bound, a pipelined
// transaction group answered within two round trips, has a round trip of slack), and the
// findings must not change, pipelined or in lock-step. Only loopback is contacted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>

#include "tests/integration/lab_environment.h"
#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;
using testing::kSmtpPort;
using testing::LabEnvironment;
using testing::MakeTempDir;
using testing::ReadFile;
using testing::RunCommand;

constexpr int kDelayMs = 100;  // each way: a 200 ms round trip
constexpr int kProxyPort = kSmtpPort + 100;

nlohmann::json CheckGood(int port, const std::string& extra_flags = "") {
  const auto run =
      RunCommand(std::string(SMTP_EXPORTER_BINARY) + " check good.lab.test --dns-servers " +
                 LabEnvironment::DnsServer() + " --port " + std::to_string(port) +
                 " --helo-name probe.lab.test --timeout 10s --format json"
                 // good.lab.test publishes no MTA-STS or TLS-RPT record: not this test's subject.
                 " --test-mta-sts=false --test-tls-rpt=false " + extra_flags +
                 " 2>/dev/null");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  if (!nlohmann::json::accept(run.output)) {
    ADD_FAILURE() << run.output;
    return nlohmann::json::object();
  }
  return nlohmann::json::parse(run.output);
}

// Every finding, OK ones included, without its message (which may quote timings).
std::set<std::tuple<std::string, std::string, std::string>> Verdicts(const nlohmann::json& doc) {
  std::set<std::tuple<std::string, std::string, std::string>> out;
  for (const auto& f : doc.value("findings", nlohmann::json::array())) {
    out.emplace(f["code"], f["severity"], f["subject"]);
  }
  return out;
}

TEST(DelayProxyTest, AddsItsDelayToEveryExchangeAndChangesNoFinding) {
  const std::string state = MakeTempDir("smtpx-delay");
  const std::string script = LabEnvironment::SourceDir() + "/tests/lab/delay_proxy.sh ";
  const std::string port = std::to_string(kProxyPort);
  const std::string target = std::to_string(kSmtpPort);
  // good.lab.test has two endpoints, 127.0.0.2 and ::1: both go through the proxy.
  const auto started = RunCommand(
      "LAB_PROXY_LIFETIME=120 " + script + "start " + state + " " + std::to_string(kDelayMs) +
      " 127.0.0.2:" + port + "=127.0.0.2:" + target + " '[::1]:" + port + "=[::1]:" + target + "'");
  ASSERT_EQ(started.exit_code, 0) << started.output;

  const nlohmann::json direct = CheckGood(kSmtpPort);
  const nlohmann::json proxied = CheckGood(kProxyPort);
  const nlohmann::json lock_step = CheckGood(kProxyPort, "--pipelining=false");
  const auto stopped = RunCommand(script + "stop " + state);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.output;
  const std::string proxy_log = ReadFile(state + "/delay_proxy/proxy.log");
  RunCommand("rm -rf '" + state + "'");

  EXPECT_EQ(proxied.value("status", ""), "ok");
  EXPECT_EQ(Verdicts(proxied), Verdicts(direct));
  EXPECT_EQ(Verdicts(lock_step), Verdicts(direct));
  EXPECT_EQ(testing::TransactionVerdicts(lock_step), testing::TransactionVerdicts(proxied));
  // Both endpoints really went through the proxy, and both sessions ended normally.
  EXPECT_THAT(proxy_log, HasSubstr(" to 127.0.0.2:" + target + "\n"));
  EXPECT_THAT(proxy_log, HasSubstr(" to [::1]:" + target + "\n"));
  EXPECT_THAT(proxy_log, ::testing::Not(HasSubstr("Error")));

  const double delay = kDelayMs / 1000.0;
  ASSERT_EQ(proxied["endpoints"].size(), 2u);
  for (std::size_t i = 0; i < proxied["endpoints"].size(); ++i) {
    const auto& phases = proxied["endpoints"][i]["phases"];
    const auto& direct_phases = direct["endpoints"][i]["phases"];
    SCOPED_TRACE(proxied["endpoints"][i]["ip"].get<std::string>());
    // The proxy reaches the server one delay after our connect() returned and holds the 220
    // for another: the greeting comes a round trip later. EHLO and STARTTLS are one round
    // trip each at least.
    EXPECT_GE(phases["greeting"].get<double>(), 2 * delay) << phases;
    EXPECT_GE(phases["ehlo"].get<double>(), 2 * delay) << phases;
    EXPECT_GE(phases["starttls"].get<double>(), 2 * delay) << phases;
    EXPECT_GE(phases["total"].get<double>(), 8 * delay) << phases;
    // RFC 2920: Postfix got the transaction probes as one group and answered them in one
    // round trip (2 delays; the bound leaves a round trip of slack for a busy machine), where
    // lock-step waits for six (MAIL, RCPT, RSET, MAIL, RCPT, RSET; then MAIL, RCPT, RSET for
    // the relay probe when the null sender's RCPT is refused).
    EXPECT_TRUE(proxied["endpoints"][i]["transactions"]["pipelined"].get<bool>());
    EXPECT_GE(phases["transactions"].get<double>(), 2 * delay) << phases;
    EXPECT_LT(phases["transactions"].get<double>(), 4 * delay) << phases;
    const auto& lock_step_phases = lock_step["endpoints"][i]["phases"];
    EXPECT_FALSE(lock_step["endpoints"][i]["transactions"]["pipelined"].get<bool>());
    EXPECT_GE(lock_step_phases["transactions"].get<double>(), 12 * delay) << lock_step_phases;
    std::printf(
        "[   INFO   ] %s total %.3f s direct, %.3f s through %d ms each way (%.3f s lock-step)\n",
        proxied["endpoints"][i]["ip"].get<std::string>().c_str(),
        direct_phases["total"].get<double>(), phases["total"].get<double>(), kDelayMs,
        lock_step_phases["total"].get<double>());
  }
}

}  // namespace
}  // namespace smtp_exporter
