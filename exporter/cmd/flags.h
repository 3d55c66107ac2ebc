// A small command-line parser: "--name value", "--name=value", boolean "--name" / "--name=false",
// positional arguments, and an error for any unknown flag. Pure; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/base/result.h"

namespace smtp_exporter {

struct FlagSpec {
  std::set<std::string> with_value;  // names without the leading "--"
  std::set<std::string> boolean;
};

struct ParsedFlags {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // booleans hold "true" or "false"

  std::optional<std::string> Get(const std::string& name) const {
    const auto it = values.find(name);
    return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
};

Result<ParsedFlags> ParseFlags(const std::vector<std::string>& args, const FlagSpec& spec);

}  // namespace smtp_exporter
