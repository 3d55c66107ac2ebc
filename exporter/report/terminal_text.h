// Text for a terminal. Text from the network is made safe: every byte a terminal could act on
// (move the cursor, clear the screen, set the window title) is shown as \xNN. Colour (ANSI SGR
// sequences) is added only by Paint, so the escape sequences in the output are always ours.
// Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smtp_exporter {

// Escaped, each byte as \xNN: the C0 controls and DEL; the C1 controls U+0080-U+009F (ECMA-48
// §5.3: U+009B is CSI, U+009D OSC; xterm and others act on them when decoding UTF-8), both
// bytes of their UTF-8 form 0xC2 0x80-0x9F; and every byte that is not part of well-formed
// UTF-8 (RFC 3629 §4), since a terminal decodes those on its own terms (a lone 0x9B is CSI to
// one in an 8-bit mode). Well-formed UTF-8 otherwise passes unchanged, so international
// banners stay readable: this assumes a UTF-8 terminal (one in an 8-bit mode would also read
// continuation bytes 0x80-0x9F inside valid characters as C1, which no escaping can avoid
// without mangling all non-ASCII text). The output is always well-formed UTF-8.
std::string EscapeForTerminal(std::string_view text);

// The `check` command's --color=auto|always|never.
enum class ColorMode { kAuto, kAlways, kNever };

// "auto", "always" or "never"; nullopt for anything else.
std::optional<ColorMode> ParseColorMode(std::string_view text);

// Whether output goes out coloured. always/never are the user's explicit choice and win over the
// environment (https://no-color.org: command-line flags override NO_COLOR). auto colours a
// terminal only, and not when NO_COLOR is set to a non-empty value or TERM is "dumb": output
// redirected to a file or read by a monitoring system (Nagios/Icinga read stdout) stays plain.
// `no_color` and `term` are the values of NO_COLOR and TERM, "" when unset.
bool ShouldColor(ColorMode mode, bool is_terminal, std::string_view no_color,
                 std::string_view term);

// ECMA-48 SGR renditions used by the text report.
enum class Color { kBold, kRed, kYellow, kGreen, kCyan, kMagenta };

// `text` between the colour's SGR sequence and a reset when `enabled`, else `text` unchanged.
// `text` must already be safe (EscapeForTerminal): it is not escaped again.
std::string Paint(std::string_view text, Color color, bool enabled);

}  // namespace smtp_exporter
