// End to end over real routing and IPv6: tests/lab/netns.sh builds three network namespaces
// (monitor, router, mail host; 198.51.100.0/24 and 2001:db8:100::/64, no default route), with
// Knot in the monitor namespace and Postfix on both families in the mail namespace. The real
// smtp_exporter binary runs inside the monitor namespace (`ip netns exec`), as `check` for each
// netns domain and as the daemon, whose /metrics must show the per-endpoint state (the IPv6
// endpoint down, IPv4 up). The IPv6 failures are real ones: an ICMPv6 "no route" from the
// router, a neighbour-discovery failure on the mail LAN, and no route on the monitor itself.
// Needs root and `ip netns`; fails (never skips) without them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/integration/lab_environment.h"
#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;
using testing::LabEnvironment;
using testing::ReadFile;
using testing::Eventually;
using testing::RunCommand;

// Fixed by tests/lab/netns.sh (default LAB_NETNS_PREFIX).
constexpr char kMonitorNs[] = "smtpx-mon";
// Inside the monitor namespace: Knot on its loopback, the daemon's HTTP port.
constexpr char kDnsServer[] = "127.0.0.1:53";
constexpr int kDaemonPort = 19125;
// A fixed directory, so a crashed run's servers (recorded there by PID) are stopped first.
constexpr char kStateDir[] = "/tmp/smtpx-integration-netns";

std::string InMonitor(const std::string& command) {
  return std::string("ip netns exec ") + kMonitorNs + " " + command;
}

struct NetnsScenario {
  const char* domain;
  const char* status;
  int exit_code;
  std::set<std::string> findings;  // "code:severity" of every non-OK finding
  const char* v6_connect;          // connect.status of the IPv6 endpoint ("" if none)
  const char* v6_error;            // part of its connect.error
};

// Every listener of the mail namespace announces the name its address has in DNS, so these
// rows have no banner or PTR findings.
const NetnsScenario kScenarios[] = {
    {"net-dual.lab.test", "ok", 0, {}, "connected", ""},
    {"net-v6only.lab.test", "ok", 0, {}, "connected", ""},
    {"nsmx.lab.test", "ok", 0, {}, "connected", ""},
    // The router has an "unreachable" route for 2001:db8:100::2:0/112: ICMPv6 no route.
    {"net-v6down.lab.test",
     "warn",
     1,
     {"smtp.ipv6.unreachable:warn", "smtp.tcp.unreachable:warn"},
     "unreachable",
     "Network is unreachable"},
    // 2001:db8:100::14 is on the mail LAN but nobody owns it: neighbour discovery fails at the
    // router, which answers ICMPv6 address unreachable.
    {"net-v6dead.lab.test",
     "warn",
     1,
     {"smtp.ipv6.unreachable:warn", "smtp.tcp.unreachable:warn"},
     "unreachable",
     "No route to host"},
    // The monitor has no route to 2001:db8:100::3:0/112: the exporter's own network, not the
    // domain's. Reported, not judged.
    {"net-v6noroute.lab.test",
     "info",
     0,
     {"smtp.tcp.unreachable:info"},
     "no_route",
     "Network is unreachable"},
};

class NetnsWorld : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_error_.clear();
    if (geteuid() != 0) {
      setup_error_ = "the netns lab needs root (ip netns add, veth, Postfix on port 25)";
      return;
    }
    const auto netns = RunCommand("ip netns list");
    if (netns.exit_code != 0) {
      setup_error_ =
          "`ip netns` is not available (iproute2 with network namespaces is "
          "required): " +
          netns.output;
      return;
    }
    const std::string script = LabEnvironment::SourceDir() + "/tests/lab/netns.sh ";
    RunCommand(script + "stop " + kStateDir);
    RunCommand(std::string("rm -rf '") + kStateDir + "' && mkdir -p '" + kStateDir + "'");
    const auto started = RunCommand(script + "start " + kStateDir);
    if (started.exit_code != 0) {
      setup_error_ = "tests/lab/netns.sh start failed:\n" + started.output;
    }
  }

  static void TearDownTestSuite() {
    // Like the loopback lab: no session of ours reached DATA, so nothing was ever queued.
    const std::string log = ReadFile(std::string(kStateDir) + "/netns/postfix/maillog");
    EXPECT_THAT(log, HasSubstr("disconnect from unknown[198.51.100.66]"));
    EXPECT_THAT(log, HasSubstr("disconnect from unknown[2001:db8:100::1:2]"));
    EXPECT_THAT(log, ::testing::Not(HasSubstr(" data=")));
    EXPECT_THAT(log, ::testing::Not(HasSubstr("message-id=")));
    const auto stopped =
        RunCommand(LabEnvironment::SourceDir() + "/tests/lab/netns.sh stop " + kStateDir);
    EXPECT_EQ(stopped.exit_code, 0) << stopped.output;
    const auto left = RunCommand("ip netns list | grep -E '^smtpx-(mon|rtr|mail)( |$)'");
    EXPECT_NE(left.exit_code, 0) << "namespaces left behind:\n" << left.output;
    RunCommand(std::string("rm -rf '") + kStateDir + "'");
  }

  void SetUp() override {
    if (!setup_error_.empty()) {
      FAIL() << setup_error_;
    }
  }

  static std::string Check(const std::string& domain, int* exit_code) {
    const auto run = RunCommand(InMonitor(std::string(SMTP_EXPORTER_BINARY) + " check " + domain +
                                          " --dns-servers " + kDnsServer +
                                          " --port 25 --helo-name probe.lab.test --timeout 5s"
                                          " --test-mta-sts=false --test-tls-rpt=false"
                                          " --format json 2>/dev/null"));
    *exit_code = run.exit_code;
    return run.output;
  }

  static inline std::string setup_error_;
};

