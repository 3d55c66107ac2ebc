// Config: the daemon's configuration, read from a YAML file (see examples/smtp_exporter.yml).
// Loading starts from the defaults documented below, validates every value strictly and
// returns either a complete Config, in which every domain already has the global defaults
// merged under its own overrides, or the first problem found as a one-line Error
// (kInvalidArgument "file:line:column: what is wrong", or kIo "file: cannot read: why").
// No exception leaves this module.
//
// Thread safety: Config and DomainConfig are plain values. LoadConfigFile() and
// ParseConfig() keep no shared state, so any number of threads may call them at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "config/base/ip_address.h"
#include "config/base/result.h"
#include "config/check_options.h"

namespace smtp_exporter {

// One domain to check, with the global defaults already merged under its own keys.
struct DomainConfig {
  // The mail domain, lower case, without a trailing dot.
  std::string name;

  // Per-check options: the global ones, overridden by the domain's own keys.
  CheckOptions options;

  // Empty: the system resolver. Default: the global dns_servers.
  std::vector<HostPort> dns_servers;

  // How often the domain is checked. Default: the global interval.
  std::chrono::milliseconds interval{std::chrono::minutes(5)};
};

// The networks /probe never connects to unless the config says otherwise (probe:
// denied_networks): anyone who can reach the exporter's port can name a domain whose MX points
// into the exporter's own networks and make it talk SMTP there (issue #18). Loopback, "this
// network", private (RFC 1918), carrier-grade NAT (RFC 6598), link-local (RFC 3927, RFC 4291),
// unique-local (RFC 4193), multicast, the IPv4 reserved block and the unspecified address
// (RFC 6890's registries). Documentation ranges (RFC 5737, RFC 3849) stay allowed: nothing
// routes them.
std::vector<IpNetwork> DefaultProbeDeniedNetworks();

// What a /probe request may do (the "probe:" section).
struct ProbeConfig {
  // /probe never connects to an address in these networks: such an endpoint is reported as
  // "address not allowed", naming the address and the network. [] allows every address.
  // Default: DefaultProbeDeniedNetworks().
  std::vector<IpNetwork> denied_networks = DefaultProbeDeniedNetworks();

  // Check options (their YAML keys, e.g. helo_name, test_probe_address) a /probe request may
  // not set: the config's values are used and a request naming one gets a 400, so a caller
  // cannot choose the name announced in EHLO or the recipient of the relay probe.
  // Default: none.
  std::vector<std::string> pinned_options;

  // Which domains /probe may check. Both unset (the default): any domain, as
  // blackbox_exporter. Otherwise only a domain that matches an `allowed_domains` entry, or
  // (with `only_configured_domains`) is one of the config's domains; others get a 403 and
  // nothing is resolved or probed. Entries are normalised names: "example.org" (that domain)
  // or "*.example.org" (any domain below it, not example.org itself).
  bool only_configured_domains = false;
  std::vector<std::string> allowed_domains;
};

// Whether `probe` lets /probe check `name` (normalised, as NormaliseHostName gives it);
// `configured`: whether `name` is one of the config's domains.
bool ProbeAllowsDomain(const ProbeConfig& probe, const std::string& name, bool configured);

// Which optional series the fleet /metrics carries per endpoint (the "metrics:" section). Both
// are off by default: measured on a 10 000-domain fleet they were 26 of every endpoint's 33
// series (19 smtp_extension keywords, 7 phases), most of a /metrics too large to scrape. The
// per-domain views (/metrics?domain=, /probe, the checker mode) always carry every series.
struct MetricsDetail {
  // smtp_extension: one series per EHLO keyword and stage. Default: false.
  bool extensions = false;
  // smtp_phase_duration_seconds for each phase; phase="total" is always exported. Default: false.
  bool phase_durations = false;
  static MetricsDetail Full() { return {true, true}; }
  friend bool operator==(const MetricsDetail&, const MetricsDetail&) = default;
};

struct Config {
  // How often each domain is checked. Default: 5m.
  std::chrono::milliseconds interval{std::chrono::minutes(5)};

  // Each check after the first is due interval ± jitter (uniformly) after the previous one
  // ended, so that checks of many domains drift apart instead of starting together; at most
  // half of every interval. Default: 30s, or a tenth of the shortest interval (global or per
  // domain) when that is less.
  std::chrono::milliseconds jitter{std::chrono::seconds(30)};

  // Domains checked at once. Default: 16.
  std::size_t concurrency = 16;

  // Endpoints (MX host, IP address) of one domain probed at once. Default: 4.
  std::size_t endpoint_concurrency = 4;

  // Simultaneous connections to one MX IP address across all domains. Default: 2.
  std::size_t per_ip_connections = 2;

  // Most domains whose scheduled checks share one session (SharedSessions): probes of one
  // address (and MX name, service, with the same options) waiting at the same time ask the
  // connection-level questions once and each domain's postmaster in the same transactions
  // (a submission session, which asks nothing per domain, serves each of them whole).
  // 1: every domain its own session. At most kMaxDomainsPerSession. Default: 99.
  std::size_t domains_per_session = kMaxDomainsPerSession;

  // DNS servers as "IP", "IP:PORT", "IPv6" or "[IPv6]:PORT" literals. Default: empty, i.e. the
  // system resolver (/etc/resolv.conf).
  std::vector<HostPort> dns_servers;

  // Scheduled checks never connect to an address in these networks (an "address not allowed"
  // endpoint instead). Default: none; the operator chose the domains.
  std::vector<IpNetwork> denied_networks;

  // Per-try timeout of one DNS query. Default: 2s.
  std::chrono::milliseconds dns_timeout{std::chrono::seconds(2)};

  // Per-check defaults of every domain (timeout, helo_name, port, test_*). helo_name defaults
  // to DefaultHeloName() when the file does not set it.
  CheckOptions defaults;

  // /probe's limits (the "probe:" section).
  ProbeConfig probe;

  // Optional per-endpoint series of the fleet /metrics (the "metrics:" section).
  MetricsDetail metrics;

  // The domains to check, in file order, names unique. May be empty: the daemon then serves
  // /probe only.
  std::vector<DomainConfig> domains;
};

// Reads and parses the file at `path`; the path is the error messages' source name.
Result<Config> LoadConfigFile(const std::string& path);

// Parses `yaml_text`; `source_name` (a file name, "<flag>", ...) prefixes error messages.
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& source_name);

}  // namespace smtp_exporter
