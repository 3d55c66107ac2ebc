// ProbeDns / PlanEndpoints / ProbeReverseDns through the real c-ares resolver against the real
// Knot lab (tests/lab/dns/zones/lab.test.zone says what each name models). Only the lab server
// on loopback is ever queried; the system resolver is never used.
#include "probes/dns_probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/lab_environment.h"

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::LabEnvironment;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

HostPort Server(const std::string& text) { return ParseHostPort(text, kDnsPort).value(); }

class DnsProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ResolverOptions options;
    options.servers = {Server(LabEnvironment::DnsServer())};
    options.query_timeout = std::chrono::milliseconds(1000);
    auto created = AresResolver::Create(options);
    ASSERT_TRUE(created.ok()) << created.error().ToString();
    resolver_ = std::move(created).value();
  }

  DnsObservation Probe(const std::string& domain) {
    return ProbeDns(*resolver_, SystemClock::Instance(), domain, Soon());
  }
  // DNS posture plus reverse DNS of the planned endpoints, as a check runs it.
  DnsObservation ProbeWithReverse(const std::string& domain, EndpointPlan* plan) {
    DnsObservation dns = Probe(domain);
    *plan = PlanEndpoints(dns, 32);
    ProbeReverseDns(*resolver_, *plan, Soon(), {}, &dns);
    return dns;
  }
  static Deadline Soon() { return std::chrono::steady_clock::now() + std::chrono::seconds(10); }

  std::unique_ptr<AresResolver> resolver_;
};

TEST_F(DnsProbeTest, GoodDualStackWithPtrAndFcrdns) {
  EndpointPlan plan;
  const auto dns = ProbeWithReverse("good.lab.test", &plan);
  EXPECT_EQ(dns.mx.status, DnsStatus::kOk);
  ASSERT_EQ(dns.mx_targets.size(), 1u);
  EXPECT_EQ(dns.mx_targets[0].host, "mx-good.lab.test");
  EXPECT_EQ(dns.mx_targets[0].preference, 10);
  EXPECT_THAT(dns.mx_targets[0].cname_chain, IsEmpty());
  EXPECT_THAT(dns.mx_targets[0].addresses, ElementsAre(Ip("127.0.0.2"), Ip("::1")));
  EXPECT_FALSE(dns.null_mx || dns.implicit_mx);
  ASSERT_EQ(plan.endpoints.size(), 2u);
  ASSERT_EQ(dns.reverse.size(), 2u);
  for (const auto& reverse : dns.reverse) {
    EXPECT_EQ(reverse.ptr.status, DnsStatus::kOk) << reverse.ip.ToString();
    EXPECT_THAT(reverse.ptr_names, ElementsAre("mx-good.lab.test"));
    EXPECT_EQ(reverse.fcrdns_ok, true) << reverse.ip.ToString();
  }
}

TEST_F(DnsProbeTest, MxTargetIsACname) {
  const auto dns = Probe("cnamemx.lab.test");
  ASSERT_EQ(dns.mx_targets.size(), 1u);
  EXPECT_EQ(dns.mx_targets[0].host, "alias.lab.test");
  EXPECT_THAT(dns.mx_targets[0].cname_chain, ElementsAre("alias.lab.test", "mx-good.lab.test"));
  EXPECT_THAT(dns.mx_targets[0].addresses, ElementsAre(Ip("127.0.0.2"), Ip("::1")));
}

TEST_F(DnsProbeTest, CnameChainIsRecordedWhole) {
  const auto dns = Probe("cnamechain.lab.test");
  ASSERT_EQ(dns.mx_targets.size(), 1u);
  EXPECT_THAT(dns.mx_targets[0].cname_chain,
              ElementsAre("alias2.lab.test", "alias.lab.test", "mx-good.lab.test"));
}

