#include "config/base/ip_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "config/base/quote.h"

namespace smtp_exporter {

std::string_view IpFamilyName(IpFamily family) { return family == IpFamily::kV4 ? "ipv4" : "ipv6"; }

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  // Brackets enclose an IPv6 literal only (RFC 3986 §3.2.2 IP-literal; RFC 5321 §4.1.3).
  bool bracketed = false;
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    bracketed = true;
  }
  // inet_pton needs a NUL-terminated string; anything longer than an IPv6 literal is not one.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
    return std::nullopt;
  }
  char buffer[INET6_ADDRSTRLEN] = {};
  std::memcpy(buffer, text.data(), text.size());
  IpAddress address;
  if (!bracketed && inet_pton(AF_INET, buffer, address.bytes_.data()) == 1) {
    address.family_ = IpFamily::kV4;
    return address;
  }
  if (inet_pton(AF_INET6, buffer, address.bytes_.data()) == 1) {
    address.family_ = IpFamily::kV6;
    return address;
  }
  return std::nullopt;
}

IpAddress IpAddress::FromBytes(IpFamily family, const std::uint8_t* data) {
  IpAddress address;
  address.family_ = family;
  std::memcpy(address.bytes_.data(), data, family == IpFamily::kV4 ? 4 : 16);
  return address;
}

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  const int af = family_ == IpFamily::kV4 ? AF_INET : AF_INET6;
  if (inet_ntop(af, bytes_.data(), buffer, sizeof(buffer)) == nullptr) {
    return "";
  }
  return buffer;
}

namespace {

// Whether the first `bits` bits of `a` and `b` are equal.
bool SamePrefix(const std::uint8_t* a, const std::uint8_t* b, int bits) {
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xff : 0xff << (8 - bits));
    if ((a[i] & mask) != (b[i] & mask)) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<IpNetwork> IpNetwork::Parse(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::optional<IpAddress> address = IpAddress::Parse(text.substr(0, slash));
  if (!address) {
    return Error::InvalidArgument(Quote(text) +
                                  " is not a network (ADDRESS/PREFIX, such as 10.0.0.0/8)");
  }
  const int max = address->family() == IpFamily::kV4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || prefix < 0 ||
        prefix > max) {
      return Error::InvalidArgument(Quote(text) +
                                    ": the prefix length must be 0 to " + std::to_string(max));
    }
  }
  IpNetwork network;
  network.address_ = *address;
  network.prefix_length_ = prefix;
  // The bits past the prefix must be zero.
  for (int bit = prefix; bit < max; ++bit) {
    if ((address->bytes()[static_cast<std::size_t>(bit / 8)] >> (7 - bit % 8)) & 1) {
      return Error::InvalidArgument(Quote(text) +
                                    " has bits set past its prefix length");
    }
  }
  return network;
}

bool IpNetwork::Contains(const IpAddress& ip) const {
  const std::uint8_t* bytes = ip.bytes().data();
  IpFamily family = ip.family();
  static constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (family == IpFamily::kV6 && address_.family() == IpFamily::kV4 &&
      std::memcmp(bytes, kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
    bytes += sizeof(kMappedPrefix);
    family = IpFamily::kV4;
  }
  return family == address_.family() && SamePrefix(bytes, address_.bytes().data(), prefix_length_);
}

std::string IpNetwork::ToString() const {
  return address_.ToString() + "/" + std::to_string(prefix_length_);
}

std::string HostPort::ToString() const {
  const std::string host = ip.ToString();
  return (ip.family() == IpFamily::kV6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<HostPort> ParseHostPort(std::string_view text, std::uint16_t default_port) {
  std::string_view host = text;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return Error::InvalidArgument("missing ']' in " + Quote(text));
    }
    host = text.substr(0, close + 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Error::InvalidArgument("unexpected text after ']' in " + Quote(text));
      }
      port_text = rest.substr(1);
    }
  } else if (const auto colon = text.find(':');
             colon != std::string_view::npos &&
             text.find(':', colon + 1) == std::string_view::npos) {
    // Exactly one colon: IPv4 with a port. Several colons without brackets: a bare IPv6.
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  HostPort result;
  const auto ip = IpAddress::Parse(host);
  if (!ip) {
    return Error::InvalidArgument(Quote(host) + " is not an IPv4 or IPv6 address");
  }
  result.ip = *ip;
  result.port = default_port;
  if (!port_text.empty() || text.ends_with(':')) {
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return Error::InvalidArgument(Quote(port_text) +
                                    " is not a port number (1-65535)");
    }
    result.port = static_cast<std::uint16_t>(value);
  }
  return result;
}

Result<std::vector<HostPort>> ParseHostPortList(std::string_view text, std::uint16_t default_port) {
  std::vector<HostPort> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    if (comma != 0) {
      Result<HostPort> item = ParseHostPort(text.substr(0, comma), default_port);
      if (!item.ok()) {
        return item.error();
      }
      out.push_back(item.value());
    }
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return out;
}

}  // namespace smtp_exporter
