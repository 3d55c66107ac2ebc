// The happyDomain checker mode end to end: the real smtp_exporter binary started with
// `-listen 127.0.0.1:PORT --dns-servers <lab DNS> -smtp-port <lab SMTP port>`, asked the exact
// requests /work/shared/happydomain-api.md shows the happyDomain host sending (POST /definition
// with only `endpoint` among the options; POST /collect with a trailing-dot domain, `target: {}`,
// `endpoint` among the options and every rule enabled), then /evaluate and /report as the SDK
// server offers them, for the good and the open-relay lab domains. -healthcheck is run against
// it, and SIGTERM must stop it cleanly. Only loopback is contacted; every wait is bounded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "exporter/check/rules.h"
#include "exporter/checker/checker_protocol.h"
#include "tests/integration/checker_process.h"
#include "tests/integration/lab_environment.h"
#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json AllRulesEnabled() {
  json enabled = json::object();
  for (const Rule& rule : CheckerRules()) {
    enabled[std::string(rule.name)] = true;
  }
  return enabled;
}

class CheckerModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("smtpx-checker");
    log_path_ = dir_ + "/stderr.log";
    ASSERT_TRUE(checker_.Start(log_path_)) << checker_.Log();
    port_ = checker_.port();
    listen_ = checker_.listen();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_connection_timeout(1, 0);
    client_->set_read_timeout(60, 0);
  }

  void TearDown() override { testing::RunCommand("rm -rf '" + dir_ + "'"); }

  int Terminate() { return checker_.Terminate(); }

  json PostJson(const std::string& path, const json& body, int expected_status = 200) {
    const auto res = client_->Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res) << path;
    if (!res) {
      return nullptr;
    }
    EXPECT_EQ(res->status, expected_status) << path << "\n" << res->body;
    return json::parse(res->body, nullptr, false);
  }

  // The host's /collect request for `domain` (§4 POST /collect).
  json Collect(const std::string& domain) {
    return PostJson("/collect", json{{"key", "smtp"},
                                     {"target", json::object()},
                                     {"options",
                                      {{"domain", domain},
                                       {"endpoint", "http://" + listen_},
                                       {"helo_name", "probe.lab.test"},
                                       {"test_null_sender", true},
                                       {"test_open_relay", true},
                                       {"test_postmaster", true},
                                       {"test_probe_address", "postmaster@example.com"},
                                       {"timeout", 8}}},
                                     {"enabledRules", AllRulesEnabled()}});
  }

  json Evaluate(const json& data) {
    return PostJson("/evaluate", json{{"observations", {{"smtp", data}}},
                                      {"options", {{"domain", data["domain"]}}},
                                      {"enabledRules", AllRulesEnabled()}});
  }

  std::string dir_;
  std::string listen_;
  std::string log_path_;
  int port_ = 0;
  testing::CheckerProcess checker_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(CheckerModeTest, HealthcheckFlagAndPrecheck) {
  const auto healthy = testing::RunCommand(std::string(SMTP_EXPORTER_BINARY) +
                                           " -healthcheck -listen=:" + std::to_string(port_));
  EXPECT_EQ(healthy.exit_code, 0) << healthy.output;
  const json precheck =
      PostJson("/definition", json{{"options", {{"endpoint", "http://" + listen_}}}});
  EXPECT_EQ(precheck["precheck_failures"], json::object());
  EXPECT_EQ(precheck["rules"].size(), CheckerRules().size());
  EXPECT_EQ(Terminate(), 0) << testing::ReadFile(log_path_);
  const auto dead =
      testing::RunCommand(std::string(SMTP_EXPORTER_BINARY) + " --healthcheck --listen " + listen_);
  EXPECT_EQ(dead.exit_code, 1) << dead.output;
  EXPECT_THAT(dead.output, HasSubstr("healthcheck failed: "));
}

