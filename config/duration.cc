#include "config/duration.h"

#include <cstdint>

namespace smtp_exporter {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t millis;
};

// Longest suffixes first so "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {{"ms", 1},          {"s", 1000},           {"m", 60'000},
                           {"h", 3'600'000},   {"d", 86'400'000},     {"w", 604'800'000},
                           {"y", 31'536'000'000}};
constexpr std::int64_t kMaxMillis = 100LL * 31'536'000'000LL;

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  bool all_digits = true;
  for (char c : text) {
    all_digits = all_digits && c >= '0' && c <= '9';
  }
  std::int64_t total = 0;
  if (all_digits) {
    // The seed's integer seconds.
    if (text.size() > 12) {
      return std::nullopt;
    }
    for (char c : text) total = total * 10 + (c - '0');
    total *= 1000;
    if (total > kMaxMillis) {
      return std::nullopt;
    }
    return std::chrono::milliseconds(total);
  }
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int64_t number = 0;
    const std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (pos - start >= 12) {
        return std::nullopt;
      }
      number = number * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start) {
      return std::nullopt;
    }
    const Unit* unit = nullptr;
    for (const Unit& candidate : kUnits) {
      if (text.substr(pos).starts_with(candidate.suffix)) {
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr) {
      return std::nullopt;
    }
    pos += unit->suffix.size();
    if (number > kMaxMillis / unit->millis) {
      return std::nullopt;
    }
    total += number * unit->millis;
    if (total > kMaxMillis) {
      return std::nullopt;
    }
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds duration) {
  std::int64_t left = duration.count();
  if (left <= 0) {
    return "0s";
  }
  std::string out;
  // Prometheus prints h, m, s, ms (days and weeks only when exact multiples; keep it simple).
  for (const Unit& unit : {Unit{"h", 3'600'000}, Unit{"m", 60'000}, Unit{"s", 1000},
                           Unit{"ms", 1}}) {
    if (left >= unit.millis) {
      out += std::to_string(left / unit.millis);
      out += unit.suffix;
      left %= unit.millis;
    }
  }
  return out;
}

}  // namespace smtp_exporter
