// The exporter daemon in-process against the real lab: every HTTP route, reload (good and
// bad), and a real Prometheus (Debian's) scraping /metrics, answering a PromQL query for
// smtp_open_relay == 1 and firing the shipped SmtpOpenRelay alert rule; and the same
// Prometheus scraping through --web.config.file's TLS, basic auth and mutual TLS. Only
// loopback is contacted; every wait is bounded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "exporter/daemon/app.h"
#include "tests/integration/lab_environment.h"
#include "tests/support/basic_auth.h"
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

// Checks PROM_DIR/prometheus.yml with promtool and starts Debian's Prometheus on it, in the
// background, on kPrometheusPort (data in PROM_DIR/data, which must exist, log in PROM_DIR/log, pid in
// PROM_DIR/pid; stop it with `kill $(cat PROM_DIR/pid)`): "" or what failed.
std::string StartPrometheus(const std::string& prom_dir) {
  const auto check = RunCommand("promtool check config '" + prom_dir + "/prometheus.yml'");
  if (check.exit_code != 0) {
    return "promtool check config: " + check.output;
  }
  const auto started = RunCommand(
      "prometheus --config.file='" + prom_dir + "/prometheus.yml' --storage.tsdb.path='" +
      prom_dir + "/data' --web.listen-address=127.0.0.1:" + std::to_string(kPrometheusPort) +
      " > '" + prom_dir + "/log' 2>&1 & echo $! > '" + prom_dir + "/pid'");
  return started.exit_code == 0 ? "" : "cannot start prometheus: " + started.output;
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
  ASSERT_EQ(StartPrometheus(prom_dir), "");
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

// --web.config.file as Prometheus users write it: one exporter with TLS and basic auth, one
// with mutual TLS, both scraped by a real Prometheus through every combination that must work
// or fail: `up` is 1 for the right credentials and certificate only.
TEST(DaemonWebConfigTest, PrometheusScrapesThroughTlsBasicAuthAndMutualTls) {
  const std::string dir = MakeTempDir("smtpx-webcfg");
  const auto certs = RunCommand(SMTP_EXPORTER_SOURCE_DIR "/tests/lab/web_tls.sh '" + dir + "'");
  ASSERT_EQ(certs.exit_code, 0) << certs.output;
  const std::string hash = testing::BcryptHash("scrape-secret", 10);  // htpasswd's cost
  ASSERT_EQ(hash.size(), 60u);
  WriteFile(dir + "/smtp_exporter.yml", LabConfig({"good.lab.test"}));
  // Relative file names: exporter-toolkit resolves them against the web config's directory.
  WriteFile(dir + "/web-auth.yml",
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "basic_auth_users:\n  prometheus: " + hash + "\n");
  WriteFile(dir + "/web-mtls.yml",
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n");
  AppOptions options;
  options.config_path = dir + "/smtp_exporter.yml";
  options.listen_address = "127.0.0.1:0";
  options.web_config_path = dir + "/web-auth.yml";
  auto with_auth = testing::StartInProcessExporter(options);
  ASSERT_NE(with_auth, nullptr);
  options.web_config_path = dir + "/web-mtls.yml";
  auto with_mtls = testing::StartInProcessExporter(options);
  ASSERT_NE(with_mtls, nullptr);

  const std::string auth_target = "127.0.0.1:" + std::to_string(with_auth->port());
  const std::string mtls_target = "127.0.0.1:" + std::to_string(with_mtls->port());
  const auto job = [&](const std::string& name, const std::string& target,
                       const std::string& settings) {
    return "  - job_name: " + name + "\n    static_configs: [{targets: ['" + target + "']}]\n" +
           settings;
  };
  const std::string tls = "    scheme: https\n    tls_config:\n      ca_file: " + dir + "/ca.crt\n";
  const std::string prom_dir = dir + "/prometheus";
  RunCommand("mkdir -p '" + prom_dir + "/data'");
  WriteFile(prom_dir + "/prometheus.yml",
            "global: {scrape_interval: 1s}\nscrape_configs:\n" +
                job("auth_ok", auth_target,
                    tls + "    basic_auth: {username: prometheus, password: scrape-secret}\n") +
                job("auth_wrong_password", auth_target,
                    tls + "    basic_auth: {username: prometheus, password: guess}\n") +
                job("auth_none", auth_target, tls) +
                job("auth_plain_http", auth_target,
                    "    basic_auth: {username: prometheus, password: scrape-secret}\n") +
                job("mtls_ok", mtls_target,
                    tls + "      cert_file: " + dir + "/client.crt\n      key_file: " + dir +
                        "/client.key\n") +
                job("mtls_rogue", mtls_target,
                    tls + "      cert_file: " + dir + "/rogue-client.crt\n      key_file: " +
                        dir + "/rogue-client.key\n") +
                job("mtls_none", mtls_target, tls));
  ASSERT_EQ(StartPrometheus(prom_dir), "");
  httplib::Client prometheus("127.0.0.1", kPrometheusPort);
  prometheus.set_read_timeout(std::chrono::seconds(5));
  std::map<std::string, std::string> up;  // job -> value of `up`
  std::string answer;
  const bool all_scraped = Eventually([&] {
    auto res = prometheus.Get("/api/v1/query?query=up");
    if (!res || res->status != 200 || !nlohmann::json::accept(res->body)) {
      return false;
    }
    answer = res->body;
    up.clear();
    const auto parsed = nlohmann::json::parse(res->body);  // outlives the loop below
    for (const auto& series : parsed["data"]["result"]) {
      up[series["metric"]["job"].get<std::string>()] = series["value"][1].get<std::string>();
    }
    return up.size() == 7;
  }, std::chrono::seconds(30));
  // What the exporter sent through TLS + basic auth is its own /metrics.
  std::string domains;
  if (all_scraped) {
    auto res = prometheus.Get("/api/v1/query?query=smtp_exporter_domains%7Bjob%3D%22auth_ok%22%7D");
    domains = res ? res->body : "";
  }
  RunCommand("kill $(cat '" + prom_dir + "/pid')");
  const std::string log = testing::ReadFile(prom_dir + "/log");
  testing::StopInProcessExporter(with_auth);
  testing::StopInProcessExporter(with_mtls);
  RunCommand("rm -rf '" + dir + "'");
  ASSERT_TRUE(all_scraped) << answer << "\n" << log;
  EXPECT_EQ(up["auth_ok"], "1") << answer;
  EXPECT_EQ(up["auth_wrong_password"], "0") << answer;
  EXPECT_EQ(up["auth_none"], "0") << answer;
  EXPECT_EQ(up["auth_plain_http"], "0") << answer;
  EXPECT_EQ(up["mtls_ok"], "1") << answer;
  EXPECT_EQ(up["mtls_rogue"], "0") << answer;
  EXPECT_EQ(up["mtls_none"], "0") << answer;
  EXPECT_THAT(domains, HasSubstr("\"1\"")) << domains;
}

TEST(DaemonWebConfigTest, ABadWebConfigStopsTheStartWithTheFileNamed) {
  const std::string dir = MakeTempDir("smtpx-webcfg-bad");
  WriteFile(dir + "/smtp_exporter.yml", LabConfig({"good.lab.test"}));
  WriteFile(dir + "/web.yml", "tls_server_config:\n  cert_file: absent.crt\n  key_file: k\n");
  AppOptions options;
  options.config_path = dir + "/smtp_exporter.yml";
  options.listen_address = "127.0.0.1:0";
  options.web_config_path = dir + "/web.yml";
  auto created = ExporterApp::Create(options);
  ASSERT_TRUE(created.ok()) << created.error().message;
  const Status bound = created.value()->Bind();
  RunCommand("rm -rf '" + dir + "'");
  ASSERT_FALSE(bound.ok());
  EXPECT_THAT(bound.error().message, HasSubstr("--web.config.file"));
  EXPECT_THAT(bound.error().message, HasSubstr("absent.crt"));
}

}  // namespace
}  // namespace smtp_exporter
