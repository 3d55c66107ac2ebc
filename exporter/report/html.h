// Escaping for HTML pages and their links: anything that came from the network or the config
// goes through these before it reaches a page. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace smtp_exporter {

// Escapes & < > " ' so the text can go in element content and quoted attribute values. Control
// characters other than tab and newline become a visible "\xNN": a server's NUL or ESC bytes
// are shown, never interpreted.
std::string EscapeHtml(std::string_view text);

// Percent-encodes everything but unreserved characters (RFC 3986 §2.3), for a query value.
std::string UrlEncodeQueryValue(std::string_view text);

}  // namespace smtp_exporter
