// HTML escaping for anything that came from the network or the config. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace smtp_exporter {

// Escapes & < > " ' so the text can go in element content and quoted attribute values.
std::string EscapeHtml(std::string_view text);

}  // namespace smtp_exporter
