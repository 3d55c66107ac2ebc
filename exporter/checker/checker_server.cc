#include "exporter/checker/checker_server.h"

#include <httplib.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>
#include <variant>

#include "config/check_option_table.h"
#include "exporter/check/check.h"
#include "exporter/check/evaluate.h"
#include "exporter/checker/check_form.h"
#include "exporter/checker/checker_protocol.h"
#include "exporter/http/http_front.h"
#include "exporter/http/http_policies.h"
#include "exporter/report/html_report.h"
#include "probes/observation_json.h"

namespace smtp_exporter {
namespace {

using nlohmann::json;

// The SDK reads at most 1 MiB of a request body (`io.LimitReader(body, 1<<20)`, §3).
constexpr std::size_t kMaxBodyBytes = std::size_t{1} << 20;

// /report's page is "a full HTML document (for iframe embedding)" (SDK `CheckerHTMLReporter`):
// the report's CSP without frame-ancestors, so happyDomain's UI may frame it. Scripts stay
// forbidden: the page carries bytes from hostile servers.
constexpr const char* kEmbeddableReportPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'";

// The SDK's json.NewEncoder(w).Encode(v): compact JSON and a newline.
void SetJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(DumpJson(body, -1) + "\n", "application/json");
}

void SetJsonError(httplib::Response& res, int status, const std::string& message) {
  SetJson(res, status, json{{"error", message}});
}

// Go's http.Error: plain text, nosniff (on every response: InstallCommonPolicies), the message
// and a newline.
void SetPlainError(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(message + "\n", "text/plain; charset=utf-8");
}

void SetHtml(httplib::Response& res, int status, const std::string& body, std::string_view policy) {
  res.status = status;
  res.set_header("Content-Security-Policy", std::string(policy));
  res.set_content(body, "text/html; charset=utf-8");
}

double UnixSeconds(WallTime time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

// Go's time.Duration rendering, as the SDK's request log prints it: "850µs", "12.3ms", "4.5s".
std::string FormatDuration(std::chrono::nanoseconds elapsed) {
  char buffer[32];
  const double ns = static_cast<double>(elapsed.count());
  if (ns < 1e3) {
    std::snprintf(buffer, sizeof(buffer), "%.0fns", ns);
  } else if (ns < 1e6) {
    std::snprintf(buffer, sizeof(buffer), "%.3gµs", ns / 1e3);
  } else if (ns < 1e9) {
    std::snprintf(buffer, sizeof(buffer), "%.4gms", ns / 1e6);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.4gs", ns / 1e9);
  }
  return buffer;
}

// When the request being served on this worker thread started: set by the pre-routing handler,
// read by the logger, both on the thread that serves the request.
thread_local std::chrono::steady_clock::time_point request_started;

// The observation a /evaluate request carries: ours under our key, else the only one given.
const json* ObservationOf(const json& observations) {
  if (!observations.is_object()) {
    return nullptr;
  }
  const auto own = observations.find(std::string(kObservationKey));
  if (own != observations.end()) {
    return &*own;
  }
  return observations.size() == 1 ? &observations.begin().value() : nullptr;
}

}  // namespace

LoadAverages UpdateLoadAverages(LoadAverages previous, double inflight,
                                std::chrono::milliseconds interval) {
  const double seconds = std::chrono::duration<double>(interval).count();
  const auto step = [&](double average, double window_seconds) {
    const double alpha = 1 - std::exp(-seconds / window_seconds);
    return average + alpha * (inflight - average);
  };
  return LoadAverages{step(previous.one, 60), step(previous.five, 300),
                      step(previous.fifteen, 900)};
}

class CheckerServer::WorkScope {
 public:
  explicit WorkScope(CheckerServer& server) : server_(server) {
    ++server_.inflight_;
    ++server_.total_requests_;
  }
  ~WorkScope() { --server_.inflight_; }
  WorkScope(const WorkScope&) = delete;
  WorkScope& operator=(const WorkScope&) = delete;

