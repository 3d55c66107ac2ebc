// The rule set, one test per finding code, from hand-built observations: each test starts from a
// healthy domain and changes one thing. Also the ordering, aggregation, text/JSON rendering,
// exit codes and the generated docs/findings.md.
#include "exporter/check/evaluate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "exporter/check/findings.h"
#include "exporter/check/rules.h"
#include "exporter/report/findings_text.h"
#include "exporter/report/terminal_text.h"
#include "probes/observation_json.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDomain[] = "example.org";
constexpr char kMx[] = "mx1.example.org";
constexpr char kV4[] = "198.51.100.25";
constexpr char kV6[] = "2001:db8::25";
constexpr char kV4Subject[] = "mx1.example.org [198.51.100.25]";
constexpr char kV6Subject[] = "mx1.example.org [2001:db8::25]";

IpAddress Ip(const char* text) { return IpAddress::Parse(text).value(); }

SmtpStep Step(std::string command, int code, std::string line) {
  return SmtpStep{std::move(command), Reply{code, {std::move(line)}}, ""};
}

EndpointObservation HealthyEndpoint(const char* ip) {
  EndpointObservation e;
  e.domain = kDomain;
  e.mx_name = kMx;
  e.ip = Ip(ip);
  e.connect_status = ConnectStatus::kConnected;
  e.greeting = Reply{220, {"220 mx1.example.org ESMTP Postfix"}};
  e.announced_hostname = kMx;
  e.greeting_mentions_esmtp = true;
  e.ehlo = Reply{250,
                 {"250-mx1.example.org", "250-PIPELINING", "250-SIZE 10240000", "250-STARTTLS",
                  "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250 SMTPUTF8"}};
  e.esmtp = true;
  e.extensions_plain = ExtensionSet::FromEhloReply(*e.ehlo);
  e.starttls.offered = true;
  e.starttls.attempted = true;
  e.starttls.reply = Reply{220, {"220 2.0.0 Ready to start TLS"}};
  e.starttls.ok = true;
  e.starttls.tls.version = "TLSv1.3";
  e.starttls.tls.cipher = "TLS_AES_256_GCM_SHA384";
  e.tls_ehlo =
      Reply{250,
            {"250-mx1.example.org", "250-PIPELINING", "250-SIZE 10240000",
             "250-ENHANCEDSTATUSCODES", "250-AUTH PLAIN LOGIN", "250-8BITMIME", "250 SMTPUTF8"}};
  e.extensions_tls = ExtensionSet::FromEhloReply(*e.tls_ehlo);
  e.transactions_channel = TransactionChannel::kTls;
  e.probe_sender = "checker@probe.example.net";
  e.probe_recipient = "postmaster@example.com";
  const SmtpStep rcpt_postmaster = Step("RCPT TO:<postmaster@example.org>", 250, "250 2.1.5 Ok");
  e.null_sender = {ProbeOutcome::kAccepted,
                   {Step("MAIL FROM:<>", 250, "250 2.1.0 Ok"), rcpt_postmaster},
                   "a bounce to postmaster was accepted at RCPT"};
  e.postmaster = {ProbeOutcome::kAccepted, {rcpt_postmaster}, "accepted from the null sender"};
  e.open_relay = {ProbeOutcome::kRejected,
                  {Step("MAIL FROM:<checker@probe.example.net>", 250, "250 2.1.0 Ok"),
                   Step("RCPT TO:<postmaster@example.com>", 554,
                        "554 5.7.1 <postmaster@example.com>: Relay access denied")},
                  "relaying to a recipient outside the domain answered 554"};
  e.phases = {{"connect", 0.01}, {"total", 0.2}};
  return e;
}

ReverseDns HealthyReverse(const char* ip) {
  ReverseDns r;
  r.ip = Ip(ip);
  r.ptr = {DnsStatus::kOk, ""};
  r.ptr_names = {kMx};
  r.fcrdns_ok = true;
  r.fcrdns_name = kMx;
  return r;
}

// One MX, one IPv4 and one IPv6 endpoint, STARTTLS working, every probe accepted except relay.
DomainObservation Healthy() {
  DomainObservation obs;
  obs.domain = kDomain;
  obs.dns.domain = kDomain;
  obs.dns.mx = {DnsStatus::kOk, ""};
  MxTarget target;
  target.preference = 10;
  target.host = kMx;
  target.a = {DnsStatus::kOk, ""};
  target.aaaa = {DnsStatus::kOk, ""};
  target.addresses = {Ip(kV4), Ip(kV6)};
  obs.dns.mx_targets = {target};
  obs.dns.reverse = {HealthyReverse(kV4), HealthyReverse(kV6)};
  obs.plan.endpoints = {{kMx, 10, Ip(kV4), {}}, {kMx, 10, Ip(kV6), {}}};
  obs.endpoints = {HealthyEndpoint(kV4), HealthyEndpoint(kV6)};
  return obs;
}

// Every finding must come from the catalog, with fix text for problems and an RFC.
// Every finding names the rule that owns its code.
std::vector<Finding> Judge(const DomainObservation& obs, const CheckOptions& options = {},
                           const RuleSelection& rules = RuleSelection::Defaults(),
                           const PostureHistory* posture = nullptr) {
  std::vector<Finding> findings = Evaluate(obs, options, rules, posture);
  for (const auto& f : findings) {
    const CatalogEntry* entry = FindCatalogEntry(f.code);
    EXPECT_NE(entry, nullptr) << "code not in the catalog: " << f.code;
    const Rule* rule = RuleForCode(f.code);
    EXPECT_NE(rule, nullptr) << "code owned by no rule: " << f.code;
    if (rule != nullptr) {
      EXPECT_EQ(f.rule, rule->name) << f.code;
    }
    EXPECT_FALSE(f.subject.Text().empty()) << f.code;
    EXPECT_FALSE(f.message.empty()) << f.code;
    EXPECT_FALSE(f.rfc.empty()) << f.code;
    EXPECT_EQ(f.fix.empty(), f.severity == Severity::kOk) << f.code;
  }
  return findings;
}

std::vector<Finding> WithCode(const std::vector<Finding>& findings, std::string_view code) {
  std::vector<Finding> out;
  for (const auto& f : findings) {
    if (f.code == code) {
      out.push_back(f);
    }
  }
  return out;
}

// The one non-OK finding with `code` (and `subject`, if given); fails the test otherwise.
Finding Problem(const std::vector<Finding>& findings, std::string_view code,
                std::string_view subject = "") {
  std::vector<Finding> matches;
  for (const auto& f : WithCode(findings, code)) {
    if (f.severity != Severity::kOk && (subject.empty() || f.subject.Text() == subject)) {
      matches.push_back(f);
    }
  }
  EXPECT_EQ(matches.size(), 1u) << code << " " << subject << "\n" << RenderFindingsText(findings);
  return matches.empty() ? Finding{} : matches.front();
}

bool HasProblem(const std::vector<Finding>& findings, std::string_view code) {
  for (const auto& f : WithCode(findings, code)) {
    if (f.severity != Severity::kOk) {
      return true;
    }
  }
  return false;
}

bool HasOk(const std::vector<Finding>& findings, std::string_view code,
           std::string_view subject = "") {
  for (const auto& f : WithCode(findings, code)) {
    if (f.severity == Severity::kOk && (subject.empty() || f.subject.Text() == subject)) {
      return true;
    }
  }
  return false;
}

// The rule fires on `broken` with `severity`, and does not fire on the healthy domain.
Finding ExpectFlagged(const DomainObservation& broken, std::string_view code, Severity severity,
                      std::string_view subject = "", const CheckOptions& options = {}) {
  EXPECT_FALSE(HasProblem(Judge(Healthy(), options), code)) << code;
  const Finding f = Problem(Judge(broken, options), code, subject);
  EXPECT_EQ(f.severity, severity) << code << ": " << f.message;
  return f;
}

// ---------------------------------------------------------------------------------------------
// The healthy baseline.

