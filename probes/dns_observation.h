// Plain data describing the DNS posture of one domain's inbound mail service (the seed's checks
// 1-5, 13, 14 and 18), and the domain-level observation that joins it with the endpoint probes.
// Filled by ProbeDns / RunDomain; read by rules, reports and metrics. Plain value types;
// thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/base/ip_address.h"
#include "probes/observation.h"
#include "probes/policy_observation.h"

namespace smtp_exporter {

// Outcome of one DNS query, with the rcode kept apart from "no records" (RFC 2308 NODATA):
// a resolver failure must never read as "no MX".
enum class DnsStatus {
  kNotQueried,
  kOk,        // NOERROR with records
  kNoData,    // NOERROR, no records of that type
  kNxDomain,  // the name does not exist
  kServFail,
  kRefused,
  kTimeout,
  kError,  // anything else (malformed answer, connection refused, ...)
};

std::string_view DnsStatusName(DnsStatus status);
// True for statuses that mean "the lookup itself failed" (SERVFAIL, REFUSED, timeout, error).
bool IsDnsFailure(DnsStatus status);

struct DnsLookup {
  DnsStatus status = DnsStatus::kNotQueried;
  std::string error;  // resolver text for failures

  // FailedForwardLookup's defaulted == compares this (without it, clang warns that one is
  // deleted).
  friend bool operator==(const DnsLookup&, const DnsLookup&) = default;
};

// One TLSA record (RFC 6698 §2.1): its three parameters and (a bounded part of) its certificate
// association data.
struct TlsaRecord {
  std::uint8_t usage = 0;          // RFC 7218: 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
  std::uint8_t selector = 0;       // 0 Cert, 1 SPKI
  std::uint8_t matching_type = 0;  // 0 Full, 1 SHA2-256, 2 SHA2-512
  std::size_t data_length = 0;     // bytes of association data, as published
  // Lower-case hex of the association data, cut at kMaxTlsaDataShown bytes (a Full(0) record
  // holds a whole certificate).
  std::string data_hex;

  static constexpr std::size_t kMaxTlsaDataShown = 64;
  friend bool operator==(const TlsaRecord&, const TlsaRecord&) = default;
};

// DANE (RFC 7672 §2.2) at one MX host: the TLSA RRset at _PORT._tcp.HOST, looked up through the
// configured resolver with the AD bit set in the query (RFC 6840 §5.7).
struct DaneLookup {
  std::string name;  // "_25._tcp.mx1.example.org"
  DnsLookup lookup;  // kNotQueried: not collected (option off, IP literal, older document)
  std::vector<TlsaRecord> records;  // at most kMaxTlsaRecords
  // The resolver set AD on the answer (RFC 4035 §3.2.3): it validated the records with DNSSEC.
  // Only meaningful from a trusted validating resolver on a secure path (RFC 6698 §4.1,
  // RFC 4035 §4.9.3).
  bool authenticated = false;

  static constexpr std::size_t kMaxTlsaRecords = 16;
};

// One MX record's target and what it resolves to.
struct MxTarget {
  std::uint16_t preference = 0;
  std::string host;                      // as published, without the trailing dot
  bool is_ip_literal = false;            // RFC 5321 §5.1: must be a host name
  std::vector<std::string> cname_chain;  // names the target aliases through (empty: not a CNAME)
  DnsLookup a;
  DnsLookup aaaa;
  std::vector<IpAddress> addresses;  // A then AAAA, in answer order, deduplicated
  DaneLookup tlsa;                   // DANE: the TLSA RRset of this host (RFC 7672 §2.2)
};

// A forward lookup (A or AAAA) of a PTR name that failed, leaving FCrDNS undecided.
struct FailedForwardLookup {
  std::string name;  // the PTR name, without the trailing dot
  DnsLookup lookup;  // its status and the resolver's text

  friend bool operator==(const FailedForwardLookup&, const FailedForwardLookup&) = default;
};

// Reverse DNS of one endpoint address.
struct ReverseDns {
  IpAddress ip;
  DnsLookup ptr;
  std::vector<std::string> ptr_names;  // without trailing dots
  // FCrDNS: some PTR name's A/AAAA contains ip. nullopt when it could not be decided (no PTR
  // or a lookup failure).
  std::optional<bool> fcrdns_ok;
  std::string fcrdns_name;  // the PTR name that confirmed it
  std::vector<FailedForwardLookup> fcrdns_failures;
};

struct DnsObservation {
  std::string domain;
  DnsLookup mx;                      // the MX query of the domain
  std::vector<MxTarget> mx_targets;  // sorted by preference, then host
  bool null_mx = false;              // RFC 7505: a single "0 ." record
  bool null_mx_mixed = false;        // "0 ." next to other MX records (RFC 7505 §3: MUST NOT)
  // No MX RRset: RFC 5321 §5.1 falls back to the domain's own A/AAAA (the implicit MX).
  bool implicit_mx = false;
  DnsLookup implicit_a;
  DnsLookup implicit_aaaa;
  std::vector<IpAddress> implicit_addresses;  // the domain's own A then AAAA
  std::vector<ReverseDns> reverse;            // one per distinct endpoint address
  double duration_seconds = 0;
  // The DNS phase ran out of time before every lookup finished.
  bool timed_out = false;

  const ReverseDns* FindReverse(const IpAddress& ip) const {
    for (const auto& r : reverse) {
      if (r.ip == ip) {
        return &r;
      }
    }
    return nullptr;
  }
};

// One endpoint to probe: an address of an MX target (or of the domain, for an implicit MX).
struct PlannedEndpoint {
  std::string mx_name;
  std::uint16_t preference = 0;
  IpAddress ip;
  // Another MX host of the same domain already maps to this address; it is probed once, under
  // the first (lowest preference) name, and this lists the other names.
  std::vector<std::string> also_named;
};

struct EndpointPlan {
  std::vector<PlannedEndpoint> endpoints;
  // Endpoints left out because the plan reached its cap (a hostile zone cannot fan out).
  std::size_t dropped_over_cap = 0;
};

// Bound on DomainObservation::submission: two ports on at most 32 addresses.
inline constexpr std::size_t kMaxSubmissionEndpoints = 64;

// Everything one check of one domain saw.
struct DomainObservation {
  std::string domain;
  double started_at_unix = 0;
  double duration_seconds = 0;
  DnsObservation dns;
  EndpointPlan plan;
  std::vector<EndpointObservation> endpoints;  // same order as plan.endpoints
  // The message submission sessions (option `submission`, RFC 8314): one per (address, port),
  // kSubmission (587) or kSubmissions (465), kept apart from the MX endpoints so that the port
  // 25 rules and series never see them. Empty when the option is off. At most
  // kMaxSubmissionEndpoints.
  std::vector<EndpointObservation> submission;
  // Set when the configured submission_host had no address to probe (why, from its A and
  // AAAA lookups); the submission list is then empty.
  std::string submission_host_error;
  // RFC 8461 / RFC 8460 policy records; nullopt when not collected (option or rule off, or a
  // document from before they were).
  std::optional<MtaStsObservation> mta_sts;
  std::optional<TlsRptObservation> tls_rpt;
};

}  // namespace smtp_exporter
