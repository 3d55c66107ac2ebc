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

  // DNS servers as "IP", "IP:PORT", "IPv6" or "[IPv6]:PORT" literals. Default: empty, i.e. the
  // system resolver (/etc/resolv.conf).
  std::vector<HostPort> dns_servers;

  // Per-try timeout of one DNS query. Default: 2s.
  std::chrono::milliseconds dns_timeout{std::chrono::seconds(2)};

  // Per-check defaults of every domain (timeout, helo_name, port, test_*). helo_name defaults
  // to DefaultHeloName() when the file does not set it.
  CheckOptions defaults;

  // The domains to check, in file order, names unique. May be empty: the daemon then serves
  // /probe only.
  std::vector<DomainConfig> domains;
};

// Reads and parses the file at `path`; the path is the error messages' source name.
Result<Config> LoadConfigFile(const std::string& path);

// Parses `yaml_text`; `source_name` (a file name, "<flag>", ...) prefixes error messages.
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& source_name);

}  // namespace smtp_exporter