TEST(RulesTest, HealthyDomainIsAllOkAndListsPassedChecks) {
  const std::vector<Finding> findings = Judge(Healthy());
  EXPECT_EQ(WorstSeverity(findings), Severity::kOk) << RenderFindingsText(findings);
  for (const char* code : {"smtp.dns.error", "smtp.mx.missing", "smtp.all_unreachable",
                           "smtp.all_no_starttls", "smtp.ipv6.missing", "smtp.ipv6.unreachable"}) {
    EXPECT_TRUE(HasOk(findings, code, kDomain)) << code;
  }
  for (const char* code : {"smtp.mx.ip_literal", "smtp.mx.cname", "smtp.mx.unresolvable"}) {
    EXPECT_TRUE(HasOk(findings, code, kMx)) << code;
  }
  for (const char* subject : {kV4Subject, kV6Subject}) {
    for (const char* code :
         {"smtp.tcp.unreachable", "smtp.banner.rejected", "smtp.banner.hostname_mismatch",
          "smtp.ehlo.helo_fallback", "smtp.starttls.missing", "smtp.starttls.failed",
          "smtp.auth.plaintext", "smtp.extension.missing", "smtp.ptr.missing",
          "smtp.fcrdns.mismatch", "smtp.null_sender.rejected", "smtp.postmaster.rejected",
          "smtp.open_relay", "smtp.limits.exceeded", "smtp.protocol.violation"}) {
      EXPECT_TRUE(HasOk(findings, code, subject)) << code << " " << subject;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// DNS posture.

TEST(RulesTest, MxNull) {
  DomainObservation obs = Healthy();
  obs.dns.null_mx = true;
  obs.dns.mx_targets.clear();
  obs.dns.reverse.clear();
  obs.plan.endpoints.clear();
  obs.endpoints.clear();
  const Finding f = ExpectFlagged(obs, "smtp.mx.null", Severity::kInfo, kDomain);
  EXPECT_EQ(f.rfc, "RFC 7505 §3");
}

TEST(RulesTest, NullMxSuppressesDeliveryFindings) {
  DomainObservation obs = Healthy();
  obs.dns.null_mx = true;
  obs.dns.mx_targets.clear();
  obs.dns.reverse.clear();
  obs.plan.endpoints.clear();
  obs.endpoints.clear();
  const std::vector<Finding> findings = Judge(obs);
  for (const auto& f : findings) {
    EXPECT_TRUE(f.code == "smtp.mx.null" || f.code == "smtp.dns.error") << f.code;
  }
  EXPECT_EQ(WorstSeverity(findings), Severity::kInfo);
  EXPECT_EQ(ExitCodeFor(WorstSeverity(findings)), 0);
}

TEST(RulesTest, MxNullMixed) {
  DomainObservation obs = Healthy();
  obs.dns.null_mx_mixed = true;
  const Finding f = ExpectFlagged(obs, "smtp.mx.null_mixed", Severity::kCrit, kDomain);
  EXPECT_THAT(f.message, HasSubstr("10 mx1.example.org"));
  // The real MX hosts are still judged.
  EXPECT_TRUE(HasOk(Judge(obs), "smtp.open_relay", kV4Subject));
}

TEST(RulesTest, MxMissingWhenNoMxAndNoAddress) {
  DomainObservation obs = Healthy();
  obs.dns.mx = {DnsStatus::kNoData, ""};
  obs.dns.mx_targets.clear();
  obs.dns.implicit_a = {DnsStatus::kNoData, ""};
  obs.dns.implicit_aaaa = {DnsStatus::kNoData, ""};
  obs.dns.reverse.clear();
  obs.plan.endpoints.clear();
  obs.endpoints.clear();
  const Finding f = ExpectFlagged(obs, "smtp.mx.missing", Severity::kCrit, kDomain);
  EXPECT_THAT(f.message, HasSubstr("cannot receive mail"));
  const std::vector<Finding> findings = Judge(obs);
  EXPECT_FALSE(HasProblem(findings, "smtp.all_unreachable"));  // no cascade
  EXPECT_FALSE(HasProblem(findings, "smtp.ipv6.missing"));
  EXPECT_FALSE(HasProblem(findings, "smtp.mx.implicit"));
}

TEST(RulesTest, MxMissingWhenTheDomainDoesNotExist) {
  DomainObservation obs = Healthy();
  obs.dns.mx = {DnsStatus::kNxDomain, ""};
  obs.dns.mx_targets.clear();
  obs.dns.reverse.clear();
  obs.plan.endpoints.clear();
  obs.endpoints.clear();
  const Finding f = ExpectFlagged(obs, "smtp.mx.missing", Severity::kCrit, kDomain);
  EXPECT_THAT(f.message, HasSubstr("NXDOMAIN"));
}

TEST(RulesTest, MxImplicit) {
  DomainObservation obs = Healthy();
  obs.dns.mx = {DnsStatus::kNoData, ""};
  obs.dns.mx_targets.clear();
  obs.dns.implicit_mx = true;
  obs.dns.implicit_a = {DnsStatus::kOk, ""};
  obs.dns.implicit_aaaa = {DnsStatus::kNoData, ""};
  obs.dns.implicit_addresses = {Ip(kV4)};
  obs.dns.reverse = {HealthyReverse(kV4)};
  obs.plan.endpoints = {{kDomain, 0, Ip(kV4), {}}};
  obs.endpoints = {HealthyEndpoint(kV4)};
  obs.endpoints[0].mx_name = kDomain;
  const Finding f = ExpectFlagged(obs, "smtp.mx.implicit", Severity::kWarn, kDomain);
  EXPECT_THAT(f.message, HasSubstr(kV4));
  EXPECT_FALSE(HasProblem(Judge(obs), "smtp.mx.missing"));
}

TEST(RulesTest, MxIpLiteral) {
  DomainObservation obs = Healthy();
  MxTarget literal;
  literal.preference = 20;
  literal.host = "198.51.100.26";
  literal.is_ip_literal = true;
  obs.dns.mx_targets.push_back(literal);
  ExpectFlagged(obs, "smtp.mx.ip_literal", Severity::kCrit, "198.51.100.26");
  // Not also reported as unresolvable: the literal is the one problem.
  EXPECT_FALSE(HasProblem(Judge(obs), "smtp.mx.unresolvable"));
}

TEST(RulesTest, MxCname) {
  DomainObservation obs = Healthy();
  obs.dns.mx_targets[0].cname_chain = {"mail.hoster.example"};
  const Finding f = ExpectFlagged(obs, "smtp.mx.cname", Severity::kCrit, kMx);
  EXPECT_THAT(f.message, HasSubstr("mx1.example.org -> mail.hoster.example"));
  EXPECT_THAT(f.rfc, HasSubstr("RFC 5321 §5.1"));
}

TEST(RulesTest, MxUnresolvable) {
  DomainObservation obs = Healthy();
  MxTarget dangling;
  dangling.preference = 20;
  dangling.host = "mx2.example.org";
  dangling.a = {DnsStatus::kNxDomain, ""};
  dangling.aaaa = {DnsStatus::kNxDomain, ""};
  obs.dns.mx_targets.push_back(dangling);
  const Finding f = ExpectFlagged(obs, "smtp.mx.unresolvable", Severity::kCrit, "mx2.example.org");
  EXPECT_THAT(f.message, HasSubstr("nxdomain"));
}

TEST(RulesTest, OnlyUnresolvableTargetsMeanNothingToDeliverTo) {
  DomainObservation obs = Healthy();
  obs.dns.mx_targets[0].addresses.clear();
  obs.dns.mx_targets[0].a = {DnsStatus::kNxDomain, ""};
  obs.dns.mx_targets[0].aaaa = {DnsStatus::kNxDomain, ""};
  obs.dns.reverse.clear();
  obs.plan.endpoints.clear();
  obs.endpoints.clear();
  ExpectFlagged(obs, "smtp.all_unreachable", Severity::kCrit, kDomain);
}

TEST(RulesTest, DnsErrorIsNeverOk) {
  DomainObservation obs = Healthy();
  obs.dns.mx = {DnsStatus::kServFail, "Server failed"};
  obs.dns.mx_targets.clear();
  obs.dns.reverse.clear();
  obs.plan.endpoints.clear();
  obs.endpoints.clear();
  const Finding f = ExpectFlagged(obs, "smtp.dns.error", Severity::kError, kDomain);
  EXPECT_THAT(f.message, HasSubstr("servfail (Server failed)"));
  const std::vector<Finding> findings = Judge(obs);
  EXPECT_EQ(WorstSeverity(findings), Severity::kError);
  EXPECT_EQ(ExitCodeFor(WorstSeverity(findings)), 3);
  // An unanswered MX query says nothing about the MX set.
  for (const char* code : {"smtp.mx.missing", "smtp.mx.implicit", "smtp.all_unreachable",
                           "smtp.ipv6.missing", "smtp.dns.error"}) {
    EXPECT_FALSE(HasOk(findings, code)) << code;
  }
  EXPECT_FALSE(HasProblem(findings, "smtp.mx.missing"));
  EXPECT_FALSE(HasProblem(findings, "smtp.all_unreachable"));
}

TEST(RulesTest, DnsErrorOnPtrLeavesPtrUndecided) {
  DomainObservation obs = Healthy();
  obs.dns.reverse[0].ptr = {DnsStatus::kTimeout, "Timeout while contacting DNS servers"};
  obs.dns.reverse[0].ptr_names.clear();
  obs.dns.reverse[0].fcrdns_ok.reset();
  ExpectFlagged(obs, "smtp.dns.error", Severity::kError, kV4Subject);
  const std::vector<Finding> findings = Judge(obs);
  EXPECT_FALSE(HasProblem(findings, "smtp.ptr.missing"));
  EXPECT_FALSE(HasOk(findings, "smtp.ptr.missing", kV4Subject));
}

TEST(RulesTest, DnsErrorOnFcrdnsForwardLookup) {
  DomainObservation obs = Healthy();
  obs.dns.reverse[1].fcrdns_ok.reset();
  obs.dns.reverse[1].fcrdns_failures = {{"mx1.example.org", {DnsStatus::kServFail, ""}}};
  const Finding f = ExpectFlagged(obs, "smtp.dns.error", Severity::kError, kV6Subject);
  EXPECT_THAT(f.message, HasSubstr("mx1.example.org: servfail"));
  EXPECT_FALSE(HasOk(Judge(obs), "smtp.fcrdns.mismatch", kV6Subject));
}

// ---------------------------------------------------------------------------------------------
// Reachability.

TEST(RulesTest, TcpUnreachableIsWarnWhenAnotherEndpointWorks) {
  DomainObservation obs = Healthy();
  obs.endpoints[1].connect_status = ConnectStatus::kTimeout;
  obs.endpoints[1].connect_error = "timeout: connect to [2001:db8::25]:25";
  const Finding f = ExpectFlagged(obs, "smtp.tcp.unreachable", Severity::kWarn, kV6Subject);
  EXPECT_THAT(f.message, HasSubstr("timeout"));
  EXPECT_FALSE(HasProblem(Judge(obs), "smtp.all_unreachable"));
}

TEST(RulesTest, TcpUnreachableIsCritWhenNoOtherEndpointWorks) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].connect_status = ConnectStatus::kRefused;
  // The other endpoint connects but refuses every session: it does not "work".
  obs.endpoints[1].greeting = Reply{554, {"554 5.7.1 No SMTP service here"}};
  ExpectFlagged(obs, "smtp.tcp.unreachable", Severity::kCrit, kV4Subject);
}

TEST(RulesTest, UnreachableEndpointGetsOnlyItsReachabilityFinding) {
  DomainObservation obs = Healthy();
  obs.endpoints[1].connect_status = ConnectStatus::kRefused;
  obs.endpoints[1].connect_error = "connection_refused: connect";
  obs.endpoints[1].starttls = {};
  obs.endpoints[1].null_sender.outcome = ProbeOutcome::kError;
  for (const auto& f : Judge(obs)) {
    if (f.subject.Text() == kV6Subject) {
      EXPECT_EQ(f.code, "smtp.tcp.unreachable") << f.message;
    }
  }
}

TEST(RulesTest, AllUnreachable) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].connect_status = ConnectStatus::kRefused;
  obs.endpoints[1].connect_status = ConnectStatus::kUnreachable;
  const Finding f = ExpectFlagged(obs, "smtp.all_unreachable", Severity::kCrit, kDomain);
  EXPECT_THAT(f.message, HasSubstr("none of the 2 endpoint(s)"));
  const std::vector<Finding> findings = Judge(obs);
  EXPECT_EQ(Problem(findings, "smtp.tcp.unreachable", kV4Subject).severity, Severity::kCrit);
  EXPECT_THAT(Problem(findings, "smtp.tcp.unreachable", kV6Subject).message,
              HasSubstr("no IPv6 route"));
  // Nothing answered, so STARTTLS and IPv6 reachability are not judged on their own.
  EXPECT_TRUE(WithCode(findings, "smtp.all_no_starttls").empty());
  EXPECT_TRUE(WithCode(findings, "smtp.ipv6.unreachable").empty());
}

