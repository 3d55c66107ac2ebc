// Resolver: runs a batch of DNS queries concurrently and reports, per query, the rcode class
// and the records. AresResolver implements it on c-ares 1.18, which has no event thread: each
// Resolve() call opens one channel, drives it with ares_getsock/poll/ares_process_fd until every
// query is answered or the deadline passes, and destroys it.
//
// Thread safety: Resolve() is const and keeps no state between calls, so one AresResolver may
// be shared by any number of threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/base/clock.h"
#include "config/base/ip_address.h"
#include "config/base/result.h"
#include "probes/dns_observation.h"

namespace smtp_exporter {

// kTlsa (RFC 6698): sent with the AD bit set, so a validating resolver says whether it
// validated the answer (RFC 6840 §5.7); the answer's AD bit lands in DnsAnswer::authenticated.
enum class DnsType { kA, kAaaa, kMx, kPtr, kTxt, kTlsa };

struct DnsQuery {
  std::string name;  // absolute, with or without the trailing dot
  DnsType type = DnsType::kA;
  // kPtr: the address asked about (name is its ReverseName); the reply parser needs its bytes.
  std::optional<IpAddress> address = std::nullopt;

  // The PTR query of `ip`: under in-addr.arpa or ip6.arpa.
  static DnsQuery Ptr(const IpAddress& ip);

  friend bool operator==(const DnsQuery&, const DnsQuery&) = default;
};

struct MxRecord {
  std::uint16_t preference = 0;
  std::string host;  // "" for the RFC 7505 null MX "."
};

struct DnsAnswer {
  DnsStatus status = DnsStatus::kNotQueried;
  std::string error;
  std::vector<IpAddress> addresses;      // kA / kAaaa
  std::vector<std::string> cname_chain;  // kA / kAaaa: the query name and each alias it went
                                         // through, before the canonical name (empty if none)
  std::vector<MxRecord> mx;              // kMx
  std::vector<std::string> names;        // kPtr
  // kTxt: each record's character-strings joined (RFC 7208 §3.3, RFC 8461 §3.1 read a record
  // that way); at most kMaxTxtRecords records of at most kMaxTxtBytes each, longer ones cut.
  std::vector<std::string> txt;
  std::vector<TlsaRecord> tlsa;          // kTlsa: at most DaneLookup::kMaxTlsaRecords
  bool authenticated = false;            // kTlsa: the AD bit of the reply header
};

// Bounds on what a TXT answer keeps (the answer is untrusted network data).
inline constexpr std::size_t kMaxTxtRecords = 32;
inline constexpr std::size_t kMaxTxtBytes = 4096;

class Resolver {
 public:
  virtual ~Resolver() = default;
  // Answers[i] belongs to queries[i]. Queries still unanswered at `deadline` get kTimeout.
  virtual std::vector<DnsAnswer> Resolve(const std::vector<DnsQuery>& queries,
                                         Deadline deadline) const = 0;
};

struct ResolverOptions {
  // The servers to ask, in order. Empty: the system's resolvers from /etc/resolv.conf.
  std::vector<HostPort> servers;
  // Per-try timeout of one query. Default: 2 s.
  std::chrono::milliseconds query_timeout{2000};
  // Tries per server before a query fails. Default: 2.
  int tries = 2;
  // Optional; once true, Resolve() gives up within ~200 ms (shutdown). Must outlive the
  // resolver.
  const std::atomic<bool>* cancelled = nullptr;
};

// The production resolver factory (AresResolver::Create as a Resolver), the default of every
// front-end's make_resolver dependency.
Result<std::unique_ptr<Resolver>> MakeAresResolver(const ResolverOptions& options);

class AresResolver final : public Resolver {
 public:
  // Validates the options (tries, timeout) and initialises c-ares once per process.
  static Result<std::unique_ptr<AresResolver>> Create(const ResolverOptions& options);

  std::vector<DnsAnswer> Resolve(const std::vector<DnsQuery>& queries,
                                 Deadline deadline) const override;

 private:
  AresResolver(ResolverOptions options, std::string servers_csv)
      : options_(std::move(options)), servers_csv_(std::move(servers_csv)) {}
  ResolverOptions options_;
  std::string servers_csv_;  // for ares_set_servers_ports_csv; empty: system resolvers
};

// Reads the raw DNS reply to `query` (c-ares's answer buffer: untrusted network bytes) into
// `answer`: status, records, CNAME chain. What AresResolver does with every reply; a function of
// its own so the DNS answer fuzz target (tests/fuzz/) runs exactly that code. Pure; thread-safe.
void ParseDnsAnswer(const DnsQuery& query, const unsigned char* buffer, int length,
                    DnsAnswer* answer);

// "2.0.0.127.in-addr.arpa" / nibble form under "ip6.arpa" (RFC 1035 §3.5, RFC 3596 §2.5).
std::string ReverseName(const IpAddress& ip);

}  // namespace smtp_exporter
