#include "config/base/ip_address.h"

#include <gtest/gtest.h>

namespace smtp_exporter {
namespace {

TEST(IpAddressTest, ParsesBothFamilies) {
  const auto v4 = IpAddress::Parse("192.0.2.1");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family(), IpFamily::kV4);
  EXPECT_EQ(v4->ToString(), "192.0.2.1");
  const auto v6 = IpAddress::Parse("[2001:DB8:0:0::1]");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family(), IpFamily::kV6);
  EXPECT_EQ(v6->ToString(), "2001:db8::1");
}

TEST(IpAddressTest, RejectsNames) {
  for (const char* bad : {"", "mx.example.org", "192.0.2", "192.0.2.256", "[192.0.2.1", "::g",
                          "1.2.3.4.5", "2001:db8::1%eth0"}) {
    EXPECT_FALSE(IpAddress::Parse(bad)) << bad;
  }
  EXPECT_FALSE(IpAddress::Parse(std::string(100, '1')));
}

TEST(HostPortTest, Forms) {
  auto plain = ParseHostPort("127.0.0.2", 25);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain.value().port, 25);
  auto with_port = ParseHostPort("127.0.0.2:2525", 25);
  ASSERT_TRUE(with_port.ok());
  EXPECT_EQ(with_port.value().port, 2525);
  auto v6 = ParseHostPort("[::1]:10025", 25);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6.value().ip.ToString(), "::1");
  EXPECT_EQ(v6.value().port, 10025);
  auto bare_v6 = ParseHostPort("2001:db8::25", 587);
  ASSERT_TRUE(bare_v6.ok());
  EXPECT_EQ(bare_v6.value().port, 587);
}

// ToString gives the form ParseHostPort reads back (the resolver hands it to c-ares as is).
TEST(HostPortTest, ToStringRoundTrips) {
  for (const char* text : {"127.0.0.2:2525", "[::1]:53", "[2001:db8::25]:25"}) {
    auto parsed = ParseHostPort(text, 1);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(parsed.value().ToString(), text);
    EXPECT_EQ(ParseHostPort(parsed.value().ToString(), 1).value(), parsed.value());
  }
  EXPECT_EQ(ParseHostPort("2001:DB8::25", 53).value().ToString(), "[2001:db8::25]:53");
}

TEST(HostPortTest, Errors) {
  for (const char* bad : {"127.0.0.2:", "127.0.0.2:0", "127.0.0.2:65536", "127.0.0.2:x", "[::1]x",
                          "[::1", "mx.example.org:25", "[::1]:", "[127.0.0.2]:25"}) {
    const auto parsed = ParseHostPort(bad, 25);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(IpNetworkTest, ParsesAndMatches) {
  const IpNetwork ten = IpNetwork::Parse("10.0.0.0/8").value();
  EXPECT_EQ(ten.ToString(), "10.0.0.0/8");
  EXPECT_TRUE(ten.Contains(*IpAddress::Parse("10.255.0.1")));
  EXPECT_FALSE(ten.Contains(*IpAddress::Parse("11.0.0.1")));
  EXPECT_FALSE(ten.Contains(*IpAddress::Parse("2001:db8::1")));
  const IpNetwork ula = IpNetwork::Parse("fc00::/7").value();
  EXPECT_TRUE(ula.Contains(*IpAddress::Parse("fd12:3456::1")));
  EXPECT_FALSE(ula.Contains(*IpAddress::Parse("fe80::1")));
  EXPECT_FALSE(ula.Contains(*IpAddress::Parse("10.0.0.1")));
  // A bare address is a /32 or /128; /0 holds its whole family.
  EXPECT_EQ(IpNetwork::Parse("192.0.2.7").value().ToString(), "192.0.2.7/32");
  EXPECT_TRUE(IpNetwork::Parse("::/0").value().Contains(*IpAddress::Parse("2001:db8::1")));
  EXPECT_FALSE(IpNetwork::Parse("::/0").value().Contains(*IpAddress::Parse("192.0.2.1")));
  EXPECT_TRUE(IpNetwork::Parse("172.16.0.0/12").value().Contains(*IpAddress::Parse("172.31.9.9")));
  EXPECT_FALSE(IpNetwork::Parse("172.16.0.0/12").value().Contains(*IpAddress::Parse("172.32.0.1")));
}

// RFC 4291 §2.5.5.2: ::ffff:127.0.0.1 reaches 127.0.0.1 on a dual-stack socket.
TEST(IpNetworkTest, Ipv4MappedAddressesMatchIpv4Networks) {
  const IpNetwork loopback = IpNetwork::Parse("127.0.0.0/8").value();
  EXPECT_TRUE(loopback.Contains(*IpAddress::Parse("::ffff:127.0.0.9")));
  EXPECT_FALSE(loopback.Contains(*IpAddress::Parse("::ffff:192.0.2.1")));
  EXPECT_FALSE(loopback.Contains(*IpAddress::Parse("::127.0.0.9")));  // not mapped
}

TEST(IpNetworkTest, Errors) {
  for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/8x",
                          "mx.example.org/24", "10.0.0.1/8", "fc00::1/7", "[::1]/128/1"}) {
    EXPECT_FALSE(IpNetwork::Parse(bad).ok()) << bad;
  }
  EXPECT_EQ(IpNetwork::Parse("10.0.0.1/8").error().message,
            "\"10.0.0.1/8\" has bits set past its prefix length");
}

// Found by tests/fuzz/config_fuzzer: the text was quoted raw, so a newline in a config entry or
// a --flag value split the one-line error (and could forge a log line).
TEST(IpNetworkTest, ErrorsQuoteTheTextOnOneLine) {
  EXPECT_EQ(IpNetwork::Parse("10.0.0.0\nx/8").error().message,
            "\"10.0.0.0\\x0ax/8\" is not a network (ADDRESS/PREFIX, such as 10.0.0.0/8)");
  EXPECT_EQ(IpNetwork::Parse("10.0.0.0/8\r").error().message,
            "\"10.0.0.0/8\\x0d\": the prefix length must be 0 to 32");
  EXPECT_EQ(ParseHostPort("[::1\n", 53).error().message, "missing ']' in \"[::1\\x0a\"");
  EXPECT_EQ(ParseHostPort("192.0.2.1:5\x1b[2J", 53).error().message,
            "\"5\\x1b[2J\" is not a port number (1-65535)");
  EXPECT_EQ(ParseHostPort("\"ns1\"", 53).error().message,
            "\"\\\"ns1\\\"\" is not an IPv4 or IPv6 address");
}

}  // namespace
}  // namespace smtp_exporter
