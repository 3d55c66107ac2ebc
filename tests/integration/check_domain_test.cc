// End to end: the smtp_exporter binary runs `check DOMAIN` against the lab's real Knot (DNS)
// and real Postfix (SMTP), and each lab domain must yield exactly the expected set of non-OK
// findings and exit code. This is the seed's "most common failures" table, row by row, plus
// every DNS posture case. Only the lab on loopback is contacted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "tests/integration/lab_environment.h"
#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

using testing::kSmtpPort;
using testing::LabEnvironment;
using testing::RunCommand;

struct Scenario {
  const char* domain;
  const char* status;
  int exit_code;
  std::set<std::string> findings;  // "code:severity" of every non-OK finding
};

// The lab Postfix announces itself as mx-good.lab.test on every listener, so variants reached
// under another MX name also show the (informational) banner mismatch; the lab is IPv4-only
// except for mx-good (127.0.0.2 + ::1).
const Scenario kScenarios[] = {
    {"good.lab.test", "ok", 0, {}},
    {"shared.lab.test", "ok", 0, {}},
    {"ipv6only.lab.test", "ok", 0, {}},
    {"v4only.lab.test", "info", 0, {"smtp.ipv6.missing:info"}},
    // The seed's failure table.
    {"cnamemx.lab.test", "crit", 2, {"smtp.mx.cname:crit"}},
    {"cnamechain.lab.test", "crit", 2, {"smtp.mx.cname:crit"}},
    {"notls.lab.test", "crit", 2,
     {"smtp.all_no_starttls:crit", "smtp.starttls.missing:warn", "smtp.banner.hostname_mismatch:info",
      "smtp.ipv6.missing:info"}},
    {"auth.lab.test", "crit", 2,
     {"smtp.auth.plaintext:crit", "smtp.banner.hostname_mismatch:info", "smtp.ipv6.missing:info"}},
    {"nopm.lab.test", "crit", 2,
     {"smtp.postmaster.rejected:crit", "smtp.banner.hostname_mismatch:info",
      "smtp.ipv6.missing:info"}},
    {"nonull.lab.test", "crit", 2,
     {"smtp.null_sender.rejected:crit", "smtp.banner.hostname_mismatch:info",
      "smtp.ipv6.missing:info"}},
    {"noptr.lab.test", "warn", 1,
     {"smtp.ptr.missing:warn", "smtp.banner.hostname_mismatch:info", "smtp.ipv6.missing:info"}},
    {"badptr.lab.test", "warn", 1,
     {"smtp.fcrdns.mismatch:warn", "smtp.banner.hostname_mismatch:info", "smtp.ipv6.missing:info"}},
    {"relay.lab.test", "crit", 2,
     {"smtp.open_relay:crit", "smtp.banner.hostname_mismatch:info", "smtp.ipv6.missing:info"}},
    // DNS posture.
    {"literal.lab.test", "crit", 2, {"smtp.mx.ip_literal:crit", "smtp.all_unreachable:crit"}},
    {"nullmx.lab.test", "info", 0, {"smtp.mx.null:info"}},
    {"nullmixed.lab.test", "crit", 2, {"smtp.mx.null_mixed:crit"}},
    {"implicit.lab.test", "warn", 1, {"smtp.mx.implicit:warn", "smtp.ipv6.missing:info"}},
    {"nomail.lab.test", "crit", 2, {"smtp.mx.missing:crit"}},
    {"nosuch.lab.test", "crit", 2, {"smtp.mx.missing:crit"}},
    {"dangling.lab.test", "crit", 2, {"smtp.mx.unresolvable:crit", "smtp.all_unreachable:crit"}},
    {"noaddr.lab.test", "crit", 2, {"smtp.mx.unresolvable:crit", "smtp.all_unreachable:crit"}},
    {"down.lab.test", "crit", 2,
     {"smtp.tcp.unreachable:crit", "smtp.all_unreachable:crit", "smtp.ipv6.missing:info"}},
    {"broken.test", "error", 3, {"smtp.dns.error:error"}},
    // Behaviours Postfix cannot produce, from the scripted responder (tests/lab/responder.py).
    {"helo.lab.test", "crit", 2,
     {"smtp.ehlo.helo_fallback:warn", "smtp.starttls.missing:warn", "smtp.all_no_starttls:crit",
      "smtp.ipv6.missing:info"}},
    {"greet554.lab.test", "crit", 2, {"smtp.banner.rejected:crit", "smtp.ipv6.missing:info"}},
    {"greet421.lab.test", "crit", 2, {"smtp.banner.rejected:crit", "smtp.ipv6.missing:info"}},
    {"greylist.lab.test", "crit", 2,
     {"smtp.probe.temporary:info", "smtp.starttls.missing:warn", "smtp.all_no_starttls:crit",
      "smtp.ipv6.missing:info"}},
    {"tlsbroken.lab.test", "crit", 2,
     {"smtp.starttls.failed:crit", "smtp.all_no_starttls:crit", "smtp.ipv6.missing:info"}},
    {"endless.lab.test", "warn", 1, {"smtp.limits.exceeded:warn", "smtp.ipv6.missing:info"}},
    {"minimal.lab.test", "crit", 2,
     {"smtp.extension.missing:info", "smtp.starttls.missing:warn", "smtp.all_no_starttls:crit",
      "smtp.ipv6.missing:info"}},
    // A postscreen-style greeting with a pause: waited for, no early talking.
    {"pause.lab.test", "crit", 2,
     {"smtp.starttls.missing:warn", "smtp.all_no_starttls:crit", "smtp.ipv6.missing:info"}},
};

