// Posture drift (exporter/check/posture.h) and the smtp.posture_drift rule: what counts as a
// change, what does not (a silent endpoint, a failed lookup), how long a change is reported,
// the bounds of the log and its JSON form.
#include "exporter/check/posture.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "exporter/check/evaluate.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using testing::HealthyDomain;
using testing::UnreachableEndpoint;
using testing::WithoutStartTls;

constexpr double kT0 = 1'800'000'000;
constexpr double kHour = 3600;

DomainObservation Domain(double at) {
  DomainObservation obs =
      HealthyDomain("example.org", {{10, "mx1.example.org", {"192.0.2.1"}},
                                    {20, "mx2.example.org", {"192.0.2.2"}}});
  obs.started_at_unix = at;
  return obs;
}

std::vector<Finding> Drift(const DomainObservation& obs, const PostureHistory& history) {
  std::vector<Finding> out;
  for (Finding& f : Evaluate(obs, testing::FixtureOptions(), RuleSelection::Defaults(), &history)) {
    if (f.rule == "smtp.posture_drift") {
      out.push_back(std::move(f));
    }
  }
  return out;
}

std::vector<Finding> Problems(const std::vector<Finding>& findings, std::string_view code) {
  std::vector<Finding> out;
  for (const Finding& f : findings) {
    if (f.code == code && f.severity != Severity::kOk) {
      out.push_back(f);
    }
  }
  return out;
}

TEST(PostureTest, AHealthyDomainHasEveryFactOnce) {
  const std::vector<PostureFact> facts = PostureOf(Domain(kT0));
  std::vector<std::string> keys;
  for (const auto& f : facts) {
    keys.push_back(std::string(PostureKindName(f.kind)) + " " + f.mx + " " + f.ip + " = " +
                   f.value);
  }
  EXPECT_EQ(facts.size(), 1u + 2 * 5 + 2) << ::testing::PrintToString(keys);
  const PostureHistory history = AdvancePosture(nullptr, Domain(kT0));
  const PostureFact* mx = FindPostureFact(history, PostureKind::kMxSet, "", "");
  ASSERT_NE(mx, nullptr);
  EXPECT_EQ(mx->value, "10 mx1.example.org, 20 mx2.example.org");
  const PostureFact* tls =
      FindPostureFact(history, PostureKind::kTlsVersion, "mx1.example.org", "192.0.2.1");
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->value, "TLSv1.3");
  const PostureFact* ptr = FindPostureFact(history, PostureKind::kPtr, "", "192.0.2.2");
  ASSERT_NE(ptr, nullptr);
  EXPECT_EQ(ptr->value, "mx2.example.org");
}

TEST(PostureTest, TheFirstCheckStartsTrackingAndReportsNoChange) {
  const PostureHistory history = AdvancePosture(nullptr, Domain(kT0));
  EXPECT_EQ(history.tracked_since_unix, kT0);
  EXPECT_TRUE(history.changes.empty());
  // An empty history (what the daemon passes for a domain's first check) is the same start.
  EXPECT_EQ(AdvancePosture(&history, Domain(kT0 + 300)).tracked_since_unix, kT0);
  const PostureHistory empty;
  EXPECT_EQ(AdvancePosture(nullptr, Domain(kT0)), AdvancePosture(&empty, Domain(kT0)));
  const std::vector<Finding> findings = Drift(Domain(kT0), history);
  ASSERT_FALSE(findings.empty());
  for (const Finding& f : findings) {
    EXPECT_EQ(f.severity, Severity::kOk) << f.code << ": " << f.message;
  }
}

TEST(PostureTest, WithoutAHistoryTheRuleSaysNothing) {
  for (const Finding& f : Evaluate(Domain(kT0), testing::FixtureOptions())) {
    EXPECT_NE(f.rule, "smtp.posture_drift") << f.code;
  }
}

