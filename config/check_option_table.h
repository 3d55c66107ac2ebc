// The option table: every per-check option (CheckOptions: the seed's run options plus the
// port) with its name, type, default, range and documentation, in one place. The YAML loader,
// the `check` command's flags, the /probe query parameters and docs/options.md are all driven
// by it, so they accept the same spellings and ranges and cannot drift apart again.
// Immutable data and pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/base/result.h"
#include "config/check_options.h"

namespace smtp_exporter {

enum class CheckOptionType {
  kDuration,         // 12s, 1m30s, 500ms or integer seconds, within [min, max]
  kBool,             // true/false (also yes/no, on/off, y/n; lower, upper or title case)
  kHostName,         // a DNS host name, normalised (lower case, no trailing dot)
  kMailAddress,      // local@domain
  kPort,             // 1-65535
  kFilePath,         // a file name: non-empty, no control characters, at most 4096 bytes
  kSubmissionPorts,  // "587,465", "587", "465" or "" (none): the RFC 8314 submission ports
};

// The CheckOptions member an option sets; its alternative matches the option's type (duration:
// milliseconds; bool; host name and mail address: string; port: uint16_t; submission ports:
// a list of uint16_t).
using CheckOptionField =
    std::variant<std::chrono::milliseconds CheckOptions::*, bool CheckOptions::*,
                 std::string CheckOptions::*, std::uint16_t CheckOptions::*,
                 std::vector<std::uint16_t> CheckOptions::*>;

struct CheckOptionSpec {
  std::string_view key;   // YAML key, /probe parameter, happyDomain option id
  std::string_view flag;  // the `check` command's flag, without "--"
  CheckOptionType type;
  CheckOptionField field;
  std::string_view default_text;  // as the docs show it
  std::string_view doc;           // one sentence, for docs and help
  // Accepted as a /probe query parameter. The port is not: a scrape must not point the
  // exporter at arbitrary services.
  bool probe_parameter = true;
  // One of the seed's (happyDomain checker-smtp) run options.
  bool seed_option = true;
  // A few words naming the option in a form: happyDomain's option label (its help page,
  // checkers/smtp "Options") in the checker mode's /definition, and the /check form.
  std::string_view label = "";
};

// Every option, in documentation order.
std::span<const CheckOptionSpec> CheckOptionSpecs();

// The option whose key (or, with `by_flag`, flag) is `name`, or nullptr.
const CheckOptionSpec* FindCheckOption(std::string_view name, bool by_flag = false);

// Parses `text` as `spec` says and stores it in `options`. A bad value is kInvalidArgument,
// its message phrased to follow the option's name ("must be between 1s and 5m, got 500ms");
// `options` is then unchanged.
Status SetCheckOption(const CheckOptionSpec& spec, std::string_view text, CheckOptions& options);

// The one boolean reader: true/yes/on/y and false/no/off/n in lower, upper or title case
// (what yaml-cpp accepts), for the YAML config, the CLI and /probe alike.
std::optional<bool> ParseBoolText(std::string_view text);

// The text SetCheckOption reads back for a port list: "587,465" in the given order, "" for none.
std::string PortListText(const std::vector<std::uint16_t>& ports);

// docs/options.md: the table of options with their YAML keys, flags, /probe parameters,
// defaults and meaning.
std::string RenderOptionsMarkdown();

}  // namespace smtp_exporter
