#include "probes/domain_check.h"

#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>
#include <vector>

#include "probes/mta_sts.h"
#include "probes/smtp_probe.h"

namespace smtp_exporter {
namespace {

// An endpoint that was never probed: what was to be probed, and `status`.
EndpointObservation Unprobed(const EndpointTarget& target, ConnectStatus status) {
  EndpointObservation e;
  e.domain = target.domain;
  e.mx_name = target.mx_name;
  e.ip = target.ip;
  e.port = target.port;
  e.service = target.service;
  e.connect_status = status;
  return e;
}

// An endpoint that was never probed because the exporter is shutting down.
EndpointObservation CancelledEndpoint(const EndpointTarget& target) {
  EndpointObservation e = Unprobed(target, ConnectStatus::kNotAttempted);
  e.session_error = "not probed: the exporter is shutting down";
  return e;
}

// An endpoint not probed because every per-IP connection slot for its address stayed taken (by
// other checks probing the same address) until the check's deadline: the check ran out of
// time, so a timeout, but nothing was sent to the address.
EndpointObservation NoSlotEndpoint(const EndpointTarget& target) {
  EndpointObservation e = Unprobed(target, ConnectStatus::kTimeout);
  e.connect_error = "deadline passed while waiting for a connection slot (other probes of " +
                    target.ip.ToString() +
                    " held every one of per_ip_connections); no connection was made";
  e.failure = ProbeFailure{"connect", FailureReason::kTimeout};
  return e;
}

// An endpoint whose address lies in a denied network: not probed, no connection. kError, so the
// rules report it (smtp.tcp.unreachable) with this text, which names the address and why.
EndpointObservation NotAllowedEndpoint(const EndpointTarget& target, const IpNetwork& network) {
  EndpointObservation e = Unprobed(target, ConnectStatus::kError);
  e.connect_error = "address not allowed: " + target.ip.ToString() + " is in " +
                    network.ToString() +
                    ", a network this exporter is configured not to probe (denied_networks); no "
                    "connection was made";
  e.failure = ProbeFailure{"connect", FailureReason::kNotAllowed};
  return e;
}

const IpNetwork* DeniedBy(const std::vector<IpNetwork>& denied, const IpAddress& ip) {
  for (const IpNetwork& network : denied) {
    if (network.Contains(ip)) {
      return &network;
    }
  }
  return nullptr;
}

// Addresses of one submission host kept at most (A and AAAA each): the submission list is
// bounded (kMaxSubmissionEndpoints) with both ports.
constexpr std::size_t kMaxSubmissionHostAddresses = 16;

// The submission sessions to run (RFC 8314): each configured port on each address of
// `submission_host`, resolved through the check's resolver, or by default on each planned MX
// address. A host without an address sets `obs.submission_host_error` and plans nothing.
std::vector<EndpointTarget> PlanSubmission(const CheckOptions& options,
                                           const DomainCheckSettings& settings,
                                           const Resolver& resolver, const Clock& clock,
                                           DomainObservation& obs) {
  std::vector<std::pair<std::string, IpAddress>> hosts;
  if (!options.submission_host.empty()) {
    const std::vector<DnsAnswer> answers = resolver.Resolve(
        {{options.submission_host, DnsType::kA}, {options.submission_host, DnsType::kAaaa}},
        clock.Now() + settings.dns_budget);
    for (const DnsAnswer& answer : answers) {
      for (std::size_t i = 0; i < answer.addresses.size() && i < kMaxSubmissionHostAddresses; ++i) {
        hosts.emplace_back(options.submission_host, answer.addresses[i]);
      }
    }
    if (hosts.empty()) {
      obs.submission_host_error =
          options.submission_host +
          " has no address (A: " + std::string(DnsStatusName(answers.at(0).status)) +
          ", AAAA: " + std::string(DnsStatusName(answers.at(1).status)) + ")";
    }
  } else {
    for (const PlannedEndpoint& planned : obs.plan.endpoints) {
      hosts.emplace_back(planned.mx_name, planned.ip);
    }
  }
  std::vector<EndpointTarget> targets;
  for (std::uint16_t port : options.submission) {
    for (const auto& [name, ip] : hosts) {
      if (targets.size() < kMaxSubmissionEndpoints) {
        targets.push_back(
            {obs.domain, name, ip, port,
             port == 465 ? EndpointService::kSubmissions : EndpointService::kSubmission});
      }
    }
  }
  return targets;
}

}  // namespace

CheckOptions FitIntoRemainingTime(CheckOptions options, std::chrono::milliseconds left) {
  options.greeting_timeout =
      std::min(options.greeting_timeout, std::max(left - options.timeout, left / 2));
  options.timeout = std::min(options.timeout, left - options.greeting_timeout);
  return options;
}

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
                       settings.dns_limits,
                       options.test_dane ? std::optional<std::uint16_t>(options.port)
                                         : std::nullopt);
    obs.plan = PlanEndpoints(obs.dns, settings.dns_limits.max_endpoints);
  }
  obs.domain = obs.dns.domain.empty() ? domain : obs.dns.domain;
  // Reverse DNS (PTR, FCrDNS) needs only the plan, and no endpoint probe needs its answers, so
  // it runs beside the probes instead of before them: its lookups overlap the SMTP sessions.
  // It writes only obs.dns; the workers read obs.plan and obs.domain and write obs.endpoints.
  // The resolver and clock are thread-safe. A jthread joins on every way out of this function.
  const Deadline reverse_deadline = clock.Now() + settings.dns_budget;
  auto reverse_dns = [&obs, &resolver, &settings, reverse_deadline] {
    ProbeReverseDns(resolver, obs.plan, reverse_deadline, settings.dns_limits, &obs.dns);
  };
  std::jthread reverse;
  try {
    reverse = std::jthread(reverse_dns);
  } catch (const std::system_error&) {
    reverse_dns();  // no thread to be had: before the probes, as it used to run
  }

  // MTA-STS and TLS-RPT (RFC 8461, RFC 8460) need only the domain name: their TXT lookups and
  // the HTTPS policy fetch run beside the probes too, writing only obs.mta_sts and obs.tls_rpt.
  // Not with --endpoint, which checks exactly one endpoint and no DNS of the domain.
  std::jthread policies;
  if (!settings.only_endpoint && (options.test_mta_sts || options.test_tls_rpt)) {
    Deadline policy_deadline = std::chrono::steady_clock::now() + settings.dns_budget +
                               std::min(options.timeout, std::chrono::milliseconds(10000));
    if (settings.deadline) {
      policy_deadline =
          std::min(policy_deadline, std::chrono::steady_clock::now() + (*settings.deadline -
                                                                         clock.Now()));
    }
    auto probe_policies = [&obs, &resolver, &options, &settings, policy_deadline] {
      TransportPolicies found = ProbeTransportPolicies(resolver, obs.domain, options,
                                                       policy_deadline, settings.denied_networks);
      obs.mta_sts = std::move(found.mta_sts);
      obs.tls_rpt = std::move(found.tls_rpt);
    };
    try {
      policies = std::jthread(probe_policies);
    } catch (const std::system_error&) {
      probe_policies();
    }
  }

  CheckOptions endpoint_options = options;
  if (settings.only_endpoint) {
    endpoint_options.port = settings.only_endpoint->port;
  }
  // The MX endpoints, then the submission sessions: one queue, one pool, the same per-IP
  // limiter, denied networks and deadlines.
  std::vector<EndpointTarget> targets;
  for (const PlannedEndpoint& planned : obs.plan.endpoints) {
    targets.push_back({obs.domain, planned.mx_name, planned.ip, endpoint_options.port});
  }
  const std::size_t mx_count = targets.size();
  if (!options.submission.empty()) {
    for (EndpointTarget& target : PlanSubmission(options, settings, resolver, clock, obs)) {
      targets.push_back(std::move(target));
    }
  }
  obs.endpoints.resize(mx_count);
  obs.submission.resize(targets.size() - mx_count);

  // Probe the endpoints with a small pool of workers; each keeps its own deadline (timeout).
  const std::size_t count = targets.size();
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < count; i = next++) {
      const EndpointTarget& target = targets[i];
      EndpointObservation& result = i < mx_count ? obs.endpoints[i] : obs.submission[i - mx_count];
      const std::string ip = target.ip.ToString();
      if (const IpNetwork* denied = DeniedBy(settings.denied_networks, target.ip)) {
        result = NotAllowedEndpoint(target, *denied);
        continue;
      }
      if (settings.shared_sessions != nullptr && !settings.deadline) {
        std::optional<EndpointObservation> shared =
            settings.shared_sessions->Probe(target, endpoint_options, settings.cancelled);
        result = shared ? std::move(*shared) : CancelledEndpoint(target);
        if (shared && settings.on_endpoint_done) {
          settings.on_endpoint_done(result);
        }
        continue;
      }
      // The limiter waits on the real steady clock; the deadline is on `clock`.
      std::optional<std::chrono::steady_clock::time_point> slot_deadline;
      if (settings.deadline) {
        slot_deadline = std::chrono::steady_clock::now() + (*settings.deadline - clock.Now());
      }
      if (settings.ip_limiter != nullptr &&
          !settings.ip_limiter->Acquire(ip, settings.cancelled, slot_deadline)) {
        const bool shut_down = settings.cancelled != nullptr && settings.cancelled->load();
        result = shut_down ? CancelledEndpoint(target) : NoSlotEndpoint(target);
        continue;
      }
      IpConnectionLimiter::Slot slot(settings.ip_limiter, ip);
      if (settings.cancelled != nullptr && settings.cancelled->load()) {
        result = CancelledEndpoint(target);
        continue;
      }
      CheckOptions options_now = endpoint_options;
      if (settings.deadline) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(*settings.deadline - clock.Now());
        if (left <= std::chrono::milliseconds(0)) {
          result = NoSlotEndpoint(target);
          continue;
        }
        options_now = FitIntoRemainingTime(options_now, left);
      }
      result = ProbeEndpoint(transports, clock, target, options_now);
      if (settings.on_endpoint_done) {
        settings.on_endpoint_done(result);
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
  if (reverse.joinable()) {
    reverse.join();
  }
  if (policies.joinable()) {
    policies.join();
  }
  obs.duration_seconds = SecondsBetween(started, clock.Now());
  return obs;
}

}  // namespace smtp_exporter
