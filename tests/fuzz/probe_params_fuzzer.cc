// Fuzz target: /probe parameter parsing: the query string as cpp-httplib splits and decodes it,
// then each parameter through the shared per-check option parser (SetCheckOption, the option
// table in config/check_option_table.h) as the daemon's /probe and the checker mode's /check
// form apply them.
//
// Input: a query string ("domain=example.org&timeout=5s&helo_name=probe.example.net").
// Invariants: a refused value leaves the options untouched and says why in one line; an
// accepted value is written back (OptionText) and read again to the same options, so what we
// store is something we accept; host names come out normalised and valid; mail addresses pass
// the probe-address check; durations stay within the option's range (they re-read).
#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/check_option_table.h"
#include "config/domain_name.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/option_text.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  const std::string query(AsText(data, size));
  httplib::Params params;
  httplib::detail::parse_query_text(query, params);

  CheckOptions options;
  options.helo_name = "probe.example.net";
  for (const auto& [key, value] : params) {
    const CheckOptionSpec* spec = FindCheckOption(key);
    if (spec == nullptr) {
      continue;
    }
    const CheckOptions before = options;
    const Status set = SetCheckOption(*spec, value, options);
    if (!set.ok()) {
      FUZZ_CHECK(options == before);
      FUZZ_CHECK(set.error().code == ErrorCode::kInvalidArgument);
      FUZZ_CHECK(!set.error().message.empty());
      FUZZ_CHECK(set.error().message.find('\n') == std::string::npos);
      continue;
    }
    const std::string text = OptionText(*spec, options);
    CheckOptions again = before;
    FUZZ_CHECK(SetCheckOption(*spec, text, again).ok());
    FUZZ_CHECK(again == options);
    switch (spec->type) {
      case CheckOptionType::kHostName:
        FUZZ_CHECK(ValidateHostName(text).ok());
        FUZZ_CHECK(text == NormaliseHostName(text));
        break;
      case CheckOptionType::kMailAddress:
        FUZZ_CHECK(ValidateProbeAddress(text).ok());
        break;
      case CheckOptionType::kBool:
        FUZZ_CHECK(ParseBoolText(value).has_value());
        break;
      case CheckOptionType::kDuration:
      case CheckOptionType::kPort:
        break;
    }
  }
  return 0;
}
