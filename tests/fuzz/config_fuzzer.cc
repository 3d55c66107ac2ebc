// Fuzz target: the YAML config loader (ParseConfig, config/config.h), over yaml-cpp.
//
// Input: the text of a config file.
// Invariants: no exception escapes; a refused file gets a one-line kInvalidArgument message
// (the loader promises one line: the text of a hostile file must not forge log lines); an
// accepted config holds only values the loader itself would accept again: domain names valid,
// normalised and unique, every per-check option re-read by the option table to the same value,
// intervals of at least 1s and a jitter of at most half of each, bounded concurrency.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/check_option_table.h"
#include "config/check_options.h"
#include "config/config.h"
#include "config/domain_name.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/option_text.h"

namespace smtp_exporter::fuzz {
namespace {

void CheckOptionsReread(const CheckOptions& options) {
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    if (IsUnspellableDefault(spec, options)) {
      continue;
    }
    CheckOptions again;
    FUZZ_CHECK(SetCheckOption(spec, OptionText(spec, options), again).ok());
    FUZZ_CHECK(OptionText(spec, again) == OptionText(spec, options));
  }
}

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  using std::chrono::milliseconds;
  const Result<Config> parsed = ParseConfig(std::string(AsText(data, size)), "fuzz.yml");
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.error().code == ErrorCode::kInvalidArgument);
    FUZZ_CHECK(!parsed.error().message.empty());
    FUZZ_CHECK(parsed.error().message.find_first_of("\r\n") == std::string::npos);
    return 0;
  }
  const Config& config = parsed.value();
  FUZZ_CHECK(config.interval >= milliseconds(1000));
  FUZZ_CHECK(config.jitter >= milliseconds(0) && config.jitter * 2 <= config.interval);
  FUZZ_CHECK(config.concurrency >= 1 && config.concurrency <= 1024);
  FUZZ_CHECK(config.endpoint_concurrency >= 1 && config.endpoint_concurrency <= 64);
  FUZZ_CHECK(config.per_ip_connections >= 1 && config.per_ip_connections <= 64);
  FUZZ_CHECK(config.dns_timeout >= milliseconds(1) && config.dns_timeout <= milliseconds(60000));
  CheckOptionsReread(config.defaults);
  for (const std::string& pinned : config.probe.pinned_options) {
    FUZZ_CHECK(FindCheckOption(pinned) != nullptr);
  }
  for (std::size_t i = 0; i < config.domains.size(); ++i) {
    const DomainConfig& domain = config.domains[i];
    FUZZ_CHECK(ValidateHostName(domain.name).ok());
    FUZZ_CHECK(domain.name == NormaliseHostName(domain.name));
    for (std::size_t j = 0; j < i; ++j) {
      FUZZ_CHECK(config.domains[j].name != domain.name);
    }
    FUZZ_CHECK(domain.interval >= milliseconds(1000));
    FUZZ_CHECK(config.jitter * 2 <= domain.interval);
    CheckOptionsReread(domain.options);
  }
  return 0;
}
