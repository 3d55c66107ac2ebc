#include "tests/integration/browser_tools.h"

#include "tests/integration/lab_environment.h"

namespace smtp_exporter::testing {
namespace {

std::string Quote(const std::string& text) { return "'" + text + "'"; }

}  // namespace

std::string MissingBrowserTools() {
  const std::string source = LabEnvironment::SourceDir();
  if (RunCommand("command -v node && node --version").exit_code != 0) {
    return std::string("node (Node.js 18+) is not on PATH: ") + kBrowserDepsHint;
  }
  if (RunCommand("test -x /usr/bin/chromium").exit_code != 0) {
    return std::string("/usr/bin/chromium is missing: ") + kBrowserDepsHint;
  }
  if (RunCommand("test -f " +
                 Quote(source + "/tests/node/node_modules/playwright-core/package.json"))
          .exit_code != 0) {
    return "playwright-core is not installed in " + source +
           "/tests/node/node_modules: " + kBrowserDepsHint;
  }
  return "";
}

CommandResult RunBrowserScript(const std::string& script, const std::string& args,
                               int limit_seconds) {
  const std::string path = LabEnvironment::SourceDir() + "/tests/browser/" + script;
  return RunCommand("timeout --kill-after=10 " + std::to_string(limit_seconds) + " node " +
                    Quote(path) + " " + args);
}

}  // namespace smtp_exporter::testing