// What the probe records for an endpoint whose TCP connection failed.
EndpointObservation Unconnected(const EndpointObservation& planned, ConnectStatus status,
                                std::string error) {
  EndpointObservation e;
  e.domain = planned.domain;
  e.mx_name = planned.mx_name;
  e.ip = planned.ip;
  e.connect_status = status;
  e.connect_error = std::move(error);
  e.phases = {{"total", 0.01}};
  return e;
}

// An ICMP error from the path (connect status "unreachable") is the domain's problem: the
// IPv6 endpoint is down while IPv4 works.
TEST(RulesTest, Ipv6UnreachableWhileIpv4Works) {
  DomainObservation obs = Healthy();
  obs.endpoints[1] = Unconnected(obs.endpoints[1], ConnectStatus::kUnreachable,
                                 "unreachable: connect: Network is unreachable");
  const std::vector<Finding> findings = Judge(obs);
  EXPECT_EQ(Problem(findings, "smtp.ipv6.unreachable", kDomain).severity, Severity::kWarn);
  EXPECT_EQ(Problem(findings, "smtp.tcp.unreachable", kV6Subject).severity, Severity::kWarn);
  EXPECT_FALSE(HasProblem(findings, "smtp.all_unreachable"));
}

// No route on the exporter's own host (connect() failed before sending): not the domain's
// fault. The endpoint gets an INFO "not judged", the domain-level verdicts leave it out.
TEST(RulesTest, NoRouteOnTheExportersHostIsNotJudged) {
  DomainObservation obs = Healthy();
  obs.endpoints[1] = Unconnected(obs.endpoints[1], ConnectStatus::kNoRoute,
                                 "no_route: connect: Network is unreachable");
  const std::vector<Finding> findings = Judge(obs);
  const Finding& f = Problem(findings, "smtp.tcp.unreachable", kV6Subject);
  EXPECT_EQ(f.severity, Severity::kInfo);
  EXPECT_THAT(f.message, HasSubstr("not judged"));
  EXPECT_THAT(f.message, HasSubstr("no_route: connect: Network is unreachable"));
  EXPECT_FALSE(HasProblem(findings, "smtp.ipv6.unreachable"));
  EXPECT_TRUE(WithCode(findings, "smtp.ipv6.unreachable").empty());
  EXPECT_FALSE(HasProblem(findings, "smtp.all_unreachable"));
  EXPECT_EQ(WorstSeverity(findings), Severity::kInfo);

  // Every endpoint without a route: no verdict on reachability at all, not "all unreachable".
  obs.endpoints[0] = Unconnected(obs.endpoints[0], ConnectStatus::kNoRoute,
                                 "no_route: connect: Network is unreachable");
  const std::vector<Finding> none = Judge(obs);
  EXPECT_TRUE(WithCode(none, "smtp.all_unreachable").empty());
  EXPECT_EQ(Problem(none, "smtp.tcp.unreachable", kV4Subject).severity, Severity::kInfo);
}

TEST(RulesTest, Ipv6Missing) {
  DomainObservation obs = Healthy();
  obs.dns.mx_targets[0].aaaa = {DnsStatus::kNoData, ""};
  obs.dns.mx_targets[0].addresses = {Ip(kV4)};
  obs.dns.reverse.pop_back();
  obs.plan.endpoints.pop_back();
  obs.endpoints.pop_back();
  ExpectFlagged(obs, "smtp.ipv6.missing", Severity::kInfo, kDomain);
}

TEST(RulesTest, Ipv6MissingIsNotJudgedWhenTheAaaaLookupFailed) {
  DomainObservation obs = Healthy();
  obs.dns.mx_targets[0].aaaa = {DnsStatus::kServFail, ""};
  obs.dns.mx_targets[0].addresses = {Ip(kV4)};
  obs.dns.reverse.pop_back();
  obs.plan.endpoints.pop_back();
  obs.endpoints.pop_back();
  const std::vector<Finding> findings = Judge(obs);
  EXPECT_TRUE(WithCode(findings, "smtp.ipv6.missing").empty());
  EXPECT_EQ(Problem(findings, "smtp.dns.error", kMx).severity, Severity::kError);
}

TEST(RulesTest, Ipv6Unreachable) {
  DomainObservation obs = Healthy();
  obs.endpoints[1].connect_status = ConnectStatus::kTimeout;
  const Finding f = ExpectFlagged(obs, "smtp.ipv6.unreachable", Severity::kWarn, kDomain);
  EXPECT_THAT(f.message, HasSubstr(kV6));
}

// ---------------------------------------------------------------------------------------------
// Greeting and EHLO.

TEST(RulesTest, BannerRejected) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].greeting = Reply{554, {"554 5.7.1 mx1.example.org: no SMTP service here"}};
  obs.endpoints[0].session_error = "server greeted with 554";
  obs.endpoints[0].ehlo.reset();
  obs.endpoints[0].esmtp = false;
  obs.endpoints[0].starttls = {};
  const Finding f = ExpectFlagged(obs, "smtp.banner.rejected", Severity::kCrit, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("\"554 5.7.1 mx1.example.org: no SMTP service here\""));
  const std::vector<Finding> findings = Judge(obs);
  // No cascade of STARTTLS/EHLO findings, and no session.aborted for the orderly refusal.
  for (const char* code : {"smtp.starttls.missing", "smtp.ehlo.rejected", "smtp.session.aborted",
                           "smtp.banner.hostname_mismatch"}) {
    for (const auto& x : WithCode(findings, code)) {
      EXPECT_NE(x.subject.Text(), kV4Subject) << code;
    }
  }
}

TEST(RulesTest, BannerMissingIsRejected) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].greeting.reset();
  obs.endpoints[0].session_error = "io: read failed";
  const Finding f = ExpectFlagged(obs, "smtp.banner.rejected", Severity::kCrit, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("no greeting was received (io: read failed)"));
}

// #15 item 4: a greeting that never came within the greeting wait is a tarpit or a long
// pre-greeting pause, not a refusal: WARN smtp.banner.delayed, with the measured wait, and no
// smtp.banner.rejected (RFC 5321 §4.5.3.2.1: senders wait 5 minutes).
TEST(RulesTest, NoGreetingInTimeIsDelayedNotRejected) {
  DomainObservation obs = Healthy();
  EndpointObservation& e = obs.endpoints[0];
  e.greeting.reset();
  e.ehlo.reset();
  e.esmtp = false;
  e.starttls = {};
  e.session_error = "timeout: deadline passed while reading";
  e.session_error_code = ErrorCode::kTimeout;
  e.phases = {{"connect", 0.01}, {"greeting", 1.5049}, {"total", 1.52}};
  CheckOptions options;
  options.greeting_timeout = std::chrono::milliseconds(1500);
  const std::vector<Finding> findings = Judge(obs, options);
  const Finding f = Problem(findings, "smtp.banner.delayed", kV4Subject);
  EXPECT_EQ(f.severity, Severity::kWarn);
  EXPECT_THAT(f.message, HasSubstr("no greeting within 1.5 s (waited 1.5 s): the server "
                                   "accepted the TCP connection but had not sent its 220"));
  EXPECT_THAT(f.fix, HasSubstr("postscreen_greet_wait"));
  EXPECT_FALSE(HasProblem(findings, "smtp.banner.rejected"));
  EXPECT_TRUE(HasOk(Judge(Healthy()), "smtp.banner.delayed", kV4Subject));
}

TEST(RulesTest, BannerClosedWithoutGreeting) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].greeting.reset();
  obs.endpoints[0].session_error = "connection_closed: server closed the connection";
  obs.endpoints[0].session_error_code = ErrorCode::kConnectionClosed;
  EXPECT_THAT(Problem(Judge(obs), "smtp.banner.rejected", kV4Subject).message,
              HasSubstr("the server closed the connection without a greeting"));
  // The verdict rests on the code, not on how the text happens to start.
  obs.endpoints[0].session_error = "timeout: a misleading text";
  EXPECT_THAT(Problem(Judge(obs), "smtp.banner.rejected", kV4Subject).message,
              HasSubstr("the server closed the connection without a greeting"));
}

