#include "probes/domain_check.h"

#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>
#include <vector>

#include "probes/smtp_probe.h"

namespace smtp_exporter {
namespace {

// An endpoint that was never probed because the exporter is shutting down.
EndpointObservation CancelledEndpoint(const EndpointTarget& target) {
  EndpointObservation e;
  e.domain = target.domain;
  e.mx_name = target.mx_name;
  e.ip = target.ip;
  e.port = target.port;
  e.connect_status = ConnectStatus::kNotAttempted;
  e.session_error = "not probed: the exporter is shutting down";
  return e;
}

}  // namespace

DomainObservation CheckDomain(const std::string& domain, const CheckOptions& options,
                              const DomainCheckSettings& settings, const Resolver& resolver,
                              TransportFactory& transports, const Clock& clock) {
  DomainObservation obs;
  const SteadyTime started = clock.Now();
  obs.started_at_unix = std::chrono::duration<double>(clock.WallNow().time_since_epoch()).count();

  if (settings.only_endpoint) {
    obs.dns.domain = domain;
    obs.plan.endpoints.push_back(
        {settings.only_endpoint_mx_name, 0, settings.only_endpoint->ip, {}});
  } else {
    obs.dns = ProbeDns(resolver, clock, domain, clock.Now() + settings.dns_budget,
                       settings.dns_limits);
    obs.plan = PlanEndpoints(obs.dns, settings.dns_limits.max_endpoints);
  }
  obs.domain = obs.dns.domain.empty() ? domain : obs.dns.domain;
  ProbeReverseDns(resolver, obs.plan, clock.Now() + settings.dns_budget, settings.dns_limits,
                  &obs.dns);

  // Probe the endpoints with a small pool of workers; each keeps its own deadline (timeout).
  const std::size_t count = obs.plan.endpoints.size();
  obs.endpoints.resize(count);
  CheckOptions endpoint_options = options;
  if (settings.only_endpoint) {
    endpoint_options.port = settings.only_endpoint->port;
  }
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < count; i = next++) {
      const PlannedEndpoint& planned = obs.plan.endpoints[i];
      const EndpointTarget target{obs.domain, planned.mx_name, planned.ip, endpoint_options.port};
      const std::string ip = planned.ip.ToString();
      if (settings.ip_limiter != nullptr && !settings.ip_limiter->Acquire(ip, settings.cancelled)) {
        obs.endpoints[i] = CancelledEndpoint(target);
        continue;
      }
      IpConnectionLimiter::Slot slot(settings.ip_limiter, ip);
      if (settings.cancelled != nullptr && settings.cancelled->load()) {
        obs.endpoints[i] = CancelledEndpoint(target);
        continue;
      }
      obs.endpoints[i] = ProbeEndpoint(transports, clock, target, endpoint_options);
      if (settings.on_endpoint_done) {
        settings.on_endpoint_done(obs.endpoints[i]);
      }
    }
  };
  const std::size_t workers =
      std::min(count, std::max<std::size_t>(1, settings.endpoint_concurrency));
  std::vector<std::thread> pool;
  try {
    for (std::size_t w = 1; w < workers; ++w) {
      pool.emplace_back(worker);
    }
  } catch (const std::system_error&) {
    // No more threads to be had: the ones started (and this one) share the work.
  }
  worker();  // the calling thread works too
  for (auto& thread : pool) {
    thread.join();
  }
  obs.duration_seconds = SecondsBetween(started, clock.Now());
  return obs;
}

}  // namespace smtp_exporter