class CheckDomainEndToEnd : public ::testing::TestWithParam<Scenario> {};

TEST_P(CheckDomainEndToEnd, ExactFindings) {
  const Scenario& scenario = GetParam();
  const auto run = RunCommand(std::string(SMTP_EXPORTER_BINARY) + " check " + scenario.domain +
                              " --dns-servers " + LabEnvironment::DnsServer() + " --port " +
                              std::to_string(kSmtpPort) +
                              " --helo-name probe.lab.test --timeout 5s --format json"
                              " 2>/dev/null");
  EXPECT_EQ(run.exit_code, scenario.exit_code) << run.output;
  ASSERT_TRUE(nlohmann::json::accept(run.output)) << run.output;
  const auto doc = nlohmann::json::parse(run.output);
  EXPECT_EQ(doc["status"], scenario.status);
  std::set<std::string> seen;
  for (const auto& finding : doc["findings"]) {
    if (finding["severity"] != "ok") {
      seen.insert(finding["code"].get<std::string>() + ":" +
                  finding["severity"].get<std::string>());
    }
  }
  EXPECT_EQ(seen, scenario.findings);
}

INSTANTIATE_TEST_SUITE_P(LabDomains, CheckDomainEndToEnd, ::testing::ValuesIn(kScenarios),
                         [](const ::testing::TestParamInfo<Scenario>& param_info) {
                           std::string name = param_info.param.domain;
                           for (char& c : name) {
                             if (c == '.') c = '_';
                           }
                           return name;
                         });

// The done-when of the DNS issue: the complete domain observation for a lab domain.
TEST(CheckDomainJson, CompleteObservationForTheGoodDomain) {
  const auto run = RunCommand(std::string(SMTP_EXPORTER_BINARY) +
                              " check good.lab.test --dns-servers " + LabEnvironment::DnsServer() +
                              " --port " + std::to_string(kSmtpPort) +
                              " --helo-name probe.lab.test --format json 2>/dev/null");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto doc = nlohmann::json::parse(run.output);
  EXPECT_EQ(doc["dns"]["mx_targets"][0]["host"], "mx-good.lab.test");
  EXPECT_EQ(doc["plan"]["endpoints"].size(), 2u);
  ASSERT_EQ(doc["endpoints"].size(), 2u);
  for (const auto& endpoint : doc["endpoints"]) {
    EXPECT_EQ(endpoint["starttls"]["ok"], true) << endpoint["ip"];
    EXPECT_EQ(endpoint["transactions"]["open_relay"]["outcome"], "rejected");
  }
  EXPECT_EQ(doc["endpoints"][1]["family"], "ipv6");
  for (const auto& reverse : doc["dns"]["reverse"]) {
    EXPECT_EQ(reverse["fcrdns_ok"], true) << reverse["ip"];
  }
}

}  // namespace
}  // namespace smtp_exporter