TEST_F(DnsProbeTest, IpLiteralTarget) {
  const auto dns = Probe("literal.lab.test");
  ASSERT_EQ(dns.mx_targets.size(), 1u);
  EXPECT_TRUE(dns.mx_targets[0].is_ip_literal);
  EXPECT_EQ(dns.mx_targets[0].host, "127.0.0.2");
  EXPECT_THAT(PlanEndpoints(dns, 32).endpoints, IsEmpty());
}

TEST_F(DnsProbeTest, NullMx) {
  const auto dns = Probe("nullmx.lab.test");
  EXPECT_TRUE(dns.null_mx);
  EXPECT_FALSE(dns.null_mx_mixed);
  EXPECT_THAT(dns.mx_targets, IsEmpty());
}

TEST_F(DnsProbeTest, NullMxMixedWithRealMx) {
  const auto dns = Probe("nullmixed.lab.test");
  EXPECT_FALSE(dns.null_mx);
  EXPECT_TRUE(dns.null_mx_mixed);
  ASSERT_EQ(dns.mx_targets.size(), 1u);
  EXPECT_EQ(dns.mx_targets[0].host, "mx-good.lab.test");
}

TEST_F(DnsProbeTest, ImplicitMx) {
  const auto dns = Probe("implicit.lab.test");
  EXPECT_EQ(dns.mx.status, DnsStatus::kNoData);
  EXPECT_TRUE(dns.implicit_mx);
  EXPECT_THAT(dns.implicit_addresses, ElementsAre(Ip("127.0.0.2")));
  const auto plan = PlanEndpoints(dns, 32);
  ASSERT_EQ(plan.endpoints.size(), 1u);
  EXPECT_EQ(plan.endpoints[0].mx_name, "implicit.lab.test");
}

TEST_F(DnsProbeTest, NoMxAndNoAddress) {
  const auto dns = Probe("nomail.lab.test");
  EXPECT_EQ(dns.mx.status, DnsStatus::kNoData);
  EXPECT_FALSE(dns.implicit_mx);
  EXPECT_EQ(dns.implicit_a.status, DnsStatus::kNoData);
  EXPECT_EQ(dns.implicit_aaaa.status, DnsStatus::kNoData);
}

TEST_F(DnsProbeTest, NxDomain) {
  const auto dns = Probe("nosuch.lab.test");
  EXPECT_EQ(dns.mx.status, DnsStatus::kNxDomain);
  EXPECT_FALSE(dns.implicit_mx);
}

TEST_F(DnsProbeTest, DanglingAndAddresslessTargets) {
  const auto dangling = Probe("dangling.lab.test");
  ASSERT_EQ(dangling.mx_targets.size(), 1u);
  EXPECT_EQ(dangling.mx_targets[0].a.status, DnsStatus::kNxDomain);
  EXPECT_THAT(dangling.mx_targets[0].addresses, IsEmpty());
  const auto noaddr = Probe("noaddr.lab.test");
  ASSERT_EQ(noaddr.mx_targets.size(), 1u);
  EXPECT_EQ(noaddr.mx_targets[0].a.status, DnsStatus::kNoData);
  EXPECT_EQ(noaddr.mx_targets[0].aaaa.status, DnsStatus::kNoData);
}

TEST_F(DnsProbeTest, MissingPtr) {
  EndpointPlan plan;
  const auto dns = ProbeWithReverse("noptr.lab.test", &plan);
  ASSERT_EQ(dns.reverse.size(), 1u);
  EXPECT_EQ(dns.reverse[0].ip, Ip("127.0.0.20"));
  EXPECT_EQ(dns.reverse[0].ptr.status, DnsStatus::kNxDomain);
  EXPECT_FALSE(dns.reverse[0].fcrdns_ok.has_value());
}

TEST_F(DnsProbeTest, FcrdnsMismatch) {
  EndpointPlan plan;
  const auto dns = ProbeWithReverse("badptr.lab.test", &plan);
  ASSERT_EQ(dns.reverse.size(), 1u);
  EXPECT_THAT(dns.reverse[0].ptr_names, ElementsAre("liar.lab.test"));
  EXPECT_EQ(dns.reverse[0].fcrdns_ok, false);
}