TEST(PostureTest, StartTlsLostIsAWarningUntilItIsBack) {
  PostureHistory history = AdvancePosture(nullptr, Domain(kT0));
  DomainObservation stripped = Domain(kT0 + 300);
  WithoutStartTls(&stripped.endpoints[1]);
  history = AdvancePosture(&history, stripped);
  std::vector<Finding> lost = Problems(Drift(stripped, history), "smtp.drift.starttls_lost");
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].severity, Severity::kWarn);
  EXPECT_EQ(lost[0].subject.mx, "mx2.example.org");
  EXPECT_NE(lost[0].message.find("at this check"), std::string::npos) << lost[0].message;
  // The loss is starttls_lost's alone, not also an INFO change.
  EXPECT_TRUE(Problems(Drift(stripped, history), "smtp.drift.changed").empty());

  // Days later, still stripped: still a warning, though no longer a fresh change.
  DomainObservation still = Domain(kT0 + 72 * kHour);
  WithoutStartTls(&still.endpoints[1]);
  history = AdvancePosture(&history, still);
  lost = Problems(Drift(still, history), "smtp.drift.starttls_lost");
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_NE(lost[0].message.find("72 h before this check"), std::string::npos) << lost[0].message;

  // Back: no warning, and its return is an INFO change.
  const DomainObservation back = Domain(kT0 + 73 * kHour);
  history = AdvancePosture(&history, back);
  EXPECT_TRUE(Problems(Drift(back, history), "smtp.drift.starttls_lost").empty());
  const std::vector<Finding> changed = Problems(Drift(back, history), "smtp.drift.changed");
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].severity, Severity::kInfo);
  EXPECT_NE(changed[0].message.find("STARTTLS changed from \"not offered\" to \"offered\""),
            std::string::npos)
      << changed[0].message;
}

// RFC 8461 §5: under an enforce policy the loss stops mail, so it is critical.
TEST(PostureTest, StartTlsLostUnderAnEnforcePolicyIsCritical) {
  PostureHistory history = AdvancePosture(nullptr, Domain(kT0));
  DomainObservation stripped = Domain(kT0 + 300);
  WithoutStartTls(&stripped.endpoints[0]);
  stripped.mta_sts.emplace();
  stripped.mta_sts->policy = MtaStsPolicy{MtaStsMode::kEnforce, {"*.example.org"}, 86400};
  history = AdvancePosture(&history, stripped);
  std::vector<Finding> lost = Problems(Drift(stripped, history), "smtp.drift.starttls_lost");
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].severity, Severity::kCrit);
  EXPECT_NE(lost[0].message.find("enforce mode"), std::string::npos) << lost[0].message;
  stripped.mta_sts->policy->mode = MtaStsMode::kTesting;
  lost = Problems(Drift(stripped, history), "smtp.drift.starttls_lost");
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].severity, Severity::kWarn);
}

TEST(PostureTest, AServerThatNeverOfferedStartTlsHasNotLostIt) {
  DomainObservation plain = Domain(kT0);
  WithoutStartTls(&plain.endpoints[0]);
  PostureHistory history = AdvancePosture(nullptr, plain);
  plain.started_at_unix = kT0 + 300;
  history = AdvancePosture(&history, plain);
  EXPECT_TRUE(Problems(Drift(plain, history), "smtp.drift.starttls_lost").empty());
}

TEST(PostureTest, AnEndpointThatDidNotAnswerKeepsItsLastKnownFacts) {
  PostureHistory history = AdvancePosture(nullptr, Domain(kT0));
  DomainObservation down = Domain(kT0 + 300);
  down.endpoints[1] = UnreachableEndpoint("example.org", "mx2.example.org", "192.0.2.2",
                                          ConnectStatus::kTimeout, "timed out");
  history = AdvancePosture(&history, down);
  EXPECT_TRUE(history.changes.empty()) << "silence is not a change";
  EXPECT_NE(FindPostureFact(history, PostureKind::kStartTls, "mx2.example.org", "192.0.2.2"),
            nullptr);
  // Back without STARTTLS: compared with what was known before the gap.
  DomainObservation stripped = Domain(kT0 + 600);
  WithoutStartTls(&stripped.endpoints[1]);
  history = AdvancePosture(&history, stripped);
  EXPECT_EQ(Problems(Drift(stripped, history), "smtp.drift.starttls_lost").size(), 1u);
}

