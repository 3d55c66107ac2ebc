// A small command-line parser: "--name value", "--name=value", boolean "--name" / "--name=false",
// positional arguments, and an error for any unknown flag. One or two leading dashes mean the
// same, as in Go's `flag` package; with FlagSpec::stop_at_first_positional it also stops where Go
// does (the happyDomain checker mode's command line). Pure; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/base/result.h"

namespace smtp_exporter {

struct FlagSpec {
  std::set<std::string> with_value;  // names without the leading "--"
  std::set<std::string> boolean;
  // Go's `flag` rule: the first non-flag argument ends the flags, so it and everything after it
  // are positional ("-healthcheck true" sets the flag and leaves "true" positional). Default:
  // false, flags may follow positional arguments ("check DOMAIN --format json").
  bool stop_at_first_positional = false;
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
