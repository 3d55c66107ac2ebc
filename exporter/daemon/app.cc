#include "exporter/daemon/app.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <set>
#include <sstream>
#include <stdexcept>

#include "config/check_option_table.h"
#include "config/domain_name.h"
#include "config/duration.h"
#include "exporter/check/check.h"
#include "exporter/http/http_front.h"
#include "exporter/http/http_policies.h"
#include "exporter/report/findings_text.h"
#include "exporter/report/html.h"
#include "exporter/report/html_report.h"
#include "exporter/report/overview.h"
#include "exporter/report/text_report.h"
#include "exporter/version.h"
#include "probes/domain_check.h"
#include "probes/observation_json.h"

namespace smtp_exporter {

// Everything built from one config: swapped whole on reload, so a check in flight keeps the
// resolver and limiter it started with.
namespace {

// The key of a resolver in Runtime::resolvers: domains that ask the same servers share one.
std::string ServersKey(const std::vector<HostPort>& servers) {
  std::string key;
  for (const HostPort& server : servers) {
    key += server.ToString() + ",";
  }
  return key;
}

}  // namespace

struct ExporterApp::Runtime {
  Config config;
  std::map<std::string, std::shared_ptr<const Resolver>> resolvers;  // by joined server list
  std::shared_ptr<IpConnectionLimiter> limiter;
  // With --shard: the configured domains of the other shards, so that /probe of any of them
  // still uses its own options. config.domains holds this shard's only.
  std::vector<DomainConfig> other_shards;

  const DomainConfig* Find(const std::string& name) const {
    for (const auto& domain : config.domains) {
      if (domain.name == name) {
        return &domain;
      }
    }
    return nullptr;
  }
  const DomainConfig* FindForProbe(const std::string& name) const {
    if (const DomainConfig* mine = Find(name)) {
      return mine;
    }
    for (const auto& domain : other_shards) {
      if (domain.name == name) {
        return &domain;
      }
    }
    return nullptr;
  }
  std::shared_ptr<const Resolver> ResolverFor(const std::vector<HostPort>& servers) const {
    const auto it = resolvers.find(ServersKey(servers));
    return it == resolvers.end() ? nullptr : it->second;
  }
};

namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void SetText(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "text/plain; charset=utf-8");
}

// Report pages carry bytes from hostile servers: escaped by the renderer, and a CSP forbids any
// script or fetch should escaping ever miss something. (nosniff is on every response:
// InstallCommonPolicies.)
void SetHtml(httplib::Response& res, const std::string& body) {
  res.status = 200;
  res.set_header("Content-Security-Policy", std::string(kReportContentSecurityPolicy));
  res.set_content(body, "text/html; charset=utf-8");
}

// A response body of `size` bytes that `write_all` produces when the response is sent, in one
// pass, so a large body is never held whole. Content-Type is the metrics one.
void SetStreamedContent(
    httplib::Response& res, std::size_t size,
    std::function<bool(const std::function<bool(std::string_view)>&)> write_all) {
  res.status = 200;
  if (size == 0) {
    res.set_content("", kMetricsContentType);
    return;
  }
  res.set_content_provider(
      size, kMetricsContentType,
      [write_all = std::move(write_all)](std::size_t offset, std::size_t, httplib::DataSink& sink) {
        // One call writes everything; httplib calls again only if fewer bytes went out, which
        // happens when the connection broke: stop then.
        return offset == 0 && write_all([&sink](std::string_view piece) {
                 return sink.write(piece.data(), piece.size());
               });
      });
}

HtmlPageContext PageContext() {
  HtmlPageContext context;
  context.now_unix = UnixNow();
  context.index_href = "/";
  context.generator =
      std::string("smtp_exporter ") + kVersion +
      (std::string_view(kRevision).empty() ? "" : std::string(" (") + kRevision + ")");
  return context;
}