 private:
  CheckerServer& server_;
};

CheckerServer::CheckerServer(CheckerServerOptions options, CheckerDependencies dependencies)
    : options_(std::move(options)),
      dependencies_(std::move(dependencies)),
      transports_(dependencies_.transports != nullptr ? *dependencies_.transports
                                                      : tcp_transports_),
      clock_(dependencies_.clock != nullptr ? *dependencies_.clock : SystemClock::Instance()),
      started_(std::chrono::steady_clock::now()) {}

CheckerServer::~CheckerServer() {
  Shutdown(std::chrono::milliseconds(0));
  Wait();
}

Status CheckerServer::Bind() {
  routes_ = std::make_unique<HttpRoutes>();
  RegisterRoutes();
  front_ = std::make_unique<HttpFront>(*routes_, HttpFrontLimits{});
  Result<int> bound = front_->Bind(options_.listen_address, "-listen");
  if (!bound.ok()) {
    return bound.error();
  }
  port_ = bound.value();
  return Status::Ok();
}

void CheckerServer::Start() {
  sampler_thread_ = std::thread([this] { SampleLoadUntilStopped(); });
  front_->Start();
}

void CheckerServer::Shutdown(std::chrono::milliseconds grace) {
  if (shut_down_.exchange(true)) {
    return;
  }
  if (front_) {
    front_->Stop();  // no new connections; handlers finish the request they serve
  }
  // The SDK's shutdownTimeout: in-flight work gets `grace` to finish (polled, bounded).
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (inflight_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  cancelled_ = true;  // what still runs starts no new probe or DNS query
  {
    const std::lock_guard<std::mutex> lock(load_mutex_);
    stopping_ = true;
  }
  load_wakeup_.notify_all();
}

void CheckerServer::Wait() {
  if (front_) {
    front_->Wait();
  }
  if (sampler_thread_.joinable()) {
    sampler_thread_.join();
  }
}

void CheckerServer::SampleLoadUntilStopped() {
  std::unique_lock<std::mutex> lock(load_mutex_);
  while (!stopping_) {
    if (load_wakeup_.wait_for(lock, options_.load_sample_interval, [this] { return stopping_; })) {
      return;
    }
    load_ = UpdateLoadAverages(load_, static_cast<double>(inflight_.load()),
                               options_.load_sample_interval);
  }
}

void CheckerServer::RegisterRoutes() {
  httplib::Server& server = *routes_;
  server.set_payload_max_length(kMaxBodyBytes);
  // Last line of defence (DESIGN.md §5): nothing thrown in a handler takes the process down.
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        SetJsonError(res, 500, "internal error: " + DescribeException(ep));
      });
  HttpPolicies policies;  // no authentication, as the checker SDK's server
  policies.pre_routing = [](const httplib::Request&, httplib::Response&) {
    request_started = std::chrono::steady_clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  };
  InstallCommonPolicies(server, std::move(policies));
  if (options_.log_request) {
    server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      options_.log_request(req.method + " " + req.path + " " + std::to_string(res.status) + " " +
                           FormatDuration(std::chrono::steady_clock::now() - request_started));
    });
  }

  const auto make_resolver = [this]() -> Result<std::unique_ptr<Resolver>> {
    ResolverOptions resolver_options;
    resolver_options.servers = options_.dns_servers;
    resolver_options.cancelled = &cancelled_;
    return dependencies_.make_resolver ? dependencies_.make_resolver(resolver_options)
                                       : MakeAresResolver(resolver_options);
  };
  // The one pipeline (check.h), for /collect and POST /check.
  const auto run_check = [this, make_resolver](const std::string& domain,
                                               const CheckOptions& options,
                                               const RuleSelection& rules) -> Result<CheckResult> {
    Result<std::unique_ptr<Resolver>> resolver = make_resolver();
    if (!resolver.ok()) {
      return resolver.error();
    }
    CheckRequest request;
    request.domain = domain;
    request.options = options;
    request.options.port = options_.smtp_port;
    request.rules = rules;
    request.settings.cancelled = &cancelled_;
    request.settings.denied_networks = options_.denied_networks;
    return Check(request, CheckDeps{*resolver.value(), transports_, clock_});
  };
  const auto definition = CheckerDefinition(options_.version);

  server.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    LoadAverages load;
    {
      const std::lock_guard<std::mutex> lock(load_mutex_);
      load = load_;
    }
    SetJson(
        res, 200,
        json{{"status", "ok"},
             {"uptime_seconds",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()},
             {"num_cpu", std::max(1u, std::thread::hardware_concurrency())},
             {"inflight", inflight_.load()},
             {"total_requests", total_requests_.load()},
             {"loadavg", {load.one, load.five, load.fifteen}}});
  });

  server.Get("/definition", [definition](const httplib::Request&, httplib::Response& res) {
    SetJson(res, 200, definition);
  });

  // Precheck (§4 POST /definition): no body means no options.
  server.Post("/definition",
              [this, definition](const httplib::Request& req, httplib::Response& res) {
                WorkScope work(*this);
                json options;
                if (!req.body.empty()) {
                  Result<json> body = ParseRequestBody(req.body, {"options"});
                  if (!body.ok()) {
                    SetJsonError(res, 400, body.error().message);
                    return;
                  }
                  options = body.value().value("options", json());
                }
                json reply = definition;
                reply["precheck_failures"] = PrecheckFailures(options);
                SetJson(res, 200, reply);
              });

  server.Post("/collect", [this, run_check](const httplib::Request& req, httplib::Response& res) {
    WorkScope work(*this);
    Result<json> body = ParseRequestBody(req.body, {"options", "target", "enabledRules"});
    if (!body.ok()) {
      SetJsonError(res, 400, body.error().message);
      return;
    }
    Result<RuleSelection> rules = ParseEnabledRules(body.value().value("enabledRules", json()));
    if (!rules.ok()) {
      SetJsonError(res, 400, "invalid request body: " + rules.error().message);
      return;
    }
    Result<RunOptions> run = ParseRunOptions(body.value().value("options", json()), true);
    if (!run.ok()) {
      SetJsonError(res, 500, run.error().message);
      return;
    }
    Result<CheckResult> result = run_check(run.value().domain, run.value().options, rules.value());
    if (!result.ok()) {
      SetJsonError(res, 500, result.error().message);
      return;
    }
    json reply = {{"data", ToJson(result.value().observation)}};
    json entries = DiscoveryEntries(result.value().observation);
    if (!entries.empty()) {
      reply["entries"] = std::move(entries);
    }
    SetJson(res, 200, reply);
  });

  server.Post("/evaluate", [this](const httplib::Request& req, httplib::Response& res) {
    WorkScope work(*this);
    const auto bad_request = [&res](const std::string& message) {
      SetJson(res, 400, json{{"states", nullptr}, {"error", message}});
    };
    Result<json> body =
        ParseRequestBody(req.body, {"observations", "options", "enabledRules", "related"});
    if (!body.ok()) {
      bad_request(body.error().message);
      return;
    }
    Result<RuleSelection> rules = ParseEnabledRules(body.value().value("enabledRules", json()));
    if (!rules.ok()) {
      bad_request("invalid request body: " + rules.error().message);
      return;
    }
    const json observations = body.value().value("observations", json());
    const json* data = ObservationOf(observations);
    if (data == nullptr) {
      SetJson(res, 200,
              json{{"states", ErrorStates("smtp.observation_error",
                                          "observation \"" + std::string(kObservationKey) +
                                              "\" not available",
                                          rules.value())}});
      return;
    }
    Result<DomainObservation> observation = DomainObservationFromJson(*data);
    if (!observation.ok()) {
      SetJson(
          res, 200,
          json{{"states", ErrorStates("smtp.observation_error",
                                      "cannot read the observation: " + observation.error().message,
                                      rules.value())}});
      return;
    }
    Result<RunOptions> run = ParseRunOptions(body.value().value("options", json()), false);
    if (!run.ok()) {
      SetJson(
          res, 200,
          json{{"states", ErrorStates("smtp.options_error", run.error().message, rules.value())}});
      return;
    }
    const DomainObservation& obs = observation.value();
    std::vector<Finding> findings =
        FoldTlsProbes(Evaluate(obs, run.value().options, rules.value()),
                      ReadRelatedTlsProbes(body.value().value("related", json()), obs), obs.domain,
                      rules.value());
    SetJson(res, 200, json{{"states", CheckStates(findings, rules.value())}});
  });

  server.Post("/report", [this](const httplib::Request& req, httplib::Response& res) {
    WorkScope work(*this);
    // The SDK's strings.Contains(Accept, "text/html"): case-sensitive, anywhere in the header.
    const bool html = req.get_header_value("Accept").find("text/html") != std::string::npos;
    Result<json> body = ParseRequestBody(req.body, {"related"});
    if (!body.ok()) {
      SetJsonError(res, 400, body.error().message);
      return;
    }
    Result<DomainObservation> observation =
        DomainObservationFromJson(body.value().value("data", json()));
    if (!observation.ok()) {
      if (html) {
        SetPlainError(res, 500,
                      "failed to generate HTML report: cannot read the observation: " +
                          observation.error().message);
      } else {
        SetJsonError(res, 500,
                     "failed to extract metrics: cannot read the observation: " +
                         observation.error().message);
      }
      return;
    }
    const DomainObservation& obs = observation.value();
    // The rules the host ran (its states name them), else every rule; severities come from
    // Evaluate over the data, never re-derived from the states' text.
    const RuleSelection rules = RulesOfStates(body.value().value("states", json()))
                                    .value_or(RuleSelection::FromEnabledMap({}));
    const std::vector<TlsProbeSummary> probes =
        ReadRelatedTlsProbes(body.value().value("related", json()), obs);
    CheckResult result;
    result.observation = obs;
    result.findings =
        FoldTlsProbes(Evaluate(obs, CheckOptions{}, rules), probes, obs.domain, rules);
    result.status = WorstSeverity(result.findings);
    if (!html) {
      SetJson(res, 200, CheckMetrics(result, UnixSeconds(clock_.WallNow())));
      return;
    }
    HtmlPageContext context;
    context.now_unix = UnixSeconds(clock_.WallNow());
    context.generator = "smtp_exporter" + (options_.version.empty() ? "" : " " + options_.version);
    context.mx_notes = TlsProbeNotes(probes);
    SetHtml(res, 200, RenderReportHtml(obs, result.findings, result.status, context),
            kEmbeddableReportPolicy);
  });

  // The SDK's interactive form (`checker/server/interactive.go`): a person types a domain and
  // gets the report of a fresh check with every rule enabled.
  server.Get("/check", [](const httplib::Request&, httplib::Response& res) {
    SetHtml(res, 200, RenderCheckFormHtml({}, ""), kCheckFormContentSecurityPolicy);
  });
  server.Post("/check", [this, run_check](const httplib::Request& req, httplib::Response& res) {
    WorkScope work(*this);
    std::map<std::string, std::string> values;
    for (const auto& [name, value] : req.params) {
      values[name] = value;
    }
    Result<RunOptions> run = RunOptionsFromForm(values);
    if (!run.ok()) {
      SetHtml(res, 400, RenderCheckFormHtml(values, run.error().message),
              kCheckFormContentSecurityPolicy);
      return;
    }
    const RuleSelection rules = RuleSelection::FromEnabledMap({});
    Result<CheckResult> result = run_check(run.value().domain, run.value().options, rules);
    if (!result.ok()) {
      SetHtml(res, 500, RenderCheckFormHtml(values, result.error().message),
              kCheckFormContentSecurityPolicy);
      return;
    }
    HtmlPageContext context;
    context.now_unix = UnixSeconds(clock_.WallNow());
    context.index_href = "/check";
    context.generator = "smtp_exporter" + (options_.version.empty() ? "" : " " + options_.version);
    SetHtml(res, 200,
            RenderReportHtml(result.value().observation, result.value().findings,
                             result.value().status, context),
            kReportContentSecurityPolicy);
  });

  // Go's ServeMux answers 405 for a known path asked with another method (§4, "Other paths").
  const std::map<std::string, std::vector<std::string>> allowed = {
      {"/health", {"GET"}},   {"/definition", {"GET", "POST"}},
      {"/collect", {"POST"}}, {"/evaluate", {"POST"}},
      {"/report", {"POST"}},  {"/check", {"GET", "POST"}}};
  for (const auto& [path, methods] : allowed) {
    std::string allow;
    for (const std::string& method : methods) {
      allow += (allow.empty() ? "" : ", ") + method;
    }
    const auto not_allowed = [allow](const httplib::Request&, httplib::Response& res) {
      res.set_header("Allow", allow);
      SetPlainError(res, 405, "Method Not Allowed");
    };
    const auto has = [&methods = methods](const char* method) {  // clang 14: no binding captures
      return std::find(methods.begin(), methods.end(), method) != methods.end();
    };
    if (!has("GET")) {
      server.Get(path, not_allowed);
    }
    if (!has("POST")) {
      server.Post(path, not_allowed);
    }
    server.Put(path, not_allowed);
    server.Delete(path, not_allowed);
    server.Patch(path, not_allowed);
  }
}

}  // namespace smtp_exporter