// RFC 5321 §4.2.1: 421 is transient, never CRIT on its own (#15 item 3). The message says
// whether senders have another endpoint meanwhile.
TEST(RulesTest, Banner421IsWarnAndSaysWhetherAnotherEndpointWorks) {
  DomainObservation obs = Healthy();
  EndpointObservation& e = obs.endpoints[0];
  e.greeting = Reply{421, {"421 4.3.2 mx1.example.org too busy, try later"}};
  e.session_error = "connection_closed: server refused the session with 421";
  e.ehlo.reset();
  e.esmtp = false;
  e.starttls = {};
  const Finding f = Problem(Judge(obs), "smtp.banner.rejected", kV4Subject);
  EXPECT_EQ(f.severity, Severity::kWarn);
  EXPECT_THAT(f.message, HasSubstr("\"421 4.3.2 mx1.example.org too busy, try later\""));
  EXPECT_THAT(f.message, HasSubstr("other endpoints of the domain work"));
  EXPECT_THAT(f.fix, HasSubstr("default_process_limit"));

  obs.endpoints[1].connect_status = ConnectStatus::kRefused;
  const Finding alone = Problem(Judge(obs), "smtp.banner.rejected", kV4Subject);
  EXPECT_EQ(alone.severity, Severity::kWarn);
  EXPECT_THAT(alone.message, HasSubstr("no other endpoint of the domain works"));
}

// 554 is a lasting refusal: CRIT even when another endpoint works.
TEST(RulesTest, Banner554IsCritEvenWhenAnotherEndpointWorks) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].greeting = Reply{554, {"554 5.7.1 no SMTP service here"}};
  obs.endpoints[0].session_error = "server greeted with 554";
  EXPECT_EQ(Problem(Judge(obs), "smtp.banner.rejected", kV4Subject).severity,
            Severity::kCrit);
}

TEST(RulesTest, BannerHostnameMismatch) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].greeting = Reply{220, {"220 localhost.localdomain ESMTP"}};
  obs.endpoints[0].announced_hostname = "localhost.localdomain";
  const Finding f =
      ExpectFlagged(obs, "smtp.banner.hostname_mismatch", Severity::kInfo, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("localhost.localdomain"));
}

TEST(RulesTest, BannerHostnameMatchingThePtrNameIsOk) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].announced_hostname = "Host-25.Hoster.Example.";
  obs.dns.reverse[0].ptr_names = {"host-25.hoster.example"};
  EXPECT_TRUE(HasOk(Judge(obs), "smtp.banner.hostname_mismatch", kV4Subject));
}

TEST(RulesTest, EhloHeloFallback) {
  DomainObservation obs = Healthy();
  EndpointObservation& e = obs.endpoints[0];
  e.ehlo = Reply{500, {"500 5.5.1 Command unrecognized"}};
  e.helo = Reply{250, {"250 mx1.example.org"}};
  e.esmtp = false;
  e.helo_fallback = true;
  e.extensions_plain = {};
  e.extensions_tls = {};
  e.starttls = {};
  e.transactions_channel = TransactionChannel::kPlain;
  const Finding f = ExpectFlagged(obs, "smtp.ehlo.helo_fallback", Severity::kWarn, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("500 5.5.1 Command unrecognized"));
  const std::vector<Finding> findings = Judge(obs);
  EXPECT_EQ(Problem(findings, "smtp.starttls.missing", kV4Subject).severity, Severity::kWarn);
  // HELO has no extensions at all: that is the fallback finding, not a list of missing ones.
  EXPECT_TRUE(WithCode(findings, "smtp.extension.missing").size() == 1u);
}

TEST(RulesTest, EhloRejected) {
  DomainObservation obs = Healthy();
  EndpointObservation& e = obs.endpoints[0];
  e.ehlo = Reply{550, {"550 5.7.1 go away"}};
  e.helo = Reply{550, {"550 5.7.1 go away"}};
  e.esmtp = false;
  e.helo_fallback = false;
  e.starttls = {};
  e.session_error = "protocol: both EHLO and HELO were refused";
  const Finding f = ExpectFlagged(obs, "smtp.ehlo.rejected", Severity::kCrit, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("550 5.7.1 go away"));
  EXPECT_FALSE(HasProblem(Judge(obs), "smtp.session.aborted"));
}

// #15 item 3: a 4yz to EHLO is "try later" (here Exim's HELO verification whose DNS lookup
// deferred), so WARN smtp.ehlo.deferred, not CRIT smtp.ehlo.rejected, and no session.aborted
// on top: the session ended with QUIT.
TEST(RulesTest, EhloDeferredIsWarnNotRejected) {
  DomainObservation obs = Healthy();
  EndpointObservation& e = obs.endpoints[0];
  e.ehlo = Reply{451, {"451 Temporary local problem - please try later"}};
  e.helo.reset();
  e.esmtp = false;
  e.helo_fallback = false;
  e.extensions_plain = {};
  e.extensions_tls = {};
  e.tls_ehlo.reset();
  e.starttls = {};
  e.transactions_channel = TransactionChannel::kNone;
  e.session_error = "protocol: EHLO was deferred with 451";
  e.session_error_code = ErrorCode::kProtocol;
  const Finding f = ExpectFlagged(obs, "smtp.ehlo.deferred", Severity::kWarn, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("\"451 Temporary local problem - please try later\""));
  EXPECT_THAT(f.fix, HasSubstr("helo_verify_hosts"));
  std::vector<Finding> findings = Judge(obs);
  EXPECT_FALSE(HasProblem(findings, "smtp.ehlo.rejected"));
  EXPECT_FALSE(HasProblem(findings, "smtp.session.aborted"));
  EXPECT_FALSE(HasProblem(findings, "smtp.starttls.missing"));  // not judged, not missing
  EXPECT_EQ(WorstSeverity(findings), Severity::kWarn) << RenderFindingsText(findings);

  // An observation from before the fix also tried HELO and got 451 again: still deferred.
  e.helo = Reply{451, {"451 Temporary local problem - please try later"}};
  findings = Judge(obs);
  EXPECT_EQ(Problem(findings, "smtp.ehlo.deferred", kV4Subject).severity, Severity::kWarn);
  EXPECT_FALSE(HasProblem(findings, "smtp.ehlo.rejected"));
}

// ---------------------------------------------------------------------------------------------
// STARTTLS, AUTH and extensions.

TEST(RulesTest, StartTlsMissing) {
  DomainObservation obs = Healthy();
  EndpointObservation& e = obs.endpoints[0];
  e.starttls = {};
  e.extensions_tls = {};
  e.tls_ehlo.reset();
  e.transactions_channel = TransactionChannel::kPlain;
  ExpectFlagged(obs, "smtp.starttls.missing", Severity::kWarn, kV4Subject);
  const std::vector<Finding> findings = Judge(obs);
  for (const auto& f : WithCode(findings, "smtp.starttls.failed")) {
    EXPECT_NE(f.subject.Text(), kV4Subject);  // nothing was offered, so nothing failed
  }
  EXPECT_TRUE(HasOk(findings, "smtp.all_no_starttls", kDomain));  // the other endpoint has it
}

TEST(RulesTest, StartTlsFailed) {
  DomainObservation obs = Healthy();
  EndpointObservation& e = obs.endpoints[0];
  e.starttls.ok = false;
  e.starttls.tls = {};
  e.starttls.error = "tls: handshake failed: wrong version number";
  e.extensions_tls = {};
  e.tls_ehlo.reset();
  e.transactions_channel = TransactionChannel::kPlainReconnect;
  const Finding f = ExpectFlagged(obs, "smtp.starttls.failed", Severity::kCrit, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("wrong version number"));
  EXPECT_THAT(f.message, HasSubstr("new plaintext connection"));
}

TEST(RulesTest, StartTlsRefusedQuotesTheReply) {
  DomainObservation obs = Healthy();
  EndpointObservation& e = obs.endpoints[0];
  e.starttls.ok = false;
  e.starttls.reply = Reply{454, {"454 4.7.0 TLS not available due to local problem"}};
  e.starttls.error = "STARTTLS refused: 454 4.7.0 TLS not available due to local problem";
  const Finding f = ExpectFlagged(obs, "smtp.starttls.failed", Severity::kCrit, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("\"454 4.7.0 TLS not available due to local problem\""));
}

TEST(RulesTest, AllNoStartTls) {
  DomainObservation obs = Healthy();
  for (auto& e : obs.endpoints) {
    e.starttls = {};
    e.extensions_tls = {};
    e.transactions_channel = TransactionChannel::kPlain;
  }
  ExpectFlagged(obs, "smtp.all_no_starttls", Severity::kCrit, kDomain);
  const CatalogEntry* entry = FindCatalogEntry("smtp.all_no_starttls");
  ASSERT_NE(entry, nullptr);
  EXPECT_THAT(std::string(entry->fix), HasSubstr("MTA-STS"));
  EXPECT_THAT(std::string(entry->fix), HasSubstr("DANE"));
}

TEST(RulesTest, AllNoStartTlsNeedsAnEndpointThatAnswered) {
  DomainObservation obs = Healthy();
  for (auto& e : obs.endpoints) {
    e.connect_status = ConnectStatus::kTimeout;
    e.starttls = {};
  }
  EXPECT_TRUE(WithCode(Judge(obs), "smtp.all_no_starttls").empty());
}

TEST(RulesTest, AuthPlaintext) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].extensions_plain.Add({"AUTH", "PLAIN LOGIN"});
  obs.endpoints[0].auth_before_tls = true;
  const Finding f = ExpectFlagged(obs, "smtp.auth.plaintext", Severity::kCrit, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("PLAIN LOGIN"));
  EXPECT_THAT(f.fix, HasSubstr("smtpd_tls_auth_only = yes"));
  EXPECT_THAT(f.fix, HasSubstr("auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}"));
}

