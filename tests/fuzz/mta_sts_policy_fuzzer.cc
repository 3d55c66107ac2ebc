// Fuzz target: the MTA-STS policy file (ParseMtaStsPolicy, probes/mta_sts.h), fetched over
// HTTPS from a host the checked domain controls: untrusted text; and the MX pattern match
// (MxPatternMatches) over the patterns it yields.
//
// Input: the policy body.
// Invariants: an accepted policy has max_age within 0..31557600, at most 64 mx patterns (at
// least one unless mode is none), each a host name or "*." and a host name; every pattern
// matches a host built from it (itself, or "x" in place of "*"), and a "*." pattern never
// matches its own parent domain; every error has a one-line message.
#include <cstddef>
#include <cstdint>
#include <string>

#include "probes/mta_sts.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  if (size > kMaxPolicyBytes + 16) {
    return 0;
  }
  const std::string body(AsText(data, size));
  const Result<MtaStsPolicy> policy = ParseMtaStsPolicy(body);
  if (!policy.ok()) {
    FUZZ_CHECK(!policy.error().message.empty());
    FUZZ_CHECK(policy.error().message.find('\n') == std::string::npos);
    return 0;
  }
  FUZZ_CHECK(body.size() <= kMaxPolicyBytes);
  FUZZ_CHECK(policy.value().max_age_seconds >= 0 &&
             policy.value().max_age_seconds <= kMaxPolicyMaxAge);
  FUZZ_CHECK(policy.value().mx.size() <= kMaxPolicyMxPatterns);
  FUZZ_CHECK(!policy.value().mx.empty() || policy.value().mode == MtaStsMode::kNone);
  for (const std::string& pattern : policy.value().mx) {
    FUZZ_CHECK(!pattern.empty());
    if (pattern.starts_with("*.")) {
      FUZZ_CHECK(MxPatternMatches(pattern, "x" + pattern.substr(1)));
      FUZZ_CHECK(!MxPatternMatches(pattern, pattern.substr(2)));
    } else {
      FUZZ_CHECK(MxPatternMatches(pattern, pattern));
    }
  }
  return 0;
}
