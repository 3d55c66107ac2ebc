#include "config/check_options.h"

#include <gtest/gtest.h>

namespace smtp_exporter {
namespace {

TEST(CheckOptionsTest, SeedDefaults) {
  const CheckOptions options;
  EXPECT_EQ(options.timeout, std::chrono::seconds(12));
  EXPECT_TRUE(options.test_null_sender);
  EXPECT_TRUE(options.test_postmaster);
  EXPECT_TRUE(options.test_open_relay);
  EXPECT_EQ(options.test_probe_address, "postmaster@example.com");
  EXPECT_EQ(options.port, 25);
}

TEST(CheckOptionsTest, ProbeAddressKeptOutsideTheDomain) {
  EXPECT_EQ(ProbeAddressFor("postmaster@example.com", "example.org"), "postmaster@example.com");
  EXPECT_EQ(ProbeAddressFor("x@notexample.com", "example.com"), "x@notexample.com");
}

TEST(CheckOptionsTest, ProbeAddressReplacedInsideTheDomain) {
  EXPECT_EQ(ProbeAddressFor("postmaster@example.com", "example.com"), "postmaster@example.net");
  EXPECT_EQ(ProbeAddressFor("postmaster@Example.COM.", "example.com"), "postmaster@example.net");
  EXPECT_EQ(ProbeAddressFor("relaytest@mail.example.org", "example.org"),
            "postmaster@example.com");
}

TEST(CheckOptionsTest, DefaultHeloNameIsNotEmpty) { EXPECT_FALSE(DefaultHeloName().empty()); }

}  // namespace
}  // namespace smtp_exporter
