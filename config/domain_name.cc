#include "config/domain_name.h"

#include <algorithm>
#include <cctype>

namespace smtp_exporter {
namespace {


bool IsLdh(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-';
}

std::string ToLower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

// Why `name` is not a host name made of LDH labels (RFC 1035 §2.3.1, RFC 1123 §2.1), or
// nullopt if it is one. One trailing dot is allowed.
std::optional<std::string> HostNameProblem(std::string_view name) {
  if (name.ends_with('.')) {
    name.remove_suffix(1);
  }
  if (name.empty()) {
    return "it is empty";
  }
  if (name.size() > 253) {
    return "it is longer than 253 characters";
  }
  for (char c : name) {
    if (c != '.' && !IsLdh(c)) {
      return Quote(std::string_view(&c, 1)) +
             " is not allowed (only letters, digits, hyphens and dots)";
    }
  }
  std::string_view last_label;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) {
      return std::string("it has an empty label");
    }
    if (label.size() > 63) {
      return "label " + Quote(label) + " is longer than 63 characters";
    }
    if (label.front() == '-' || label.back() == '-') {
      return "label " + Quote(label) + " starts or ends with a hyphen";
    }
    last_label = label;
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  if (std::all_of(last_label.begin(), last_label.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    return std::string("the last label is all digits (IP addresses are not host names)");
  }
  return std::nullopt;
}

// Lower case, without the trailing dot.
std::string StripTrailingDots(std::string_view name) {
  while (name.ends_with('.')) {
    name.remove_suffix(1);
  }
  return std::string(name);
}

std::string NormaliseHostName(std::string_view name) { return ToLower(StripTrailingDots(name)); }

// Why `address` cannot be the open-relay probe's RCPT TO, or nullopt.
std::optional<std::string> ProbeAddressProblem(std::string_view address) {
  for (char c : address) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f || c == '<' || c == '>') {
      return std::string("spaces, \"<\", \">\", control and non-ASCII characters are not allowed");
    }
  }
  const std::size_t at = address.find('@');
  if (at == std::string_view::npos || at == 0 || address.find('@', at + 1) != std::string_view::npos) {
    return std::string("it must be local@domain");
  }
  if (at > 64) {
    return std::string("the local part is longer than 64 characters");
  }
  if (auto problem = HostNameProblem(address.substr(at + 1))) {
    return "its domain is not a host name: " + *problem;
  }
  return std::nullopt;
}

// `text` made safe for a one-line message: control and non-ASCII bytes escaped as \xNN; for a
// quoted value (`quoted`) also quotes and backslashes, and cut after 80 bytes.
std::string Printable(std::string_view text, bool quoted) {
  constexpr std::size_t kMaxShown = 80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (quoted && i == kMaxShown) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(text[i]);
    if (quoted && (byte == '"' || byte == '\\')) {
      out += '\\';
      out += static_cast<char>(byte);
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    } else {
      out += static_cast<char>(byte);
    }
  }
  return out;
}

std::string Quote(std::string_view text) { return "\"" + Printable(text) + "\""; }

}  // namespace smtp_exporter