TEST(PostureTest, AFailedLookupChangesNothing) {
  PostureHistory history = AdvancePosture(nullptr, Domain(kT0));
  DomainObservation failed = Domain(kT0 + 300);
  failed.dns.mx = {DnsStatus::kServFail, "server failed"};
  failed.dns.reverse[0].ptr = {DnsStatus::kTimeout, "timeout"};
  failed.dns.reverse[0].ptr_names.clear();
  history = AdvancePosture(&history, failed);
  EXPECT_TRUE(history.changes.empty());
}

TEST(PostureTest, AChangeIsReportedForADayAndTimestamped) {
  PostureHistory history = AdvancePosture(nullptr, Domain(kT0));
  DomainObservation renamed = Domain(kT0 + kHour);
  renamed.endpoints[0].announced_hostname = "smtp.provider.example";
  history = AdvancePosture(&history, renamed);
  ASSERT_EQ(history.changes.size(), 1u);
  EXPECT_EQ(history.changes[0].kind, PostureKind::kBanner);
  EXPECT_EQ(history.changes[0].before, "mx1.example.org");
  EXPECT_EQ(history.changes[0].after, "smtp.provider.example");
  ASSERT_EQ(history.last_change_at.size(), 1u);
  EXPECT_EQ(history.last_change_at[0], std::make_pair(PostureKind::kBanner, kT0 + kHour));

  DomainObservation later = renamed;
  later.started_at_unix = kT0 + 24 * kHour;
  history = AdvancePosture(&history, later);
  std::vector<Finding> changed = Problems(Drift(later, history), "smtp.drift.changed");
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].subject.mx, "mx1.example.org");
  EXPECT_NE(changed[0].message.find("Banner host name changed from \"mx1.example.org\" to "
                                    "\"smtp.provider.example\" 23 h before this check"),
            std::string::npos)
      << changed[0].message;

  later.started_at_unix = kT0 + 26 * kHour;
  history = AdvancePosture(&history, later);
  EXPECT_TRUE(Problems(Drift(later, history), "smtp.drift.changed").empty());
  EXPECT_EQ(history.changes.size(), 1u) << "the log keeps it for the report";
}

TEST(PostureTest, AnMxSetChangeDropsTheFactsOfTheHostThatLeft) {
  PostureHistory history = AdvancePosture(nullptr, Domain(kT0));
  DomainObservation one =
      HealthyDomain("example.org", {{10, "mx1.example.org", {"192.0.2.1"}}});
  one.started_at_unix = kT0 + 300;
  history = AdvancePosture(&history, one);
  ASSERT_EQ(history.changes.size(), 1u);
  EXPECT_EQ(history.changes[0].kind, PostureKind::kMxSet);
  EXPECT_EQ(history.changes[0].after, "10 mx1.example.org");
  EXPECT_EQ(FindPostureFact(history, PostureKind::kBanner, "mx2.example.org", "192.0.2.2"),
            nullptr);
  EXPECT_EQ(FindPostureFact(history, PostureKind::kPtr, "", "192.0.2.2"), nullptr);
  const std::vector<Finding> changed = Problems(Drift(one, history), "smtp.drift.changed");
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_TRUE(changed[0].subject.mx.empty()) << "about the domain";
}

// MTA-STS (test_mta_sts): the fetched policy's mode, or "no policy" when the lookup answered
// without a record. A fetch that failed this time is no change of mode (senders keep their
// cached policy, RFC 8461 §5.1).
DomainObservation WithPolicy(double at, std::optional<MtaStsMode> mode,
                             PolicyFetchStatus fetch = PolicyFetchStatus::kOk) {
  DomainObservation obs = Domain(at);
  MtaStsObservation m;
  m.record_lookup.status = mode || fetch != PolicyFetchStatus::kOk ? DnsStatus::kOk
                                                                     : DnsStatus::kNxDomain;
  m.record_count = mode || fetch != PolicyFetchStatus::kOk ? 1 : 0;
  m.fetch_status = mode ? fetch : PolicyFetchStatus::kNotAttempted;
  if (mode && fetch == PolicyFetchStatus::kOk) {
    m.policy = MtaStsPolicy{*mode, {"*.example.org"}, 86400};
  }
  if (!mode && fetch != PolicyFetchStatus::kOk) {
    m.fetch_status = fetch;
  }
  obs.mta_sts = m;
  return obs;
}