TEST_F(NetnsWorld, CheckFindsExactlyTheExpectedProblems) {
  for (const NetnsScenario& scenario : kScenarios) {
    SCOPED_TRACE(scenario.domain);
    int exit_code = -1;
    const auto started = std::chrono::steady_clock::now();
    const std::string output = Check(scenario.domain, &exit_code);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(exit_code, scenario.exit_code) << output;
    ASSERT_TRUE(nlohmann::json::accept(output)) << output;
    const auto doc = nlohmann::json::parse(output);
    EXPECT_EQ(doc["status"], scenario.status);
    std::set<std::string> seen;
    for (const auto& finding : doc["findings"]) {
      if (finding["severity"] != "ok") {
        seen.insert(finding["code"].get<std::string>() + ":" +
                    finding["severity"].get<std::string>());
      }
    }
    EXPECT_EQ(seen, scenario.findings);
    int v6_endpoints = 0;
    for (const auto& endpoint : doc["endpoints"]) {
      if (endpoint["family"] == "ipv6") {
        ++v6_endpoints;
        EXPECT_EQ(endpoint["connect"]["status"], scenario.v6_connect) << endpoint["connect"];
        EXPECT_THAT(endpoint["connect"]["error"].get<std::string>(), HasSubstr(scenario.v6_error));
      } else {
        EXPECT_EQ(endpoint["connect"]["status"], "connected") << endpoint["ip"];
        EXPECT_EQ(endpoint["starttls"]["ok"], true) << endpoint["ip"];
      }
    }
    EXPECT_EQ(v6_endpoints, 1);
    // Informational (no bound on timing): how long each kind of failure took.
    RecordProperty(scenario.domain, std::to_string(seconds));
    std::printf("[   INFO   ] %-24s %-6s %.3f s\n", scenario.domain, scenario.status, seconds);
  }
}

