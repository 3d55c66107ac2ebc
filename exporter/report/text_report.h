// Human-readable rendering of observations and findings for the `check` command. Pure;
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "exporter/check/findings.h"
#include "probes/dns_observation.h"
#include "probes/observation.h"

namespace smtp_exporter {

// Multi-line text: connection, greeting, EHLO, extensions (plain and TLS), STARTTLS, the three
// transaction probes with their replies, phase timings and the verbatim transcript.
std::string RenderEndpointText(const EndpointObservation& endpoint);

// The DNS posture: MX set with preferences and addresses, null/implicit MX, CNAME and IP-literal
// targets, each MX host's TLSA records (DANE, when collected), PTR and FCrDNS per address.
std::string RenderDnsText(const DnsObservation& dns);

// The transport-security policies, when collected: the MTA-STS record and policy (RFC 8461)
// and the TLS-RPT record (RFC 8460). "" when neither was.
std::string RenderPoliciesText(const DomainObservation& domain);

// The whole check, in the order an operator reads it: status line, what to fix, DNS,
// transport-security policies, one section per endpoint, passed checks. With `color`, the status, headings and severity labels
// carry ANSI colours (for a terminal); server text is escaped either way.
std::string RenderDomainText(const DomainObservation& domain, const std::vector<Finding>& findings,
                             Severity status, bool color = false);

}  // namespace smtp_exporter
