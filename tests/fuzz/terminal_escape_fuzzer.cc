// Fuzz target: terminal escaping (EscapeForTerminal, exporter/report/terminal_text.h, over
// Utf8SequenceLength, exporter/report/utf8.h), which server text passes through before the
// `check` command prints it.
//
// Input: any bytes (a banner, a reply, invalid UTF-8 included).
// Invariants: the output is well-formed UTF-8 (RFC 3629) and contains no C0 control, no DEL and
// no C1 control (U+0080-U+009F), so nothing in it can move the cursor, set a title or start an
// escape sequence; Paint with colour off adds nothing; well-formed, control-free input passes
// unchanged, and escaping the output again keeps it safe; Utf8SequenceLength only ever measures
// a sequence that an independent decoder finds well-formed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "exporter/report/terminal_text.h"
#include "exporter/report/utf8.h"
#include "tests/fuzz/fuzz_check.h"

namespace smtp_exporter::fuzz {
namespace {

// Decodes UTF-8 independently of Utf8SequenceLength (RFC 3629 §4's table). False at the first
// ill-formed sequence, or, unless `controls_allowed`, the first C0, DEL or C1 control.
bool DecodesCleanly(std::string_view text, bool controls_allowed) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    std::uint32_t cp = 0;
    std::size_t n = 0;
    if (b0 < 0x80) {
      cp = b0;
      n = 1;
    } else if ((b0 & 0xE0) == 0xC0) {
      cp = b0 & 0x1F;
      n = 2;
    } else if ((b0 & 0xF0) == 0xE0) {
      cp = b0 & 0x0F;
      n = 3;
    } else if ((b0 & 0xF8) == 0xF0) {
      cp = b0 & 0x07;
      n = 4;
    } else {
      return false;
    }
    if (i + n > text.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = cp << 6 | (b & 0x3F);
    }
    static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;  // overlong, past Unicode, or a surrogate
    }
    if (!controls_allowed && (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))) {
      return false;
    }
    i += n;
  }
  return true;
}

bool SafeUtf8(std::string_view text) { return DecodesCleanly(text, false); }

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  const std::string_view input = AsText(data, size);
  const std::string escaped = EscapeForTerminal(input);
  FUZZ_CHECK(SafeUtf8(escaped));
  if (SafeUtf8(input)) {
    FUZZ_CHECK(escaped == input);
  }
  FUZZ_CHECK(SafeUtf8(EscapeForTerminal(escaped)));
  FUZZ_CHECK(Paint(escaped, Color::kRed, false) == escaped);

  // Utf8SequenceLength agrees with the independent decoder on every position.
  for (std::size_t i = 0; i < input.size(); ++i) {
    const std::size_t length = Utf8SequenceLength(input, i);
    FUZZ_CHECK(length <= 4 && i + length <= input.size());
    if (length > 0) {
      FUZZ_CHECK(DecodesCleanly(input.substr(i, length), true));
    }
    FUZZ_CHECK((length == 1) == (static_cast<unsigned char>(input[i]) < 0x80));
  }
  return 0;
}