TEST_F(NetnsWorld, DaemonInTheMonitorNamespaceShowsEachEndpoint) {
  const std::string dir = std::string(kStateDir) + "/daemon";
  ASSERT_EQ(RunCommand("mkdir -p '" + dir + "'").exit_code, 0);
  std::string yaml =
      "global:\n"
      "  interval: 10s\n"
      "  jitter: 1s\n"
      "  concurrency: 4\n"
      "  timeout: 5s\n"
      "  helo_name: probe.lab.test\n"
      "  dns_servers: [\"" +
      std::string(kDnsServer) +
      "\"]\n"
      "  port: 25\n"
      // The netns zone publishes no MTA-STS or TLS-RPT record; those rows are about IPv6.
      "  test_mta_sts: false\n"
      "  test_tls_rpt: false\n"
      "domains:\n";
  for (const NetnsScenario& scenario : kScenarios) {
    yaml += "  - name: " + std::string(scenario.domain) + "\n";
  }
  std::ofstream(dir + "/smtp_exporter.yml") << yaml;
  // `ip netns exec` execs the command, so $! is the daemon's own PID.
  const auto started =
      RunCommand(InMonitor(std::string(SMTP_EXPORTER_BINARY) + " --config.file '" + dir +
                           "/smtp_exporter.yml' --web.listen-address 127.0.0.1:" +
                           std::to_string(kDaemonPort)) +
                 " > '" + dir + "/daemon.log' 2>&1 & echo $! > '" + dir + "/daemon.pid'");
  ASSERT_EQ(started.exit_code, 0) << started.output;
  std::string pid = RunCommand("cat '" + dir + "/daemon.pid'").output;
  pid.erase(pid.find_last_not_of(" \n") + 1);
  ASSERT_FALSE(pid.empty());
  // python3 rather than curl: the lab needs it anyway (scripts/dev.sh installs no curl).
  const std::string scrape = InMonitor(
      "/usr/bin/python3 -I -c 'import urllib.request as u; print(u.build_opener("
      "u.ProxyHandler({})).open(\"http://127.0.0.1:" +
      std::to_string(kDaemonPort) +
      "/metrics\", timeout=5).read().decode(), end=\"\")' 2>/dev/null");
  std::string metrics;
  const bool all_checked = Eventually(
      [&] {
        metrics = RunCommand(scrape).output;
        for (const NetnsScenario& scenario : kScenarios) {
          if (metrics.find("smtp_domain_status{domain=\"" + std::string(scenario.domain) + "\"}") ==
              std::string::npos) {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(40));
  // The PID is the exporter's, in the monitor namespace (not a wrapper that would survive
  // its kill).
  // Compared as files (device and inode), not as path text: inside a container or chroot
  // the kernel may show the executable's path from another root.
  EXPECT_EQ(RunCommand("test /proc/" + pid + "/exe -ef '" + std::string(SMTP_EXPORTER_BINARY) +
                       "'").exit_code,
            0)
      << RunCommand("readlink /proc/" + pid + "/exe").output;
  EXPECT_EQ(RunCommand("ip netns identify " + pid).output, std::string(kMonitorNs) + "\n");
  const auto stopped =
      RunCommand("kill " + pid + " && for i in $(seq 50); do kill -0 " + pid +
                 " 2>/dev/null || exit 0; sleep 0.1; done; kill -9 " + pid + "; exit 1");
  EXPECT_EQ(stopped.exit_code, 0) << "the daemon ignored SIGTERM for 5 s";
  ASSERT_TRUE(all_checked) << metrics << "\n" << ReadFile(dir + "/daemon.log");

  auto up = [](const char* domain, const char* mx, const char* ip, const char* family, int value) {
    return "smtp_endpoint_up{domain=\"" + std::string(domain) + "\",mx=\"" + mx + "\",ip=\"" + ip +
           "\",family=\"" + family + "\"} " + std::to_string(value) + "\n";
  };
  EXPECT_THAT(metrics, HasSubstr(up("net-dual.lab.test", "net-mx-dual.lab.test", "198.51.100.10",
                                    "ipv4", 1)));
  EXPECT_THAT(metrics, HasSubstr(up("net-dual.lab.test", "net-mx-dual.lab.test", "2001:db8:100::10",
                                    "ipv6", 1)));
  EXPECT_THAT(metrics, HasSubstr(up("net-v6only.lab.test", "net-mx-v6only.lab.test",
                                    "2001:db8:100::11", "ipv6", 1)));
  EXPECT_THAT(metrics, HasSubstr(up("net-v6down.lab.test", "net-mx-v6down.lab.test",
                                    "198.51.100.12", "ipv4", 1)));
  EXPECT_THAT(metrics, HasSubstr(up("net-v6down.lab.test", "net-mx-v6down.lab.test",
                                    "2001:db8:100::2:12", "ipv6", 0)));
  EXPECT_THAT(metrics, HasSubstr(up("net-v6dead.lab.test", "net-mx-v6dead.lab.test",
                                    "2001:db8:100::14", "ipv6", 0)));
  EXPECT_THAT(metrics, HasSubstr(up("net-v6noroute.lab.test", "net-mx-v6noroute.lab.test",
                                    "2001:db8:100::3:13", "ipv6", 0)));
  EXPECT_THAT(metrics, HasSubstr("smtp_starttls_ok{domain=\"net-dual.lab.test\",mx=\""
                                 "net-mx-dual.lab.test\",ip=\"2001:db8:100::10\",family=\"ipv6\"}"
                                 " 1\n"));
  EXPECT_THAT(metrics, HasSubstr("smtp_domain_status{domain=\"net-dual.lab.test\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("smtp_domain_status{domain=\"net-v6down.lab.test\"} 2\n"));
  EXPECT_THAT(metrics, HasSubstr("smtp_domain_status{domain=\"net-v6noroute.lab.test\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("smtp_finding{domain=\"net-v6down.lab.test\",rule=\""
                                 "smtp.ipv6_reachable\",code=\"smtp.ipv6.unreachable\",severity="
                                 "\"warn\",subject=\"net-v6down.lab.test\",mx=\"\",ip=\"\"} 1\n"));
}

}  // namespace
}  // namespace smtp_exporter
