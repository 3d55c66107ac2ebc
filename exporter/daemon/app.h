// ExporterApp: the long-running exporter. It owns the loaded config, the resolvers, the
// transport factory, the per-IP politeness limiter, the scheduler, the snapshot store and the
// HTTP server (/metrics, /probe, /report, /, /-/healthy, /-/ready, /-/reload).
// Data flows one way: the scheduler (and /probe) run checks; the scheduler's results are
// published as immutable snapshots and appended to each domain's history, /probe's are only
// answered. HTTP readers only read snapshots and histories and never wait on a probe. With
// --storage.path, scheduled results are also written to disk and restored at start-up.
//
// Thread safety: Reload(), Shutdown() and the HTTP handlers may run concurrently; everything
// they share is guarded or immutable.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "config/base/listen_address.h"
#include "config/config.h"
#include "config/shard.h"
#include "exporter/daemon/check_history.h"
#include "exporter/daemon/metrics_cache.h"
#include "exporter/daemon/result_storage.h"
#include "exporter/daemon/scheduler.h"
#include "exporter/daemon/snapshot_store.h"
#include "exporter/http/web_config.h"
#include "exporter/report/metrics.h"
#include "probes/ip_limiter.h"
#include "probes/resolver.h"
#include "probes/transport.h"

namespace smtp_exporter {

class HttpFront;
class HttpRoutes;

// Prometheus' exporter range 9100-9999 is fully allocated; new exporters are given ports past
// 10000. 10125 until one is registered for us (10025 is Postfix's conventional content-filter
// re-injection port, so not that).
inline constexpr const char* kDefaultListenAddress = ":10125";

struct AppOptions {
  std::string config_path = "smtp_exporter.yml";
  std::string listen_address = kDefaultListenAddress;  // "host:port", ":port", "[v6]:port"
  std::size_t max_concurrent_probes = 4;               // /probe requests at once; 503 beyond
  // The part of the config's domains this replica schedules (--shard=i/n); kept across
  // reloads. /probe still checks any domain. Default: 0/1, every domain.
  Shard shard;
  // Start-up checks are spread evenly over min(interval, this), so a restart does not probe
  // every MX host at once. Default: 60 s; tests use 0.
  std::chrono::milliseconds startup_stagger{std::chrono::seconds(60)};
  // POST/PUT /-/reload reloads the config (--web.enable-lifecycle). Off, it answers 403, as
  // Prometheus does: anyone who can reach the port could otherwise make the exporter re-read
  // its config at will. SIGHUP always reloads. Default: false.
  bool enable_lifecycle = false;
  // exporter-toolkit's web config (exporter/http/web_config.h): TLS and basic auth on the
  // HTTP port (--web.config.file). Read once, at Bind(); empty: plain HTTP, no auth.
  std::string web_config_path;
  // Connections served at once (--web.max-connections, as Prometheus'); more get 503.
  std::size_t max_connections = 512;
  // --storage.path: where each domain's latest scheduled observation is kept across restarts
  // (ResultStorage). At start-up the stored results of configured domains are judged again and
  // served, marked restored, until each domain is checked again. Empty: off. Default: off.
  std::string storage_path;
};

// What the daemon reaches the network through. Left empty: c-ares resolvers and TCP/TLS
// transports. Tests inject a fake resolver and a scripted transport factory, so the HTTP routes
// are tested hermetically, with no network at all.
struct AppDependencies {
  std::function<Result<std::unique_ptr<Resolver>>(const ResolverOptions&)> make_resolver;
  TransportFactory* transports = nullptr;  // not owned; must be thread-safe and outlive the app
};

class ExporterApp {
 public:
  // Loads and validates the config, and with a storage path opens it and restores the stored
  // results: a bad file or an unusable directory is an error here (the caller exits non-zero).
  static Result<std::unique_ptr<ExporterApp>> Create(const AppOptions& options,
                                                     AppDependencies dependencies = {});
  ~ExporterApp();
  ExporterApp(const ExporterApp&) = delete;
  ExporterApp& operator=(const ExporterApp&) = delete;

  // Binds the listen address. port() is then known.
  Status Bind();
  int port() const { return port_; }

