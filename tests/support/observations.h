// Hand-built observations for unit tests of everything downstream of the probes (rules,
// metrics, reports): a healthy endpoint and the DNS pieces around it, so each test starts from
// a known-good observation and breaks exactly what it is about. Plain functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "probes/dns_observation.h"
#include "probes/observation.h"

namespace smtp_exporter::testing {

// Parses an address the test knows to be valid.
IpAddress Ip(const char* text);

// An MX target with A (and AAAA when an IPv6 address is given) answering with `ips`.
MxTarget Mx(std::uint16_t preference, const char* host, std::vector<const char*> ips);

// Reverse DNS of `ip`: PTR `names` with `status`; FCrDNS confirmed by the first name if
// `fcrdns_ok` is true.
ReverseDns Reverse(const char* ip, DnsStatus status, std::vector<std::string> names,
                   std::optional<bool> fcrdns_ok);

// Appends one planned endpoint per address of every MX target.
void Plan(DomainObservation* obs);

// An endpoint that greeted, spoke ESMTP, completed STARTTLS (TLSv1.3) and answered every probe
// as it should: null sender and postmaster accepted, relaying refused.
EndpointObservation HealthyEndpoint(const std::string& domain, const std::string& mx,
                                    const char* ip);

}  // namespace smtp_exporter::testing