// Check options accepted as /probe query parameters (blackbox's module-less style), from the
// option table: the same names, spellings and ranges as the YAML keys.
// Options the config pins (probe: pinned_options) keep the config's value: a request setting
// one is refused.
Status ApplyProbeParams(const httplib::Request& req, const ProbeConfig& probe,
                        CheckOptions* options) {
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    const std::string key(spec.key);
    if (!req.has_param(key)) {
      continue;
    }
    if (!spec.probe_parameter) {
      return Error::InvalidArgument(key + " cannot be set by /probe");
    }
    if (std::find(probe.pinned_options.begin(), probe.pinned_options.end(), key) !=
        probe.pinned_options.end()) {
      return Error::InvalidArgument(key + " is pinned by the config (probe: pinned_options)");
    }
    if (Status set = SetCheckOption(spec, req.get_param_value(key), *options); !set.ok()) {
      return Error::InvalidArgument(key + " " + set.error().message);
    }
  }
  return Status::Ok();
}

}  // namespace

ExporterApp::ExporterApp(AppOptions options, AppDependencies dependencies)
    : options_(std::move(options)),
      dependencies_(std::move(dependencies)),
      tcp_transports_(&cancelled_),
      transports_(dependencies_.transports != nullptr ? *dependencies_.transports
                                                      : tcp_transports_) {}

ExporterApp::~ExporterApp() {
  Shutdown();
  Wait();
}

Result<std::unique_ptr<ExporterApp>> ExporterApp::Create(const AppOptions& options,
                                                         AppDependencies dependencies) {
  Result<Config> loaded = LoadConfigFile(options.config_path);
  if (!loaded.ok()) {
    return loaded.error();
  }
  std::unique_ptr<ExporterApp> app(new ExporterApp(options, std::move(dependencies)));
  app->limiter_ = std::make_shared<IpConnectionLimiter>(loaded.value().per_ip_connections);
  app->shared_sessions_ = std::make_unique<SharedSessions>(
      app->transports_, SystemClock::Instance(), app->limiter_.get(),
      loaded.value().domains_per_session);
  auto runtime = app->BuildRuntime(std::move(loaded).value());
  if (!runtime.ok()) {
    return runtime.error();
  }
  app->runtime_ = std::move(runtime).value();
  app->store_.SetMetricsDetail(app->runtime_->config.metrics);
  app->last_reload_success_unix_ = UnixNow();
  if (!options.storage_path.empty()) {
    Result<std::unique_ptr<ResultStorage>> storage = ResultStorage::Open(options.storage_path);
    if (!storage.ok()) {
      return storage.error();
    }
    app->storage_ = std::move(storage).value();
    // Before Start(): the first scrape already sees the restored results.
    app->RestoreFromStorage();
  }
  return app;
}

void ExporterApp::RestoreFromStorage() {
  const auto current = runtime();
  std::set<std::string> configured;
  for (const auto& domain : current->config.domains) {
    configured.insert(domain.name);
  }
  LoadReport loaded = storage_->Load(configured);
  for (const std::string& skipped : loaded.skipped) {
    spdlog::warn("--storage.path {}: skipped {}", storage_->dir(), skipped);
  }
  std::size_t restored = 0;
  for (StoredResult& stored : loaded.results) {
    const DomainConfig* domain = current->Find(stored.domain);
    if (domain == nullptr) {
      continue;
    }
    // The options decide what was probed (port, HELO name, which transactions): an
    // observation collected under others would be judged as if it answered today's config.
    const CheckOptions options = EffectiveOptions(domain->options, RuleSelection::Defaults());
    if (stored.options != StoredOptionsJson(options)) {
      spdlog::info(
          "--storage.path {}: not restoring {}: its check options changed since; "
          "it is shown once checked again",
          storage_->dir(), stored.domain);
      continue;
    }
    // The same judgement as after a live check (RunCheck: Check with the domain's options and
    // the default rules), with the rules of this build.
    CheckResult result = EvaluateObservation(std::move(stored.observation), domain->options,
                                             RuleSelection::Defaults(), std::move(stored.posture));
    result.restored = true;
    history_.Add(stored.domain, MakeCheckRecord(result));
    store_.Put(stored.domain, result);
    ++restored;
  }
  const std::size_t removed = storage_->Prune(configured);
  spdlog::info("--storage.path {}: restored the results of {} of {} domains", storage_->dir(),
               restored, configured.size());
  if (removed > 0) {
    spdlog::info("--storage.path {}: removed the files of {} domains no longer configured",
                 storage_->dir(), removed);
  }
}

