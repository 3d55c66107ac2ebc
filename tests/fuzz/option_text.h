// OptionText: the value of one per-check option written back as text the option table reads
// (config/check_option_table.h), for the fuzz targets' "a value we accepted is accepted again
// and means the same" invariants. Fuzz targets only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "config/check_option_table.h"
#include "config/check_options.h"
#include "config/duration.h"

namespace smtp_exporter::fuzz {

inline std::string OptionText(const CheckOptionSpec& spec, const CheckOptions& options) {
  return std::visit(
      [&](auto member) -> std::string {
        const auto& value = options.*member;
        using Value = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<Value, std::chrono::milliseconds>) {
          return FormatDuration(value);
        } else if constexpr (std::is_same_v<Value, bool>) {
          return value ? "true" : "false";
        } else if constexpr (std::is_same_v<Value, std::uint16_t>) {
          return std::to_string(value);
        } else if constexpr (std::is_same_v<Value, std::vector<std::uint16_t>>) {
          return PortListText(value);  // "" (off) reads back as off
        } else {
          return value;
        }
      },
      spec.field);
}

// Whether the option holds a default that did not come from the input and that the option
// table cannot spell, so the "re-read equal" invariants skip it: helo_name's default, this
// machine's host name (DefaultHeloName(), from gethostname(): not necessarily a valid or
// normalised host name, a machine may be called "MyHost"), an unset host name such as
// submission_host's "" (the MX hosts), where a given name must be valid, and an unset file path
// such as mta_sts_ca_file's "" (the system's CA bundle), where a given path must be non-empty.
// The submission port list needs no exception: its default, "", reads back as no ports.
inline bool IsUnspellableDefault(const CheckOptionSpec& spec, const CheckOptions& options) {
  static const std::string kMachineName = DefaultHeloName();
  const std::string text = OptionText(spec, options);
  return (spec.type == CheckOptionType::kHostName && (text == kMachineName || text.empty())) ||
         (spec.type == CheckOptionType::kFilePath && text.empty());
}

}  // namespace smtp_exporter::fuzz
