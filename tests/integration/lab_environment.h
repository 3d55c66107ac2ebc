// The lab every integration test shares: a real Postfix (tests/lab/postfix.sh) on 127.0.0.x and
// ::1 at kSmtpPort, a real Knot (tests/lab/dns.sh) serving the lab zones on 127.0.0.1 and
// ::1 at kDnsPort, and a validating Unbound (tests/lab/unbound.sh) in front of that Knot on
// 127.0.0.1 at kResolverPort, for the DANE rows. Started once before the first test and stopped by PID after the last, as a
// GoogleTest global environment. Tests only read it; not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/support/lab.h"

namespace smtp_exporter::testing {

// High ports, so the tests never collide with a system MTA or the demo lab.
inline constexpr std::uint16_t kSmtpPort = 10025;
inline constexpr std::uint16_t kDnsPort = 25353;
// The MTA-STS policy server (tests/lab/mta_sts.sh) on 127.0.0.84-85.
inline constexpr std::uint16_t kMtaStsPort = 10443;
inline constexpr std::uint16_t kResolverPort = 25354;

class LabEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;

  static const std::string& state_dir() { return state_dir_; }
  // "127.0.0.1:25353" for ResolverOptions::servers / --dns-servers.
  static std::string DnsServer() { return "127.0.0.1:" + std::to_string(kDnsPort); }
  // "127.0.0.1:25354": the validating resolver, which sets AD on answers from dnssec.test.
  static std::string ValidatingResolver() {
    return "127.0.0.1:" + std::to_string(kResolverPort);
  }
  static std::string SourceDir() { return SMTP_EXPORTER_SOURCE_DIR; }
  // The flags that turn the MTA-STS and TLS-RPT checks on against this lab: its policy port
  // and the lab CA for the policy fetch (RunLabCheck turns them off by default).
  static std::string PolicyFlags();
  // A daemon config (YAML) checking `domains` through this lab: its DNS server and SMTP port,
  // helo_name probe.lab.test, 5 s endpoint timeout, jitter 1 s, no MTA-STS/TLS-RPT checks. Start-up checks are spread
  // over min(interval, 60 s), so a short `interval` has every first check within seconds.
  static std::string DaemonConfig(const std::vector<std::string>& domains,
                                  const std::string& interval, int concurrency);

 private:
  static inline std::string state_dir_;
};

// `smtp_exporter check DOMAIN --format json` against the lab (its DNS server and SMTP port,
// helo_name probe.lab.test, 5 s timeout, MTA-STS and TLS-RPT off: most lab domains publish
// neither, and their rows are about SMTP), then `extra_flags`: later flags win, so they can
// override --timeout or add LabEnvironment::PolicyFlags().
CommandResult RunLabCheck(const std::string& domain, const std::string& extra_flags = "");

// "code:severity" of every non-OK finding of a `check --format json` document.
std::set<std::string> NonOkFindings(const nlohmann::json& doc);

// The verdicts of every transaction probe of a `check --format json` document, one line per
// endpoint and probe: "IP PROBE OUTCOME: DETAIL".
std::vector<std::string> TransactionVerdicts(const nlohmann::json& doc);

// How many endpoints of a `check --format json` document sent their transaction probes as one
// RFC 2920 group.
int PipelinedEndpoints(const nlohmann::json& doc);

// Checks `domain` again with `--pipelining=false` and expects what `pipelined` (the document of
// the default, pipelined check) says: the same non-OK findings and the same verdict and detail
// for every transaction probe.
void ExpectLockStepAgrees(const std::string& domain, const nlohmann::json& pipelined);

}  // namespace smtp_exporter::testing
