// The happyDomain checker mode's HTTP routes, hermetic: a CheckerServer in-process with a fake
// resolver, scripted transports (every connection refused unless a test scripts one) and a fake
// clock, so replies are deterministic and compared with golden files under
// tests/testdata/happydomain/. The requests are the ones /work/shared/happydomain-api.md shows
// the happyDomain host sending (trailing-dot domain, `target: {}`, `endpoint` among the
// options, every rule enabled). Only loopback is contacted, by the test's own HTTP client.
#include "exporter/checker/checker_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "exporter/check/rules.h"
#include "exporter/checker/check_form.h"
#include "exporter/checker/checker_protocol.h"
#include "probes/observation_json.h"
#include "probes/transport.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/golden.h"
#include "tests/support/observations.h"
#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using nlohmann::json;
using testing::ExpectGolden;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr const char* kGoldenFilter = "CheckerServerTest.*";

// Every rule enabled, as the host's buildEnabledRules sends it.
json AllRulesEnabled() {
  json enabled = json::object();
  for (const Rule& rule : CheckerRules()) {
    enabled[std::string(rule.name)] = true;
  }
  return enabled;
}

// The host's /collect request for `domain` (§4 POST /collect), verbatim in shape.
json HostCollectRequest(const std::string& domain) {
  return json{{"key", "smtp"},
              {"target", json::object()},
              {"options",
               {{"domain", domain},
                {"endpoint", "http://127.0.0.1:8080"},
                {"helo_name", "probe.example.net"},
                {"test_null_sender", true},
                {"test_open_relay", true},
                {"test_postmaster", true},
                {"test_probe_address", "postmaster@example.com"},
                {"timeout", 8}}},
              {"enabledRules", AllRulesEnabled()}};
}

// A healthy observation of example.org (one MX, one endpoint that passes every probe).
DomainObservation HealthyObservation() {
  DomainObservation obs;
  obs.domain = "example.org";
  obs.started_at_unix = 1'800'000'000;
  obs.dns.domain = "example.org";
  obs.dns.mx.status = DnsStatus::kOk;
  obs.dns.mx_targets.push_back(testing::Mx(10, "mx1.example.org", {"192.0.2.10"}));
  obs.dns.reverse.push_back(
      testing::Reverse("192.0.2.10", DnsStatus::kOk, {"mx1.example.org"}, true));
  testing::Plan(&obs);
  obs.endpoints.push_back(testing::HealthyEndpoint("example.org", "mx1.example.org", "192.0.2.10"));
  return obs;
}

// A checker-tls style related observation about mx1.example.org.
json RelatedTlsProbes(const json& probe) {
  const std::string ref = TlsEndpointRef("mx1.example.org", 25);
  return json{{"tls_probes",
               {{{"checkerId", "tls"},
                 {"key", "tls_probes"},
                 {"ref", ref},
                 {"collectedAt", "2026-11-30T00:00:00Z"},
                 {"data", {{"probes", {{ref, probe}}}}}}}}};
}

class CheckerServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    resolver_.SetMx("refused.example", {{10, "mx.refused.example"}});
    resolver_.SetAddresses("mx.refused.example", DnsType::kA, {"192.0.2.1"});
    resolver_.SetAddresses("mx.refused.example", DnsType::kAaaa, {});
    resolver_.SetMx("nullmx.example", {{0, ""}});
    CheckerServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.version = "test";
    options.log_request = [this](const std::string& line) {
      const std::lock_guard<std::mutex> lock(log_mutex_);
      log_.push_back(line);
    };
    CheckerDependencies dependencies;
    dependencies.make_resolver =
        [this](const ResolverOptions&) -> Result<std::unique_ptr<Resolver>> {
      return std::unique_ptr<Resolver>(std::make_unique<testing::ResolverRef>(resolver_));
    };
    dependencies.transports = &transports_;
    dependencies.clock = &clock_;
    server_ = std::make_unique<CheckerServer>(options, dependencies);
    const Status bound = server_->Bind();
    ASSERT_TRUE(bound.ok()) << bound.message();
    server_->Start();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(20, 0);
  }

  void TearDown() override {
    if (server_) {
      server_->Shutdown(std::chrono::seconds(2));
      server_->Wait();
    }
  }

  httplib::Result Post(const std::string& path, const std::string& body,
                       const httplib::Headers& headers = {}) {
    return client_->Post(path.c_str(), headers, body, "application/json");
  }

  // POSTs `body`, expects `status` and a JSON reply; returns it parsed (null on failure).
  json PostJson(const std::string& path, const json& body, int status = 200) {
    const auto res = Post(path, body.dump());
    EXPECT_TRUE(res) << path;
    if (!res) {
      return nullptr;
    }
    EXPECT_EQ(res->status, status) << path << "\n" << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    EXPECT_THAT(res->body,
                ::testing::AnyOf(::testing::EndsWith("}\n"), ::testing::EndsWith("]\n")));
    return json::parse(res->body, nullptr, false);
  }

  std::vector<std::string> Log() {
    const std::lock_guard<std::mutex> lock(log_mutex_);
    return log_;
  }

  testing::FakeResolver resolver_;
  testing::ScriptedTransportFactory transports_;
  testing::FakeClock clock_;
  std::unique_ptr<CheckerServer> server_;
  std::unique_ptr<httplib::Client> client_;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
};