TEST(PostureTest, AnMtaStsModeChangeIsReportedAboutTheDomain) {
  PostureHistory history = AdvancePosture(nullptr, WithPolicy(kT0, MtaStsMode::kEnforce));
  const PostureFact* mode = FindPostureFact(history, PostureKind::kMtaStsMode, "", "");
  ASSERT_NE(mode, nullptr);
  EXPECT_EQ(mode->value, "enforce");
  // The policy host is down for a check: nothing changes.
  history = AdvancePosture(&history, WithPolicy(kT0 + 300, std::nullopt,
                                                PolicyFetchStatus::kConnectFailed));
  EXPECT_TRUE(history.changes.empty());
  EXPECT_EQ(FindPostureFact(history, PostureKind::kMtaStsMode, "", "")->value, "enforce");
  // Testing mode: a change, about the domain.
  const DomainObservation testing_mode = WithPolicy(kT0 + 600, MtaStsMode::kTesting);
  history = AdvancePosture(&history, testing_mode);
  ASSERT_EQ(history.changes.size(), 1u);
  EXPECT_EQ(history.changes[0].kind, PostureKind::kMtaStsMode);
  EXPECT_EQ(history.changes[0].before, "enforce");
  EXPECT_EQ(history.changes[0].after, "testing");
  const std::vector<Finding> changed = Problems(Drift(testing_mode, history), "smtp.drift.changed");
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].severity, Severity::kInfo);
  EXPECT_TRUE(changed[0].subject.mx.empty()) << "about the domain";
  EXPECT_NE(changed[0].message.find("MTA-STS mode changed from \"enforce\" to \"testing\""),
            std::string::npos)
      << changed[0].message;
  // The record withdrawn: "no policy".
  history = AdvancePosture(&history, WithPolicy(kT0 + 900, std::nullopt));
  ASSERT_EQ(history.changes.size(), 2u);
  EXPECT_EQ(history.changes[1].after, "no policy");
  // Not collected (test_mta_sts off): the last known mode stays, no change.
  history = AdvancePosture(&history, Domain(kT0 + 1200));
  EXPECT_EQ(history.changes.size(), 2u);
  EXPECT_EQ(FindPostureFact(history, PostureKind::kMtaStsMode, "", "")->value, "no policy");
}

// DANE (test_dane): each MX host's TLSA RRset, sorted, with its DNSSEC status. A rollover is a
// change about that host; a failed lookup is none.
TEST(PostureTest, ATlsaChangeIsReportedAboutItsMxHost) {
  auto with_tlsa = [](double at, std::vector<TlsaRecord> records, bool validated,
                      DnsStatus status = DnsStatus::kOk) {
    DomainObservation obs = Domain(at);
    obs.dns.mx_targets[0].tlsa = {"_25._tcp.mx1.example.org", {status, ""}, std::move(records),
                                  validated};
    return obs;
  };
  const TlsaRecord old_key{3, 1, 1, 32, "aa11"};
  const TlsaRecord new_key{3, 1, 1, 32, "bb22"};
  PostureHistory history = AdvancePosture(nullptr, with_tlsa(kT0, {new_key, old_key}, true));
  const PostureFact* tlsa =
      FindPostureFact(history, PostureKind::kDaneTlsa, "mx1.example.org", "");
  ASSERT_NE(tlsa, nullptr);
  EXPECT_EQ(tlsa->value, "3 1 1 aa11, 3 1 1 bb22 (validated)");  // sorted: order is no change
  history = AdvancePosture(&history, with_tlsa(kT0 + 300, {old_key, new_key}, true));
  history = AdvancePosture(&history, with_tlsa(kT0 + 600, {}, false, DnsStatus::kServFail));
  EXPECT_TRUE(history.changes.empty());
  // The old key withdrawn after the rollover: a change about mx1.
  const DomainObservation rolled = with_tlsa(kT0 + 900, {new_key}, true);
  history = AdvancePosture(&history, rolled);
  ASSERT_EQ(history.changes.size(), 1u);
  EXPECT_EQ(history.changes[0].kind, PostureKind::kDaneTlsa);
  EXPECT_EQ(history.changes[0].after, "3 1 1 bb22 (validated)");
  const std::vector<Finding> changed = Problems(Drift(rolled, history), "smtp.drift.changed");
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].subject.mx, "mx1.example.org");
  EXPECT_NE(changed[0].message.find("TLSA records changed from"), std::string::npos)
      << changed[0].message;
  // Validation lost is a change too; so is the RRset gone.
  history = AdvancePosture(&history, with_tlsa(kT0 + 1200, {new_key}, false));
  EXPECT_EQ(history.changes.back().after, "3 1 1 bb22 (not validated)");
  history = AdvancePosture(&history, with_tlsa(kT0 + 1500, {}, false, DnsStatus::kNxDomain));
  EXPECT_EQ(history.changes.back().after, "(none)");
  // mx1 leaves the MX set: its TLSA fact goes with it.
  DomainObservation one = HealthyDomain("example.org", {{20, "mx2.example.org", {"192.0.2.2"}}});
  one.started_at_unix = kT0 + 1800;
  history = AdvancePosture(&history, one);
  EXPECT_EQ(FindPostureFact(history, PostureKind::kDaneTlsa, "mx1.example.org", ""), nullptr);
}