Result<std::shared_ptr<const ExporterApp::Runtime>> ExporterApp::BuildRuntime(Config config) const {
  auto runtime = std::make_shared<Runtime>();
  auto add_resolver = [&](const std::vector<HostPort>& servers) -> Status {
    const std::string key = ServersKey(servers);
    if (runtime->resolvers.contains(key)) {
      return Status::Ok();
    }
    ResolverOptions resolver_options;
    resolver_options.servers = servers;
    resolver_options.query_timeout = config.dns_timeout;
    resolver_options.cancelled = &cancelled_;
    Result<std::unique_ptr<Resolver>> resolver = dependencies_.make_resolver
                                                     ? dependencies_.make_resolver(resolver_options)
                                                     : MakeAresResolver(resolver_options);
    if (!resolver.ok()) {
      return resolver.error();
    }
    runtime->resolvers[key] = std::shared_ptr<const Resolver>(std::move(resolver).value());
    return Status::Ok();
  };
  if (Status added = add_resolver(config.dns_servers); !added.ok()) {
    return added.error();
  }
  for (const auto& domain : config.domains) {
    if (Status added = add_resolver(domain.dns_servers); !added.ok()) {
      return added.error();
    }
  }
  // One limiter for the exporter's life: a fresh one per reload would let checks started
  // before and after a reload together exceed the per-IP bound.
  runtime->limiter = limiter_;
  // Applied here, the one place every loaded config (start-up and reload) passes, so a reload
  // keeps the shard.
  if (options_.shard.count > 1) {
    std::vector<DomainConfig> mine;
    for (auto& domain : config.domains) {
      auto& part = InShard(options_.shard, domain.name) ? mine : runtime->other_shards;
      part.push_back(std::move(domain));
    }
    config.domains = std::move(mine);
  }
  runtime->config = std::move(config);
  return std::shared_ptr<const Runtime>(std::move(runtime));
}

std::shared_ptr<const ExporterApp::Runtime> ExporterApp::runtime() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return runtime_;
}

std::vector<ScheduledDomain> ExporterApp::Schedule(const Runtime& runtime) const {
  std::vector<ScheduledDomain> schedule;
  const double now_unix = UnixNow();
  for (const auto& domain : runtime.config.domains) {
    // The config loader guarantees jitter <= interval / 2 for every domain.
    ScheduledDomain scheduled{domain.name, domain.interval, runtime.config.jitter, std::nullopt};
    // A result restored from disk is as good as one checked then: the domain is next due when
    // it is an interval old (Scheduler), as if the exporter had not restarted.
    // (A check time read back from disk is data: only a finite age of at most a year counts.)
    if (const auto held = store_.Get(domain.name)) {
      const double age_ms = (now_unix - held->summary.checked_at_unix) * 1000.0;
      if (std::isfinite(age_ms) && std::abs(age_ms) <= 365.0 * 24 * 3600 * 1000) {
        scheduled.last_check_age = std::chrono::milliseconds(std::llround(age_ms));
      }
    }
    schedule.push_back(std::move(scheduled));
  }
  return schedule;
}