TEST(RulesTest, ExtensionMissingIsJudgedOnTheUnion) {
  DomainObservation obs = Healthy();
  EndpointObservation& e = obs.endpoints[0];
  e.ehlo = Reply{250, {"250-mx1.example.org", "250-STARTTLS", "250 SIZE 1000"}};
  e.extensions_plain = ExtensionSet::FromEhloReply(*e.ehlo);
  e.tls_ehlo = Reply{250, {"250-mx1.example.org", "250-SIZE 1000", "250 PIPELINING"}};
  e.extensions_tls = ExtensionSet::FromEhloReply(*e.tls_ehlo);
  const Finding f = ExpectFlagged(obs, "smtp.extension.missing", Severity::kInfo, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("not advertised before or after STARTTLS: 8BITMIME (RFC 6152)"));
  EXPECT_THAT(f.message, Not(HasSubstr("PIPELINING (")));  // offered after STARTTLS
  // The rest is an inventory, not a fault (#15 item 5).
  EXPECT_THAT(f.message, HasSubstr("also advertised (not judged): STARTTLS, SIZE"));
  EXPECT_THAT(f.message, Not(HasSubstr("ENHANCEDSTATUSCODES")));
  EXPECT_THAT(f.message, Not(HasSubstr("SMTPUTF8")));
}

// #15 item 5: Exim advertises no ENHANCEDSTATUSCODES, OpenSMTPD no SMTPUTF8; only PIPELINING
// and 8BITMIME (happyDomain's extension_posture) are judged.
TEST(RulesTest, ExtensionPostureJudgesPipeliningAnd8BitMimeOnly) {
  DomainObservation obs = Healthy();
  EndpointObservation& e = obs.endpoints[0];
  e.ehlo = Reply{250, {"250-mx1.example.org", "250-SIZE 52428800", "250-8BITMIME",
                       "250-PIPELINING", "250-CHUNKING", "250 STARTTLS"}};
  e.extensions_plain = ExtensionSet::FromEhloReply(*e.ehlo);
  e.tls_ehlo = *e.ehlo;
  e.extensions_tls = e.extensions_plain;
  const std::vector<Finding> findings = Judge(obs);
  EXPECT_FALSE(HasProblem(findings, "smtp.extension.missing"));
  ASSERT_TRUE(HasOk(findings, "smtp.extension.missing", kV4Subject));
  for (const auto& f : WithCode(findings, "smtp.extension.missing")) {
    if (f.subject.Text() == kV4Subject) {
      EXPECT_THAT(f.message, HasSubstr("advertises PIPELINING, 8BITMIME"));
      EXPECT_THAT(f.message, HasSubstr("not judged): SIZE, CHUNKING, STARTTLS"));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reverse DNS.

TEST(RulesTest, PtrMissing) {
  DomainObservation obs = Healthy();
  obs.dns.reverse[0].ptr = {DnsStatus::kNxDomain, ""};
  obs.dns.reverse[0].ptr_names.clear();
  obs.dns.reverse[0].fcrdns_ok.reset();
  obs.dns.reverse[0].fcrdns_name.clear();
  const Finding f = ExpectFlagged(obs, "smtp.ptr.missing", Severity::kWarn, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("Gmail"));
  EXPECT_THAT(f.fix, HasSubstr("Outlook"));
  EXPECT_THAT(f.fix, HasSubstr("Yahoo"));
  // Without a PTR there is nothing to confirm: no FCrDNS verdict either way.
  EXPECT_TRUE(WithCode(Judge(obs), "smtp.fcrdns.mismatch").size() == 1u);
}

TEST(RulesTest, FcrdnsMismatch) {
  DomainObservation obs = Healthy();
  obs.dns.reverse[0].ptr_names = {"liar.example.net"};
  obs.dns.reverse[0].fcrdns_ok = false;
  obs.dns.reverse[0].fcrdns_name.clear();
  const Finding f = ExpectFlagged(obs, "smtp.fcrdns.mismatch", Severity::kWarn, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("liar.example.net"));
  EXPECT_THAT(f.fix, HasSubstr("Gmail"));
}

// ---------------------------------------------------------------------------------------------
// Transaction probes.

TEST(RulesTest, NullSenderRejected) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].null_sender = {ProbeOutcome::kRejected,
                                  {Step("MAIL FROM:<>", 550, "550 5.7.1 <>: null sender rejected")},
                                  "MAIL FROM:<> answered 550"};
  const Finding f = ExpectFlagged(obs, "smtp.null_sender.rejected", Severity::kCrit, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("\"550 5.7.1 <>: null sender rejected\""));
  EXPECT_EQ(f.rfc.find("RFC 5321 §4.5.5"), 0u);
}

TEST(RulesTest, PostmasterRejected) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].postmaster = {
      ProbeOutcome::kRejected,
      {Step("RCPT TO:<postmaster@example.org>", 550, "550 5.1.1 postmaster rejected")},
      "RCPT TO postmaster answered 550"};
  const Finding f = ExpectFlagged(obs, "smtp.postmaster.rejected", Severity::kCrit, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("\"550 5.1.1 postmaster rejected\""));
  EXPECT_THAT(f.message, HasSubstr("postmaster@example.org"));
  EXPECT_EQ(f.rfc, "RFC 5321 §4.5.1");
}

TEST(RulesTest, OpenRelay) {
  DomainObservation obs = Healthy();
  obs.endpoints[1].open_relay = {
      ProbeOutcome::kAccepted,
      {Step("MAIL FROM:<checker@probe.example.net>", 250, "250 2.1.0 Ok"),
       Step("RCPT TO:<postmaster@example.com>", 250, "250 2.1.5 Ok")},
      "a recipient outside the domain was accepted: OPEN RELAY (DATA not sent)"};
  const Finding f = ExpectFlagged(obs, "smtp.open_relay", Severity::kCrit, kV6Subject);
  EXPECT_THAT(f.message, HasSubstr("RCPT TO:<postmaster@example.com> answered \"250 2.1.5 Ok\""));
  EXPECT_THAT(f.message, HasSubstr("DATA was never sent"));
  EXPECT_THAT(f.fix, HasSubstr("mynetworks"));
  EXPECT_THAT(f.fix, HasSubstr("smtpd_relay_restrictions = permit_mynetworks"));
  EXPECT_THAT(f.fix, HasSubstr("reject_unauth_destination"));
}

TEST(RulesTest, RelayDenialIsQuotedInTheOkFinding) {
  for (const auto& f : WithCode(Judge(Healthy()), "smtp.open_relay")) {
    EXPECT_EQ(f.severity, Severity::kOk);
    EXPECT_THAT(f.message, HasSubstr("554 5.7.1 <postmaster@example.com>: Relay access denied"));
  }
}

TEST(RulesTest, ProbeTemporaryIsNotJudged) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].postmaster = {
      ProbeOutcome::kTemporary,
      {Step("RCPT TO:<postmaster@example.org>", 450, "450 4.2.0 Greylisted, see RFC 6647")},
      "RCPT TO postmaster answered 450"};
  const Finding f = ExpectFlagged(obs, "smtp.probe.temporary", Severity::kInfo, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("Greylisted"));
  const std::vector<Finding> findings = Judge(obs);
  EXPECT_FALSE(HasProblem(findings, "smtp.postmaster.rejected"));
  EXPECT_FALSE(HasOk(findings, "smtp.postmaster.rejected", kV4Subject));
}

TEST(RulesTest, ProbeInconclusive) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].postmaster = {
      ProbeOutcome::kError,
      {Step("MAIL FROM:<checker@probe.example.net>", 553, "553 5.7.1 sender unverified")},
      "our sender was refused at MAIL (553), so RCPT could not be tried"};
  const Finding f = ExpectFlagged(obs, "smtp.probe.inconclusive", Severity::kInfo, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("RCPT could not be tried"));
  EXPECT_TRUE(WithCode(Judge(obs), "smtp.postmaster.rejected").size() == 1u);  // the v6 OK
}

TEST(RulesTest, SessionEndedIsNoVerdict) {
  DomainObservation obs = Healthy();
  EndpointObservation& e = obs.endpoints[0];
  e.session_error = "connection_closed: server closed the connection";
  e.null_sender = {ProbeOutcome::kError,
                   {{"MAIL FROM:<>", std::nullopt, "connection_closed"}},
                   "session ended: connection_closed"};
  e.postmaster = {ProbeOutcome::kError, {}, "session ended: connection_closed"};
  e.open_relay = {ProbeOutcome::kError, {}, "session ended: connection_closed"};
  const Finding f = ExpectFlagged(obs, "smtp.session.aborted", Severity::kWarn, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("server closed the connection"));
  EXPECT_THAT(f.message, HasSubstr("null sender, postmaster, open relay"));
  for (const auto& x : Judge(obs)) {
    if (x.subject.Text() != kV4Subject) {
      continue;
    }
    for (const char* code : {"smtp.null_sender.rejected", "smtp.postmaster.rejected",
                             "smtp.open_relay", "smtp.probe.inconclusive"}) {
      EXPECT_NE(x.code, code);
    }
  }
}