TEST(PostureTest, TheLogIsBoundedAndKeepsTheStartTlsLossLongest) {
  PostureHistory history = AdvancePosture(nullptr, Domain(kT0));
  DomainObservation obs = Domain(kT0 + 60);
  WithoutStartTls(&obs.endpoints[1]);
  history = AdvancePosture(&history, obs);
  for (int i = 0; i < 100; ++i) {  // a banner that changes at every check
    obs.started_at_unix = kT0 + 120 + 60 * i;
    obs.endpoints[0].announced_hostname = "mx" + std::to_string(i) + ".example.org";
    history = AdvancePosture(&history, obs);
  }
  EXPECT_EQ(history.changes.size(), kMaxPostureChanges);
  EXPECT_EQ(history.changes.front().kind, PostureKind::kStartTls);
  EXPECT_EQ(Problems(Drift(obs, history), "smtp.drift.starttls_lost").size(), 1u);
}

TEST(PostureTest, JsonReadsBackWhatItWrote) {
  PostureHistory history = AdvancePosture(nullptr, Domain(kT0));
  DomainObservation stripped = Domain(kT0 + 300);
  WithoutStartTls(&stripped.endpoints[1]);
  stripped.endpoints[0].announced_hostname = "new.example.org";
  history = AdvancePosture(&history, stripped);
  ASSERT_EQ(history.changes.size(), 2u);
  const Result<PostureHistory> back = PostureHistoryFromJson(PostureHistoryToJson(history));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back.value(), history);
}

TEST(PostureTest, JsonRejectsWhatItCannotRead) {
  const nlohmann::json good = PostureHistoryToJson(AdvancePosture(nullptr, Domain(kT0)));
  auto broken = [&](auto&& edit) {
    nlohmann::json doc = good;
    edit(doc);
    return PostureHistoryFromJson(doc);
  };
  EXPECT_FALSE(broken([](nlohmann::json& d) { d = nlohmann::json::array(); }).ok());
  EXPECT_FALSE(broken([](nlohmann::json& d) { d.erase("tracked_since"); }).ok());
  EXPECT_FALSE(broken([](nlohmann::json& d) { d["facts"][0]["kind"] = "colour"; }).ok());
  EXPECT_FALSE(broken([](nlohmann::json& d) { d["facts"][0]["value"] = 7; }).ok());
  EXPECT_FALSE(broken([](nlohmann::json& d) { d["changes"] = "none"; }).ok());
  EXPECT_FALSE(broken([](nlohmann::json& d) { d["last_change_at"]["colour"] = 1; }).ok());
  const Result<PostureHistory> error =
      broken([](nlohmann::json& d) { d["changes"] = {{{"kind", "banner"}}}; });
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.error().message.find("$.changes[0]"), std::string::npos) << error.error().message;
  // Values are bounded on the way in, as they are on the way out.
  const Result<PostureHistory> long_value =
      broken([](nlohmann::json& d) { d["facts"][0]["value"] = std::string(100000, 'x'); });
  ASSERT_TRUE(long_value.ok());
  EXPECT_LE(long_value.value().facts[0].value.size(), 2048u);
}

}  // namespace
}  // namespace smtp_exporter
