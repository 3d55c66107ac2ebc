// IpAddress: a parsed IPv4 or IPv6 literal (never a host name: nothing here touches DNS).
// A plain value type; thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/base/result.h"

namespace smtp_exporter {

enum class IpFamily { kV4, kV6 };

// "ipv4" / "ipv6", as used in labels and JSON.
std::string_view IpFamilyName(IpFamily family);

class IpAddress {
 public:
  // Parses "192.0.2.1", "2001:db8::1" or the bracketed "[2001:db8::1]". Rejects names and a
  // bracketed IPv4 address.
  static std::optional<IpAddress> Parse(std::string_view text);
  // From network-order bytes: 4 for IPv4, 16 for IPv6.
  static IpAddress FromBytes(IpFamily family, const std::uint8_t* data);

  IpFamily family() const { return family_; }
  // Network-order bytes; only the first 4 are used for IPv4.
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  // Canonical text form (RFC 5952 for IPv6), without brackets.
  std::string ToString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  IpFamily family_ = IpFamily::kV4;
  std::array<std::uint8_t, 16> bytes_{};
};

// An IP network in CIDR notation ("10.0.0.0/8", "fc00::/7"), for the lists of networks a
// probe may not connect to. A plain value type; thread-compatible.
class IpNetwork {
 public:
  // Parses "ADDRESS/PREFIX", or a bare address (a /32 or /128). Bits past the prefix must be
  // zero: "10.0.0.1/8" is refused as a likely typo.
  static Result<IpNetwork> Parse(std::string_view text);

  // Whether `ip` lies in the network. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291
  // §2.5.5.2) is matched as the IPv4 address it carries, so it cannot slip past an IPv4 entry.
  bool Contains(const IpAddress& ip) const;

  const IpAddress& address() const { return address_; }
  int prefix_length() const { return prefix_length_; }
  // "10.0.0.0/8", "fc00::/7": the form Parse reads back.
  std::string ToString() const;

  friend bool operator==(const IpNetwork&, const IpNetwork&) = default;

 private:
  IpAddress address_;
  int prefix_length_ = 0;
};

// The DNS port (RFC 1035 §4.2), the default of a DNS server given without one.
inline constexpr std::uint16_t kDnsPort = 53;

// An IP address and a port: a DNS server to ask, or an SMTP endpoint to probe.
struct HostPort {
  IpAddress ip;
  std::uint16_t port = 25;

  // "192.0.2.53:53", "[2001:db8::53]:53": the form ParseHostPort reads back.
  std::string ToString() const;

  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// Parses "IP", "IP:PORT", "[IPv6]" or "[IPv6]:PORT"; `default_port` fills a missing port.
Result<HostPort> ParseHostPort(std::string_view text, std::uint16_t default_port);

// A comma-separated list of ParseHostPort forms ("127.0.0.1:15353,[::1]"); empty items are
// skipped. Fails on the first bad item.
Result<std::vector<HostPort>> ParseHostPortList(std::string_view text, std::uint16_t default_port);

}  // namespace smtp_exporter
