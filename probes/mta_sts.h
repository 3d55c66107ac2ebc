// MTA-STS (RFC 8461) and TLS-RPT (RFC 8460): the parsers of their TXT records and of the
// MTA-STS policy file, the MX pattern match of RFC 8461 §4.1, the HTTPS policy fetch, and
// ProbeTransportPolicies, which collects both into the observation.
//
// The parsers and the match are pure functions of untrusted text: bounded, never throwing
// (each has a fuzz target in tests/fuzz/). FetchMtaStsPolicy and ProbeTransportPolicies do
// network I/O through the caller's Resolver (never the system resolver) and keep no state, so
// they are thread-safe when the resolver is.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/base/clock.h"
#include "config/base/ip_address.h"
#include "config/base/result.h"
#include "config/check_options.h"
#include "probes/policy_observation.h"
#include "probes/resolver.h"

namespace smtp_exporter {

// RFC 8461 §3.2: policies larger than 64 KiB are not read further.
inline constexpr std::size_t kMaxPolicyBytes = 64 * 1024;
// RFC 8461 §3.2: max_age is at most 31557600 (about a year).
inline constexpr std::int64_t kMaxPolicyMaxAge = 31557600;
// MX patterns kept from one policy (a hostile file cannot grow the observation further).
inline constexpr std::size_t kMaxPolicyMxPatterns = 64;

// The `_mta-sts` record (RFC 8461 §3.1): "v=STSv1; id=<1-32 alphanumerics>" with optional
// further "key=value" fields. Returns the id, or why the record is not valid.
Result<std::string> ParseMtaStsRecord(std::string_view record);

// The records of `records` whose version field (their first) is `version`, e.g. "v=STSv1"
// (not "v=STSv10"): RFC 8461 §3.1 and RFC 8460 §3 discard the others.
std::vector<std::string_view> RecordsWithVersion(const std::vector<std::string>& records,
                                                 std::string_view version);

// Of a name's TXT records, those that start with "v=STSv1" (RFC 8461 §3.1: the others are
// discarded); exactly one must remain. Returns its id, or why not ("no v=STSv1 record",
// "2 v=STSv1 records", the syntax error).
Result<std::string> SelectMtaStsRecord(const std::vector<std::string>& records);

// The policy file (RFC 8461 §3.2): "key: value" lines ending in CRLF (LF accepted) with the
// keys version (STSv1), mode (enforce/testing/none), max_age (0-31557600) and mx (once per
// pattern; at least one unless mode is none). Unknown keys are ignored, as §3.2 requires.
Result<MtaStsPolicy> ParseMtaStsPolicy(std::string_view body);

// RFC 8461 §4.1: `host` (an MX host name) matches `pattern` case-insensitively; a pattern
// "*.example.com" matches exactly one further leftmost label ("mx.example.com", not
// "example.com" nor "a.b.example.com"). Trailing dots are ignored on both.
bool MxPatternMatches(std::string_view pattern, std::string_view host);

// The `_smtp._tls` record (RFC 8460 §3): "v=TLSRPTv1; rua=<uri>[,<uri>...]" where each URI is
// mailto: or https:. Returns the URIs, or why the record is not valid.
Result<std::vector<std::string>> ParseTlsRptRecord(std::string_view record);

// As SelectMtaStsRecord, for "v=TLSRPTv1" records (RFC 8460 §3: exactly one).
Result<std::vector<std::string>> SelectTlsRptRecord(const std::vector<std::string>& records);

struct PolicyFetchSettings {
  // TCP port of the policy host. Default: 443 (RFC 8461 §3.3); others are for labs.
  std::uint16_t port = 443;
  // PEM file of the CAs trusted for the policy host's certificate. Empty: the system's bundle.
  std::string ca_file;
  // Connect and read bounds (each), inside the overall deadline. Default: 10 s.
  std::chrono::milliseconds timeout{10000};
};

// Fetches https://<host>/.well-known/mta-sts.txt (RFC 8461 §3.3) from `address` (resolved by
// the caller), with SNI, Host and certificate verification against `host`. No redirects, only
// 200, media type text/plain, at most kMaxPolicyBytes. Fills the fetch fields of `out`.
void FetchMtaStsPolicy(const std::string& host, const IpAddress& address,
                       const PolicyFetchSettings& settings, MtaStsObservation* out);

// Collects what options.test_mta_sts / test_tls_rpt ask for (nothing when both are off):
// the TXT records, then, for a valid MTA-STS record, the policy host's addresses through
// `resolver` and the policy itself. Everything ends by `deadline`. A policy host address in
// `denied` (the check's denied_networks, as for the SMTP endpoints) is never connected to: a
// /probe caller must not reach internal HTTPS services through a domain's mta-sts name.
struct TransportPolicies {
  std::optional<MtaStsObservation> mta_sts;
  std::optional<TlsRptObservation> tls_rpt;
};
TransportPolicies ProbeTransportPolicies(const Resolver& resolver, const std::string& domain,
                                         const CheckOptions& options, Deadline deadline,
                                         const std::vector<IpNetwork>& denied = {});

}  // namespace smtp_exporter
