// CheckerServer: the happyDomain checker mode (`smtp_exporter -listen :8080`), an HTTP server
// speaking happyDomain's external-checker protocol as its checker SDK's standalone server does
// (checker-sdk-go v1.10.0 `checker/server/server.go`; /work/shared/happydomain-api.md, §n below):
//
//   GET  /health      status, uptime, CPUs, work in flight, work total, load EWMAs (§4)
//   GET  /definition  the CheckerDefinition (checker_protocol.h)
//   POST /definition  the definition plus `precheck_failures` (the host's precheck)
//   POST /collect     run the check: {"data": our observation JSON, "entries": tls.endpoint.v1}
//   POST /evaluate    the named rules over a collected observation: {"states": [CheckState]}
//   POST /report      the HTML report (Accept contains text/html) or the metrics JSON array
//   GET  /check       a form to check a domain by hand; POST /check runs it and shows the report
//
// Bodies are read up to 1 MiB (larger: 413); JSON replies are compact with a trailing newline;
// errors have the SDK's shapes (400/500 {"error": ...}, plain-text 501/500 for /report). No
// authentication, as the SDK's. Every check runs the one pipeline (exporter/check/check.h) with
// no config file: the resolver is the system's or `dns_servers`, the port 25.
//
// Thread safety: Bind/Start/Shutdown/Wait are called by one owner thread; the HTTP handlers run
// on the connections' threads (exporter/http/http_front.h) and share only atomics, the
// immutable options and the dependencies (which must be thread-safe).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/base/clock.h"
#include "config/base/ip_address.h"
#include "config/config.h"
#include "config/base/result.h"
#include "probes/resolver.h"
#include "probes/transport.h"

namespace smtp_exporter {

class HttpFront;
class HttpRoutes;

// The SDK's default (checker-ping `main.go`: flag.String("listen", ":8080", ...)).
inline constexpr const char* kDefaultCheckerListenAddress = ":8080";

struct CheckerServerOptions {
  std::string listen_address = kDefaultCheckerListenAddress;  // "host:port", ":port", "[v6]:port"
  // Resolvers every check asks. Empty: /etc/resolv.conf's.
  std::vector<HostPort> dns_servers;
  // Port of the SMTP service every check probes, and the port of the tls.endpoint.v1 entries.
  // happyDomain has no such option (MX is port 25); other values are for labs and relays.
  // Default: 25.
  std::uint16_t smtp_port = 25;
  // Addresses no check connects to (-denied-networks): such an endpoint is reported as
  // "address not allowed", naming it. happyDomain's users choose the domains, and a domain's
  // MX may point into the checker's own networks; so, unlike the Go checker, the default is
  // the exporter's /probe default (loopback, private, link-local, unique-local, reserved).
  std::vector<IpNetwork> denied_networks = DefaultProbeDeniedNetworks();
  std::string version;  // in /definition and the report footer; empty leaves it out
  // Called once per request, after the reply: "POST /collect 200 1.234s" (the SDK's
  // requestLogger line: method, path, status, duration). Empty: no request log.
  std::function<void(const std::string&)> log_request;
  // How often /health's load averages sample the work in flight. Default: 5 s (the SDK's).
  std::chrono::milliseconds load_sample_interval{std::chrono::seconds(5)};
};

// What the server reaches the network and the time through. Left empty: c-ares resolvers, TCP
// transports and the system clock. Tests inject a fake resolver, scripted transports and a fake
// clock, so every route is tested hermetically.
struct CheckerDependencies {
  std::function<Result<std::unique_ptr<Resolver>>(const ResolverOptions&)> make_resolver;
  TransportFactory* transports = nullptr;  // not owned; thread-safe; outlives the server
  const Clock* clock = nullptr;            // not owned; outlives the server
};

// /health's load averages: exponentially weighted moving averages of the work in flight over
// 1, 5 and 15 minutes, as the SDK computes them (alpha = 1 - exp(-interval / window)). Pure.
struct LoadAverages {
  double one = 0;
  double five = 0;
  double fifteen = 0;
};
LoadAverages UpdateLoadAverages(LoadAverages previous, double inflight,
                                std::chrono::milliseconds interval);

class CheckerServer {
 public:
  CheckerServer(CheckerServerOptions options, CheckerDependencies dependencies = {});
  ~CheckerServer();
  CheckerServer(const CheckerServer&) = delete;
  CheckerServer& operator=(const CheckerServer&) = delete;

  // Binds the listen address; returns the error text on failure. port() is then known.
  Status Bind();
  int port() const { return port_; }

  // Serves on a background thread (after Bind()).
  void Start();
  // Stops accepting connections, gives in-flight work up to `grace` to finish (the SDK's
  // shutdownTimeout: 10 s), then cancels what still runs (no new endpoint probe or DNS query
  // starts) and stops. Idempotent.
  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // Blocks until the server has stopped.
  void Wait();

  // Work requests (POST /collect, /definition, /evaluate, /report, /check) in progress.
  std::int64_t inflight() const { return inflight_.load(); }

 private:
  class WorkScope;  // counts one work request in flight
  void RegisterRoutes();
  void SampleLoadUntilStopped();

  const CheckerServerOptions options_;
  const CheckerDependencies dependencies_;
  TcpTransportFactory tcp_transports_;
  TransportFactory& transports_;  // dependencies_.transports, else tcp_transports_
  const Clock& clock_;            // dependencies_.clock, else the system clock
  const SteadyTime started_;
  std::unique_ptr<HttpRoutes> routes_;
  std::unique_ptr<HttpFront> front_;  // serves routes_
  std::thread sampler_thread_;
  int port_ = 0;

  std::atomic<bool> cancelled_{false};  // set after the shutdown grace: probes stop starting
  std::atomic<bool> shut_down_{false};
  std::atomic<std::int64_t> inflight_{0};
  std::atomic<std::uint64_t> total_requests_{0};
  mutable std::mutex load_mutex_;  // guards load_ and stopping_
  std::condition_variable load_wakeup_;
  LoadAverages load_;
  bool stopping_ = false;
};

}  // namespace smtp_exporter
