// Fuzz target: HTML escaping (EscapeHtml, UrlEncodeQueryValue; exporter/report/html.h), which
// every byte from a server or the config passes through before it reaches a report page.
//
// Input: any text (a banner, a reply, a domain name).
// Invariants: escaped output never contains a raw < > " or ' (so input can neither open a tag
// nor leave a quoted attribute); every & starts one of the five entities we write, and each
// entity stands for exactly one such character of the input; no control byte other than tab
// and newline survives. A URL-encoded value holds only unreserved characters and %HH, and
// decodes back to the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "exporter/report/html.h"
#include "tests/fuzz/fuzz_check.h"

namespace smtp_exporter::fuzz {
namespace {

std::size_t Count(std::string_view text, std::string_view needle) {
  std::size_t count = 0;
  for (std::size_t pos = text.find(needle); pos != std::string_view::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++count;
  }
  return count;
}

bool Unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // we write upper case only
}

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  const std::string_view input = AsText(data, size);

  const std::string html = EscapeHtml(input);
  FUZZ_CHECK(html.find_first_of("<>\"'") == std::string::npos);
  for (std::size_t i = 0; i < html.size(); ++i) {
    const auto byte = static_cast<unsigned char>(html[i]);
    FUZZ_CHECK(byte >= 0x20 || byte == '\t' || byte == '\n');
    FUZZ_CHECK(byte != 0x7f);
    if (html[i] == '&') {
      const std::string_view rest = std::string_view(html).substr(i);
      FUZZ_CHECK(rest.starts_with("&amp;") || rest.starts_with("&lt;") ||
                 rest.starts_with("&gt;") || rest.starts_with("&quot;") ||
                 rest.starts_with("&#39;"));
    }
  }
  FUZZ_CHECK(Count(html, "&lt;") == Count(input, "<"));
  FUZZ_CHECK(Count(html, "&gt;") == Count(input, ">"));
  FUZZ_CHECK(Count(html, "&quot;") == Count(input, "\""));
  FUZZ_CHECK(Count(html, "&#39;") == Count(input, "'"));
  FUZZ_CHECK(Count(html, "&amp;") == Count(input, "&"));

  const std::string url = UrlEncodeQueryValue(input);
  std::string decoded;
  for (std::size_t i = 0; i < url.size(); ++i) {
    if (url[i] != '%') {
      FUZZ_CHECK(Unreserved(url[i]));
      decoded += url[i];
      continue;
    }
    FUZZ_CHECK(i + 2 < url.size());
    const int high = HexValue(url[i + 1]);
    const int low = HexValue(url[i + 2]);
    FUZZ_CHECK(high >= 0 && low >= 0);
    decoded += static_cast<char>(high * 16 + low);
    i += 2;
  }
  FUZZ_CHECK(decoded == input);
  return 0;
}
