// ProbeDns, PlanEndpoints, ProbeReverseDns and CheckDomain over a fake resolver: every posture
// case decided from hand-written answers (the integration test repeats them on real Knot).
#include "probes/dns_probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "probes/domain_check.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::FakeClock;
using testing::FakeResolver;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

class DnsProbeUnitTest : public ::testing::Test {
 protected:
  DnsObservation Probe(const std::string& domain) {
    return ProbeDns(resolver_, clock_, domain, clock_.Now() + std::chrono::seconds(5));
  }
  FakeClock clock_;
  FakeResolver resolver_;
};

TEST_F(DnsProbeUnitTest, SortsByPreferenceAndDedupesAddresses) {
  resolver_.SetMx("example.org", {{20, "mx2.example.org."}, {10, "MX1.example.org"}});
  resolver_.SetAddresses("mx1.example.org", DnsType::kA, {"192.0.2.1", "192.0.2.1"});
  resolver_.SetAddresses("mx1.example.org", DnsType::kAaaa, {"2001:db8::1"});
  resolver_.SetAddresses("mx2.example.org", DnsType::kA, {"192.0.2.1"});
  const auto dns = Probe("Example.ORG.");
  EXPECT_EQ(dns.domain, "example.org");
  ASSERT_EQ(dns.mx_targets.size(), 2u);
  EXPECT_EQ(dns.mx_targets[0].host, "mx1.example.org");
  EXPECT_THAT(dns.mx_targets[0].addresses, ElementsAre(Ip("192.0.2.1"), Ip("2001:db8::1")));
  const auto plan = PlanEndpoints(dns, 32);
  ASSERT_EQ(plan.endpoints.size(), 2u);
  EXPECT_THAT(plan.endpoints[0].also_named, ElementsAre("mx2.example.org"));
}

TEST_F(DnsProbeUnitTest, NullMxAloneAndMixed) {
  resolver_.SetMx("null.example", {{0, ""}});
  EXPECT_TRUE(Probe("null.example").null_mx);
  resolver_.SetMx("mixed.example", {{0, ""}, {10, "mx.mixed.example"}});
  const auto mixed = Probe("mixed.example");
  EXPECT_FALSE(mixed.null_mx);
  EXPECT_TRUE(mixed.null_mx_mixed);
  EXPECT_EQ(mixed.mx_targets.size(), 1u);
}

TEST_F(DnsProbeUnitTest, IpLiteralTargetsAreNotLookedUp) {
  resolver_.SetMx("lit.example", {{10, "192.0.2.7"}, {20, "[2001:db8::7]"}});
  const auto dns = Probe("lit.example");
  ASSERT_EQ(dns.mx_targets.size(), 2u);
  EXPECT_TRUE(dns.mx_targets[0].is_ip_literal);
  EXPECT_TRUE(dns.mx_targets[1].is_ip_literal);
  EXPECT_EQ(resolver_.asked().size(), 1u);  // only the MX query
}

TEST_F(DnsProbeUnitTest, ServfailOnMxStopsAndIsNotMissingMx) {
  DnsAnswer servfail;
  servfail.status = DnsStatus::kServFail;
  resolver_.Set("sf.example", DnsType::kMx, servfail);
  const auto dns = Probe("sf.example");
  EXPECT_EQ(dns.mx.status, DnsStatus::kServFail);
  EXPECT_FALSE(dns.implicit_mx);
  EXPECT_EQ(resolver_.asked().size(), 1u);
}

TEST_F(DnsProbeUnitTest, NoDataFallsBackToImplicitMx) {
  resolver_.SetMx("imp.example", {});
  resolver_.SetAddresses("imp.example", DnsType::kA, {"192.0.2.9"});
  resolver_.SetAddresses("imp.example", DnsType::kAaaa, {});
  const auto dns = Probe("imp.example");
  EXPECT_TRUE(dns.implicit_mx);
  const auto plan = PlanEndpoints(dns, 32);
  ASSERT_EQ(plan.endpoints.size(), 1u);
  EXPECT_EQ(plan.endpoints[0].mx_name, "imp.example");
}

TEST_F(DnsProbeUnitTest, EndpointCapBoundsTheFanOut) {
  std::vector<MxRecord> records;
  std::vector<std::string> ips;
  for (int i = 0; i < 20; ++i) ips.push_back("192.0.2." + std::to_string(i + 1));
  resolver_.SetMx("big.example", {{10, "mx.big.example"}});
  resolver_.SetAddresses("mx.big.example", DnsType::kA, ips);
  const auto plan = PlanEndpoints(Probe("big.example"), 8);
  EXPECT_EQ(plan.endpoints.size(), 8u);
  EXPECT_EQ(plan.dropped_over_cap, 12u);
}

