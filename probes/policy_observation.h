// Plain data describing a domain's published transport-security policies: MTA-STS (RFC 8461:
// the `_mta-sts` TXT record and the HTTPS policy it announces) and TLS-RPT (RFC 8460: the
// `_smtp._tls` TXT record). Filled by ProbeTransportPolicies (probes/mta_sts.h); read by the
// rules smtp.mta_sts and smtp.tls_rpt, reports and metrics. Plain value types;
// thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/base/ip_address.h"

namespace smtp_exporter {

// Defined in probes/dns_observation.h, which includes this header; declared here (a scoped
// enum's opaque declaration is a complete type) so the two headers do not include each other.
enum class DnsStatus;

// RFC 8461 §5: what a sender does with a policy's MX set.
enum class MtaStsMode { kEnforce, kTesting, kNone };

std::string_view MtaStsModeName(MtaStsMode mode);
std::optional<MtaStsMode> ParseMtaStsMode(std::string_view name);

// A parsed MTA-STS policy file (RFC 8461 §3.2).
struct MtaStsPolicy {
  MtaStsMode mode = MtaStsMode::kNone;
  std::vector<std::string> mx;  // the patterns as published ("mail.example.com", "*.example.net")
  std::int64_t max_age_seconds = 0;

  friend bool operator==(const MtaStsPolicy&, const MtaStsPolicy&) = default;
};

// How the policy fetch ended (RFC 8461 §3.3). Bounded: a metric label and a JSON enum.
enum class PolicyFetchStatus {
  kNotAttempted,   // no valid record, so no fetch (or the check is off)
  kOk,             // 200, text/plain, parsed
  kResolveFailed,  // mta-sts.<domain> has no address (or its lookup failed)
  kConnectFailed,  // no TCP connection to any address
  kTlsFailed,      // handshake failed or the certificate did not verify for the host name
  kHttpStatus,     // an answer other than 200 (3xx included: §3.3 forbids following redirects)
  kMediaType,      // not text/plain
  kTooLarge,       // the body exceeded the size cap
  kTimeout,        // the deadline passed
  kError,          // anything else the HTTP client reported
  kInvalid,        // fetched, but the body is not a valid policy
};

std::string_view PolicyFetchStatusName(PolicyFetchStatus status);
std::optional<PolicyFetchStatus> ParsePolicyFetchStatus(std::string_view name);

// One TXT lookup as the policy probes keep it: the status and the records.
struct TxtLookupResult {
  DnsStatus status{};                // DnsStatus's first value, kNotQueried
  std::string error;                 // the resolver's text, for failures
  std::vector<std::string> records;  // every TXT record of the name (bounded by the resolver)

  friend bool operator==(const TxtLookupResult&, const TxtLookupResult&) = default;
};

struct MtaStsObservation {
  TxtLookupResult record_lookup;  // _mta-sts.<domain> TXT
  std::size_t record_count = 0;   // records starting with v=STSv1 (one is required)
  // Empty when exactly one record starts with "v=STSv1" and it parses; otherwise why not
  // ("no record", "2 records", the syntax error). Meaningful only when the lookup answered.
  std::string record_error;
  std::string record_id;  // the record's id= when it parsed

  // The fetch of https://mta-sts.<domain>/.well-known/mta-sts.txt.
  std::string policy_host;  // mta-sts.<domain>
  PolicyFetchStatus fetch_status = PolicyFetchStatus::kNotAttempted;
  std::string fetch_error;                  // what failed, for a person
  int http_status = 0;                      // 0: no HTTP answer
  std::optional<IpAddress> policy_address;  // the address the fetch connected to last
  std::string policy_body;                  // as fetched (bounded by the size cap)
  std::optional<MtaStsPolicy> policy;       // when fetch_status is kOk
  double fetch_seconds = 0;

  friend bool operator==(const MtaStsObservation&, const MtaStsObservation&) = default;
};

struct TlsRptObservation {
  TxtLookupResult record_lookup;  // _smtp._tls.<domain> TXT
  std::size_t record_count = 0;   // records starting with v=TLSRPTv1 (one is required)
  std::string record_error;       // empty when exactly one v=TLSRPTv1 record parses
  std::vector<std::string> rua;   // its reporting URIs when it parsed

  friend bool operator==(const TlsRptObservation&, const TlsRptObservation&) = default;
};

}  // namespace smtp_exporter
