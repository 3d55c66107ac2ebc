// The one-shot `smtp_exporter check DOMAIN ...` command: probe, print, exit. Runs on the calling
// thread; writes only to the streams it is given.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "probes/clock.h"
#include "probes/transport.h"

namespace smtp_exporter {

// Exit codes follow the monitoring-plugin convention (0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN).
inline constexpr int kExitUnknown = 3;

// `args` are the words after "check". Returns the process exit code.
int RunCheckCommand(const std::vector<std::string>& args, TransportFactory& transports,
                    const Clock& clock, std::ostream& out, std::ostream& err);

// The usage text of `check`.
std::string CheckUsage();

}  // namespace smtp_exporter