TEST_F(CheckerServerTest, HealthCountsWorkRequestsOnly) {
  auto res = client_->Get("/health");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  json health = json::parse(res->body);
  EXPECT_EQ(health["status"], "ok");
  EXPECT_EQ(health["inflight"], 0);
  EXPECT_EQ(health["total_requests"], 0);
  EXPECT_TRUE(health["uptime_seconds"].is_number());
  EXPECT_GE(health["num_cpu"].get<int>(), 1);
  ASSERT_TRUE(health["loadavg"].is_array());
  EXPECT_EQ(health["loadavg"].size(), 3u);
  // GET /definition is not work; POST /definition is (the SDK's TrackWork).
  ASSERT_TRUE(client_->Get("/definition"));
  PostJson("/definition", json::object());
  health = json::parse(client_->Get("/health")->body);
  EXPECT_EQ(health["total_requests"], 1);
  EXPECT_EQ(health["inflight"], 0);
}

TEST(LoadAveragesTest, FollowTheSdkEwma) {
  const LoadAverages after = UpdateLoadAverages({}, 1.0, std::chrono::seconds(5));
  EXPECT_DOUBLE_EQ(after.one, 1 - std::exp(-5.0 / 60));
  EXPECT_DOUBLE_EQ(after.five, 1 - std::exp(-5.0 / 300));
  EXPECT_DOUBLE_EQ(after.fifteen, 1 - std::exp(-5.0 / 900));
  const LoadAverages back = UpdateLoadAverages(after, 0.0, std::chrono::seconds(5));
  EXPECT_LT(back.one, after.one);
  EXPECT_GT(back.one, 0);
}

TEST_F(CheckerServerTest, DefinitionGolden) {
  auto res = client_->Get("/definition");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  ExpectGolden("happydomain/definition.json", json::parse(res->body).dump(2) + "\n", kGoldenFilter);
  const json definition = json::parse(res->body);
  ASSERT_EQ(definition["rules"].size(), CheckerRules().size());
  for (const json& rule : definition["rules"]) {
    EXPECT_NE(rule["name"], "smtp.posture_drift") << "the checker mode keeps no history";
  }
  EXPECT_EQ(definition["rules"][0]["name"], "smtp.null_mx");
  EXPECT_EQ(definition["rules"][15]["name"], "smtp.tls_quality");
  EXPECT_EQ(definition["options"]["runOpts"].size(), 7u);
  EXPECT_TRUE(definition["interval"]["default"].is_number_integer());
}

TEST_F(CheckerServerTest, PrecheckOfTheHostsRequestHasNoFailures) {
  const json reply =
      PostJson("/definition", json{{"options", {{"endpoint", "http://127.0.0.1:8080"}}}});
  EXPECT_EQ(reply["precheck_failures"], json::object());
  EXPECT_EQ(reply["id"], "smtp");
  EXPECT_EQ(reply["rules"].size(), CheckerRules().size());
  // No body at all (Content-Length: 0) means no options.
  const auto empty = client_->Post("/definition", "", "application/json");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 200);
  EXPECT_EQ(json::parse(empty->body)["precheck_failures"], json::object());
}