CheckResult ExporterApp::RunCheck(
    const Runtime& runtime, const DomainConfig& domain,
    std::optional<SteadyTime> deadline, const std::vector<IpNetwork>& denied,
    std::optional<PostureHistory> posture) {
  auto resolver = runtime.ResolverFor(domain.dns_servers);
  if (!resolver) {
    resolver = runtime.ResolverFor(runtime.config.dns_servers);
  }
  CheckRequest request;
  request.domain = domain.name;
  request.options = domain.options;
  request.settings.endpoint_concurrency = runtime.config.endpoint_concurrency;
  request.settings.ip_limiter = runtime.limiter.get();
  if (!deadline) {
    request.settings.shared_sessions = shared_sessions_.get();  // scheduled checks only
  }
  request.settings.cancelled = &cancelled_;
  request.settings.deadline = deadline;
  request.settings.denied_networks = denied;
  request.posture = std::move(posture);
  CheckResult result = Check(request, CheckDeps{*resolver, transports_, SystemClock::Instance()});
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++checks_total_[std::string(SeverityName(result.status))];
  }
  return result;
}

std::shared_ptr<const CheckResult> ExporterApp::FullResult(const std::string& name) const {
  const std::shared_ptr<const KeptResult> kept = store_.Get(name);
  if (!kept) {
    return nullptr;
  }
  Result<CheckResult> unpacked = kept->Unpack();
  if (!unpacked.ok()) {
    // Only damaged memory gets here (the store packed these bytes itself): the route answers
    // 500 and the log says why.
    throw std::runtime_error("kept result of " + name + ": " + unpacked.error().message);
  }
  const DomainConfig* domain = runtime()->Find(name);
  if (domain == nullptr) {
    // Removed by a reload a moment ago: the kept verdict as it is.
    return std::make_shared<const CheckResult>(std::move(unpacked).value());
  }
  // The judgement Check() made (the domain's options, the default rules), made again: rules
  // are pure, so it gives the findings the store left out.
  CheckResult& kept_result = unpacked.value();
  auto full = std::make_shared<CheckResult>(
      EvaluateObservation(std::move(kept_result.observation), domain->options,
                          RuleSelection::Defaults(), std::move(kept_result.posture)));
  full->restored = kept_result.restored;
  return full;
}

void ExporterApp::RunScheduled(const std::string& name) {
  // A scheduler worker must survive anything one check throws (e.g. std::bad_alloc, or
  // std::system_error when no thread can be started): log it and try again next interval.
  try {
    RunScheduledOnce(name);
  } catch (const std::exception& e) {
    spdlog::error("check of {} failed: {}", name, e.what());
  }
}