TEST(RulesTest, DisabledProbesYieldNoFinding) {
  CheckOptions options;
  options.test_null_sender = false;
  options.test_postmaster = false;
  options.test_open_relay = false;
  DomainObservation obs = Healthy();
  for (auto& e : obs.endpoints) {
    e.null_sender = {};
    e.postmaster = {};
    e.open_relay = {};
  }
  // Even an observation that claims outcomes yields nothing for a disabled probe.
  obs.endpoints[0].open_relay.outcome = ProbeOutcome::kAccepted;
  obs.endpoints[1].postmaster.outcome = ProbeOutcome::kError;
  for (const auto& f : Judge(obs, options)) {
    for (const char* code :
         {"smtp.null_sender.rejected", "smtp.postmaster.rejected", "smtp.open_relay",
          "smtp.probe.temporary", "smtp.probe.inconclusive"}) {
      EXPECT_NE(f.code, code);
    }
  }
  CheckOptions only_relay;
  only_relay.test_null_sender = false;
  only_relay.test_postmaster = false;
  const std::vector<Finding> findings = Judge(Healthy(), only_relay);
  EXPECT_TRUE(WithCode(findings, "smtp.null_sender.rejected").empty());
  EXPECT_TRUE(WithCode(findings, "smtp.postmaster.rejected").empty());
  EXPECT_EQ(WithCode(findings, "smtp.open_relay").size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Protocol bounds.

TEST(RulesTest, LimitsExceeded) {
  DomainObservation obs = Healthy();
  EndpointObservation& e = obs.endpoints[0];
  e.limit_exceeded = "reply line longer than 4096 bytes";
  e.session_error = "limit_exceeded: reply line longer than 4096 bytes";
  e.null_sender.outcome = ProbeOutcome::kError;
  const Finding f = ExpectFlagged(obs, "smtp.limits.exceeded", Severity::kWarn, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("4096"));
  EXPECT_FALSE(HasProblem(Judge(obs), "smtp.session.aborted"));  // the bound explains it
}

TEST(RulesTest, ProtocolViolation) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].protocol_violations = {
      "reply line ended in a bare LF instead of CRLF (RFC 5321 §2.3.8)"};
  const Finding f = ExpectFlagged(obs, "smtp.protocol.violation", Severity::kInfo, kV4Subject);
  EXPECT_THAT(f.message, HasSubstr("bare LF"));
}

TEST(RulesTest, HostileServerTextIsBounded) {
  DomainObservation obs = Healthy();
  Reply greeting{554, {}};
  for (int i = 0; i < 100; ++i) {
    greeting.lines.push_back("554-" + std::string(4000, 'x'));
  }
  obs.endpoints[0].greeting = greeting;
  const Finding f = Problem(Judge(obs), "smtp.banner.rejected", kV4Subject);
  EXPECT_LT(f.message.size(), 1000u);
  EXPECT_THAT(f.message, HasSubstr("(+97 more lines)"));
}

// ---------------------------------------------------------------------------------------------
// Without DNS (`check --endpoint`): endpoint rules only.

TEST(RulesTest, WithoutDnsOnlyEndpointRulesRun) {
  DomainObservation obs = Healthy();
  obs.dns = {};
  obs.plan = {};
  obs.endpoints.pop_back();
  const std::vector<Finding> findings = Judge(obs);
  for (const char* code : {"smtp.dns.error", "smtp.mx.missing", "smtp.ipv6.missing",
                           "smtp.ptr.missing", "smtp.fcrdns.mismatch"}) {
    EXPECT_TRUE(WithCode(findings, code).empty()) << code;
  }
  EXPECT_EQ(WorstSeverity(findings), Severity::kOk);
  EXPECT_TRUE(HasOk(findings, "smtp.open_relay", kV4Subject));
  // The greeting still matches the MX name given on the command line.
  EXPECT_TRUE(HasOk(findings, "smtp.banner.hostname_mismatch", kV4Subject));
  // Without a PTR answer, a different name is not judged a mismatch.
  obs.endpoints[0].announced_hostname = "other.example.net";
  EXPECT_TRUE(WithCode(Judge(obs), "smtp.banner.hostname_mismatch").empty());
  EXPECT_TRUE(HasOk(findings, "smtp.all_unreachable", kDomain));
}

// ---------------------------------------------------------------------------------------------
// Ordering and aggregation.

TEST(RulesTest, SortedWorstFirstThenCodeThenSubject) {
  DomainObservation obs = Healthy();
  obs.dns.reverse[1].ptr = {DnsStatus::kServFail, ""};            // error
  obs.endpoints[0].open_relay.outcome = ProbeOutcome::kAccepted;  // crit
  obs.endpoints[1].open_relay.outcome = ProbeOutcome::kAccepted;  // crit
  obs.endpoints[0].auth_before_tls = true;                        // crit
  obs.endpoints[1].connect_status = ConnectStatus::kTimeout;      // warn
  obs.endpoints[0].protocol_violations = {"bare LF"};             // info
  const std::vector<Finding> findings = Judge(obs);
  ASSERT_GE(findings.size(), 6u);
  EXPECT_EQ(findings[0].severity, Severity::kError);
  EXPECT_EQ(findings[1].code, "smtp.auth.plaintext");
  EXPECT_EQ(findings[2].code, "smtp.open_relay");
  EXPECT_EQ(findings[2].subject.Text(), kV4Subject);
  EXPECT_TRUE(
      std::is_sorted(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
        if (a.severity != b.severity) {
          return a.severity > b.severity;
        }
        if (a.code != b.code) {
          return a.code < b.code;
        }
        return a.subject.Text() < b.subject.Text();
      }));
  EXPECT_EQ(WorstSeverity(findings), Severity::kError);
}

TEST(RulesTest, OutputDoesNotDependOnEndpointOrder) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].connect_status = ConnectStatus::kRefused;
  DomainObservation reversed = obs;
  std::reverse(reversed.endpoints.begin(), reversed.endpoints.end());
  std::reverse(reversed.plan.endpoints.begin(), reversed.plan.endpoints.end());
  std::reverse(reversed.dns.reverse.begin(), reversed.dns.reverse.end());
  EXPECT_EQ(Judge(obs), Judge(reversed));
  EXPECT_EQ(Judge(obs), Judge(obs));
}

TEST(RulesTest, WorstSeverity) {
  EXPECT_EQ(WorstSeverity({}), Severity::kOk);
  std::vector<Finding> findings(3);
  findings[0].severity = Severity::kInfo;
  findings[1].severity = Severity::kCrit;
  findings[2].severity = Severity::kWarn;
  EXPECT_EQ(WorstSeverity(findings), Severity::kCrit);
  findings[0].severity = Severity::kError;
  EXPECT_EQ(WorstSeverity(findings), Severity::kError);
  EXPECT_LT(Severity::kOk, Severity::kInfo);
  EXPECT_LT(Severity::kInfo, Severity::kWarn);
  EXPECT_LT(Severity::kWarn, Severity::kCrit);
  EXPECT_LT(Severity::kCrit, Severity::kError);
}

TEST(RulesTest, ExitCodeFor) {
  EXPECT_EQ(ExitCodeFor(Severity::kOk), 0);
  EXPECT_EQ(ExitCodeFor(Severity::kInfo), 0);
  EXPECT_EQ(ExitCodeFor(Severity::kWarn), 1);
  EXPECT_EQ(ExitCodeFor(Severity::kCrit), 2);
  EXPECT_EQ(ExitCodeFor(Severity::kError), 3);
}

TEST(RulesTest, SeverityNames) {
  EXPECT_EQ(SeverityName(Severity::kOk), "ok");
  EXPECT_EQ(SeverityName(Severity::kInfo), "info");
  EXPECT_EQ(SeverityName(Severity::kWarn), "warn");
  EXPECT_EQ(SeverityName(Severity::kCrit), "crit");
  EXPECT_EQ(SeverityName(Severity::kError), "error");
}

// ---------------------------------------------------------------------------------------------
// The named rules: the table, the selection, and a disable test per rule.

TEST(RuleTableTest, TheSixteenRulesOfHappyDomainsCheckerSmtpVerbatim) {
  // happyDomain's documentation of checker-smtp, "What it checks", in its order, then ours:
  // the transport-security policies (RFC 8461, RFC 8460, RFC 7672), the submission ports
  // (RFC 8314) and posture drift.
  const std::vector<std::string> expected = {
      "smtp.null_mx",          "smtp.mx_present",     "smtp.mx_sanity",
      "smtp.endpoint_reachable", "smtp.banner_sanity", "smtp.ehlo_supported",
      "smtp.starttls_offered", "smtp.starttls_handshake", "smtp.auth_posture",
      "smtp.reverse_dns",      "smtp.null_sender",    "smtp.postmaster",
      "smtp.open_relay",       "smtp.extension_posture", "smtp.ipv6_reachable",
      "smtp.tls_quality",
      // Our own, after happyDomain's 16.
      "smtp.mta_sts",          "smtp.tls_rpt",        "smtp.dane",
      "smtp.submission",       "smtp.posture_drift"};
  std::vector<std::string> names;
  for (const auto& rule : Rules()) {
    names.emplace_back(rule.name);
    EXPECT_FALSE(rule.description.empty()) << rule.name;
    EXPECT_FALSE(rule.codes.empty()) << rule.name;
    EXPECT_NE(rule.evaluate, nullptr) << rule.name;
    EXPECT_EQ(FindRule(rule.name), &rule);
  }
  EXPECT_EQ(names, expected);
  EXPECT_EQ(FindRule("smtp.nonexistent"), nullptr);
}

TEST(RuleTableTest, EveryCatalogCodeBelongsToExactlyOneRule) {
  std::map<std::string, int> owners;
  for (const auto& rule : Rules()) {
    for (std::string_view code : rule.codes) {
      ++owners[std::string(code)];
      EXPECT_NE(FindCatalogEntry(code), nullptr) << rule.name << " lists unknown " << code;
      EXPECT_EQ(RuleForCode(code), &rule) << code;
    }
  }
  for (const auto& entry : FindingCatalog()) {
    EXPECT_EQ(owners[std::string(entry.code)], 1) << entry.code;
  }
  EXPECT_EQ(owners.size(), FindingCatalog().size());
}