TEST_F(CheckerServerTest, PrecheckNamesRulesOptionsSwitchOff) {
  const json off = PostJson("/definition", json{{"options", {{"test_open_relay", false}}}});
  EXPECT_EQ(off["precheck_failures"],
            json({{"smtp.open_relay", "test_open_relay is false: relaying is not probed"}}));
  const json bad = PostJson("/definition", json{{"options", {{"timeout", 0}}}});
  EXPECT_EQ(bad["precheck_failures"].size(), CheckerRules().size());
  EXPECT_THAT(bad["precheck_failures"]["smtp.mx_present"].get<std::string>(),
              HasSubstr("option timeout must be between 1s and 5m"));
}

TEST_F(CheckerServerTest, BadBodiesAre400WithTheSdkShape) {
  json reply = PostJson("/definition", json("not an object"), 400);
  EXPECT_THAT(reply["error"].get<std::string>(), StartsWith("invalid request body: "));
  auto res = Post("/collect", "");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(res->body, "{\"error\":\"invalid request body: EOF\"}\n");
  ExpectGolden("happydomain/collect_empty_body.json", res->body, kGoldenFilter);
  res = Post("/collect", "{\"options\":");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, StartsWith("{\"error\":\"invalid request body: "));
  reply = PostJson("/collect", json{{"options", "domain=example.org"}}, 400);
  EXPECT_EQ(reply["error"], "invalid request body: options must be an object");
  reply = PostJson(
      "/collect",
      json{{"options", {{"domain", "x.example"}}}, {"enabledRules", {{"smtp.open_relay", "no"}}}},
      400);
  EXPECT_EQ(reply["error"], "invalid request body: enabledRules.smtp.open_relay must be a boolean");
  // /evaluate's reply keeps "states": null next to the error (the field is not omitempty).
  reply = PostJson("/evaluate", json{{"observations", 3}}, 400);
  EXPECT_TRUE(reply.contains("states"));
  EXPECT_TRUE(reply["states"].is_null());
  reply = PostJson("/report", json{{"related", "x"}}, 400);
  EXPECT_EQ(reply["error"], "invalid request body: related must be an object");
}

TEST_F(CheckerServerTest, CollectErrorsAre500) {
  json reply = PostJson("/collect", json{{"key", "smtp"}, {"options", json::object()}}, 500);
  EXPECT_EQ(reply["error"], "option domain is required: the domain whose MX hosts to check");
  reply = PostJson("/collect", json{{"options", {{"domain", "bad_name!.example"}}}}, 500);
  EXPECT_THAT(reply["error"].get<std::string>(), StartsWith("option domain "));
  reply = PostJson("/collect", json{{"options", {{"domain", "x.example"}, {"timeout", 0}}}}, 500);
  EXPECT_EQ(reply["error"], "option timeout must be between 1s and 5m, got 0s");
  EXPECT_EQ(transports_.connects(), 0);
}

TEST_F(CheckerServerTest, CollectTheHostsRequestGolden) {
  const json reply = PostJson("/collect", HostCollectRequest("Refused.Example."));
  ASSERT_TRUE(reply.is_object());
  ExpectGolden("happydomain/collect_refused.json", reply.dump(2) + "\n", kGoldenFilter);
  EXPECT_EQ(reply["data"]["domain"], "refused.example");
  ASSERT_EQ(reply["entries"].size(), 1u);
  EXPECT_EQ(
      reply["entries"][0],
      json({{"type", "tls.endpoint.v1"},
            {"ref", "mx.refused.example|25|mx.refused.example|smtp|false"},
            {"payload", {{"host", "mx.refused.example"}, {"port", 25}, {"starttls", "smtp"}}}}));
  EXPECT_EQ(transports_.connects(), 1);
  // The data reads back as an observation: /evaluate judges it.
  const json states = PostJson("/evaluate", json{{"observations", {{"smtp", reply["data"]}}},
                                                 {"enabledRules", AllRulesEnabled()}});
  ExpectGolden("happydomain/evaluate_refused.json", states.dump(2) + "\n", kGoldenFilter);
  bool unreachable = false;
  for (const json& state : states["states"]) {
    if (state.value("code", "") == "smtp.tcp.unreachable") {
      unreachable = true;
      EXPECT_EQ(state["status"], 4);
      EXPECT_EQ(state["rule"], "smtp.endpoint_reachable");
      EXPECT_EQ(state["subject"], "mx.refused.example [192.0.2.1]");
      EXPECT_EQ(state["meta"]["ip"], "192.0.2.1");
    }
  }
  EXPECT_TRUE(unreachable);
}