TEST_F(DnsProbeUnitTest, MxTargetCapBoundsLookups) {
  std::vector<MxRecord> records;
  for (int i = 0; i < 40; ++i) records.push_back({10, "mx" + std::to_string(i) + ".example"});
  resolver_.SetMx("many.example", records);
  DnsProbeLimits limits;
  limits.max_mx_targets = 5;
  const auto dns =
      ProbeDns(resolver_, clock_, "many.example", clock_.Now() + std::chrono::seconds(5), limits);
  EXPECT_EQ(dns.mx_targets.size(), 5u);
  EXPECT_EQ(resolver_.asked().size(), 1u + 10u);
}

TEST_F(DnsProbeUnitTest, FcrdnsConfirmedMismatchedAndUndecided) {
  EndpointPlan plan;
  plan.endpoints = {{"a", 10, Ip("192.0.2.1"), {}},
                    {"b", 10, Ip("192.0.2.2"), {}},
                    {"c", 10, Ip("192.0.2.3"), {}},
                    {"d", 10, Ip("2001:db8::4"), {}}};
  resolver_.SetPtr("192.0.2.1", {"good.example."});
  resolver_.SetAddresses("good.example", DnsType::kA, {"192.0.2.1"});
  resolver_.SetPtr("192.0.2.2", {"liar.example"});
  resolver_.SetAddresses("liar.example", DnsType::kA, {"192.0.2.99"});
  resolver_.SetPtr("192.0.2.3", {"flaky.example"});
  DnsAnswer timeout;
  timeout.status = DnsStatus::kTimeout;
  resolver_.Set("flaky.example", DnsType::kA, timeout);
  resolver_.SetPtr("2001:db8::4", {"v6.example"});
  resolver_.SetAddresses("v6.example", DnsType::kAaaa, {"2001:db8::4"});
  DnsObservation dns;
  ProbeReverseDns(resolver_, plan, clock_.Now() + std::chrono::seconds(5), {}, &dns);
  ASSERT_EQ(dns.reverse.size(), 4u);
  EXPECT_EQ(dns.reverse[0].fcrdns_ok, true);
  EXPECT_EQ(dns.reverse[0].fcrdns_name, "good.example");
  EXPECT_EQ(dns.reverse[1].fcrdns_ok, false);
  EXPECT_FALSE(dns.reverse[2].fcrdns_ok.has_value());
  ASSERT_EQ(dns.reverse[2].fcrdns_failures.size(), 1u);
  EXPECT_EQ(dns.reverse[2].fcrdns_failures[0].name, "flaky.example");
  EXPECT_EQ(dns.reverse[2].fcrdns_failures[0].lookup.status, DnsStatus::kTimeout);
  EXPECT_EQ(dns.reverse[3].fcrdns_ok, true);
}

TEST(CheckDomainTest, ProbesEveryPlannedEndpointConcurrently) {
  FakeClock clock;
  FakeResolver resolver;
  resolver.SetMx("example.org", {{10, "mx.example.org"}});
  resolver.SetAddresses("mx.example.org", DnsType::kA, {"192.0.2.1", "192.0.2.2", "192.0.2.3"});
  testing::ScriptedTransportFactory factory;
  for (int i = 0; i < 3; ++i) {
    factory.AddConnectError(Error{ErrorCode::kConnectionRefused, "refused"});
  }
  DomainCheckSettings settings;
  settings.endpoint_concurrency = 1;  // the scripted factory is single-threaded
  std::vector<std::string> done;
  settings.on_endpoint_done = [&](const EndpointObservation& e) { done.push_back(e.ip.ToString()); };
  const auto obs = CheckDomain("example.org", CheckOptions{}, settings, resolver, factory, clock);
  ASSERT_EQ(obs.endpoints.size(), 3u);
  EXPECT_EQ(obs.endpoints[2].ip.ToString(), "192.0.2.3");
  EXPECT_EQ(obs.endpoints[0].connect_status, ConnectStatus::kRefused);
  EXPECT_EQ(done.size(), 3u);
  EXPECT_EQ(obs.dns.reverse.size(), 3u);
}

// Reverse DNS runs beside the endpoint probes, not before them: a PTR lookup that waits for the
// first connection of the probes (bounded) only sees it if nothing made the probes wait for it.
struct Rendezvous {
  std::mutex mutex;
  std::condition_variable changed;
  bool connected = false;
};

class PtrWaitsForAConnection final : public Resolver {
 public:
  PtrWaitsForAConnection(const Resolver& inner, Rendezvous& rendezvous)
      : inner_(inner), rendezvous_(rendezvous) {}
  std::vector<DnsAnswer> Resolve(const std::vector<DnsQuery>& queries,
                                 Deadline deadline) const override {
    if (!queries.empty() && queries.front().type == DnsType::kPtr) {
      std::unique_lock<std::mutex> lock(rendezvous_.mutex);
      saw_a_connection_ = rendezvous_.changed.wait_for(lock, std::chrono::seconds(5),
                                                       [this] { return rendezvous_.connected; });
    }
    return inner_.Resolve(queries, deadline);
  }
  bool saw_a_connection() const { return saw_a_connection_; }

