#include "config/domain_name.h"

#include <algorithm>
#include <cctype>

namespace smtp_exporter {
namespace {

bool IsLdh(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

}  // namespace

// ASCII only, byte by byte: no locale can change how a name or a filter compares.
std::string LowerAscii(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

// Whether `name` is a host name made of LDH labels (RFC 1035 §2.3.1, RFC 1123 §2.1). One
// trailing dot is allowed.
Status ValidateHostName(std::string_view name) {
  if (name.ends_with('.')) {
    name.remove_suffix(1);
  }
  if (name.empty()) {
    return Error::InvalidArgument("it is empty");
  }
  if (name.size() > 253) {
    return Error::InvalidArgument("it is longer than 253 characters");
  }
  for (char c : name) {
    if (c != '.' && !IsLdh(c)) {
      return Error::InvalidArgument(Quote(std::string_view(&c, 1)) +
                                    " is not allowed (only letters, digits, hyphens and dots)");
    }
  }
  std::string_view last_label;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) {
      return Error::InvalidArgument("it has an empty label");
    }
    if (label.size() > 63) {
      return Error::InvalidArgument("label " + Quote(label) + " is longer than 63 characters");
    }
    if (label.front() == '-' || label.back() == '-') {
      return Error::InvalidArgument("label " + Quote(label) + " starts or ends with a hyphen");
    }
    last_label = label;
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  if (std::all_of(last_label.begin(), last_label.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    return Error::InvalidArgument("the last label is all digits (IP addresses are not host names)");
  }
  return Status::Ok();
}

// Lower case, without the trailing dot.
std::string StripTrailingDots(std::string_view name) {
  while (name.ends_with('.')) {
    name.remove_suffix(1);
  }
  return std::string(name);
}

std::string NormaliseHostName(std::string_view name) { return LowerAscii(StripTrailingDots(name)); }

// Whether `address` can be the open-relay probe's RCPT TO.
Status ValidateProbeAddress(std::string_view address) {
  for (char c : address) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f || c == '<' || c == '>') {
      return Error::InvalidArgument(
          "spaces, \"<\", \">\", control and non-ASCII characters are not allowed");
    }
  }
  const std::size_t at = address.find('@');
  if (at == std::string_view::npos || at == 0 ||
      address.find('@', at + 1) != std::string_view::npos) {
    return Error::InvalidArgument("it must be local@domain");
  }
  if (at > 64) {
    return Error::InvalidArgument("the local part is longer than 64 characters");
  }
  if (Status valid = ValidateHostName(address.substr(at + 1)); !valid.ok()) {
    return Error::InvalidArgument("its domain is not a host name: " + valid.message());
  }
  return Status::Ok();
}

}  // namespace smtp_exporter
