// The daemon's HTTP routes, hermetic: the ExporterApp runs in-process with a fake resolver and a
// scripted transport factory (AppDependencies), so nothing leaves the process but the HTTP
// requests of the test itself, on loopback.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "exporter/daemon/app.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/in_process_exporter.h"
#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class DaemonRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/smtpx-routes-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    config_ = dir_ + "/smtp_exporter.yml";
    // dns_servers is never asked: the fake resolver answers. 192.0.2.0/24 is never connected
    // to either: the scripted factory refuses every connection.
    std::ofstream(config_) << "global:\n"
                              "  interval: 1h\n"
                              "  helo_name: probe.example.net\n"
                              "  dns_servers: [\"127.0.0.1:1\"]\n"
                              "domains:\n"
                              "  - name: nullmx.example\n"
                              "  - name: refused.example\n";
    resolver_.SetMx("nullmx.example", {{0, ""}});
    resolver_.SetMx("refused.example", {{10, "mx.refused.example"}});
    resolver_.SetAddresses("mx.refused.example", DnsType::kA, {"192.0.2.1"});
    resolver_.SetAddresses("mx.refused.example", DnsType::kAaaa, {});
    AppOptions options;
    options.config_path = config_;
    options.listen_address = "127.0.0.1:0";
    options.startup_stagger = std::chrono::milliseconds(0);
    AppDependencies dependencies;
    dependencies.make_resolver =
        [this](const ResolverOptions&) -> Result<std::unique_ptr<Resolver>> {
      return std::unique_ptr<Resolver>(std::make_unique<testing::ResolverRef>(resolver_));
    };
    dependencies.transports = &transports_;
    app_ = testing::StartInProcessExporter(options, dependencies);
    ASSERT_NE(app_, nullptr);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", app_->port());
    client_->set_read_timeout(10, 0);
  }

  void TearDown() override {
    testing::StopInProcessExporter(app_);
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  std::string Get(const std::string& path, int expected_status = 200) {
    const auto result = client_->Get(path);
    EXPECT_TRUE(result) << path;
    if (!result) {
      return "";
    }
    EXPECT_EQ(result->status, expected_status) << path << "\n" << result->body;
    return result->body;
  }

  // Waits (bounded) until the scheduled start-up checks of both domains are in /metrics.
  std::string MetricsWhenChecked() {
    std::string metrics;
    for (int i = 0; i < 200; ++i) {
      metrics = Get("/metrics");
      if (metrics.find("smtp_domain_status{domain=\"nullmx.example\"}") != std::string::npos &&
          metrics.find("smtp_domain_status{domain=\"refused.example\"}") != std::string::npos) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return metrics;
  }

  std::string dir_;
  std::string config_;
  testing::FakeResolver resolver_;
  testing::ScriptedTransportFactory transports_;
  std::unique_ptr<ExporterApp> app_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(DaemonRoutesTest, ScheduledChecksReachMetricsWithRuleMxAndIpLabels) {
  const std::string metrics = MetricsWhenChecked();
  EXPECT_THAT(metrics, HasSubstr("smtp_domain_status{domain=\"nullmx.example\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("smtp_domain_status{domain=\"refused.example\"} 3\n"));
  EXPECT_THAT(metrics,
              HasSubstr("smtp_finding{domain=\"refused.example\",rule=\"smtp.endpoint_reachable\","
                        "code=\"smtp.tcp.unreachable\",severity=\"crit\",subject=\"mx.refused."
                        "example [192.0.2.1]\",mx=\"mx.refused.example\",ip=\"192.0.2.1\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("smtp_endpoint_up{domain=\"refused.example\",mx=\"mx.refused."
                                 "example\",ip=\"192.0.2.1\",family=\"ipv4\"} 0\n"));
  EXPECT_GE(transports_.connects(), 1);
}

TEST_F(DaemonRoutesTest, ProbeRunsTheSameCheckAndValidatesItsParameters) {
  const std::string probe = Get("/probe?domain=nullmx.example");
  EXPECT_THAT(probe, HasSubstr("probe_success 1\n"));
  EXPECT_THAT(probe, HasSubstr("code=\"smtp.mx.null\""));
  EXPECT_THAT(Get("/probe?domain=refused.example&test_open_relay=false"),
              HasSubstr("probe_success 0\n"));
  EXPECT_THAT(Get("/probe?domain=nullmx.example&timeout=0s", 400),
              HasSubstr("timeout must be between 1s and 5m"));
  EXPECT_THAT(Get("/probe?domain=nullmx.example&test_postmaster=maybe", 400),
              HasSubstr("test_postmaster must be true or false"));
  EXPECT_THAT(Get("/probe?domain=nullmx.example&port=2525", 400),
              HasSubstr("port cannot be set by /probe"));
}

TEST_F(DaemonRoutesTest, ReportInEveryFormatAndTheIndex) {
  MetricsWhenChecked();
  const nlohmann::json report =
      nlohmann::json::parse(Get("/report?domain=refused.example&format=json"));
  EXPECT_EQ(report["status"], "crit");
  bool found = false;
  for (const auto& finding : report["findings"]) {
    if (finding["code"] == "smtp.tcp.unreachable") {
      found = true;
      EXPECT_EQ(finding["rule"], "smtp.endpoint_reachable");
      EXPECT_EQ(finding["ip"], "192.0.2.1");
      EXPECT_EQ(finding["mx"], "mx.refused.example");
    }
  }
  EXPECT_TRUE(found) << report.dump(2);
  EXPECT_THAT(Get("/report?domain=refused.example&format=text"), HasSubstr("CRIT"));
  const std::string html = Get("/report?domain=refused.example");
  EXPECT_THAT(html, HasSubstr("data-badge=\"unreachable\""));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(Get("/report?domain=unknown.example", 404), HasSubstr("unknown domain"));
  EXPECT_THAT(Get("/report?domain=refused.example&format=xml", 400), HasSubstr("format"));
  const std::string index = Get("/");
  EXPECT_THAT(index, HasSubstr("refused.example"));
  EXPECT_THAT(index, HasSubstr("nullmx.example"));
}

// Issue #18 item 6: replies that carry text from hostile servers (reports, /probe?debug=true)
// must never be sniffed into HTML, so every response says nosniff, exactly once.
TEST_F(DaemonRoutesTest, EveryResponseSaysNosniffOnce) {
  MetricsWhenChecked();
  for (const std::string path :
       {"/report?domain=refused.example&format=json", "/report?domain=refused.example&format=text",
        "/report?domain=refused.example", "/probe?domain=refused.example&debug=true",
        "/probe?domain=nullmx.example", "/metrics", "/", "/-/healthy", "/nonexistent",
        "/report?domain=unknown.example", "/probe?domain=%3Cx%3E"}) {
    const auto res = client_->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->get_header_value_count("X-Content-Type-Options"), 1u) << path;
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff") << path;
  }
}

// Issue #18 item 1: a Range header of thousands of overlapping ranges made cpp-httplib 0.11.4
// answer 206 with the body repeated once per range (yhirose/cpp-httplib#1766). Our routes
// serve no ranges: the header is ignored and the reply is the whole body, once.
TEST_F(DaemonRoutesTest, RangeHeadersAreIgnoredSoNoReplyOutgrowsItsBody) {
  MetricsWhenChecked();
  std::string ranges = "bytes=0-";
  for (int i = 1; i < 2600; ++i) {
    ranges += ",0-";
  }
  for (const std::string path :
       {"/metrics", "/report?domain=refused.example&format=json", "/", "/-/healthy"}) {
    const auto plain = client_->Get(path);
    ASSERT_TRUE(plain) << path;
    const auto ranged = client_->Get(path, {{"Range", ranges}});
    ASSERT_TRUE(ranged) << path;
    EXPECT_EQ(ranged->status, 200) << path;
    // /metrics may grow a little between two scrapes; a repeated body is thousands of times.
    EXPECT_LT(ranged->body.size(), 2 * plain->body.size() + 1024) << path;
  }
}

// #17: Prometheus asks for gzip; /metrics answers it from MetricsCache's kept bytes, one gzip
// stream whose text is the plain one (the exporter's own families, rendered per scrape, aside).
TEST_F(DaemonRoutesTest, MetricsAreGzippedWhenAskedAndPlainOtherwise) {
  MetricsWhenChecked();
  client_->set_decompress(false);
  const auto raw = client_->Get("/metrics", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(raw->get_header_value("Vary"), "Accept-Encoding");
  ASSERT_GE(raw->body.size(), 2u);
  EXPECT_EQ(raw->body.substr(0, 2), "\x1f\x8b");  // RFC 1952 §2.3.1 ID1 ID2
  for (const char* refused : {"gzip;q=0", "identity", "br", "gzip;q=0, *"}) {
    const auto plain = client_->Get("/metrics", {{"Accept-Encoding", refused}});
    ASSERT_TRUE(plain) << refused;
    EXPECT_FALSE(plain->has_header("Content-Encoding")) << refused;
    EXPECT_THAT(plain->body, HasSubstr("smtp_domain_status{domain=\"refused.example\"} 3\n"));
  }
  client_->set_decompress(true);
  const auto inflated = client_->Get("/metrics", {{"Accept-Encoding", "gzip"}});
  const auto plain = client_->Get("/metrics", {{"Accept-Encoding", "identity"}});
  ASSERT_TRUE(inflated && plain);
  const auto domains_part = [](const std::string& text) {
    return text.substr(0, text.find("# HELP smtp_exporter_"));
  };
  EXPECT_EQ(domains_part(inflated->body), domains_part(plain->body));
  EXPECT_THAT(inflated->body, HasSubstr("\nsmtp_exporter_domains 2\n"));
  // HEAD: the headers only.
  const auto head = client_->Head("/metrics");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
}

// Issue #18 item 5: like Prometheus, POST /-/reload is refused unless the lifecycle API is
// enabled (--web.enable-lifecycle); SIGHUP (Reload()) still works.
TEST_F(DaemonRoutesTest, ReloadOverHttpIsForbiddenByDefault) {
  const auto res = client_->Post("/-/reload");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(res->body, "Lifecycle API is not enabled.\n");
  EXPECT_TRUE(app_->Reload().ok());
}

// Issue #18 item 5: a failed reload tells the caller only that it failed; the config path and
// the parse error go to the log.
TEST_F(DaemonRoutesTest, AFailedReloadRevealsNeitherPathNorError) {
  AppOptions options;
  options.config_path = config_;
  options.listen_address = "127.0.0.1:0";
  options.enable_lifecycle = true;
  AppDependencies dependencies;
  dependencies.make_resolver = [this](const ResolverOptions&) -> Result<std::unique_ptr<Resolver>> {
    return std::unique_ptr<Resolver>(std::make_unique<testing::ResolverRef>(resolver_));
  };
  dependencies.transports = &transports_;
  const auto enabled = testing::StartInProcessExporter(options, dependencies);
  ASSERT_NE(enabled, nullptr);
  httplib::Client client("127.0.0.1", enabled->port());
  client.set_read_timeout(10, 0);
  std::ofstream(config_, std::ios::trunc) << "global:\n  interval: forever\n";
  const auto res = client.Post("/-/reload");
  testing::StopInProcessExporter(enabled);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_THAT(res->body, Not(HasSubstr(dir_)));
  EXPECT_THAT(res->body, Not(HasSubstr("forever")));
  EXPECT_THAT(res->body, Not(HasSubstr("interval")));
  EXPECT_THAT(res->body, HasSubstr("log"));
}

// Issue #18 item 4: by default /probe makes no connection to an internal address (here a
// domain whose MX points at loopback); the endpoint says "address not allowed", naming it.
TEST_F(DaemonRoutesTest, ProbeRefusesInternalAddressesByDefault) {
  // The fake resolver is set only once the scheduled checks are done: they read it from their
  // own threads (TSan saw this test's writes race their reverse lookups).
  MetricsWhenChecked();  // the scheduled checks' connections are done
  resolver_.SetMx("inside.example", {{10, "mx.inside.example"}});
  resolver_.SetAddresses("mx.inside.example", DnsType::kA, {"127.0.0.9"});
  resolver_.SetAddresses("mx.inside.example", DnsType::kAaaa, {"::ffff:10.1.2.3"});
  const int connects = transports_.connects();
  const std::string debug = Get("/probe?domain=inside.example&debug=true");
  EXPECT_THAT(debug, HasSubstr("address not allowed: 127.0.0.9 is in 127.0.0.0/8"));
  EXPECT_THAT(debug, HasSubstr("address not allowed: ::ffff:10.1.2.3 is in 10.0.0.0/8"));
  const std::string metrics = Get("/probe?domain=inside.example");
  EXPECT_THAT(metrics, HasSubstr("probe_success 0\n"));
  // Where and why, as for any failed endpoint (smtp_probe_failed_phase).
  EXPECT_THAT(metrics, HasSubstr("smtp_probe_failed_phase{domain=\"inside.example\","
                                 "mx=\"mx.inside.example\",ip=\"127.0.0.9\",family=\"ipv4\","
                                 "phase=\"connect\",reason=\"not_allowed\"} 1"));
  EXPECT_EQ(transports_.connects(), connects);
}

// With `probe: denied_networks: []` (the lab's configs) the same probe connects; a pinned
// option cannot be set by the caller.
TEST_F(DaemonRoutesTest, ProbeConfigAllowsNetworksAndPinsOptions) {
  std::ofstream(config_, std::ios::app) << "probe:\n"
                                           "  denied_networks: []\n"
                                           "  pinned_options: [helo_name, test_probe_address]\n";
  ASSERT_TRUE(app_->Reload().ok());
  resolver_.SetMx("inside.example", {{10, "mx.inside.example"}});
  resolver_.SetAddresses("mx.inside.example", DnsType::kA, {"127.0.0.9"});
  resolver_.SetAddresses("mx.inside.example", DnsType::kAaaa, {});
  MetricsWhenChecked();
  const int connects = transports_.connects();
  const std::string debug = Get("/probe?domain=inside.example&debug=true");
  EXPECT_THAT(debug, Not(HasSubstr("address not allowed")));
  EXPECT_EQ(transports_.connects(), connects + 1);
  EXPECT_THAT(Get("/probe?domain=inside.example&helo_name=evil.example", 400),
              HasSubstr("helo_name is pinned by the config"));
  EXPECT_THAT(Get("/probe?domain=inside.example&test_probe_address=a%40b.example", 400),
              HasSubstr("test_probe_address is pinned by the config"));
  EXPECT_THAT(Get("/probe?domain=nullmx.example&test_open_relay=false"),
              HasSubstr("probe_success 1\n"));
}

// `probe: only_configured_domains` and `allowed_domains`: any other domain gets a 403 and is
// neither resolved nor probed.
TEST_F(DaemonRoutesTest, ProbeConfigRestrictsDomains) {
  std::ofstream(config_, std::ios::app) << "probe:\n"
                                           "  denied_networks: []\n"
                                           "  only_configured_domains: true\n"
                                           "  allowed_domains: [\"*.allowed.example\"]\n";
  ASSERT_TRUE(app_->Reload().ok());
  MetricsWhenChecked();
  const int connects = transports_.connects();
  EXPECT_THAT(Get("/probe?domain=inside.example", 403), HasSubstr("is not allowed"));
  EXPECT_EQ(transports_.connects(), connects);
  EXPECT_THAT(Get("/probe?domain=nullmx.example&test_open_relay=false"),
              HasSubstr("probe_success 1\n"));  // configured
  resolver_.SetMx("mx.allowed.example", {{0, ""}});
  EXPECT_THAT(Get("/probe?domain=MX.allowed.example."), HasSubstr("probe_success"));
}

// Holds every connection attempt until its deadline, as a silent firewall does.
class StallingTransportFactory final : public TransportFactory {
 public:
  Result<std::unique_ptr<Transport>> Connect(const IpAddress&, std::uint16_t,
                                             Deadline deadline) override {
    ++connects_;
    std::this_thread::sleep_until(deadline);
    return Error{ErrorCode::kTimeout, "deadline passed while connecting"};
  }
  int connects() const { return connects_.load(); }

 private:
  std::atomic<int> connects_{0};
};

// Issue #18 item 6: /probe's wait for a per-IP connection slot honours the request's deadline.
// With one slot per address, held by a probe with timeout=3s, two more probes of the address
// with a 1.1 s budget (Prometheus' scrape timeout, 1.6 s less the half second kept to answer)
// took about 3 and 4 s; now each ends as a timeout after about 1 s, unconnected.
TEST(DaemonProbeSlotTest, AProbeWithNoPerIpSlotBeforeItsDeadlineEndsAsATimeout) {
  char dir_template[] = "/tmp/smtpx-slots-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  std::ofstream(dir + "/smtp_exporter.yml") << "global:\n"
                                               "  interval: 1h\n"
                                               "  per_ip_connections: 1\n"
                                               "  helo_name: probe.example.net\n"
                                               "  dns_servers: [\"127.0.0.1:1\"]\n"
                                               "domains:\n"
                                               "  - name: nullmx.example\n";
  testing::FakeResolver resolver;
  resolver.SetMx("nullmx.example", {{0, ""}});
  resolver.SetMx("stalled.example", {{10, "mx.stalled.example"}});
  resolver.SetAddresses("mx.stalled.example", DnsType::kA, {"192.0.2.7"});
  resolver.SetAddresses("mx.stalled.example", DnsType::kAaaa, {});
  StallingTransportFactory transports;
  AppOptions options;
  options.config_path = dir + "/smtp_exporter.yml";
  options.listen_address = "127.0.0.1:0";
  options.startup_stagger = std::chrono::milliseconds(0);
  AppDependencies dependencies;
  dependencies.make_resolver = [&](const ResolverOptions&) -> Result<std::unique_ptr<Resolver>> {
    return std::unique_ptr<Resolver>(std::make_unique<testing::ResolverRef>(resolver));
  };
  dependencies.transports = &transports;
  auto app = testing::StartInProcessExporter(options, dependencies);
  ASSERT_NE(app, nullptr);
  const auto probe = [&](const std::string& timeout, const std::string& scrape_timeout,
                         double* seconds, std::string* body) {
    httplib::Client client("127.0.0.1", app->port());
    client.set_read_timeout(20, 0);
    httplib::Headers headers;
    if (!scrape_timeout.empty()) {
      headers.emplace("X-Prometheus-Scrape-Timeout-Seconds", scrape_timeout);
    }
    const auto started = std::chrono::steady_clock::now();
    const auto res =
        client.Get("/probe?domain=stalled.example&debug=true&timeout=" + timeout, headers);
    *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    *body = res ? res->body : "";
  };
  double holder_seconds = 0;
  std::string holder_body;
  std::thread holder(probe, "3s", "", &holder_seconds, &holder_body);
  for (int i = 0; i < 500 && transports.connects() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(transports.connects(), 1);  // the holder has the address's only slot
  constexpr std::size_t kWaiters = 2;
  std::vector<double> seconds(kWaiters, -1);
  std::vector<std::string> bodies(kWaiters);
  std::vector<std::thread> waiters;
  for (std::size_t i = 0; i < kWaiters; ++i) {
    waiters.emplace_back(probe, "1s", "1.6", &seconds[i], &bodies[i]);
  }
  for (auto& waiter : waiters) {
    waiter.join();
  }
  holder.join();
  testing::StopInProcessExporter(app);
  std::system(("rm -rf '" + dir + "'").c_str());
  for (std::size_t i = 0; i < kWaiters; ++i) {
    EXPECT_GT(seconds[i], 0.5) << i;  // each waited for its deadline...
    EXPECT_LT(seconds[i], 1.8) << i;  // ...and no longer
    EXPECT_THAT(bodies[i], HasSubstr("192.0.2.7")) << i;
    EXPECT_THAT(bodies[i], HasSubstr("no connection was made")) << i;
  }
  EXPECT_THAT(holder_body, Not(HasSubstr("no connection was made")));
  EXPECT_EQ(transports.connects(), 1);
}

}  // namespace
}  // namespace smtp_exporter