TEST_F(CheckerServerTest, CollectOfANullMxPublishesNoEntries) {
  const json reply = PostJson("/collect", HostCollectRequest("nullmx.example."));
  EXPECT_FALSE(reply.contains("entries"));
  EXPECT_TRUE(reply["data"]["dns"]["null_mx"].get<bool>());
}

TEST_F(CheckerServerTest, CollectHonoursDisabledProbeRules) {
  testing::Script script;
  script.Reply({"220 mx.refused.example ESMTP"})
      .Expect("EHLO probe.example.net")
      .Reply({"250-mx.refused.example", "250 PIPELINING"})
      .Expect("QUIT")
      .Reply({"221 bye"})
      .Close();
  transports_.AddScript(script);
  json request = HostCollectRequest("refused.example");
  request["enabledRules"]["smtp.null_sender"] = false;
  request["enabledRules"]["smtp.postmaster"] = false;
  request["enabledRules"]["smtp.open_relay"] = false;
  const json reply = PostJson("/collect", request);
  ASSERT_EQ(transports_.transports().size(), 1u);
  // No MAIL FROM was sent: the disabled rules' probes are not requested.
  for (const std::string& line : transports_.transports()[0]->client_lines()) {
    EXPECT_THAT(line, Not(StartsWith("MAIL"))) << line;
  }
  EXPECT_EQ(reply["data"]["endpoints"][0]["greeting"]["reply"]["code"], 220);
}

// A domain whose MX points into the checker's own networks: by default nothing connects, and
// the observation says why, naming the address.
TEST_F(CheckerServerTest, CollectNeverConnectsToDeniedNetworks) {
  resolver_.SetMx("inside.example", {{10, "mx.inside.example"}});
  resolver_.SetAddresses("mx.inside.example", DnsType::kA, {"127.0.0.9"});
  resolver_.SetAddresses("mx.inside.example", DnsType::kAaaa, {"fd00::25"});
  const json reply = PostJson("/collect", HostCollectRequest("inside.example"));
  EXPECT_TRUE(transports_.transports().empty());
  const std::string text = reply.dump();
  EXPECT_THAT(text, HasSubstr("address not allowed: 127.0.0.9 is in 127.0.0.0/8"));
  EXPECT_THAT(text, HasSubstr("address not allowed: fd00::25 is in fc00::/7"));
}

TEST_F(CheckerServerTest, EvaluateSkipsDisabledRulesAndFoldsTls) {
  const json data = ToJson(HealthyObservation());
  json enabled = AllRulesEnabled();
  enabled["smtp.open_relay"] = false;
  json reply = PostJson("/evaluate", json{{"observations", {{"smtp", data}}},
                                          {"options", {{"domain", "example.org."}}},
                                          {"enabledRules", enabled}});
  std::set<std::string> rules;
  for (const json& state : reply["states"]) {
    rules.insert(state["rule"].get<std::string>());
    EXPECT_TRUE(state["status"].is_number_integer());
  }
  EXPECT_FALSE(rules.contains("smtp.open_relay"));
  EXPECT_TRUE(rules.contains("smtp.tls_quality"));
  EXPECT_EQ(rules.size(), CheckerRules().size() - 1);
  ExpectGolden("happydomain/evaluate_healthy.json", reply.dump(2) + "\n", kGoldenFilter);
  // With a TLS checker's findings (our extension: /evaluate accepts `related`), tls_quality
  // reports them instead of "no TLS data".
  reply = PostJson("/evaluate",
                   json{{"observations", {{"smtp", data}}},
                        {"related", RelatedTlsProbes({{"host", "mx1.example.org"},
                                                      {"port", 25},
                                                      {"tls_version", "TLS 1.3"},
                                                      {"issues",
                                                       {{{"code", "tls.cert.expired"},
                                                         {"severity", "crit"},
                                                         {"message", "certificate expired"}}}}})}});
  bool folded = false;
  for (const json& state : reply["states"]) {
    EXPECT_NE(state.value("code", ""), "smtp.tls.unavailable");
    if (state.value("code", "") == "smtp.tls.probe_issue") {
      folded = true;
      EXPECT_EQ(state["status"], 4);
      EXPECT_EQ(state["message"], "TLS checker: [tls.cert.expired] certificate expired");
      EXPECT_EQ(state["subject"], "mx1.example.org");
    }
  }
  EXPECT_TRUE(folded);
}