TEST(RuleSelectionTest, DefaultsFollowTheTableAndMapsFollowHappyDomain) {
  const RuleSelection defaults = RuleSelection::Defaults();
  for (const auto& rule : Rules()) {
    EXPECT_EQ(defaults.Enabled(rule.name), rule.default_enabled) << rule.name;
  }
  EXPECT_FALSE(defaults.Enabled("smtp.tls_quality"));
  EXPECT_FALSE(defaults.Enabled("smtp.nonexistent"));
  // checker-sdk-go RuleEnabled: a rule absent from enabledRules is enabled.
  const RuleSelection from_map =
      RuleSelection::FromEnabledMap({{"smtp.open_relay", false}, {"smtp.bogus", false}});
  EXPECT_FALSE(from_map.Enabled("smtp.open_relay"));
  EXPECT_TRUE(from_map.Enabled("smtp.tls_quality"));
  EXPECT_TRUE(from_map.Enabled("smtp.null_mx"));
  EXPECT_TRUE(RuleSelection::FromEnabledMap({}).Enabled("smtp.postmaster"));
  EXPECT_TRUE(defaults.With("smtp.tls_quality", true).Enabled("smtp.tls_quality"));
  EXPECT_FALSE(defaults.With("smtp.mx_sanity", false).Enabled("smtp.mx_sanity"));
  EXPECT_TRUE(defaults.Enabled("smtp.mx_sanity"));  // With copies
}

RuleSelection AllRules() { return RuleSelection::FromEnabledMap({}); }

// An observation on which `rule` emits at least one finding.
DomainObservation WhereRuleSpeaks(std::string_view rule) {
  DomainObservation obs = Healthy();
  if (rule == "smtp.null_mx") {
    obs.dns.null_mx = true;
    obs.dns.mx_targets.clear();
    obs.dns.reverse.clear();
    obs.plan.endpoints.clear();
    obs.endpoints.clear();
  }
  if (rule == "smtp.mta_sts") {
    obs.mta_sts = MtaStsObservation{};
    obs.mta_sts->record_lookup.status = DnsStatus::kNxDomain;
  }
  if (rule == "smtp.tls_rpt") {
    obs.tls_rpt = TlsRptObservation{};
    obs.tls_rpt->record_lookup.status = DnsStatus::kNoData;
  }
  if (rule == "smtp.submission") {
    obs.submission.push_back(testing::HealthySubmission(obs.domain, obs.dns.mx_targets[0].host,
                                                        "192.0.2.1", 587));
  }
  if (rule == "smtp.dane") {
    obs.dns.mx_targets[0].tlsa = {"_25._tcp." + obs.dns.mx_targets[0].host,
                                  {DnsStatus::kOk, ""},
                                  {{3, 1, 1, 32, "00"}},
                                  false};
  }
  return obs;
}

class RuleDisableTest : public ::testing::TestWithParam<std::string> {};

// Disabling a rule removes exactly its findings: the other rules say the same as before.
TEST_P(RuleDisableTest, ADisabledRuleEmitsNothingAndChangesNothingElse) {
  const std::string rule = GetParam();
  const DomainObservation obs = WhereRuleSpeaks(rule);
  // With a posture history, as the daemon judges, so that smtp.posture_drift speaks too.
  const PostureHistory posture = AdvancePosture(nullptr, obs);
  CheckOptions options;
  options.test_dane = true;  // smtp.dane judges only what test_dane collected
  options.submission = {587};  // smtp.submission likewise
  const std::vector<Finding> all = Judge(obs, options, AllRules(), &posture);
  std::vector<Finding> expected;
  std::size_t own = 0;
  for (const auto& f : all) {
    if (f.rule == rule) {
      ++own;
    } else {
      expected.push_back(f);
    }
  }
  ASSERT_GT(own, 0u) << rule << " says nothing here, so disabling it proves nothing";
  const std::vector<Finding> without = Judge(obs, options, AllRules().With(rule, false), &posture);
  EXPECT_EQ(without, expected) << rule;
}

std::vector<std::string> RuleNames() {
  std::vector<std::string> names;
  for (const auto& rule : Rules()) {
    names.emplace_back(rule.name);
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(EveryRule, RuleDisableTest, ::testing::ValuesIn(RuleNames()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name;
                           for (char c : param.param) {
                             name += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
                           }
                           return name;
                         });

// A disabled probe rule counts its probe as not requested: its temporary answer is not
// reported by the session rule either, and the collector never sends it (EffectiveOptions).
TEST(RuleDisableTest, ADisabledProbeRuleSilencesItsProbeEverywhere) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].postmaster = {
      ProbeOutcome::kTemporary,
      {Step("RCPT TO:<postmaster@example.org>", 450, "450 4.2.0 Greylisted, see RFC 6647")},
      "RCPT TO postmaster answered 450"};
  EXPECT_TRUE(HasProblem(Judge(obs), "smtp.probe.temporary"));
  const RuleSelection no_postmaster = RuleSelection::Defaults().With("smtp.postmaster", false);
  EXPECT_FALSE(HasProblem(Judge(obs, {}, no_postmaster), "smtp.probe.temporary"));
  const CheckOptions effective = EffectiveOptions(CheckOptions{}, no_postmaster);
  EXPECT_FALSE(effective.test_postmaster);
  EXPECT_TRUE(effective.test_null_sender);
  EXPECT_TRUE(effective.test_open_relay);
}

// smtp.tls_quality without a TLS checker's findings: INFO "no TLS data", never OK or CRIT.
TEST(RulesTest, TlsQualityWithoutTlsDataSaysSo) {
  EXPECT_TRUE(WithCode(Judge(Healthy()), "smtp.tls.unavailable").empty());  // off by default
  const RuleSelection with_tls = RuleSelection::Defaults().With("smtp.tls_quality", true);
  const std::vector<Finding> findings = Judge(Healthy(), {}, with_tls);
  const std::vector<Finding> tls = WithCode(findings, "smtp.tls.unavailable");
  ASSERT_EQ(tls.size(), 1u) << RenderFindingsText(findings);
  EXPECT_EQ(tls[0].severity, Severity::kInfo);
  EXPECT_EQ(tls[0].subject.Text(), kDomain);
  EXPECT_EQ(tls[0].rule, "smtp.tls_quality");
  EXPECT_THAT(tls[0].message, HasSubstr("2 endpoint(s) that completed STARTTLS"));
  // Without any TLS session there is nothing a TLS checker could judge: no finding at all.
  DomainObservation plain = Healthy();
  for (auto& e : plain.endpoints) {
    e.starttls = {};
    e.extensions_plain = ExtensionSet{};
  }
  EXPECT_TRUE(WithCode(Judge(plain, {}, with_tls), "smtp.tls.unavailable").empty());
}

// ---------------------------------------------------------------------------------------------
// The catalog, its rendering and docs/findings.md.

TEST(FindingCatalogTest, CodesAreUniqueAndComplete) {
  std::set<std::string_view> codes;
  std::set<std::string_view> short_titles;
  for (const auto& entry : FindingCatalog()) {
    EXPECT_TRUE(codes.insert(entry.code).second) << "duplicate " << entry.code;
    EXPECT_EQ(entry.code.substr(0, 5), "smtp.") << entry.code;
    EXPECT_NE(entry.severity, Severity::kOk) << entry.code;
    EXPECT_FALSE(entry.title.empty()) << entry.code;
    // Short enough for the overview page's one line per problem.
    EXPECT_FALSE(entry.short_title.empty()) << entry.code;
    EXPECT_LE(entry.short_title.size(), 32u) << entry.code;
    EXPECT_TRUE(short_titles.insert(entry.short_title).second) << "duplicate " << entry.short_title;
    EXPECT_FALSE(entry.fix.empty()) << entry.code;
    EXPECT_EQ(entry.rfc.substr(0, 4), "RFC ") << entry.code;
    EXPECT_EQ(FindCatalogEntry(entry.code), &entry);
  }
  EXPECT_EQ(FindCatalogEntry("smtp.no.such"), nullptr);
  // The seed's codes and severities, verbatim.
  const std::pair<const char*, Severity> seed[] = {
      {"smtp.mx.null", Severity::kInfo},
      {"smtp.mx.null_mixed", Severity::kCrit},
      {"smtp.mx.missing", Severity::kCrit},
      {"smtp.mx.implicit", Severity::kWarn},
      {"smtp.mx.ip_literal", Severity::kCrit},
      {"smtp.mx.cname", Severity::kCrit},
      {"smtp.mx.unresolvable", Severity::kCrit},
      {"smtp.dns.error", Severity::kError},
      {"smtp.tcp.unreachable", Severity::kCrit},
      {"smtp.all_unreachable", Severity::kCrit},
      {"smtp.banner.rejected", Severity::kCrit},
      {"smtp.banner.hostname_mismatch", Severity::kInfo},
      {"smtp.ehlo.helo_fallback", Severity::kWarn},
      {"smtp.starttls.missing", Severity::kWarn},
      {"smtp.starttls.failed", Severity::kCrit},
      {"smtp.all_no_starttls", Severity::kCrit},
      {"smtp.auth.plaintext", Severity::kCrit},
      {"smtp.ptr.missing", Severity::kWarn},
      {"smtp.fcrdns.mismatch", Severity::kWarn},
      {"smtp.null_sender.rejected", Severity::kCrit},
      {"smtp.postmaster.rejected", Severity::kCrit},
      {"smtp.open_relay", Severity::kCrit},
      {"smtp.probe.temporary", Severity::kInfo},
      {"smtp.ipv6.missing", Severity::kInfo},
      {"smtp.ipv6.unreachable", Severity::kWarn},
      {"smtp.extension.missing", Severity::kInfo},
      {"smtp.limits.exceeded", Severity::kWarn},
  };
  for (const auto& [code, severity] : seed) {
    const CatalogEntry* entry = FindCatalogEntry(code);
    ASSERT_NE(entry, nullptr) << code;
    EXPECT_EQ(entry->severity, severity) << code;
  }
}

