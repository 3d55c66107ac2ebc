// The one-shot `smtp_exporter check DOMAIN ...` command: probe, print, exit. Runs on the calling
// thread; writes only to the streams it is given.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "config/base/clock.h"
#include "probes/resolver.h"
#include "probes/transport.h"

namespace smtp_exporter {

// Exit codes follow the monitoring-plugin convention (0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN).
inline constexpr int kExitUnknown = 3;

// Where the output goes, for --color=auto and --progress=auto: main() fills it from isatty(3)
// and the environment; tests set it.
struct TerminalInfo {
  bool stdout_is_terminal = false;
  bool stderr_is_terminal = false;
  std::string no_color;  // $NO_COLOR, "" when unset
  std::string term;      // $TERM, "" when unset
};

// What the command talks to; tests substitute scripted transports and a fake resolver.
struct CheckDependencies {
  TransportFactory& transports;
  const Clock& clock;
  std::function<Result<std::unique_ptr<Resolver>>(const ResolverOptions&)> make_resolver;
  TerminalInfo terminal;
};

// `args` are the words after "check". Returns the process exit code: the worst finding's, in
// the monitoring-plugin convention, or kExitUnknown for usage errors.
int RunCheckCommand(const std::vector<std::string>& args, const CheckDependencies& deps,
                    std::ostream& out, std::ostream& err);

// The usage text of `check`.
std::string CheckUsage();

}  // namespace smtp_exporter