TEST_F(CheckerModeTest, GoodDomainCollectEvaluateReport) {
  const json collected = Collect("good.lab.test.");
  ASSERT_TRUE(collected.is_object());
  const json& data = collected["data"];
  EXPECT_EQ(data["domain"], "good.lab.test");
  ASSERT_TRUE(collected.contains("entries")) << collected.dump();
  bool published = false;
  for (const json& entry : collected["entries"]) {
    EXPECT_EQ(entry["type"], "tls.endpoint.v1");
    if (entry["payload"]["host"] == "mx-good.lab.test") {
      published = true;
      EXPECT_EQ(entry["payload"]["starttls"], "smtp");
      EXPECT_EQ(entry["ref"], "mx-good.lab.test|" + std::to_string(testing::kSmtpPort) +
                                  "|mx-good.lab.test|smtp|false");
    }
  }
  EXPECT_TRUE(published) << collected["entries"].dump();
  const json states = Evaluate(data)["states"];
  ASSERT_TRUE(states.is_array());
  int worst = 0;
  bool starttls_ok = false;
  for (const json& state : states) {
    worst = std::max(worst, state["status"].get<int>());
    if (state.contains("code") && state["code"] == "smtp.all_no_starttls") {
      starttls_ok = state["status"] == 1;
    }
  }
  // Every check passes; smtp.tls_quality can only say that no TLS data was given (INFO).
  EXPECT_LE(worst, 2) << states.dump(1);
  EXPECT_TRUE(starttls_ok) << states.dump(1);
  const auto html = client_->Post("/report", httplib::Headers{{"Accept", "text/html"}},
                                  json{{"key", "smtp"}, {"data", data}}.dump(), "application/json");
  ASSERT_TRUE(html);
  EXPECT_EQ(html->status, 200);
  EXPECT_THAT(html->body, HasSubstr("<main id=\"report\" data-domain=\"good.lab.test\""));
  EXPECT_EQ(Terminate(), 0);
  const std::string log = testing::ReadFile(log_path_);
  EXPECT_THAT(log, HasSubstr("POST /collect 200 "));
  EXPECT_THAT(log, HasSubstr("POST /report 200 "));
}

TEST_F(CheckerModeTest, OpenRelayDomainIsCritical) {
  const json collected = Collect("relay.lab.test.");
  ASSERT_TRUE(collected.is_object());
  const json states = Evaluate(collected["data"])["states"];
  bool open_relay = false;
  for (const json& state : states) {
    if (state.contains("code") && state["code"] == "smtp.open_relay") {
      open_relay = open_relay || state["status"] == 4;
      EXPECT_EQ(state["rule"], "smtp.open_relay");
    }
  }
  EXPECT_TRUE(open_relay) << states.dump(1);
  const json metrics = PostJson("/report", json{{"key", "smtp"}, {"data", collected["data"]}});
  bool metric = false;
  for (const json& sample : metrics) {
    if (sample["name"] == "smtp_open_relay" && sample["labels"]["mx"] == "mx-relay.lab.test") {
      metric = true;
      EXPECT_EQ(sample["value"], 1);
    }
  }
  EXPECT_TRUE(metric) << metrics.dump(1);
}

// Issue #18 items 2 and 3 on the real binary: 40 clients that send half a request and stop
// hold 40 connections, yet /health is answered, and SIGTERM exits at once (the SDK's 10 s of
// grace is for requests being handled, not for clients that never finish asking).
TEST_F(CheckerModeTest, SlowClientsNeitherStarveRequestsNorDelayShutdown) {
  std::vector<int> slow;
  for (int i = 0; i < 40; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    const std::string partial = "GET /health HTTP/1.1\r\nHo";
    ASSERT_EQ(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(partial.size()));
    slow.push_back(fd);
  }
  const auto health = client_->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(Terminate(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  for (const int fd : slow) {
    ::close(fd);
  }
}

}  // namespace
}  // namespace smtp_exporter
