// The DNS side of a domain check (the seed's checks 1-5, 13 and 14): the MX set, null MX,
// IP-literal and CNAME targets, target addresses, the implicit MX, then PTR and FCrDNS of every
// planned endpoint address. Lookups of one stage run concurrently through the Resolver.
// Pure functions over the Resolver; thread-safe when the Resolver is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "config/base/clock.h"
#include "probes/dns_observation.h"
#include "probes/resolver.h"

namespace smtp_exporter {

struct DnsProbeLimits {
  // MX targets looked up; a zone publishing more is judged on the first ones by preference.
  // Default: 16.
  std::size_t max_mx_targets = 16;
  // Endpoints planned per domain, so a hostile zone cannot fan our probes out. Default: 32.
  std::size_t max_endpoints = 32;
  // PTR names per address checked for FCrDNS. Default: 4.
  std::size_t max_ptr_names = 4;
};

// MX, target A/AAAA (with CNAME chains) and, with no MX RRset, the implicit MX addresses. With
// `tlsa_port`, also each MX target's TLSA RRset at _PORT._tcp.HOST (DANE, RFC 7672 §2.2), in
// the same batch as its A/AAAA; without it, no TLSA query is sent.
DnsObservation ProbeDns(const Resolver& resolver, const Clock& clock, const std::string& domain,
                        Deadline deadline, const DnsProbeLimits& limits = {},
                        std::optional<std::uint16_t> tlsa_port = std::nullopt);

// One endpoint per distinct address, in MX preference order (RFC 5321 §5.1), IPv4 and IPv6;
// an address shared by several MX names is probed once. Pure.
EndpointPlan PlanEndpoints(const DnsObservation& dns, std::size_t max_endpoints);

// PTR for every planned address, then the A/AAAA of each PTR name for FCrDNS (RFC 8601 §3's
// "iprev" and the large receivers' policies). Fills dns->reverse.
void ProbeReverseDns(const Resolver& resolver, const EndpointPlan& plan, Deadline deadline,
                     const DnsProbeLimits& limits, DnsObservation* dns);

}  // namespace smtp_exporter
