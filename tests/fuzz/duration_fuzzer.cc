// Fuzz target: durations (ParseDuration / FormatDuration, config/duration.h), read from the
// config, the command line and /probe parameters.
//
// Input: the text of a duration ("1h30m", "250ms", "12").
// Invariants: an accepted duration is within [0, 100 years]; formatted, it is made only of
// digits and units and parses back to the same value (round trip); and any value in range, here
// the input's first 8 bytes taken as a number, formats to text that parses back to it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "config/duration.h"
#include "tests/fuzz/fuzz_check.h"

namespace smtp_exporter::fuzz {
namespace {

constexpr std::int64_t kMaxMillis = 100LL * 365 * 24 * 3600 * 1000;  // ParseDuration's bound

void CheckRoundTrip(std::chrono::milliseconds value) {
  const std::string text = FormatDuration(value);
  FUZZ_CHECK(!text.empty());
  FUZZ_CHECK(text.find_first_not_of("0123456789hms") == std::string::npos);
  const auto again = ParseDuration(text);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == value);
}

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  const auto parsed = ParseDuration(AsText(data, size));
  if (parsed) {
    FUZZ_CHECK(parsed->count() >= 0 && parsed->count() <= kMaxMillis);
    CheckRoundTrip(*parsed);
  }
  if (size >= sizeof(std::uint64_t)) {
    std::uint64_t raw = 0;
    std::memcpy(&raw, data, sizeof(raw));
    CheckRoundTrip(std::chrono::milliseconds(
        static_cast<std::int64_t>(raw % static_cast<std::uint64_t>(kMaxMillis + 1))));
  }
  return 0;
}
