// The happyDomain checker mode's command line, spelled as the seed's Go binary spells it
// (`./checker-smtp -listen :8080`; Go's `flag` package, /work/shared/happydomain-api.md §2):
//
//   -listen ADDR        serve the checker protocol on ADDR (default :8080)
//   -healthcheck        ask GET /health on the listen address within 2 s; exit 0 on 2xx, else 1
//   -dns-servers LIST   resolvers to ask, IP[:PORT],... (default: /etc/resolv.conf's)
//   -smtp-port N        probe this SMTP port instead of 25 (ours, for labs and relays)
//   -h, -help           usage (exit 0); -version
//
// One or two dashes, "-flag value" or "-flag=value"; flags end at the first non-flag argument;
// an unknown flag is a usage error (exit 2). Serving itself (signals, logging) is main.cc's.
// Pure functions except RunCheckerHealthcheck (one HTTP request to this host); thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "config/config.h"

#include "config/base/ip_address.h"
#include "config/base/result.h"

namespace smtp_exporter {

// Usage text of the checker mode.
extern const char* const kCheckerUsage;

struct CheckerCommandLine {
  std::string listen;  // default kDefaultCheckerListenAddress
  bool healthcheck = false;
  std::vector<HostPort> dns_servers;
  std::uint16_t smtp_port = 25;
  // -denied-networks CIDR,...: networks never probed ("" for none). Default: /probe's.
  std::vector<IpNetwork> denied_networks = DefaultProbeDeniedNetworks();
  bool help = false;
  bool version = false;
};

// Whether `args` (the words after the program name) select the checker mode: a listen or
// healthcheck flag among the flags before the first non-flag argument.
bool IsCheckerCommandLine(const std::vector<std::string>& args);

// kInvalidArgument with the reason for an unknown flag, a missing value or a bad port.
Result<CheckerCommandLine> ParseCheckerCommandLine(const std::vector<std::string>& args);

// The SDK's -healthcheck: GET http://<listen>/health with wildcard hosts rewritten to loopback
// (":8080" and "0.0.0.0:8080" to 127.0.0.1, "[::]:8080" to [::1]), a 2 s budget; 0 on a 2xx,
// else 1 with "healthcheck failed: <why>" on `err`.
int RunCheckerHealthcheck(const std::string& listen, std::ostream& err);

}  // namespace smtp_exporter
