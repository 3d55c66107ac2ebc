// EscapeForTerminal: text from the network reaches a terminal (the `check` command, /probe's and
// /report's text) with every byte a terminal could act on shown as \xNN, and nothing else
// changed.
#include "exporter/report/terminal_text.h"

#include <gtest/gtest.h>

#include <string>

namespace smtp_exporter {
namespace {

TEST(EscapeForTerminalTest, C0ControlsAndDeleteAreEscaped) {
  EXPECT_EQ(EscapeForTerminal("a\x1b[2Jb\x07\x7f\r\n"), "a\\x1b[2Jb\\x07\\x7f\\x0d\\x0a");
  EXPECT_EQ(EscapeForTerminal(std::string("nul\0end", 7)), "nul\\x00end");
}

TEST(EscapeForTerminalTest, PrintableUtf8PassesUnchanged) {
  const std::string text =
      "220 mx.example.org ESMTP caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7 "
      "\xd8\x9b \xc2\xa0\xc2\xa9";  // é € 📧 U+061B (its byte 0x9b) NBSP ©
  EXPECT_EQ(EscapeForTerminal(text), text);
}

// Issue #18 item 6: 8-bit C1 controls. U+009B is CSI on terminals that decode UTF-8 C1
// (xterm and others), and a raw 0x9b byte is CSI on a terminal in an 8-bit mode.
TEST(EscapeForTerminalTest, C1ControlsEncodedAsUtf8AreEscaped) {
  EXPECT_EQ(EscapeForTerminal("a\xc2\x9b[2Jb"), "a\\xc2\\x9b[2Jb");
  EXPECT_EQ(EscapeForTerminal("\xc2\x80\xc2\x9f\xc2\xa0"), "\\xc2\\x80\\xc2\\x9f\xc2\xa0");
}

TEST(EscapeForTerminalTest, BytesOutsideValidUtf8AreEscaped) {
  // A lone C1 byte, a lone continuation byte, a truncated sequence, an overlong encoding of
  // U+009B (which a lax decoder turns into CSI), a UTF-16 surrogate and a code point past
  // U+10FFFF: none is valid UTF-8 (RFC 3629 §3), so each byte is shown.
  EXPECT_EQ(EscapeForTerminal("a\x9b[2Jb"), "a\\x9b[2Jb");
  EXPECT_EQ(EscapeForTerminal("\xa9"), "\\xa9");
  EXPECT_EQ(EscapeForTerminal("caf\xc3"), "caf\\xc3");
  EXPECT_EQ(EscapeForTerminal("\xe2\x82x"), "\\xe2\\x82x");
  EXPECT_EQ(EscapeForTerminal("\xe0\x82\x9b"), "\\xe0\\x82\\x9b");
  EXPECT_EQ(EscapeForTerminal("\xc1\xbf"), "\\xc1\\xbf");
  EXPECT_EQ(EscapeForTerminal("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(EscapeForTerminal("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
  EXPECT_EQ(EscapeForTerminal("\xff\xfe"), "\\xff\\xfe");
}

TEST(EscapeForTerminalTest, OutputIsAlwaysFreeOfRawControlBytes) {
  // Every single byte and every two-byte pair: the output holds no C0, DEL or C1 byte except
  // as the continuation byte of a valid multi-byte character that is not itself U+0080-U+009F.
  for (int first = 0; first < 256; ++first) {
    for (int second = 0; second < 256; ++second) {
      const std::string in{static_cast<char>(first), static_cast<char>(second)};
      const std::string out = EscapeForTerminal(in);
      for (std::size_t i = 0; i < out.size(); ++i) {
        const auto c = static_cast<unsigned char>(out[i]);
        ASSERT_FALSE(c < 0x20 || c == 0x7f) << first << ' ' << second;
        if (c >= 0x80 && c <= 0x9f) {
          ASSERT_GT(i, 0u) << first << ' ' << second;
          const auto lead = static_cast<unsigned char>(out[i - 1]);
          ASSERT_NE(lead, 0xc2) << first << ' ' << second;  // U+0080-U+009F
          ASSERT_GE(lead, 0xc2) << first << ' ' << second;  // part of a multi-byte character
        }
      }
    }
  }
}

}  // namespace
}  // namespace smtp_exporter
