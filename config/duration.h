// Parsing and printing of durations as Prometheus writes them ("30s", "5m", "1h30m", "250ms"),
// plus the seed's bare integer seconds ("12"). Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace smtp_exporter {

// nullopt for anything else (negative, empty, unknown unit, overflow past ~100 years).
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The shortest Prometheus form: 90000 ms -> "1m30s", 0 -> "0s".
std::string FormatDuration(std::chrono::milliseconds duration);

}  // namespace smtp_exporter
