// Text from the network, made safe for a terminal: control characters (which could move the
// cursor, clear the screen or set the window title) are shown as \xNN. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace smtp_exporter {

std::string EscapeForTerminal(std::string_view text);

}  // namespace smtp_exporter
