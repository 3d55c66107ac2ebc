// Unix times as the renderers print them, always in UTC: RFC 3339 for machines (JSON, the
// happyDomain CheckMetric timestamps, an HTML <time datetime>) and a spaced form for people.
// The one home for turning a Unix time into text. Pure; thread-safe (gmtime_r).
#pragma once

#include <cstdint>
#include <ctime>
#include <string>

namespace smtp_exporter {

// The UTC calendar fields of `unix_seconds`, for renderers that pick their own parts (the
// report's history strip shows "14:05" or "Nov 13 14:05").
std::tm UtcCalendar(std::int64_t unix_seconds);

// "2026-11-25T14:03:07Z".
std::string FormatUnixRfc3339(std::int64_t unix_seconds);

// "2026-11-25 14:03:07 UTC", or "-" for 0 and below (a time never taken). Fractions of a
// second are dropped.
std::string FormatUnixUtc(double unix_seconds);

}  // namespace smtp_exporter
