// The exporter's log line formats, as Prometheus' own daemons write them: logfmt
// (`ts=... level=info msg="..."`) and JSON (`{"ts":"...","level":"info","msg":"..."}`).
// The message is escaped for the format, so a log line stays one valid line whatever the
// message holds (a config error quoting `key "foo"`, a newline, bytes from the network).
// Pure functions, and formatters that spdlog owns; thread-safe.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace smtp_exporter {

enum class LogFormat { kLogfmt, kJson };

// "logfmt" or "json"; nullopt for anything else.
std::optional<LogFormat> ParseLogFormat(std::string_view text);

// The inside of a JSON string literal: `"` and `\` escaped, control characters as \uXXXX,
// invalid UTF-8 replaced with U+FFFD (RFC 8259 §7-8).
std::string EscapeJsonString(std::string_view text);

// The inside of a quoted logfmt value: `"` and `\` escaped, \n \r \t spelled out, other
// control bytes as \xNN (go-logfmt quotes the same characters).
std::string EscapeLogfmtValue(std::string_view text);

// A spdlog formatter writing `format`'s line with the message escaped, timestamps in UTC.
std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format);

}  // namespace smtp_exporter
