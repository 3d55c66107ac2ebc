// CheckDomain: one full check of one domain, as the seed describes it: DNS posture, the endpoint
// plan, then every endpoint probed on port 25, several at once (bounded), on sessions of its
// own or shared with other domains' checks (settings.shared_sessions), while a thread of its
// own looks up the reverse DNS of every planned address. Returns plain data; judging it is the
// rules' job.
// Thread-safe: concurrent calls share nothing but the (thread-safe) resolver, factory and clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/check_options.h"
#include "config/base/clock.h"
#include "probes/dns_observation.h"
#include "probes/dns_probe.h"
#include "config/base/ip_address.h"
#include "probes/ip_limiter.h"
#include "probes/resolver.h"
#include "probes/shared_sessions.h"
#include "probes/transport.h"

namespace smtp_exporter {

struct DomainCheckSettings {
  // Endpoints of one domain probed at the same time. Default: 4.
  std::size_t endpoint_concurrency = 4;
  DnsProbeLimits dns_limits;
  // Budget for each DNS stage (MX + targets, then PTR + FCrDNS). Default: 10 s.
  std::chrono::milliseconds dns_budget{10000};
  // Probe exactly this endpoint instead of the MX set (the CLI's --endpoint): no MX lookup,
  // but PTR and FCrDNS are still checked for its address.
  std::optional<HostPort> only_endpoint;
  std::string only_endpoint_mx_name;
  // Politeness across domains: at most N probes of one IP at a time. Optional.
  IpConnectionLimiter* ip_limiter = nullptr;
  // Sessions shared with other domains' checks (the daemon's scheduled checks): the MX and
  // submission probes go through it, and it takes the per-IP slots itself (with its own
  // limiter). Not used with a deadline (a /probe answers within its scrape budget, on a
  // session of its own). Optional.
  SharedSessions* shared_sessions = nullptr;
  // The end of the whole check on `clock` (a /probe's scrape budget). An endpoint that gets no
  // per-IP slot before then is not probed (a timeout, no connection), and no endpoint probe
  // runs past it. Default: none; scheduled checks wait for their slot.
  std::optional<SteadyTime> deadline;
  // Addresses never connected to: an endpoint in one of these networks is reported as "address
  // not allowed", naming it, and nothing is sent to it. Default: none.
  std::vector<IpNetwork> denied_networks;
  // Set to true to stop starting new endpoint probes (shutdown). Optional.
  const std::atomic<bool>* cancelled = nullptr;
  // Called (from worker threads) as each endpoint finishes, e.g. for progress output.
  std::function<void(const EndpointObservation&)> on_endpoint_done;
};

DomainObservation CheckDomain(const std::string& domain, const CheckOptions& options,
                              const DomainCheckSettings& settings, const Resolver& resolver,
                              TransportFactory& transports, const Clock& clock);

// The endpoint probe's bounds when only `left` (> 0) remains of the check's deadline. The
// greeting's wait does not count in `timeout`, so the two share `left`: unchanged while both
// fit; otherwise the commands keep `timeout` as long as the greeting still gets half, and below
// that each gets at most half.
CheckOptions FitIntoRemainingTime(CheckOptions options, std::chrono::milliseconds left);

}  // namespace smtp_exporter
