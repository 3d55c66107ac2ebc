// Helpers for integration tests that drive the lab scripts under tests/lab/: run a command,
// make a private state directory, read a file. Not thread-safe; for test set-up code.
#pragma once

#include <string>

namespace smtp_exporter::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` through /bin/sh, capturing its stdout and stderr (bounded to 1 MiB).
CommandResult RunCommand(const std::string& command);

// A fresh directory under /tmp, e.g. /tmp/smtpx-it-Ab12Cd.
std::string MakeTempDir(const std::string& prefix);

// Whole file, or "" if unreadable.
std::string ReadFile(const std::string& path);

}  // namespace smtp_exporter::testing