void ExporterApp::RunScheduledOnce(const std::string& name) {
  const auto current = runtime();
  const DomainConfig* domain = current->Find(name);
  if (domain == nullptr || cancelled_.load()) {
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  // Drift is judged against the domain's kept history (restored from disk after a restart);
  // a first check starts one.
  const std::shared_ptr<const KeptResult> previous = store_.Get(name);
  CheckResult result =
      RunCheck(*current, *domain, std::nullopt, current->config.denied_networks,
               previous && previous->posture ? *previous->posture : PostureHistory{});
  if (cancelled_.load()) {
    return;  // a check cut short by shutdown says nothing about the domain
  }
  spdlog::debug("checked domain={} status={} endpoints={} duration={:.3f}s", name,
                SeverityName(result.status), result.observation.endpoints.size(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  // A domain removed by a reload while its check ran must not come back: decide and store
  // under the reload lock, so no reload slips in between.
  {
    std::lock_guard<std::mutex> reload_lock(reload_mutex_);
    if (runtime()->Find(name) == nullptr) {
      return;
    }
    history_.Add(name, MakeCheckRecord(result));
    store_.Put(name, result);
  }
  // Outside the reload lock: fsync may take a while. A write failure loses only what a
  // restart would show; the exporter goes on.
  if (storage_) {
    const CheckOptions options = EffectiveOptions(domain->options, RuleSelection::Defaults());
    if (Status written = storage_->Write(name, options, result.observation,
                                         result.posture ? &*result.posture : nullptr, UnixNow());
        !written.ok()) {
      spdlog::warn("--storage.path: {}", written.message());
    }
  }
}

double ExporterApp::NextCheckUnix(const std::string& domain) const {
  if (!scheduler_) {
    return 0;
  }
  const std::optional<SteadyTime> due = scheduler_->NextDue(domain);
  if (!due) {
    return 0;  // running now, or not scheduled
  }
  const auto now = std::chrono::steady_clock::now();
  const double ahead = std::chrono::duration<double>(*due - now).count();
  return UnixNow() + std::max(0.0, ahead);
}

ExporterHealth ExporterApp::Health() const {
  ExporterHealth health;
  health.version = kVersion;
  health.revision = kRevision;
  std::lock_guard<std::mutex> lock(mutex_);
  health.config_last_reload_successful = last_reload_ok_;
  health.config_last_reload_success_timestamp_seconds = last_reload_success_unix_;
  health.checks_total = checks_total_;
  health.checks_in_flight = static_cast<std::int64_t>((scheduler_ ? scheduler_->in_flight() : 0) +
                                                      probes_in_flight_.load());
  health.domains = runtime_->config.domains.size();
  if (front_) {
    const HttpFrontStats http = front_->Stats();
    health.http_connections = http.open_connections;
    health.http_connections_refused_total = http.refused_total;
  }
  const SharedSessions::Stats sessions = shared_sessions_->stats();
  health.sessions_total = sessions.sessions;
  health.session_probes_total = sessions.domain_probes;
  health.session_probed_again_total = sessions.probed_again;
  return health;
}

Status ExporterApp::Reload() {
  // One reload at a time (SIGHUP and POST /-/reload may race), covering the swap, the store
  // and the schedule together so they never disagree.
  std::lock_guard<std::mutex> reload_lock(reload_mutex_);
  Result<Config> loaded = LoadConfigFile(options_.config_path);
  Result<std::shared_ptr<const Runtime>> built =
      loaded.ok() ? BuildRuntime(std::move(loaded).value()) : loaded.error();
  if (!built.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    last_reload_ok_ = false;
    spdlog::error("reload failed, keeping the running config: {}", built.error().message);
    return built.error();
  }
  std::shared_ptr<const Runtime> next = std::move(built).value();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (next->config.concurrency != runtime_->config.concurrency) {
      spdlog::warn("concurrency changed from {} to {}: takes effect after a restart",
                   runtime_->config.concurrency, next->config.concurrency);
    }
    if (next->config.domains_per_session != runtime_->config.domains_per_session) {
      spdlog::warn("domains_per_session changed from {} to {}: takes effect after a restart",
                   runtime_->config.domains_per_session, next->config.domains_per_session);
    }
    runtime_ = next;
    last_reload_ok_ = true;
    last_reload_success_unix_ = UnixNow();
  }
  std::vector<std::string> keep;
  for (const auto& domain : next->config.domains) keep.push_back(domain.name);
  store_.Retain(keep);  // removed domains' series vanish at the next scrape
  store_.SetMetricsDetail(next->config.metrics);
  history_.Retain(keep);
  if (storage_) {
    (void)storage_->Prune({keep.begin(), keep.end()});
  }
  if (scheduler_) {
    scheduler_->SetDomains(Schedule(*next));
  }
  spdlog::info("config reloaded: {} domains", keep.size());
  return Status::Ok();
}

Status ExporterApp::Bind() {
  WebConfig web;
  if (!options_.web_config_path.empty()) {
    Result<WebConfig> loaded = LoadWebConfig(options_.web_config_path);
    if (!loaded.ok()) {
      return Error::InvalidArgument("--web.config.file " + loaded.error().message);
    }
    web = std::move(loaded.value());
    if (web.tls) {
      Result<SslCtxPtr> context = MakeServerTlsContext(*web.tls);
      if (!context.ok()) {
        return Error::InvalidArgument("--web.config.file " + options_.web_config_path + ": " +
                                      context.error().message);
      }
      tls_context_ = std::move(context.value());
    }
    if (!web.basic_auth_users.empty()) {
      basic_auth_ = std::make_unique<BasicAuth>(web.basic_auth_users);
    }
  }
  routes_ = std::make_unique<HttpRoutes>();
  RegisterRoutes(std::move(web.headers));
  HttpFrontLimits limits;
  limits.max_connections = options_.max_connections;
  front_ = std::make_unique<HttpFront>(*routes_, limits, tls_context_.get());
  Result<int> bound = front_->Bind(options_.listen_address, "--web.listen-address");
  if (!bound.ok()) {
    return bound.error();
  }
  port_ = bound.value();
  return Status::Ok();
}

void ExporterApp::Start() {
  const auto current = runtime();
  scheduler_ = std::make_unique<Scheduler>(
      SystemClock::Instance(), current->config.concurrency,
      [this](const std::string& d) { RunScheduled(d); }, options_.startup_stagger);
  scheduler_->SetDomains(Schedule(*current));
  scheduler_->Start();
  front_->Start();
}

void ExporterApp::Shutdown() {
  if (shut_down_.exchange(true)) {
    return;
  }
  cancelled_ = true;  // in-flight probes end within ~200 ms
  if (front_) {
    front_->Stop();  // connections waiting for their client close at once
  }
  if (scheduler_) {
    scheduler_->Stop();
  }
}

void ExporterApp::Wait() {
  if (front_) {
    front_->Wait();
  }
}

void ExporterApp::RegisterRoutes(std::vector<std::pair<std::string, std::string>> headers) {
  httplib::Server& server = *routes_;
  server.set_payload_max_length(64 * 1024);
  // Last line of defence (DESIGN.md §5): nothing thrown in a handler takes the process down.
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        spdlog::error("HTTP handler failed: {}", DescribeException(ep));
        SetText(res, 500, "internal error\n");
      });

  server.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    // ?domain=D: only that domain's series (the report links here); no exporter families.
    if (req.has_param("domain")) {
      const auto snapshot = FullResult(NormaliseHostName(req.get_param_value("domain")));
      if (!snapshot) {
        SetText(res, 404, "no check of this domain has finished yet, or it is not configured\n");
        return;
      }
      res.set_content(SerializeMetrics(DomainMetricFamilies({snapshot}, /*with_restored=*/true)),
                      kMetricsContentType);
      return;
    }
    // The fleet exposition: every domain's series as rendered when its check finished, then
    // the exporter's own families, rendered now. Streamed from those bytes, never copied into
    // one body; gzip comes from MetricsCache. A sized provider: httplib compresses only bodies
    // and chunked providers, so it leaves these bytes alone.
    std::string tail = SerializeMetrics(ExporterMetricFamilies(Health()));
    res.set_header("Vary", "Accept-Encoding");
    if (AcceptsGzip(req)) {
      std::shared_ptr<const GzipBody> body = metrics_cache_.Gzip(tail);
      res.set_header("Content-Encoding", "gzip");
      SetStreamedContent(res, body->size(), [body](const auto& write) { return body->Write(write); });
      return;
    }
    struct Plain {
      std::vector<std::shared_ptr<const SnapshotStore::Entry>> entries;  // keeps the series alive
      std::optional<FleetExposition> exposition;
    };
    auto plain = std::make_shared<Plain>();
    plain->entries = store_.Entries();
    std::vector<const DomainSeries*> series;
    series.reserve(plain->entries.size());
    for (const auto& entry : plain->entries) {
      series.push_back(&entry->series);
    }
    plain->exposition.emplace(std::move(series), std::move(tail));
    SetStreamedContent(res, plain->exposition->size(),
                       [plain](const auto& write) { return plain->exposition->Write(write); });
  });

  server.Get("/-/healthy", [](const httplib::Request&, httplib::Response& res) {
    SetText(res, 200, "Healthy.\n");
  });
  server.Get("/-/ready", [this](const httplib::Request&, httplib::Response& res) {
    // Ready once a config is loaded, which Create() guarantees.
    SetText(res, runtime() ? 200 : 503, runtime() ? "Ready.\n" : "Not ready.\n");
  });
  // `curl -X POST /-/reload` sends no Content-Length; httplib 0.11 would then wait for a body
  // until its read timeout and answer 400. Reload needs no body, so it is answered before
  // httplib reads one (and the connection closed, in case a body does follow).
  HttpPolicies policies;
  policies.basic_auth = basic_auth_.get();
  policies.headers = std::move(headers);
  policies.pre_routing = [this](const httplib::Request& req, httplib::Response& res) {
    if (req.path != "/-/reload") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.set_header("Connection", "close");
    if (req.method != "POST" && req.method != "PUT") {
      SetText(res, 405, "use POST to reload the config\n");
    } else if (!options_.enable_lifecycle) {
      SetText(res, 403, "Lifecycle API is not enabled.\n");  // Prometheus' words (web/web.go)
    } else if (Status reloaded = Reload(); !reloaded.ok()) {
      // Reload() logged the file and the error; the caller, whoever it is, learns neither.
      SetText(res, 500, "failed to reload config; see the exporter's log\n");
    } else {
      SetText(res, 200, "OK\n");
    }
    return httplib::Server::HandlerResponse::Handled;
  };
  InstallCommonPolicies(server, std::move(policies));

  server.Get("/probe", [this](const httplib::Request& req, httplib::Response& res) {
    const auto started = std::chrono::steady_clock::now();
    const std::string raw = req.get_param_value("domain");
    if (raw.empty()) {
      SetText(res, 400, "domain parameter is missing\n");
      return;
    }
    if (Status valid = ValidateHostName(raw); !valid.ok()) {
      SetText(res, 400,
              "domain \"" + EscapeHtml(raw.substr(0, 256)) + "\" is invalid: " + valid.message() +
                  "\n");
      return;
    }
    const std::string name = NormaliseHostName(raw);
    const auto current = runtime();
    const DomainConfig* configured = current->FindForProbe(name);
    if (!ProbeAllowsDomain(current->config.probe, name, configured != nullptr)) {
      SetText(res, 403,
              "domain \"" + EscapeHtml(name) +
                  "\" is not allowed: the config's probe: only_configured_domains and "
                  "allowed_domains restrict /probe\n");
      return;
    }
    DomainConfig domain;
    if (configured != nullptr) {
      domain = *configured;
    } else {
      domain.name = name;
      domain.options = current->config.defaults;
      domain.dns_servers = current->config.dns_servers;
    }
    if (Status applied = ApplyProbeParams(req, current->config.probe, &domain.options);
        !applied.ok()) {
      SetText(res, 400, applied.message() + "\n");
      return;
    }
    // Honour Prometheus' scrape timeout, keeping half a second to answer in.
    std::optional<std::chrono::milliseconds> budget;
    if (req.has_header("X-Prometheus-Scrape-Timeout-Seconds")) {
      // from_chars: no exceptions, no locale; garbage or a partial number reads as no budget.
      double seconds = 0;
      const std::string header = req.get_header_value("X-Prometheus-Scrape-Timeout-Seconds");
      const auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
      if (ec != std::errc() || end != header.data() + header.size()) {
        seconds = 0;
      }
      // Clamped before converting: a header such as 1e300 must not overflow.
      if (std::isfinite(seconds) && seconds > 1.5) {
        seconds = std::min(seconds, 600.0);
        budget = std::chrono::milliseconds(static_cast<long long>((seconds - 0.5) * 1000));
      }
    }
    struct InFlight {  // released however the handler ends
      std::atomic<std::size_t>& count;
      ~InFlight() { --count; }
    } in_flight{probes_in_flight_};
    if (probes_in_flight_.fetch_add(1) >= options_.max_concurrent_probes) {
      SetText(res, 503, "too many concurrent /probe requests; try again later\n");
      return;
    }
    // The request's deadline: a probe of a busy address must not wait for a per-IP slot past
    // the budget it was given (issue #18: four probes of one address with timeout=3s took 3,
    // 3, 6 and 6 s); those that get no slot in time end as timeouts. Without a scrape timeout,
    // the endpoint's own bounds: the greeting wait plus the commands' budget.
    const SteadyTime deadline =
        started + budget.value_or(domain.options.greeting_timeout + domain.options.timeout);
    const auto snapshot = std::make_shared<const CheckResult>(
        RunCheck(*current, domain, deadline, current->config.probe.denied_networks));
    const double duration =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (req.get_param_value("debug") == "true") {
      SetText(res, 200,
              RenderDomainText(snapshot->observation, snapshot->findings, snapshot->status));
      return;
    }
    // probe_success: nothing to fix (ok or info), like blackbox's "the probe passed".
    const bool success = snapshot->status == Severity::kOk || snapshot->status == Severity::kInfo;
    res.set_content(RenderProbeMetrics(*snapshot, success, duration), kMetricsContentType);
  });

  server.Get("/report", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string name = NormaliseHostName(req.get_param_value("domain"));
    const auto snapshot = FullResult(name);
    if (!snapshot) {
      const bool configured = runtime()->Find(name) != nullptr;
      SetText(res, 404,
              configured ? "no check of this domain has finished yet\n"
                         : "unknown domain (not in the config)\n");
      return;
    }
    const std::string format = req.get_param_value("format");
    if (format == "json") {
      nlohmann::json doc =
          CheckDocument(snapshot->observation, snapshot->findings, snapshot->status);
      // What only the daemon knows: the result is from before a restart, and what changed
      // between its checks (docs/json-schema.md).
      doc["restored"] = snapshot->restored;
      if (snapshot->posture) {
        doc["posture"] = PostureHistoryToJson(*snapshot->posture);
      }
      res.set_content(DumpJson(doc), "application/json");
      return;
    }
    if (format == "text") {
      SetText(res, 200,
              RenderDomainText(snapshot->observation, snapshot->findings, snapshot->status));
      return;
    }
    if (!format.empty() && format != "html") {
      SetText(res, 400, "format must be html, text or json\n");
      return;
    }
    HtmlPageContext context = PageContext();
    context.next_check_unix = NextCheckUnix(name);
    context.restored = snapshot->restored;
    context.json_href = "/report?domain=" + UrlEncodeQueryValue(name) + "&format=json";
    context.metrics_href = "/metrics?domain=" + UrlEncodeQueryValue(name);
    context.history = history_.Get(name);
    context.posture = snapshot->posture ? &*snapshot->posture : nullptr;
    SetHtml(res,
            RenderReportHtml(snapshot->observation, snapshot->findings, snapshot->status, context));
  });

  server.Get("/", [this](const httplib::Request& req, httplib::Response& res) {
    // ?status=, ?code=, ?q=: the overview filtered server-side (the CSP allows no script).
    auto parsed = ParseOverviewFilter(req.get_param_value("status"), req.get_param_value("code"),
                                      req.get_param_value("q"));
    if (!parsed.ok()) {
      SetText(res, 400, parsed.error().message + "\n");
      return;
    }
    const auto current = runtime();
    std::vector<IndexRow> rows;
    rows.reserve(current->config.domains.size());
    for (const auto& domain : current->config.domains) {
      const auto snapshot = store_.Get(domain.name);
      IndexRow row = MakeIndexRow(domain.name, snapshot ? &snapshot->summary : nullptr,
                                  history_.Get(domain.name), NextCheckUnix(domain.name));
      if (snapshot) {
        row.report_href = "/report?domain=" + UrlEncodeQueryValue(domain.name);
        row.json_href = row.report_href + "&format=json";
      }
      rows.push_back(std::move(row));
    }
    HtmlPageContext context = PageContext();
    context.metrics_href = "/metrics";
    SetHtml(res, RenderIndexHtml(rows, parsed.value(), context));
  });
}

}  // namespace smtp_exporter