  // Starts the scheduler and serves HTTP on a background thread.
  void Start();
  // Cancels in-flight probes, stops the scheduler and the HTTP server. Idempotent.
  void Shutdown();
  // Blocks until the HTTP server has stopped.
  void Wait();

  // Re-reads the config file. A bad file keeps the running config (and is reported through
  // smtp_exporter_config_last_reload_successful 0), and the failure is returned.
  Status Reload();

 private:
  ExporterApp(AppOptions options, AppDependencies dependencies);
  struct Runtime;  // config + what is built from it, swapped whole on reload

  std::shared_ptr<const Runtime> runtime() const;
  Result<std::shared_ptr<const Runtime>> BuildRuntime(Config config) const;
  // `deadline` (a /probe's) ends the whole check: what is left of it is shared by the greeting
  // wait and the commands after it. `denied` networks are never connected to. `posture`: the
  // domain's posture history before this check, to track drift (scheduled checks only: a
  // /probe is not one of the domain's checks).
  CheckResult RunCheck(const Runtime& runtime, const DomainConfig& domain,
                       std::optional<SteadyTime> deadline, const std::vector<IpNetwork>& denied,
                       std::optional<PostureHistory> posture = std::nullopt);
  // `name`'s latest scheduled result with every finding (the store keeps only those not OK),
  // for the views that list passed checks: the kept observation, unpacked, judged again as the
  // check judged it. nullptr if there is none; throws if the kept bytes are damaged.
  std::shared_ptr<const CheckResult> FullResult(const std::string& name) const;
  void RunScheduled(const std::string& domain);
  void RunScheduledOnce(const std::string& domain);
  // Loads storage_'s results of the configured domains into store_ (marked restored), judged
  // with the current rules and options; removes the files of domains no longer configured.
  void RestoreFromStorage();
  ExporterHealth Health() const;
  // Unix time of `domain`'s next scheduled check, as the scheduler has it (interval ± jitter
  // from the end of the last check); 0 while it runs or when nothing is scheduled.
  double NextCheckUnix(const std::string& domain) const;
  // `headers`: what every response carries besides nosniff (the web config's).
  void RegisterRoutes(std::vector<std::pair<std::string, std::string>> headers);
  std::vector<ScheduledDomain> Schedule(const Runtime& runtime) const;

  const AppOptions options_;
  const AppDependencies dependencies_;
  std::atomic<bool> cancelled_{false};
  TcpTransportFactory tcp_transports_;
  TransportFactory& transports_;  // dependencies_.transports, else tcp_transports_
  SnapshotStore store_;
  MetricsCache metrics_cache_{store_};  // the gzip of /metrics, kept between scrapes
  CheckHistory history_;  // scheduled checks only, like store_; pruned with it on reload
  std::unique_ptr<const ResultStorage> storage_;  // --storage.path; null when off
  std::unique_ptr<Scheduler> scheduler_;
  // Declared before routes_ and front_, which use them: destroyed after both.
  SslCtxPtr tls_context_;                  // null: plain HTTP
  std::unique_ptr<BasicAuth> basic_auth_;  // null: no authentication
  std::unique_ptr<HttpRoutes> routes_;
  std::unique_ptr<HttpFront> front_;  // serves routes_
  int port_ = 0;

  std::shared_ptr<IpConnectionLimiter> limiter_;  // per_ip_connections fixed at start-up
  // Scheduled checks' SMTP sessions, shared across domains; domains_per_session fixed at
  // start-up. Takes its per-IP slots from limiter_.
  std::unique_ptr<SharedSessions> shared_sessions_;
  std::mutex reload_mutex_;   // one Reload() at a time; also orders scheduled stores
  mutable std::mutex mutex_;  // guards runtime_ and the reload/health fields below
  std::shared_ptr<const Runtime> runtime_;
  bool last_reload_ok_ = true;
  double last_reload_success_unix_ = 0;
  std::map<std::string, std::uint64_t> checks_total_;
  std::atomic<std::size_t> probes_in_flight_{0};
  std::atomic<bool> shut_down_{false};
};

}  // namespace smtp_exporter
