// The exporter daemon in-process against the real lab: every HTTP route, reload (good and
// bad), and a real Prometheus (Debian's) scraping /metrics, answering a PromQL query for
// smtp_open_relay == 1 and firing the shipped SmtpOpenRelay alert rule. Only loopback is
// contacted; every wait is bounded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "exporter/daemon/app.h"
#include "tests/integration/lab_environment.h"
#include "tests/support/in_process_exporter.h"
#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::LabEnvironment;
using testing::MakeTempDir;
using testing::Eventually;
using testing::RunCommand;

// A Prometheus port the tests own for their duration.
constexpr int kPrometheusPort = 19190;

std::string LabConfig(const std::vector<std::string>& domains, const std::string& extra = "") {
  return LabEnvironment::DaemonConfig(domains, "10s", 4) + extra;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("smtpx-daemon");
    config_path_ = dir_ + "/smtp_exporter.yml";
    WriteFile(config_path_, LabConfig({"good.lab.test", "relay.lab.test"}));
    AppOptions options;
    options.config_path = config_path_;
    options.listen_address = "127.0.0.1:0";
    options.enable_lifecycle = true;  // POST /-/reload is tested below
    app_ = testing::StartInProcessExporter(options);
    ASSERT_NE(app_, nullptr);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", app_->port());
    client_->set_read_timeout(std::chrono::seconds(30));
  }
  void TearDown() override {
    testing::StopInProcessExporter(app_);
    RunCommand("rm -rf '" + dir_ + "'");
  }
  std::string Get(const std::string& path, int* status = nullptr) {
    auto res = client_->Get(path);
    if (status != nullptr) {
      *status = res ? res->status : -1;
    }
    return res ? res->body : "";
  }
  bool MetricsHaveBothDomains() {
    const std::string metrics = Get("/metrics");
    return metrics.find("smtp_domain_status{domain=\"good.lab.test\"}") != std::string::npos &&
           metrics.find("smtp_domain_status{domain=\"relay.lab.test\"}") != std::string::npos;
  }

  std::string dir_;
  std::string config_path_;
  std::unique_ptr<ExporterApp> app_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(DaemonTest, HealthReadyAndBadRoutes) {
  int status = 0;
  EXPECT_EQ(Get("/-/healthy", &status), "Healthy.\n");
  EXPECT_EQ(status, 200);
  Get("/-/ready", &status);
  EXPECT_EQ(status, 200);
  Get("/nonexistent", &status);
  EXPECT_EQ(status, 404);
  Get("/-/reload", &status);
  EXPECT_EQ(status, 405);
}

