// Helpers for integration tests that drive the lab scripts under tests/lab/: run a command,
// make a private state directory, read a file, wait for a condition. Not thread-safe; for test
// set-up code.
#pragma once

#include <chrono>
#include <functional>
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

// Polls `predicate` every 200 ms for at most `limit`; true as soon as it holds. Bounded: the
// lab's servers and the daemon's scheduler are real, so tests wait for them, but never forever.
bool Eventually(const std::function<bool()>& predicate,
                std::chrono::seconds limit = std::chrono::seconds(30));

}  // namespace smtp_exporter::testing
