// Hand-built observations for unit tests and benchmarks of everything downstream of the probes
// (rules, metrics, reports): a healthy endpoint, a healthy domain and the DNS pieces around
// them, the usual ways to break an endpoint, and the check result the rules draw from an
// observation. Each test starts from a known-good observation and breaks exactly what it is
// about; the fixtures of the HTML report tests, the metrics tests and the overview benchmark
// are all built here. Plain functions (no gtest); thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "exporter/check/check.h"
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

// One MX host of a fixture domain.
struct FixtureMx {
  std::uint16_t preference = 10;
  std::string host;
  std::vector<std::string> ips;
};

// A domain whose MX hosts pass everything: the MX lookup answered `hosts`, every address has a
// PTR naming its MX host with FCrDNS confirmed, and one planned and one HealthyEndpoint per
// address, in MX order then address order. Its times are left at 0 for the caller to set.
DomainObservation HealthyDomain(const std::string& domain, const std::vector<FixtureMx>& hosts);

// Turns `e` into an endpoint that does not offer STARTTLS: the healthy EHLO minus STARTTLS,
// no TLS session, the transaction probes in plaintext.
void WithoutStartTls(EndpointObservation* e);

// An endpoint whose connection failed with `status` (a timeout, a refusal) and `error`: nothing
// else was observed.
EndpointObservation UnreachableEndpoint(const std::string& domain, const std::string& mx,
                                        const char* ip, ConnectStatus status, std::string error);

// A submission endpoint (RFC 8314) that passes smtp.submission: on 587 (kSubmission) EHLO
// without AUTH, STARTTLS, then AUTH PLAIN LOGIN over TLS; on 465 (kSubmissions) implicit TLS,
// then AUTH PLAIN LOGIN. No transaction probes (a submission session sends none).
EndpointObservation HealthySubmission(const std::string& domain, const std::string& host,
                                      const char* ip, std::uint16_t port);

// The HELO name every fixture check uses.
CheckOptions FixtureOptions();

// What a check concludes from `obs` (EvaluateObservation with FixtureOptions and the default
// rules): the fixture results the renderers are tested and measured with.
CheckResult EvaluatedFixture(DomainObservation obs);

}  // namespace smtp_exporter::testing