TEST_F(DaemonTest, ScheduledChecksReachMetricsAndReports) {
  ASSERT_TRUE(Eventually([&] { return MetricsHaveBothDomains(); })) << Get("/metrics");
  const std::string metrics = Get("/metrics");
  EXPECT_THAT(metrics, HasSubstr("smtp_open_relay{domain=\"relay.lab.test\",mx=\"mx-relay.lab.test\","
                                 "ip=\"127.0.0.5\",family=\"ipv4\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("smtp_open_relay{domain=\"good.lab.test\",mx=\"mx-good.lab.test\","
                                 "ip=\"127.0.0.2\",family=\"ipv4\"} 0"));
  EXPECT_THAT(metrics, HasSubstr("smtp_domain_status{domain=\"good.lab.test\"} 0"));
  EXPECT_THAT(metrics, HasSubstr("smtp_exporter_domains 2"));
  int status = 0;
  const std::string report = Get("/report?domain=relay.lab.test", &status);
  EXPECT_EQ(status, 200);
  EXPECT_THAT(report, HasSubstr("smtp.open_relay"));
  const std::string json = Get("/report?domain=relay.lab.test&format=json", &status);
  ASSERT_TRUE(nlohmann::json::accept(json)) << json;
  EXPECT_EQ(nlohmann::json::parse(json)["status"], "crit");
  Get("/report?domain=unknown.lab.test", &status);
  EXPECT_EQ(status, 404);
  const std::string index = Get("/", &status);
  EXPECT_EQ(status, 200);
  // Worst first: relay (crit) is listed before good (ok).
  EXPECT_LT(index.find("data-domain=\"relay.lab.test\""),
            index.find("data-domain=\"good.lab.test\""));
  // The overview names what is broken where, and draws each domain's scheduled checks.
  EXPECT_THAT(index, HasSubstr("<span class=\"what\">open relay</span><span class=\"where\"> · "
                               "mx-relay.lab.test [127.0.0.5]</span>"));
  EXPECT_THAT(index, HasSubstr("<li class=\"code\" data-code=\"smtp.open_relay\" "
                               "data-severity=\"crit\" data-domains=\"1\">"));
  EXPECT_THAT(index, HasSubstr("<div class=\"history\" data-checks=\""));
  EXPECT_THAT(report, HasSubstr("<section id=\"history\">"));
  // Filters, server-side; bad ones are refused.
  const std::string crit = Get("/?status=crit", &status);
  EXPECT_EQ(status, 200);
  EXPECT_THAT(crit, HasSubstr("data-domain=\"relay.lab.test\""));
  EXPECT_THAT(crit, Not(HasSubstr("data-domain=\"good.lab.test\"")));
  EXPECT_THAT(Get("/?code=smtp.open_relay&q=RELAY", &status), HasSubstr("data-shown=\"1\""));
  EXPECT_EQ(status, 200);
  Get("/?status=bogus", &status);
  EXPECT_EQ(status, 400);
  Get("/?q=" + std::string(254, 'a'), &status);
  EXPECT_EQ(status, 400);
  // A thousand domains make a page of megabytes, nearly all repeated markup: it goes out
  // compressed to a client that accepts it.
  client_->set_decompress(false);
  const auto compressed = client_->Get("/", {{"Accept-Encoding", "gzip"}});
  client_->set_decompress(true);
  ASSERT_TRUE(compressed);
  EXPECT_EQ(compressed->get_header_value("Content-Encoding"), "gzip");
  // The live output passes Prometheus' own linter.
  WriteFile(dir_ + "/live.prom", metrics);
  const auto lint = RunCommand("promtool check metrics < '" + dir_ + "/live.prom'");
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
}

TEST_F(DaemonTest, ProbeRunsOneCheckNow) {
  int status = 0;
  const std::string body = Get("/probe?domain=nopm.lab.test", &status);
  EXPECT_EQ(status, 200);
  EXPECT_THAT(body, HasSubstr("probe_success 0"));
  EXPECT_THAT(body, HasSubstr("smtp_postmaster_accepted{domain=\"nopm.lab.test\""));
  EXPECT_THAT(body, HasSubstr("probe_duration_seconds"));
  EXPECT_THAT(body, Not(HasSubstr("smtp_exporter_")));
  const std::string good = Get("/probe?domain=good.lab.test&test_open_relay=false", &status);
  EXPECT_THAT(good, HasSubstr("probe_success 1"));
  EXPECT_THAT(good, Not(HasSubstr("smtp_open_relay")));  // disabled: absent, not 0
  const std::string debug = Get("/probe?domain=relay.lab.test&debug=true", &status);
  EXPECT_THAT(debug, HasSubstr("What to fix"));
  EXPECT_THAT(debug, HasSubstr("RCPT TO:<postmaster@example.com>"));
  Get("/probe", &status);
  EXPECT_EQ(status, 400);
  Get("/probe?domain=%3Cscript%3E", &status);
  EXPECT_EQ(status, 400);
  Get("/probe?domain=good.lab.test&test_open_relay=maybe", &status);
  EXPECT_EQ(status, 400);
}

TEST_F(DaemonTest, ReloadAppliesAGoodFileAndKeepsTheOldOneOnABadFile) {
  ASSERT_TRUE(Eventually([&] { return MetricsHaveBothDomains(); }));
  // Bad file: 500 (the error is logged, not told to the caller), the old config stays, the
  // reload gauge says so.
  WriteFile(config_path_, LabConfig({"good.lab.test", "relay.lab.test"}, "  - name: bad name!\n"));
  auto res = client_->Post("/-/reload");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->body, "failed to reload config; see the exporter's log\n");
  std::string metrics = Get("/metrics");
  EXPECT_THAT(metrics, HasSubstr("smtp_exporter_config_last_reload_successful 0"));
  EXPECT_THAT(metrics, HasSubstr("smtp_exporter_domains 2"));
  // Good file without relay.lab.test: its series vanish, the new domain is checked at once.
  WriteFile(config_path_, LabConfig({"good.lab.test", "nonull.lab.test"}));
  res = client_->Post("/-/reload");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  metrics = Get("/metrics");
  EXPECT_THAT(metrics, HasSubstr("smtp_exporter_config_last_reload_successful 1"));
  EXPECT_THAT(metrics, Not(HasSubstr("relay.lab.test")));
  EXPECT_TRUE(Eventually([&] {
    return Get("/metrics").find("smtp_null_sender_accepted{domain=\"nonull.lab.test\"") !=
           std::string::npos;
  }));
}

TEST_F(DaemonTest, ShutdownIsPrompt) {
  const auto started = std::chrono::steady_clock::now();
  app_->Shutdown();
  app_->Wait();
  // Generous bound (noisy machines): in-flight probes are cancelled, not waited for.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  app_.reset();
}

