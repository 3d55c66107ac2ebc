#include "exporter/report/terminal_text.h"

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

std::optional<ColorMode> ParseColorMode(std::string_view text) {
  if (text == "auto") {
    return ColorMode::kAuto;
  }
  if (text == "always") {
    return ColorMode::kAlways;
  }
  if (text == "never") {
    return ColorMode::kNever;
  }
  return std::nullopt;
}

bool ShouldColor(ColorMode mode, bool is_terminal, std::string_view no_color,
                 std::string_view term) {
  switch (mode) {
    case ColorMode::kAlways:
      return true;
    case ColorMode::kNever:
      return false;
    case ColorMode::kAuto:
      // no-color.org: NO_COLOR "present and not an empty string" disables colour.
      return is_terminal && no_color.empty() && term != "dumb";
  }
  return false;
}

std::string Paint(std::string_view text, Color color, bool enabled) {
  if (!enabled) {
    return std::string(text);
  }
  const char* sgr = "";
  switch (color) {
    case Color::kBold:
      sgr = "\x1b[1m";
      break;
    case Color::kRed:
      sgr = "\x1b[1;31m";  // bold too: CRIT must stand out even on low-contrast palettes
      break;
    case Color::kYellow:
      sgr = "\x1b[33m";
      break;
    case Color::kGreen:
      sgr = "\x1b[32m";
      break;
    case Color::kCyan:
      sgr = "\x1b[36m";
      break;
    case Color::kMagenta:
      sgr = "\x1b[1;35m";
      break;
  }
  return sgr + std::string(text) + "\x1b[0m";
}

}  // namespace smtp_exporter