TEST_F(CheckerServerTest, EvaluateWithoutAReadableObservationGivesErrorStates) {
  json reply = PostJson("/evaluate", json{{"observations", json::object()},
                                          {"enabledRules", {{"smtp.null_mx", true}}}});
  ASSERT_EQ(reply["states"].size(), CheckerRules().size());
  EXPECT_EQ(reply["states"][0], json({{"status", 5},
                                      {"message", "observation \"smtp\" not available"},
                                      {"rule", "smtp.null_mx"},
                                      {"code", "smtp.observation_error"}}));
  reply = PostJson("/evaluate", json{{"observations", {{"smtp", {{"schema_version", 99}}}}}});
  EXPECT_EQ(reply["states"][0]["status"], 5);
  EXPECT_THAT(reply["states"][0]["message"].get<std::string>(),
              StartsWith("cannot read the observation: "));
}

TEST_F(CheckerServerTest, ReportMetricsJsonGolden) {
  const json data = ToJson(HealthyObservation());
  const auto res = Post("/report", json{{"key", "smtp"}, {"data", data}}.dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  const json metrics = json::parse(res->body);
  ASSERT_TRUE(metrics.is_array());
  ASSERT_FALSE(metrics.empty());
  for (const json& metric : metrics) {
    EXPECT_TRUE(metric["name"].is_string());
    EXPECT_TRUE(metric["value"].is_number());
    EXPECT_EQ(metric["timestamp"], "2027-01-15T08:00:00Z");
  }
  ExpectGolden("happydomain/report_metrics.json", metrics.dump(2) + "\n", kGoldenFilter);
}

TEST_F(CheckerServerTest, ReportHtmlWithAndWithoutRelatedTls) {
  const json data = ToJson(HealthyObservation());
  const httplib::Headers html = {{"Accept", "text/html,application/xhtml+xml"}};
  auto res = Post("/report", json{{"key", "smtp"}, {"data", data}}.dump(), html);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(res->body, StartsWith("<!doctype html>"));
  EXPECT_THAT(res->body, HasSubstr("<main id=\"report\" data-domain=\"example.org\""));
  EXPECT_THAT(res->body, Not(HasSubstr("mx-notes")));
  EXPECT_THAT(res->get_header_value("Content-Security-Policy"), Not(HasSubstr("frame-ancestors")));
  // A TLS checker's probe shows in the MX's panel; hostile text is escaped.
  res = Post("/report",
             json{{"key", "smtp"},
                  {"data", data},
                  {"related", RelatedTlsProbes({{"tls_version", "TLS 1.3"},
                                                {"issuer", "<script>alert(1)</script>"},
                                                {"chain_valid", true},
                                                {"issues", json::array()}})}}
                 .dump(),
             html);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("<section class=\"mx-notes\" data-source=\"tls_probes\">"));
  EXPECT_THAT(res->body, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(res->body, Not(HasSubstr("<script>")));
  EXPECT_THAT(res->body, HasSubstr("the TLS checker reported no issue (TLS 1.3)"));
  // Empty or unparseable related items never break the report.
  for (const json& related :
       {json{{"tls_probes", {{{"ref", "x"}, {"data", {{"probes", json::object()}}}}}}},
        json{{"tls_probes", {1, "two", nullptr, {{"data", "garbage"}}}}},
        json{{"tls_probes", "not a list"}}, json{{"smtp", {{{"key", "tls_probes"}}}}}}) {
    res = Post("/report", json{{"data", data}, {"related", related}}.dump(), html);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << related.dump();
    EXPECT_THAT(res->body, HasSubstr("</html>"));
    EXPECT_THAT(res->body, Not(HasSubstr("mx-notes"))) << related.dump();
  }
}

TEST_F(CheckerServerTest, ReportOfUnreadableDataIs500InEachShape) {
  auto res = Post("/report", json{{"data", {{"nothing", 1}}}}.dump(), {{"Accept", "text/html"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_THAT(res->body, StartsWith("failed to generate HTML report: "));
  const json reply = PostJson("/report", json{{"data", nullptr}}, 500);
  EXPECT_THAT(reply["error"].get<std::string>(), StartsWith("failed to extract metrics: "));
}

TEST_F(CheckerServerTest, CheckFormAndItsReport) {
  auto res = client_->Get("/check");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("<form id=\"check\" method=\"post\" action=\"/check\">"));
  EXPECT_THAT(res->body, HasSubstr("name=\"test_open_relay\""));
  res = client_->Post("/check", "domain=refused.example.&timeout=2",
                      "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("<main id=\"report\" data-domain=\"refused.example\""));
  res = client_->Post("/check", "domain=%3Cscript%3E", "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_THAT(res->body, HasSubstr("class=\"error\""));
  EXPECT_THAT(res->body, HasSubstr("value=\"&lt;script&gt;\""));
  EXPECT_THAT(res->body, Not(HasSubstr("<script>")));
}

TEST_F(CheckerServerTest, UnknownPathsAndMethods) {
  auto res = client_->Get("/nonexistent");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = client_->Get("/collect");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "POST");
  res = client_->Post("/health", "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
}

// Issue #18 item 6: every response says nosniff, exactly once (reports carry text from hostile
// servers; a browser must never sniff a reply into HTML).
TEST_F(CheckerServerTest, EveryResponseSaysNosniffOnce) {
  std::vector<httplib::Result> replies;
  replies.push_back(client_->Get("/health"));
  replies.push_back(client_->Get("/definition"));
  replies.push_back(client_->Get("/check"));
  replies.push_back(client_->Get("/nonexistent"));
  replies.push_back(client_->Get("/collect"));
  replies.push_back(Post("/collect", "not json"));
  replies.push_back(
      Post("/report", json{{"data", {{"nothing", 1}}}}.dump(), {{"Accept", "text/html"}}));
  for (std::size_t i = 0; i < replies.size(); ++i) {
    ASSERT_TRUE(replies[i]) << i;
    EXPECT_EQ(replies[i]->get_header_value_count("X-Content-Type-Options"), 1u) << i;
    EXPECT_EQ(replies[i]->get_header_value("X-Content-Type-Options"), "nosniff") << i;
  }
}

// Issue #18 item 1: thousands of overlapping ranges must not repeat a body thousands of times
// (cpp-httplib 0.11.4, yhirose/cpp-httplib#1766): the header is ignored, the reply sent once.
TEST_F(CheckerServerTest, RangeHeadersAreIgnoredSoNoReplyOutgrowsItsBody) {
  std::string ranges = "bytes=0-";
  for (int i = 1; i < 2600; ++i) {
    ranges += ",0-";
  }
  for (const std::string path : {"/definition", "/check", "/health"}) {
    const auto plain = client_->Get(path);
    ASSERT_TRUE(plain) << path;
    const auto ranged = client_->Get(path, {{"Range", ranges}});
    ASSERT_TRUE(ranged) << path;
    EXPECT_EQ(ranged->status, 200) << path;
    EXPECT_LT(ranged->body.size(), 2 * plain->body.size() + 1024) << path;
  }
  const std::string body = json{{"data", nullptr}}.dump();
  const auto plain = Post("/report", body);
  const auto ranged = Post("/report", body, {{"Range", ranges}});
  ASSERT_TRUE(plain);
  ASSERT_TRUE(ranged);
  EXPECT_EQ(ranged->status, plain->status);
  EXPECT_EQ(ranged->body.size(), plain->body.size());  // sizes: a failure must not print MBs
  EXPECT_TRUE(ranged->body == plain->body);
}

TEST_F(CheckerServerTest, BodiesOverOneMebibyteAreRefused) {
  const std::string big = "{\"pad\":\"" + std::string(std::size_t{1} << 20, 'x') + "\"}";
  const auto res = Post("/collect", big);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(transports_.connects(), 0);
}

// #16: a POST without Content-Length (or chunked encoding) has no body (RFC 9112 §6.3), but
// httplib 0.11 waited for one until its read timeout, holding a worker. Now 411 at once.
TEST_F(CheckerServerTest, PostWithoutContentLengthIsAnsweredAtOnce) {
  TcpTransportFactory tcp;
  const auto started = std::chrono::steady_clock::now();
  const Deadline deadline = started + std::chrono::seconds(10);
  auto connected = tcp.Connect(*IpAddress::Parse("127.0.0.1"),
                               static_cast<std::uint16_t>(server_->port()), deadline);
  ASSERT_TRUE(connected.ok()) << connected.error().message;
  Transport& connection = *connected.value();
  ASSERT_TRUE(connection.Write("POST /collect HTTP/1.1\r\nHost: checker\r\n\r\n", deadline).ok());
  std::string reply;
  for (int i = 0; i < 100 && reply.find("\r\n") == std::string::npos; ++i) {
    auto chunk = connection.Read(4096, deadline);
    if (!chunk.ok()) {
      break;
    }
    reply += chunk.value();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 411 "));
  EXPECT_LT(seconds, 2.0);  // httplib's read timeout is 5 s
  EXPECT_EQ(transports_.connects(), 0);
}

TEST_F(CheckerServerTest, OneLogLinePerRequest) {
  ASSERT_TRUE(client_->Get("/health"));
  PostJson("/definition", json::object());
  ASSERT_TRUE(client_->Get("/nonexistent"));
  // The logger runs after the reply is written, on the worker that served it: wait (bounded,
  // 5 s: a loaded 2-core CI machine took more than 1 s here) for the third line. The client
  // sends its next request as soon as it has a reply, so the lines may come in any order.
  for (int i = 0; i < 500 && Log().size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::vector<std::string> log = Log();
  EXPECT_THAT(log, ::testing::UnorderedElementsAre(
                       ::testing::MatchesRegex("GET /health 200 [0-9.]+[^ ]*s"),
                       StartsWith("POST /definition 200 "), StartsWith("GET /nonexistent 404 ")));
}

// Connections wait until the test opens the gate (bounded), then are refused: a check that
// stays in flight as long as the test needs.
class GatedTransportFactory final : public TransportFactory {
 public:
  Result<std::unique_ptr<Transport>> Connect(const IpAddress&, std::uint16_t, Deadline) override {
    std::unique_lock<std::mutex> lock(mutex_);
    opened_.wait_for(lock, std::chrono::seconds(10), [this] { return open_; });
    return Error{ErrorCode::kConnectionRefused, "gate: refused"};
  }
  void Open() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    opened_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
};

TEST_F(CheckerServerTest, ShutdownLetsInFlightWorkFinish) {
  GatedTransportFactory gate;
  CheckerServerOptions options;
  options.listen_address = "127.0.0.1:0";
  CheckerDependencies dependencies;
  dependencies.make_resolver = [this](const ResolverOptions&) -> Result<std::unique_ptr<Resolver>> {
    return std::unique_ptr<Resolver>(std::make_unique<testing::ResolverRef>(resolver_));
  };
  dependencies.transports = &gate;
  dependencies.clock = &clock_;
  CheckerServer server(options, dependencies);
  ASSERT_TRUE(server.Bind().ok());
  server.Start();
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(20, 0);
  int status = 0;
  std::thread caller([&] {
    const auto result =
        client.Post("/collect", HostCollectRequest("refused.example").dump(), "application/json");
    status = result ? result->status : -1;
  });
  for (int i = 0; i < 500 && server.inflight() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server.inflight(), 1);
  std::thread stopper([&] { server.Shutdown(std::chrono::seconds(10)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Shutting down, but the request in flight is still being served.
  EXPECT_EQ(server.inflight(), 1);
  gate.Open();
  stopper.join();
  caller.join();
  server.Wait();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(server.inflight(), 0);
  // Stopped: nothing listens any more.
  httplib::Client late("127.0.0.1", server.port());
  late.set_connection_timeout(1, 0);
  EXPECT_FALSE(late.Get("/health"));
}

}  // namespace
}  // namespace smtp_exporter
