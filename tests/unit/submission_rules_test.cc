// The smtp.submission rule (RFC 8314), one test per finding, from hand-built observations.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "exporter/check/evaluate.h"
#include "exporter/check/rules.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

DomainObservation WithSubmission(std::vector<EndpointObservation> submission) {
  DomainObservation obs =
      testing::HealthyDomain("example.org", {{10, "mx1.example.org", {"192.0.2.1"}}});
  obs.submission = std::move(submission);
  return obs;
}

// "code:severity subject: message" of the smtp.submission findings, sorted.
std::vector<std::string> SubmissionFindings(const DomainObservation& obs,
                                            std::vector<std::uint16_t> ports = {587, 465}) {
  CheckOptions options = testing::FixtureOptions();
  options.submission = std::move(ports);
  std::vector<std::string> out;
  for (const Finding& finding : Evaluate(obs, options)) {
    if (finding.rule == "smtp.submission") {
      out.push_back(finding.code + ":" + std::string(SeverityName(finding.severity)) + " " +
                    finding.subject.Text() + ": " + finding.message);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

EndpointObservation Good587() {
  return testing::HealthySubmission("example.org", "mx1.example.org", "192.0.2.1", 587);
}
EndpointObservation Good465() {
  return testing::HealthySubmission("example.org", "mx1.example.org", "192.0.2.1", 465);
}

std::size_t CountWith(const std::vector<std::string>& findings, const std::string& text) {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(),
                    [&text](const std::string& f) { return f.find(text) != std::string::npos; }));
}

TEST(SubmissionRuleTest, OffByDefaultEvenWithSessionsInTheObservation) {
  EXPECT_THAT(SubmissionFindings(WithSubmission({Good587()}), {}), IsEmpty());
}

TEST(SubmissionRuleTest, GoodPortsPassEveryCodeAndNameTheirPort) {
  const auto findings = SubmissionFindings(WithSubmission({Good587(), Good465()}));
  // 587: unreachable, plaintext_auth, auth_before_tls, no_starttls, no_auth;
  // 465: tls_failed, unreachable, no_auth.
  ASSERT_EQ(findings.size(), 8u) << ::testing::PrintToString(findings);
  EXPECT_EQ(CountWith(findings, ":ok "), 8u) << ::testing::PrintToString(findings);
  EXPECT_EQ(CountWith(findings, "mx1.example.org [192.0.2.1]:587"), 5u);
  EXPECT_EQ(CountWith(findings, "mx1.example.org [192.0.2.1]:465"), 3u);
}

// RFC 4954 §4, RFC 4616 §6: PLAIN and LOGIN before STARTTLS let the password cross in clear.
TEST(SubmissionRuleTest, PlaintextAuthBeforeTlsOn587IsCritical) {
  EndpointObservation e = Good587();
  e.ehlo = Reply{250, {"250-mx1.example.org", "250-AUTH PLAIN LOGIN CRAM-MD5", "250 STARTTLS"}};
  e.extensions_plain = ExtensionSet::FromEhloReply(*e.ehlo);
  e.auth_before_tls = true;
  const auto findings = SubmissionFindings(WithSubmission({e}), {587});
  EXPECT_EQ(CountWith(findings, "smtp.submission.plaintext_auth:crit"), 1u);
  EXPECT_EQ(CountWith(findings, "PLAIN and LOGIN send the password in clear"), 1u);
  // One verdict on the pre-TLS AUTH: the CRIT, not a WARN beside it.
  EXPECT_EQ(CountWith(findings, "smtp.submission.auth_before_tls"), 0u);
}

TEST(SubmissionRuleTest, OtherAuthBeforeTlsOn587IsAWarning) {
  EndpointObservation e = Good587();
  e.ehlo = Reply{250, {"250-mx1.example.org", "250-AUTH CRAM-MD5 SCRAM-SHA-256", "250 STARTTLS"}};
  e.extensions_plain = ExtensionSet::FromEhloReply(*e.ehlo);
  e.auth_before_tls = true;
  const auto findings = SubmissionFindings(WithSubmission({e}), {587});
  EXPECT_EQ(CountWith(findings, "smtp.submission.auth_before_tls:warn"), 1u);
  EXPECT_EQ(CountWith(findings, "smtp.submission.plaintext_auth:ok"), 1u);
}

// RFC 8314 §3.3: 587 must be upgraded with STARTTLS before anything else.
TEST(SubmissionRuleTest, NoStartTlsOn587IsCritical) {
  EndpointObservation e = Good587();
  testing::WithoutStartTls(&e);
  e.extensions_tls = ExtensionSet();
  const auto findings = SubmissionFindings(WithSubmission({e}), {587});
  EXPECT_EQ(CountWith(findings, "smtp.submission.no_starttls:crit"), 1u);
  EXPECT_EQ(CountWith(findings, "STARTTLS is not offered on port 587"), 1u);
  // AUTH over TLS cannot be judged without TLS.
  EXPECT_EQ(CountWith(findings, "smtp.submission.no_auth"), 0u);
}

TEST(SubmissionRuleTest, FailedImplicitTlsOn465IsCritical) {
  EndpointObservation e = Good465();
  e.starttls = {};
  e.starttls.attempted = true;
  e.starttls.error = "wrong version number";
  e.greeting.reset();
  e.tls_ehlo.reset();
  e.extensions_tls = ExtensionSet();
  const auto findings = SubmissionFindings(WithSubmission({e}), {465});
  ASSERT_EQ(findings.size(), 1u) << ::testing::PrintToString(findings);
  EXPECT_THAT(findings[0], HasSubstr("smtp.submission.tls_failed:crit"));
  EXPECT_THAT(findings[0], HasSubstr("wrong version number"));
}

// RFC 6409 §4.3: a submission server authenticates its users.
TEST(SubmissionRuleTest, NoAuthOverTlsIsAWarning) {
  EndpointObservation e = Good465();
  e.tls_ehlo = Reply{250, {"250-mx1.example.org", "250 8BITMIME"}};
  e.extensions_tls = ExtensionSet::FromEhloReply(*e.tls_ehlo);
  const auto findings = SubmissionFindings(WithSubmission({e}), {465});
  EXPECT_EQ(CountWith(findings, "smtp.submission.no_auth:warn"), 1u);
}

// One address of two down: WARN; every address of the port down: CRIT (users cannot send).
TEST(SubmissionRuleTest, UnreachableIsCriticalOnlyWhenNoAddressAnswersThePort) {
  EndpointObservation down = testing::UnreachableEndpoint(
      "example.org", "mx2.example.org", "192.0.2.2", ConnectStatus::kRefused, "refused");
  down.port = 587;
  down.service = EndpointService::kSubmission;
  auto findings = SubmissionFindings(WithSubmission({Good587(), down}), {587});
  EXPECT_EQ(CountWith(findings,
                      "smtp.submission.unreachable:warn mx2.example.org "
                      "[192.0.2.2]:587"),
            1u)
      << ::testing::PrintToString(findings);

  findings = SubmissionFindings(WithSubmission({down}), {587});
  EXPECT_EQ(CountWith(findings, "smtp.submission.unreachable:crit"), 1u);
  EXPECT_EQ(CountWith(findings, "no address answers on this port"), 1u);
}

TEST(SubmissionRuleTest, SubmissionHostWithoutAddressIsCritical) {
  DomainObservation obs = WithSubmission({});
  obs.submission_host_error = "smtp.example.org has no address (A: nxdomain, AAAA: nxdomain)";
  CheckOptions options = testing::FixtureOptions();
  options.submission = {587};
  options.submission_host = "smtp.example.org";
  std::vector<std::string> out;
  for (const Finding& finding : Evaluate(obs, options)) {
    if (finding.rule == "smtp.submission") {
      out.push_back(finding.code + ":" + std::string(SeverityName(finding.severity)) + " " +
                    finding.subject.Text());
    }
  }
  EXPECT_THAT(out, ElementsAre("smtp.submission.unreachable:crit smtp.example.org"));
}

// A domain without an MX address (here a null MX) and no submission_host: the sessions had
// nowhere to run, and the report says so instead of saying nothing.
TEST(SubmissionRuleTest, NoMxAddressAndNoSubmissionHostSaysNothingWasChecked) {
  DomainObservation obs = WithSubmission({});
  obs.dns.null_mx = true;
  obs.plan.endpoints.clear();
  obs.endpoints.clear();
  EXPECT_THAT(SubmissionFindings(obs),
              ElementsAre("smtp.submission.unreachable:info example.org: no submission session "
                          "was run: the domain has no MX address to run them on (null MX, no "
                          "MX, or MX hosts without an address) and submission_host is not set"));
  // With sessions run (on the MX addresses), no such finding.
  EXPECT_THAT(SubmissionFindings(WithSubmission({Good587()}), {587}),
              ::testing::Not(::testing::Contains(::testing::HasSubstr("no submission session"))));
}

// Disabling the rule also stops the sessions (EffectiveOptions), as for smtp.dane.
TEST(SubmissionRuleTest, DisablingTheRuleTurnsTheSessionsOff) {
  CheckOptions options;
  options.submission = {587, 465};
  EXPECT_THAT(EffectiveOptions(options, RuleSelection::Defaults().With("smtp.submission", false))
                  .submission,
              IsEmpty());
  EXPECT_EQ(EffectiveOptions(options, RuleSelection::Defaults()).submission,
            (std::vector<std::uint16_t>{587, 465}));
}

}  // namespace
}  // namespace smtp_exporter
