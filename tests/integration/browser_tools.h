// What the real-browser tests need on the machine, checked before they start: node, Debian's
// chromium and playwright-core in tests/node/node_modules. A missing tool fails the test with a
// way out (kBrowserDepsHint), never skips it. Thread-safe (runs shell commands).
#pragma once

#include <string>

#include "tests/support/lab.h"

namespace smtp_exporter::testing {

inline constexpr const char* kBrowserDepsHint =
    "run scripts/dev.sh deps (installs Debian's chromium and the npm test tools in tests/node "
    "with npm ci)";

// "" when every tool is there; otherwise what is missing, with kBrowserDepsHint.
std::string MissingBrowserTools();

// `script` (a file in tests/browser) run by node with `args` (already shell-quoted), bounded by
// `limit_seconds` (then killed); its exit code and output. The script's own time limit should
// come first.
CommandResult RunBrowserScript(const std::string& script, const std::string& args,
                               int limit_seconds);

}  // namespace smtp_exporter::testing