TEST(FindingCatalogTest, FixTextsNameTheConcreteSettings) {
  auto fix = [](const char* code) { return std::string(FindCatalogEntry(code)->fix); };
  EXPECT_THAT(fix("smtp.starttls.missing"), HasSubstr("smtpd_tls_security_level = may"));
  EXPECT_THAT(fix("smtp.starttls.missing"), HasSubstr("tls_advertise_hosts = *"));
  EXPECT_THAT(fix("smtp.all_no_starttls"), HasSubstr("smtpd_tls_security_level = may"));
  EXPECT_THAT(fix("smtp.auth.plaintext"), HasSubstr("smtpd_tls_auth_only = yes"));
  EXPECT_THAT(fix("smtp.open_relay"), HasSubstr("mynetworks"));
  EXPECT_THAT(fix("smtp.mx.cname"), HasSubstr("A/AAAA"));
  EXPECT_EQ(FindCatalogEntry("smtp.postmaster.rejected")->rfc, "RFC 5321 §4.5.1");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(FindingCatalogTest, CatalogMarkdownMatchesDocs) {
  const std::string path = std::string(SMTP_EXPORTER_SOURCE_DIR) + "/docs/findings.md";
  const std::string expected = RenderCatalogMarkdown();
  if (std::getenv("SMTP_EXPORTER_REGENERATE_DOCS") != nullptr) {
    std::ofstream(path, std::ios::binary) << expected;
  }
  const std::string actual = ReadFile(path);
  EXPECT_TRUE(actual == expected)
      << path << " is out of date. Regenerate it with\n"
      << "  SMTP_EXPORTER_REGENERATE_DOCS=1 unit_tests --gtest_filter='*CatalogMarkdown*'\n"
      << "or replace its content with:\n"
      << "-----8<-----\n"
      << expected << "-----8<-----\n";
  for (const auto& entry : FindingCatalog()) {
    EXPECT_THAT(expected, HasSubstr("### Code `" + std::string(entry.code) + "`"));
  }
  for (const auto& rule : Rules()) {
    EXPECT_THAT(expected, HasSubstr("## Rule `" + std::string(rule.name) + "`"));
  }
}

// ---------------------------------------------------------------------------------------------
// Text and JSON rendering.

TEST(FindingsTextTest, ProblemsFirstThenPassedChecks) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].open_relay.outcome = ProbeOutcome::kAccepted;
  obs.endpoints[0].open_relay.steps.back().reply = Reply{250, {"250 2.1.5 Ok\x1b[31m"}};
  const std::string text = RenderFindingsText(Judge(obs));
  const auto fix_at = text.find("What to fix:");
  const auto passed_at = text.find("Passed checks:");
  ASSERT_NE(fix_at, std::string::npos);
  ASSERT_NE(passed_at, std::string::npos);
  EXPECT_LT(fix_at, passed_at);
  const auto relay_at = text.find("CRIT  smtp.open_relay  mx1.example.org [198.51.100.25]");
  EXPECT_LT(relay_at, passed_at);
  EXPECT_THAT(text, HasSubstr("fix: Restrict relaying"));
  EXPECT_THAT(text, HasSubstr("rfc: RFC 5321 §3.6"));
  EXPECT_THAT(text, HasSubstr("OK  smtp.tcp.unreachable  mx1.example.org [2001:db8::25]: port 25"));
  EXPECT_THAT(text, HasSubstr("\\x1b[31m"));  // escaped, never sent raw to the terminal
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

TEST(TerminalTextTest, ColorDecision) {
  EXPECT_EQ(ParseColorMode("auto"), ColorMode::kAuto);
  EXPECT_EQ(ParseColorMode("always"), ColorMode::kAlways);
  EXPECT_EQ(ParseColorMode("never"), ColorMode::kNever);
  EXPECT_EQ(ParseColorMode("yes"), std::nullopt);
  EXPECT_EQ(ParseColorMode(""), std::nullopt);
  // auto: a terminal only, and NO_COLOR (non-empty) or TERM=dumb turn it off.
  EXPECT_TRUE(ShouldColor(ColorMode::kAuto, true, "", "xterm-256color"));
  EXPECT_TRUE(ShouldColor(ColorMode::kAuto, true, "", ""));
  EXPECT_FALSE(ShouldColor(ColorMode::kAuto, false, "", "xterm-256color"));
  EXPECT_FALSE(ShouldColor(ColorMode::kAuto, true, "1", "xterm-256color"));
  EXPECT_FALSE(ShouldColor(ColorMode::kAuto, true, "0", "xterm"));  // any value but ""
  EXPECT_FALSE(ShouldColor(ColorMode::kAuto, true, "", "dumb"));
  // Explicit choices win over the environment (no-color.org: flags override NO_COLOR).
  EXPECT_TRUE(ShouldColor(ColorMode::kAlways, false, "1", "dumb"));
  EXPECT_FALSE(ShouldColor(ColorMode::kNever, true, "", "xterm"));
}

TEST(TerminalTextTest, PaintOnlyWhenEnabled) {
  EXPECT_EQ(Paint("CRIT", Color::kRed, true), "\x1b[1;31mCRIT\x1b[0m");
  EXPECT_EQ(Paint("CRIT", Color::kRed, false), "CRIT");
  EXPECT_EQ(SeverityLabel(Severity::kWarn, true), "\x1b[33mWARN\x1b[0m");
  EXPECT_EQ(SeverityLabel(Severity::kOk, true), "\x1b[32mOK\x1b[0m");
  EXPECT_EQ(SeverityLabel(Severity::kError, false), "ERROR");
}

// With colour on, the only escape sequences are ours: a server's own (a colour change, a title
// change) is still shown as \x1b text. The plain rendering has none at all.
TEST(FindingsTextTest, ColourAddsOnlyOurOwnEscapes) {
  DomainObservation obs = Healthy();
  obs.endpoints[0].open_relay.outcome = ProbeOutcome::kAccepted;
  obs.endpoints[0].open_relay.steps.back().reply =
      Reply{250, {"250 2.1.5 Ok\x1b[31m\x1b]0;owned\x07"}};
  obs.endpoints[0].greeting = Reply{220, {"220 mx1.example.org ESMTP\x1b[2J"}};
  const std::vector<Finding> findings = Judge(obs);
  const std::string coloured = RenderFindingsText(findings, true);
  EXPECT_THAT(coloured, HasSubstr("\x1b[1mWhat to fix:\x1b[0m"));
  EXPECT_THAT(coloured, HasSubstr("\x1b[1;31mCRIT\x1b[0m  smtp.open_relay"));
  EXPECT_THAT(coloured, HasSubstr("\x1b[32mOK\x1b[0m  smtp.tcp.unreachable"));
  EXPECT_THAT(coloured, HasSubstr("250 2.1.5 Ok\\x1b[31m\\x1b]0;owned\\x07"));
  EXPECT_THAT(coloured, HasSubstr("ESMTP\\x1b[2J"));
  // Every raw ESC starts one of our SGR sequences: "\x1b[" then digits/';' then 'm'.
  for (std::size_t at = coloured.find('\x1b'); at != std::string::npos;
       at = coloured.find('\x1b', at + 1)) {
    ASSERT_LT(at + 1, coloured.size());
    EXPECT_EQ(coloured[at + 1], '[') << at;
    std::size_t end = at + 2;
    while (end < coloured.size() && (std::isdigit(static_cast<unsigned char>(coloured[end])) ||
                                     coloured[end] == ';')) {
      ++end;
    }
    ASSERT_LT(end, coloured.size());
    EXPECT_EQ(coloured[end], 'm') << coloured.substr(at, 12);
    const std::string sgr = coloured.substr(at, end + 1 - at);
    EXPECT_THAT((std::vector<std::string>{"\x1b[0m", "\x1b[1m", "\x1b[1;31m", "\x1b[33m",
                                          "\x1b[32m", "\x1b[36m", "\x1b[1;35m"}),
                ::testing::Contains(sgr));
  }
  // Without colour: the same text minus the escapes, and not one raw ESC.
  const std::string plain = RenderFindingsText(findings, false);
  EXPECT_EQ(plain.find('\x1b'), std::string::npos);
  EXPECT_EQ(plain, RenderFindingsText(findings));
  std::string stripped;
  for (std::size_t i = 0; i < coloured.size(); ++i) {
    if (coloured[i] == '\x1b') {
      i = coloured.find('m', i);
      continue;
    }
    stripped += coloured[i];
  }
  EXPECT_EQ(stripped, plain);
}

TEST(FindingsTextTest, EmptyLists) {
  EXPECT_THAT(RenderFindingsText({}), HasSubstr("nothing: every check that ran passed"));
  EXPECT_THAT(RenderFindingsText({}), HasSubstr("Passed checks:\n  none"));
}

TEST(FindingsTextTest, Json) {
  Finding f{"smtp.open_relay", "smtp.open_relay", Severity::kCrit,
            Subject::Endpoint(kDomain, kMx, Ip(kV4), 25), "accepted \xff", "fix it", "RFC 1"};
  const nlohmann::json j = FindingsToJson({f});
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["rule"], "smtp.open_relay");
  EXPECT_EQ(j[0]["code"], "smtp.open_relay");
  EXPECT_EQ(j[0]["severity"], "crit");
  EXPECT_EQ(j[0]["subject"], kV4Subject);
  EXPECT_EQ(j[0]["mx"], kMx);
  EXPECT_EQ(j[0]["ip"], kV4);
  EXPECT_EQ(j[0]["port"], 25);
  EXPECT_EQ(j[0]["fix"], "fix it");
  EXPECT_EQ(j[0]["rfc"], "RFC 1");
  std::string dumped;
  EXPECT_NO_THROW(dumped = DumpJson(j));  // invalid UTF-8 from the network is replaced
  EXPECT_THAT(dumped, HasSubstr("accepted"));
  EXPECT_TRUE(FindingsToJson({}).is_array());
}

}  // namespace
}  // namespace smtp_exporter
