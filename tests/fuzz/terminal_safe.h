// TerminalSafe: whether text may go to a terminal as is, for the fuzz targets whose renderers
// write server text for the `check` command. Fuzz targets only.
#pragma once

#include <cstddef>
#include <string_view>

#include "exporter/report/utf8.h"

namespace smtp_exporter::fuzz {

// Well-formed UTF-8 holding no control but newline: no C0 control, no DEL, no C1 control
// (U+0080-U+009F, 0xC2 0x80-0x9F in UTF-8).
inline bool TerminalSafe(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = Utf8SequenceLength(text, i);
    if (length == 0) return false;
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
    if (c == 0xc2 && length == 2 && static_cast<unsigned char>(text[i + 1]) <= 0x9f) return false;
    i += length;
  }
  return true;
}

}  // namespace smtp_exporter::fuzz
