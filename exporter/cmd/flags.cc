#include "exporter/cmd/flags.h"

#include "config/check_option_table.h"

namespace smtp_exporter {

Result<ParsedFlags> ParseFlags(const std::vector<std::string>& args, const FlagSpec& spec) {
  ParsedFlags parsed;
  bool only_positional = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (only_positional || arg.size() < 2 || !arg.starts_with("-") || arg == "-") {
      parsed.positional.push_back(arg);
      only_positional = only_positional || spec.stop_at_first_positional;
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    std::string name = arg.substr(arg.starts_with("--") ? 2 : 1);
    std::optional<std::string> value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (spec.with_value.contains(name)) {
      if (!value) {
        if (i + 1 >= args.size()) {
          return Error{ErrorCode::kInvalidArgument, "flag --" + name + " needs a value"};
        }
        value = args[++i];
      }
      parsed.values[name] = *value;
    } else if (spec.boolean.contains(name)) {
      const std::optional<bool> flag = value ? ParseBoolText(*value) : std::optional<bool>(true);
      if (!flag) {
        return Error{ErrorCode::kInvalidArgument,
                     "flag --" + name + " takes true or false, not \"" + *value + "\""};
      }
      parsed.values[name] = *flag ? "true" : "false";
    } else {
      return Error{ErrorCode::kInvalidArgument, "unknown flag --" + name};
    }
  }
  return parsed;
}


}  // namespace smtp_exporter
