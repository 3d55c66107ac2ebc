#include "config/base/quote.h"

namespace smtp_exporter {

// `text` made safe for a one-line message: control and non-ASCII bytes escaped as \xNN; for a
// quoted value (`quoted`) also quotes and backslashes, and cut after 80 bytes.
std::string Printable(std::string_view text, bool quoted) {
  constexpr std::size_t kMaxShown = 80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (quoted && i == kMaxShown) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(text[i]);
    if (quoted && (byte == '"' || byte == '\\')) {
      out += '\\';
      out += static_cast<char>(byte);
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    } else {
      out += static_cast<char>(byte);
    }
  }
  return out;
}

std::string Quote(std::string_view text) { return "\"" + Printable(text) + "\""; }

}  // namespace smtp_exporter