 private:
  const Resolver& inner_;
  Rendezvous& rendezvous_;
  mutable std::atomic<bool> saw_a_connection_{false};
};

class ConnectionSignal final : public TransportFactory {
 public:
  ConnectionSignal(TransportFactory& inner, Rendezvous& rendezvous)
      : inner_(inner), rendezvous_(rendezvous) {}
  Result<std::unique_ptr<Transport>> Connect(const IpAddress& ip, std::uint16_t port,
                                             Deadline deadline) override {
    {
      const std::lock_guard<std::mutex> lock(rendezvous_.mutex);
      rendezvous_.connected = true;
    }
    rendezvous_.changed.notify_all();
    return inner_.Connect(ip, port, deadline);
  }

 private:
  TransportFactory& inner_;
  Rendezvous& rendezvous_;
};

TEST(CheckDomainTest, ReverseDnsOverlapsTheEndpointProbes) {
  FakeClock clock;
  FakeResolver answers;
  answers.SetMx("example.org", {{10, "mx.example.org"}});
  answers.SetAddresses("mx.example.org", DnsType::kA, {"192.0.2.1"});
  answers.SetPtr("192.0.2.1", {"mx.example.org"});
  Rendezvous rendezvous;
  const PtrWaitsForAConnection resolver(answers, rendezvous);
  testing::ScriptedTransportFactory scripted;
  scripted.AddConnectError(Error{ErrorCode::kConnectionRefused, "refused"});
  ConnectionSignal factory(scripted, rendezvous);
  const auto obs =
      CheckDomain("example.org", CheckOptions{}, DomainCheckSettings{}, resolver, factory, clock);
  EXPECT_TRUE(resolver.saw_a_connection());
  ASSERT_EQ(obs.dns.reverse.size(), 1u);
  ASSERT_EQ(obs.endpoints.size(), 1u);
  EXPECT_EQ(obs.endpoints[0].connect_status, ConnectStatus::kRefused);
}

// A denied address is never connected to, and says where and why it failed, as a refused
// connection would: phase "connect", reason "not_allowed" (smtp_probe_failed_phase).
TEST(CheckDomainTest, ADeniedAddressFailsInConnectAsNotAllowed) {
  FakeClock clock;
  FakeResolver resolver;
  resolver.SetMx("example.org", {{10, "mx.example.org"}});
  resolver.SetAddresses("mx.example.org", DnsType::kA, {"10.1.2.3"});
  testing::ScriptedTransportFactory factory;
  DomainCheckSettings settings;
  settings.denied_networks = {IpNetwork::Parse("10.0.0.0/8").value()};
  const auto obs = CheckDomain("example.org", CheckOptions{}, settings, resolver, factory, clock);
  ASSERT_EQ(obs.endpoints.size(), 1u);
  ASSERT_TRUE(obs.endpoints[0].failure.has_value());
  EXPECT_EQ(obs.endpoints[0].failure->phase, "connect");
  EXPECT_EQ(FailureReasonName(obs.endpoints[0].failure->reason), "not_allowed");
  EXPECT_EQ(factory.transports().size(), 0u);
}

// A /probe's deadline without a scrape timeout is greeting_timeout + timeout from its start:
// what is left after DNS must not cut the greeting wait to half. Under a short scrape budget
// both get half.
TEST(CheckDomainTest, RemainingTimeIsSharedBetweenGreetingAndCommands) {
  using std::chrono::milliseconds;
  CheckOptions options;
  options.greeting_timeout = milliseconds(30000);
  options.timeout = milliseconds(12000);
  CheckOptions fitted = FitIntoRemainingTime(options, milliseconds(60000));
  EXPECT_EQ(fitted.greeting_timeout, milliseconds(30000));
  EXPECT_EQ(fitted.timeout, milliseconds(12000));
  fitted = FitIntoRemainingTime(options, milliseconds(41900));  // 100 ms went to DNS
  EXPECT_EQ(fitted.greeting_timeout, milliseconds(29900));
  EXPECT_EQ(fitted.timeout, milliseconds(12000));
  fitted = FitIntoRemainingTime(options, milliseconds(9500));  // a 10 s scrape timeout
  EXPECT_EQ(fitted.greeting_timeout, milliseconds(4750));
  EXPECT_EQ(fitted.timeout, milliseconds(4750));
}

}  // namespace
}  // namespace smtp_exporter
