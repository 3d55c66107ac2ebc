// Text for a terminal. Text from the network is made safe: control characters (which could move
// the cursor, clear the screen or set the window title) are shown as \xNN. Colour (ANSI SGR
// sequences) is added only by Paint, so the escape sequences in the output are always ours.
// Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smtp_exporter {

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