// dashboards/alerts.yml with every `for:` set to 0s. The real durations (minutes) would make
// this test wait that long; their semantics are proven by promtool's unit tests
// (dashboards/alerts_test.yml). Here the point is that the shipped rules load in a real
// Prometheus and fire on the live exporter's series, annotations rendered.
std::string AlertRulesWithoutFor() {
  std::string rules = testing::ReadFile(SMTP_EXPORTER_SOURCE_DIR "/dashboards/alerts.yml");
  std::string out;
  int replaced = 0;
  for (std::size_t pos = 0; pos < rules.size();) {
    const std::size_t end = std::min(rules.find('\n', pos), rules.size());
    std::string line = rules.substr(pos, end - pos);
    if (const auto at = line.find("for: "); at != std::string::npos &&
                                            line.find_first_not_of(' ') == at) {
      line = line.substr(0, at) + "for: 0s";
      ++replaced;
    }
    out += line + "\n";
    pos = end + 1;
  }
  EXPECT_GE(replaced, 8) << "dashboards/alerts.yml changed shape";
  return out;
}

// A real Prometheus scrapes the daemon; its query API shows the open relay, and only it, and
// the shipped alert rules (dashboards/alerts.yml) fire SmtpOpenRelay for it, and only for it.
TEST_F(DaemonTest, PrometheusScrapesAndSeesTheOpenRelay) {
  ASSERT_TRUE(Eventually([&] { return MetricsHaveBothDomains(); }));
  const std::string prom_dir = dir_ + "/prometheus";
  RunCommand("mkdir -p '" + prom_dir + "/data'");
  WriteFile(prom_dir + "/alerts.yml", AlertRulesWithoutFor());
  WriteFile(prom_dir + "/prometheus.yml",
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "rule_files: [alerts.yml]\n"
            "scrape_configs:\n"
            "  - job_name: smtp\n"
            "    static_configs: [{targets: ['127.0.0.1:" + std::to_string(app_->port()) + "']}]\n");
  const auto check = RunCommand("promtool check config '" + prom_dir + "/prometheus.yml'");
  ASSERT_EQ(check.exit_code, 0) << check.output;
  const auto started = RunCommand(
      "prometheus --config.file='" + prom_dir + "/prometheus.yml' --storage.tsdb.path='" +
      prom_dir + "/data' --web.listen-address=127.0.0.1:" + std::to_string(kPrometheusPort) +
      " > '" + prom_dir + "/log' 2>&1 & echo $! > '" + prom_dir + "/pid'");
  ASSERT_EQ(started.exit_code, 0);
  httplib::Client prometheus("127.0.0.1", kPrometheusPort);
  prometheus.set_read_timeout(std::chrono::seconds(5));
  std::string answer;
  const bool seen = Eventually([&] {
    auto res = prometheus.Get("/api/v1/query?query=smtp_open_relay%20%3D%3D%201");
    if (!res || res->status != 200) {
      return false;
    }
    answer = res->body;
    return answer.find("relay.lab.test") != std::string::npos;
  });
  // The alerts, once the query sees the relay: SmtpOpenRelay firing.
  std::vector<nlohmann::json> open_relay_alerts;
  std::string alerts_answer;
  const bool fired = seen && Eventually([&] {
    auto res = prometheus.Get("/api/v1/alerts");
    if (!res || res->status != 200 || !nlohmann::json::accept(res->body)) {
      return false;
    }
    alerts_answer = res->body;
    open_relay_alerts.clear();
    const auto parsed = nlohmann::json::parse(res->body);  // outlives the loop below
    for (const auto& alert : parsed["data"]["alerts"]) {
      if (alert["labels"]["alertname"] == "SmtpOpenRelay") {
        open_relay_alerts.push_back(alert);
      }
    }
    return !open_relay_alerts.empty() && open_relay_alerts[0]["state"] == "firing";
  }, std::chrono::seconds(60));  // rule groups start on their own schedule: be generous
  RunCommand("kill $(cat '" + prom_dir + "/pid')");
  ASSERT_TRUE(seen) << answer << "\n" << testing::ReadFile(prom_dir + "/log");
  const auto result = nlohmann::json::parse(answer)["data"]["result"];
  ASSERT_EQ(result.size(), 1u) << answer;
  EXPECT_EQ(result[0]["metric"]["domain"], "relay.lab.test");

  ASSERT_TRUE(fired) << alerts_answer << "\n" << testing::ReadFile(prom_dir + "/log");
  ASSERT_EQ(open_relay_alerts.size(), 1u) << alerts_answer;
  const auto& alert = open_relay_alerts[0];
  EXPECT_EQ(alert["labels"]["domain"], "relay.lab.test");
  EXPECT_EQ(alert["labels"]["severity"], "critical");
  EXPECT_EQ(alert["annotations"]["report_url"],
            "http://127.0.0.1:" + std::to_string(app_->port()) +
                "/report?domain=relay.lab.test");
  EXPECT_THAT(alert["annotations"]["summary"].get<std::string>(),
              HasSubstr("relays mail for anyone (relay.lab.test)"));
  EXPECT_THAT(alert["annotations"]["description"].get<std::string>(),
              HasSubstr("Fix: restrict relaying"));
}

}  // namespace
}  // namespace smtp_exporter
