#include "exporter/report/terminal_text.h"

#include <cstdio>

#include "exporter/report/utf8.h"

namespace smtp_exporter {
namespace {

void AppendEscaped(std::string& out, unsigned char byte) {
  char buffer[8];
  std::snprintf(buffer, sizeof(buffer), "\\x%02x", byte);
  out += buffer;
}

}  // namespace

std::string EscapeForTerminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    const std::size_t length = Utf8SequenceLength(text, i);
    // C0 and DEL; U+0080-U+009F (the C1 controls, 0xC2 0x80-0x9F in UTF-8); and any byte that
    // is not part of well-formed UTF-8, since a terminal decodes those on its own terms (a
    // lone 0x9B is CSI to a terminal in an 8-bit mode).
    const bool control =
        c < 0x20 || c == 0x7f ||
        (c == 0xc2 && length == 2 && static_cast<unsigned char>(text[i + 1]) <= 0x9f);
    if (length == 0 || control) {
      const std::size_t bytes = length == 0 ? 1 : length;
      for (std::size_t k = 0; k < bytes; ++k) {
        AppendEscaped(out, static_cast<unsigned char>(text[i + k]));
      }
      i += bytes;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
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
