// UTF-8 well-formedness, for renderers that pass valid text through and treat anything else as
// bytes (Prometheus label values, terminal text). Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

namespace smtp_exporter {

// Length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629 §4: no overlong
// forms, no surrogates, nothing past U+10FFFF; 1 for ASCII), or 0 if it is not one.
// Requires i < text.size().
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i);

}  // namespace smtp_exporter
