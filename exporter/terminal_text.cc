#include "exporter/terminal_text.h"

#include <cstdio>

namespace smtp_exporter {

std::string EscapeForTerminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char raw : text) {
    const auto c = static_cast<unsigned char>(raw);
    if (c < 0x20 || c == 0x7f) {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\x%02x", c);
      out += buffer;
    } else {
      out += raw;
    }
  }
  return out;
}

}  // namespace smtp_exporter