TEST_F(DnsProbeTest, TwoMxSharingAnAddressAreProbedOnce) {
  const auto dns = Probe("shared.lab.test");
  ASSERT_EQ(dns.mx_targets.size(), 2u);
  const auto plan = PlanEndpoints(dns, 32);
  // mx-good has 127.0.0.2 and ::1; mx-good-alt only 127.0.0.2.
  ASSERT_EQ(plan.endpoints.size(), 2u);
  EXPECT_EQ(plan.endpoints[0].mx_name, "mx-good.lab.test");
  EXPECT_THAT(plan.endpoints[0].also_named, ElementsAre("mx-good-alt.lab.test"));
}

TEST_F(DnsProbeTest, Ipv6OnlyTargetAndV6Ptr) {
  EndpointPlan plan;
  const auto dns = ProbeWithReverse("ipv6only.lab.test", &plan);
  ASSERT_EQ(plan.endpoints.size(), 1u);
  EXPECT_EQ(plan.endpoints[0].ip, Ip("::1"));
  ASSERT_EQ(dns.reverse.size(), 1u);
  EXPECT_THAT(dns.reverse[0].ptr_names, ElementsAre("mx-good.lab.test"));
  EXPECT_EQ(dns.reverse[0].fcrdns_ok, true);
}

TEST_F(DnsProbeTest, ServfailIsAFailureNotMissingMx) {
  const auto dns = Probe("broken.test");
  EXPECT_EQ(dns.mx.status, DnsStatus::kServFail);
  EXPECT_TRUE(IsDnsFailure(dns.mx.status));
  EXPECT_FALSE(dns.implicit_mx);
}

TEST_F(DnsProbeTest, LabServerOverIpv6) {
  ResolverOptions options;
  options.servers = {Server("[::1]:" + std::to_string(testing::kDnsPort))};
  auto resolver = AresResolver::Create(options);
  ASSERT_TRUE(resolver.ok());
  const auto answers = resolver.value()->Resolve({{"good.lab.test", DnsType::kMx}}, Soon());
  EXPECT_EQ(answers[0].status, DnsStatus::kOk);
  ASSERT_EQ(answers[0].mx.size(), 1u);
}

TEST(DnsTimeoutTest, SilentServerTimesOutWithinTheDeadline) {
  // A UDP socket on loopback that never answers.
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t length = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length), 0);
  ResolverOptions options;
  options.servers = {Server("127.0.0.1:" + std::to_string(ntohs(addr.sin_port)))};
  options.query_timeout = std::chrono::milliseconds(200);
  options.tries = 1;
  auto resolver = AresResolver::Create(options);
  ASSERT_TRUE(resolver.ok());
  const auto started = std::chrono::steady_clock::now();
  const auto answers =
      resolver.value()->Resolve({{"good.lab.test", DnsType::kMx}, {"good.lab.test", DnsType::kA}},
                                started + std::chrono::seconds(5));
  EXPECT_EQ(answers[0].status, DnsStatus::kTimeout);
  EXPECT_EQ(answers[1].status, DnsStatus::kTimeout);
  // c-ares' own per-try timeout fired well before our 5 s deadline (generous bound: noisy CI).
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
  close(fd);
}

TEST(ResolverOptionsTest, RejectsNonPositiveTriesAndTimeout) {
  ResolverOptions options;
  options.servers = {Server("127.0.0.1:1")};
  options.tries = 0;
  EXPECT_FALSE(AresResolver::Create(options).ok());
  options.tries = 1;
  options.query_timeout = std::chrono::milliseconds(0);
  EXPECT_FALSE(AresResolver::Create(options).ok());
}

}  // namespace
}  // namespace smtp_exporter
