// Quoting of untrusted text (config values, flags, bytes from the network) for one-line error
// and log messages: nothing in a quoted value can break the line, forge another one or drive a
// terminal. In config/base/ so that every layer's messages, IpAddress's among them, use it.
// Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace smtp_exporter {

// `text` made safe for a one-line error message: control and non-ASCII bytes escaped as \xNN;
// when `quoted`, also quotes and backslashes, and cut after 80 bytes.
std::string Printable(std::string_view text, bool quoted = true);
// Printable(text) between double quotes.
std::string Quote(std::string_view text);

}  // namespace smtp_exporter
