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

}  // namespace
}  // namespace smtp_exporter
