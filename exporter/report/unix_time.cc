#include "exporter/report/unix_time.h"

namespace smtp_exporter {

std::tm UtcCalendar(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

// The formats are literals at each call (-Wformat-nonliteral checks them).
std::string FormatUnixRfc3339(std::int64_t unix_seconds) {
  const std::tm tm = UtcCalendar(unix_seconds);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string FormatUnixUtc(double unix_seconds) {
  if (unix_seconds <= 0) {
    return "-";
  }
  const std::tm tm = UtcCalendar(static_cast<std::int64_t>(unix_seconds));
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buffer;
}

}  // namespace smtp_exporter
