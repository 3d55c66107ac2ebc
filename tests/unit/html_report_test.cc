// The HTML report and index (exporter/report/html_report.h): golden pages for a healthy domain, one
// with many failures and a hostile server, and an error state; plus the properties the golden
// files could silently lose: escaping of server bytes, severity order of "What to fix", which
// endpoint panels are open, the OPEN RELAY badge, no script and no external fetch. The
// overview (/) has golden pages too, unfiltered and filtered, built as the daemon builds them
// (MakeIndexRow over real rule output and fabricated histories with status changes), and the
// report's history strip one of its own.
#include "exporter/report/html_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "exporter/check/check.h"
#include "exporter/check/evaluate.h"
#include "exporter/daemon/snapshot_store.h"
#include "exporter/report/html.h"
#include "exporter/report/overview.h"
#include "exporter/report/text_report.h"
#include "tests/support/golden.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using testing::EvaluatedFixture;
using testing::ExpectGolden;
using ::testing::HasSubstr;
using testing::HealthyDomain;
using testing::HealthyEndpoint;
using testing::Mx;
using ::testing::Not;
using testing::Plan;
using testing::Reverse;
using testing::UnreachableEndpoint;
using testing::WithoutStartTls;

// Payloads a hostile server puts in its replies (the lab's responder sends the same kind).
constexpr char kScriptPayload[] = "<script>alert(1)</script>";
constexpr char kAttributePayload[] = "\"><img src=x onerror=alert(2)>";

// Dual stack, TLS, every probe answered as it should.
CheckResult Healthy() {
  DomainObservation obs =
      HealthyDomain("good.example", {{10, "mx1.good.example", {"198.51.100.10", "2001:db8::10"}}});
  obs.started_at_unix = 1700000000;
  obs.duration_seconds = 0.42;
  obs.dns.duration_seconds = 0.02;
  for (auto& e : obs.endpoints) {
    e.transcript = {{0.0, TranscriptEntry::Direction::kNote, "connected"},
                    {0.05, TranscriptEntry::Direction::kServer, e.greeting->lines[0]},
                    {0.06, TranscriptEntry::Direction::kClient, "EHLO probe.example.net"}};
  }
  return EvaluatedFixture(std::move(obs));
}

// One MX host, two addresses: the IPv4 one is a hostile open relay offering AUTH in plaintext
// and no STARTTLS, with markup in every reply and no PTR; the IPv6 one does not answer.
CheckResult Broken() {
  DomainObservation obs;
  obs.domain = "broken.example";
  obs.started_at_unix = 1700000100;
  obs.duration_seconds = 5.5;
  obs.dns.domain = obs.domain;
  obs.dns.mx.status = DnsStatus::kOk;
  obs.dns.mx_targets = {Mx(10, "mx1.broken.example", {"198.51.100.7", "2001:db8::7"})};
  obs.dns.reverse = {Reverse("198.51.100.7", DnsStatus::kNxDomain, {}, std::nullopt),
                     Reverse("2001:db8::7", DnsStatus::kOk, {"mx1.broken.example"}, true)};
  Plan(&obs);

  EndpointObservation v4 = HealthyEndpoint(obs.domain, "mx1.broken.example", "198.51.100.7");
  const std::string banner = std::string("220 mx1.broken.example ESMTP ") + kScriptPayload + " " +
                             kAttributePayload + " \x1b[31mred";
  v4.greeting = Reply{220, {banner}};
  WithoutStartTls(&v4);
  v4.ehlo = Reply{250,
                  {"250-mx1.broken.example", "250-PIPELINING", "250-AUTH PLAIN LOGIN",
                   std::string("250 X-") + kScriptPayload}};
  v4.extensions_plain = ExtensionSet::FromEhloReply(*v4.ehlo);
  v4.auth_before_tls = true;
  v4.probe_recipient = "postmaster@example.com";
  v4.open_relay = {ProbeOutcome::kAccepted,
                   {{"MAIL FROM:<checker@probe.example.net>", Reply{250, {"250 2.1.0 Ok"}}, ""},
                    {"RCPT TO:<postmaster@example.com>",
                     Reply{250, {std::string("250 2.1.5 ") + kScriptPayload}}, ""}},
                   "a recipient outside the domain was accepted"};
  v4.transcript = {{0.0, TranscriptEntry::Direction::kServer, banner},
                   {0.01, TranscriptEntry::Direction::kClient, "EHLO probe.example.net"}};

  EndpointObservation v6 = UnreachableEndpoint(obs.domain, "mx1.broken.example", "2001:db8::7",
                                               ConnectStatus::kTimeout, "no answer within 5 s");
  v6.phases = {{"connect", 5.0}, {"total", 5.0}};
  obs.endpoints = {v4, v6};
  return EvaluatedFixture(std::move(obs));
}

// The resolver failed: the check could not run; nothing was probed.
CheckResult DnsFailure() {
  DomainObservation obs;
  obs.domain = "servfail.example";
  obs.started_at_unix = 1700000200;
  obs.duration_seconds = 3;
  obs.dns.domain = obs.domain;
  obs.dns.mx = {DnsStatus::kServFail, "Server failure"};
  return EvaluatedFixture(std::move(obs));
}

HtmlPageContext Context() {
  HtmlPageContext context;
  context.now_unix = 1700000300;
  context.next_check_unix = 1700000360;
  context.index_href = "/";
  context.json_href = "/report?domain=x&format=json";
  context.metrics_href = "/metrics?domain=x";
  context.generator = "smtp_exporter test";
  return context;
}

std::string Render(const CheckResult& check) {
  return RenderReportHtml(check.observation, check.findings, check.status, Context());
}

// The values of `attribute` on elements matching `prefix` (e.g. `<li class="finding"`), in
// document order, within the part of `html` between `from` and `to`.
std::vector<std::string> Attributes(const std::string& html, const std::string& from,
                                    const std::string& to, const std::string& element_prefix,
                                    const std::string& attribute) {
  const std::size_t begin = html.find(from);
  const std::size_t end = html.find(to, begin);
  std::vector<std::string> values;
  if (begin == std::string::npos || end == std::string::npos) {
    ADD_FAILURE() << "no section between " << from << " and " << to;
    return values;
  }
  const std::string part = html.substr(begin, end - begin);
  std::size_t pos = 0;
  while ((pos = part.find(element_prefix, pos)) != std::string::npos) {
    const std::size_t tag_end = part.find('>', pos);
    const std::string tag = part.substr(pos, tag_end - pos);
    const std::size_t at = tag.find(" " + attribute + "=\"");
    if (at != std::string::npos) {
      const std::size_t value_begin = at + attribute.size() + 3;
      values.push_back(tag.substr(value_begin, tag.find('"', value_begin) - value_begin));
    }
    pos = tag_end;
  }
  return values;
}

int Rank(const std::string& severity) {
  const std::vector<std::string> order = {"ok", "info", "warn", "crit", "error"};
  return static_cast<int>(std::find(order.begin(), order.end(), severity) - order.begin());
}

TEST(HtmlReportTest, GoldenHealthy) {
  ExpectGolden("html/healthy.html", Render(Healthy()), "HtmlReport*");
}

TEST(HtmlReportTest, GoldenManyFailures) {
  ExpectGolden("html/failures.html", Render(Broken()), "HtmlReport*");
}

TEST(HtmlReportTest, GoldenErrorState) {
  const CheckResult check = DnsFailure();
  ASSERT_EQ(check.status, Severity::kError);
  const std::string html = Render(check);
  EXPECT_THAT(html, HasSubstr("data-status=\"error\""));
  EXPECT_THAT(html, HasSubstr("data-code=\"smtp.dns.error\""));
  ExpectGolden("html/error.html", html, "HtmlReport*");
}

TEST(HtmlReportTest, ServerBytesAreEscapedNeverMarkup) {
  const std::string html = Render(Broken());
  // No element a server could have injected, in any case. (Plain searches: std::regex trips a
  // false -Wmaybe-uninitialized in GCC 12 under ASan.)
  std::string lower = html;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* tag : {"<script", "<img", "<iframe", "<object", "<embed", "<svg", "<link"}) {
    EXPECT_THAT(lower, Not(HasSubstr(tag))) << tag;
  }
  EXPECT_THAT(html, Not(HasSubstr("onerror=alert(2)>")));
  // The payloads are shown literally, escaped.
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
  // A terminal escape sequence is shown, not passed through.
  EXPECT_THAT(html, HasSubstr("\\x1b[31mred"));
  EXPECT_THAT(html, Not(HasSubstr("\x1b")));
}

// The "Transport-security policy" block: record, policy mode, mx patterns and max_age, every
// value from the network escaped.
TEST(HtmlReportTest, TransportPolicySectionShowsThePolicyEscaped) {
  CheckResult check = DnsFailure();
  EXPECT_THAT(Render(check), Not(HasSubstr("Transport-security policy")));  // not collected
  MtaStsObservation m;
  m.record_lookup = {DnsStatus::kOk, "", {"v=STSv1; id=<b>1</b>"}};
  m.record_count = 1;
  m.record_error = "the id \"<b>1</b>\" is not 1 to 32 letters and digits";
  m.policy_host = "mta-sts.servfail.example";
  m.fetch_status = PolicyFetchStatus::kOk;
  m.http_status = 200;
  m.policy = MtaStsPolicy{MtaStsMode::kTesting, {"*.servfail.example", "<script>x</script>"}, 86400};
  check.observation.mta_sts = m;
  TlsRptObservation t;
  t.record_lookup = {DnsStatus::kOk, "", {"v=TLSRPTv1; rua=mailto:\"><img src=x>@example"}};
  t.record_count = 1;
  check.observation.tls_rpt = t;
  const std::string html = Render(check);
  EXPECT_THAT(html, HasSubstr("<h2>Transport-security policy</h2>"));
  EXPECT_THAT(html, HasSubstr("<code>testing</code>"));
  EXPECT_THAT(html, HasSubstr("<code>*.servfail.example</code>"));
  EXPECT_THAT(html, HasSubstr("86400 s"));
  EXPECT_THAT(html, HasSubstr("v=STSv1; id=&lt;b&gt;1&lt;/b&gt;"));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;x&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("&quot;&gt;&lt;img src=x&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<script>")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
}

// The submission ports (RFC 8314): a block per (address, port), badged by smtp.submission's
// findings on it, the AUTH mechanisms before and after TLS, every server byte escaped. No
// section when the option is off.
TEST(HtmlReportTest, SubmissionSectionShowsEachPortEscaped) {
  DomainObservation obs =
      HealthyDomain("sub.example", {{10, "mx1.sub.example", {"198.51.100.20"}}});
  EXPECT_THAT(Render(EvaluatedFixture(obs)), Not(HasSubstr("id=\"submission\"")));
  EndpointObservation leaky =
      testing::HealthySubmission("sub.example", "mx1.sub.example", "198.51.100.20", 587);
  leaky.ehlo = Reply{250, {"250-mx1", "250-AUTH PLAIN <script>x</script>", "250 STARTTLS"}};
  leaky.extensions_plain = ExtensionSet::FromEhloReply(*leaky.ehlo);
  leaky.auth_before_tls = true;
  obs.submission = {
      leaky, testing::HealthySubmission("sub.example", "mx1.sub.example", "198.51.100.20", 465)};
  CheckOptions options = testing::FixtureOptions();
  options.submission = {587, 465};
  const CheckResult check = EvaluateObservation(obs, options);
  const std::string html = Render(check);
  EXPECT_THAT(html, HasSubstr("<h2>Submission ports (2)</h2>"));
  EXPECT_EQ(Attributes(html, "id=\"submission\"", "</section>",
                       "<details class=\"endpoint submission\"", "data-status"),
            (std::vector<std::string>{"crit", "ok"}));
  EXPECT_EQ(Attributes(html, "id=\"submission\"", "</section>",
                       "<details class=\"endpoint submission\"", "data-port"),
            (std::vector<std::string>{"587", "465"}));
  EXPECT_THAT(html, HasSubstr("&lt;SCRIPT&gt;X&lt;/SCRIPT&gt;"));  // a "mechanism", upper-cased
  EXPECT_THAT(html, Not(HasSubstr("<script>")));
  EXPECT_THAT(html, HasSubstr("mx1.sub.example [198.51.100.20]:587"));  // the finding's subject
}

// An endpoint probed on a session shared with other domains says so in its transaction
// probes, naming the domain whose check opened it, escaped.
TEST(HtmlReportTest, ASharedSessionSaysSoEscaped) {
  DomainObservation obs =
      HealthyDomain("shared.example", {{10, "mx1.provider.example", {"198.51.100.30"}}});
  EXPECT_THAT(Render(EvaluatedFixture(obs)), Not(HasSubstr("Shared: ")));
  obs.endpoints.at(0).session_domains = 40;
  obs.endpoints.at(0).session_opened_for = "a<b>.example";
  const std::string html = Render(EvaluatedFixture(obs));
  EXPECT_THAT(html, HasSubstr("Shared: one session served 40 domains whose MX hosts share this "
                              "address (opened for a&lt;b&gt;.example&#39;s check)"));
}

// The text report (`check`, /report?format=text) lists the submission sessions after the MX
// endpoints, saying which TLS each port uses; 465 has no "before TLS" stage.
TEST(HtmlReportTest, TextReportListsTheSubmissionSessions) {
  DomainObservation obs =
      HealthyDomain("sub.example", {{10, "mx1.sub.example", {"198.51.100.20"}}});
  obs.submission = {
      testing::HealthySubmission("sub.example", "mx1.sub.example", "198.51.100.20", 587),
      testing::HealthySubmission("sub.example", "mx1.sub.example", "198.51.100.20", 465)};
  const std::string text = RenderDomainText(obs, {}, Severity::kOk, false);
  const std::size_t at587 =
      text.find("Endpoint 198.51.100.20 port 587 (ipv4), submission with STARTTLS");
  const std::size_t at465 =
      text.find("Endpoint 198.51.100.20 port 465 (ipv4), submission over implicit TLS");
  ASSERT_NE(at587, std::string::npos) << text;
  ASSERT_NE(at465, std::string::npos) << text;
  EXPECT_LT(text.find("Endpoint 198.51.100.20 port 25"), at587);
  const std::string tail = text.substr(at465);
  EXPECT_THAT(tail, HasSubstr("  TLS (implicit, RFC 8314): ok, TLSv1.3"));
  EXPECT_THAT(tail, HasSubstr("  extensions over TLS: "));
  EXPECT_THAT(tail, Not(HasSubstr("before TLS")));
  EXPECT_THAT(tail, Not(HasSubstr("transaction probes")));
}

// DANE (test_dane): the MX panel says per MX host whether TLSA is published and validated, and a
// hostile host name stays text.
TEST(HtmlReportTest, MxPanelStatesTlsaPresenceAndValidation) {
  DomainObservation obs = HealthyDomain(
      "dane.example", {{10, "mx1.dane.example", {"198.51.100.10"}},
                       {20, "mx2.dane.example", {"198.51.100.11"}},
                       {30, "mx3.dane.example", {"198.51.100.12"}},
                       {40, "mx4.dane.example", {"198.51.100.13"}}});
  auto& targets = obs.dns.mx_targets;
  targets[0].tlsa = {"_25._tcp.mx1.dane.example", {DnsStatus::kOk, ""}, {{3, 1, 1, 32, "00"}},
                     true};
  targets[1].tlsa = {"_25._tcp.<b>mx2", {DnsStatus::kOk, ""}, {{3, 1, 1, 32, "00"}}, false};
  targets[2].tlsa = {"_25._tcp.mx3.dane.example", {DnsStatus::kNxDomain, ""}, {}, true};
  targets[3].tlsa = {"_25._tcp.mx4.dane.example", {DnsStatus::kServFail, "bogus"}, {}, false};
  const std::string html = Render(EvaluatedFixture(obs));
  EXPECT_THAT(html, HasSubstr("DANE <code>_25._tcp.mx1.dane.example</code>: 1 TLSA "
                              "(DNSSEC-validated)"));
  EXPECT_THAT(html, HasSubstr("DANE <code>_25._tcp.&lt;b&gt;mx2</code>: 1 TLSA (<strong>not "
                              "validated</strong>)"));
  EXPECT_THAT(html, HasSubstr("DANE <code>_25._tcp.mx3.dane.example</code>: no TLSA"));
  EXPECT_THAT(html, HasSubstr("DANE <code>_25._tcp.mx4.dane.example</code>: TLSA lookup failed"));
  EXPECT_THAT(html, Not(HasSubstr("<b>mx2")));
  // Not collected: no DANE line at all.
  EXPECT_THAT(Render(Healthy()), Not(HasSubstr("DANE <code>")));
}

TEST(HtmlReportTest, PagesFetchNothingAndRunNoScript) {
  for (const CheckResult& check : {Healthy(), Broken(), DnsFailure()}) {
    const std::string html = Render(check);
    EXPECT_THAT(html, Not(HasSubstr("<script")));
    EXPECT_THAT(html, Not(HasSubstr(" src=\"")));  // escaped payloads keep "src=x", unquoted
    EXPECT_THAT(html, Not(HasSubstr("<link")));
    EXPECT_THAT(html, Not(HasSubstr("url(")));
    EXPECT_THAT(html, Not(HasSubstr("@import")));
    EXPECT_THAT(html, HasSubstr("prefers-color-scheme:dark"));
  }
  EXPECT_THAT(std::string(kReportContentSecurityPolicy), HasSubstr("default-src 'none'"));
  EXPECT_THAT(std::string(kReportContentSecurityPolicy), Not(HasSubstr("script-src")));
}

TEST(HtmlReportTest, WhatToFixListsEveryProblemWorstFirst) {
  const CheckResult check = Broken();
  const std::string html = Render(check);
  const auto severities = Attributes(html, "<section id=\"what-to-fix\">", "</section>",
                                     "<li class=\"finding\"", "data-severity");
  const auto codes = Attributes(html, "<section id=\"what-to-fix\">", "</section>",
                                "<li class=\"finding\"", "data-code");
  std::size_t problems = 0;
  for (const auto& f : check.findings) problems += f.severity != Severity::kOk;
  ASSERT_EQ(severities.size(), problems);
  for (std::size_t i = 1; i < severities.size(); ++i) {
    EXPECT_GE(Rank(severities[i - 1]), Rank(severities[i])) << i;
  }
  EXPECT_EQ(severities.front(), "crit");
  for (const char* code : {"smtp.open_relay", "smtp.auth.plaintext", "smtp.starttls.missing",
                           "smtp.ptr.missing", "smtp.tcp.unreachable"}) {
    EXPECT_NE(std::find(codes.begin(), codes.end(), code), codes.end()) << code;
  }
  // Each fix is there, with its settings as code.
  EXPECT_THAT(html, HasSubstr("<code>smtpd_relay_restrictions"));
}

TEST(HtmlReportTest, FailingEndpointsOpenHealthyOnesClosed) {
  const std::string broken = Render(Broken());
  EXPECT_THAT(broken, HasSubstr("data-ip=\"198.51.100.7\" data-mx=\"mx1.broken.example\" "
                                "data-status=\"crit\" open>"));
  // Unreachable while the IPv4 endpoint works: WARN, still open.
  EXPECT_THAT(broken, HasSubstr("data-ip=\"2001:db8::7\" data-mx=\"mx1.broken.example\" "
                                "data-status=\"warn\" open>"));
  EXPECT_THAT(broken, HasSubstr("data-badge=\"open-relay\">OPEN RELAY</span>"));
  EXPECT_THAT(broken, HasSubstr("data-badge=\"auth-plaintext\""));

  const std::string healthy = Render(Healthy());
  EXPECT_THAT(healthy, Not(HasSubstr(" open>")));
  EXPECT_THAT(healthy, Not(HasSubstr("data-badge=\"open-relay\"")));
  EXPECT_THAT(healthy, HasSubstr("<p class=\"all-clear\">"));
  EXPECT_THAT(healthy, HasSubstr("data-badge=\"starttls\">STARTTLS TLSv1.3</span>"));
  EXPECT_THAT(healthy, HasSubstr("<details id=\"passed-checks\">"));
}

IndexRow Row(std::string domain, Severity status, std::size_t crit, std::size_t warn,
             std::size_t info, std::string report_href, std::string json_href) {
  IndexRow row;
  row.domain = std::move(domain);
  row.checked = true;
  row.status = status;
  row.crit = crit;
  row.warn = warn;
  row.info = info;
  row.endpoints = 1;
  row.checked_at_unix = 1700000000;
  row.next_check_unix = 1700000060;
  row.report_href = std::move(report_href);
  row.json_href = std::move(json_href);
  return row;
}

TEST(HtmlReportTest, IndexListsWorstFirstThenPending) {
  std::vector<IndexRow> rows(4);
  rows[0].domain = "pending.example";
  rows[1] = Row("good.example", Severity::kOk, 0, 0, 0, "/report?domain=good.example", "");
  rows[2] = Row("relay.example", Severity::kCrit, 2, 1, 1, "/report?domain=relay.example",
                "/report?domain=relay.example&format=json");
  rows[2].problems =
      SummariseProblems("relay.example",
                        {Finding{"smtp.open_relay", "smtp.open_relay", Severity::kCrit,
                                 Subject::Endpoint("relay.example", "mx.relay.example",
                                                   IpAddress::Parse("192.0.2.1").value(), 25),
                                 "", "", ""}},
                        1);
  rows[3] = Row("<b>odd</b>.example", Severity::kWarn, 0, 1, 0, "", "");
  rows[3].next_check_unix = 0;
  const std::string html = RenderIndexHtml(rows, OverviewFilter{}, Context());
  EXPECT_EQ(
      Attributes(html, "<table id=\"domains\">", "</table>", "<tr class=\"domain\"", "data-domain"),
      (std::vector<std::string>{"relay.example", "&lt;b&gt;odd&lt;/b&gt;.example", "good.example",
                                "pending.example"}));
  EXPECT_THAT(html, HasSubstr("/report?domain=relay.example&amp;format=json"));
  EXPECT_THAT(html, Not(HasSubstr("<b>")));
  ExpectGolden("html/index.html", html, "HtmlReport*");
}

TEST(HtmlReportTest, RelativeTimesFollowTheClock) {
  HtmlPageContext context = Context();
  const std::string html =
      RenderReportHtml(Healthy().observation, Healthy().findings, Severity::kOk, context);
  EXPECT_THAT(html, HasSubstr("checked 2023-11-14 22:13:20 UTC (5 min ago)"));
  EXPECT_THAT(html, HasSubstr("next check 2023-11-14 22:19:20 UTC (in 60 s)"));
  context.now_unix = 0;
  EXPECT_THAT(RenderReportHtml(Healthy().observation, Healthy().findings, Severity::kOk, context),
              Not(HasSubstr(" ago)")));
}

TEST(HtmlReportTest, ARestoredResultSaysSoWithItsCheckTime) {
  HtmlPageContext context = Context();
  EXPECT_THAT(RenderReportHtml(Healthy().observation, Healthy().findings, Severity::kOk, context),
              Not(HasSubstr("restored")));
  context.restored = true;
  const std::string html =
      RenderReportHtml(Healthy().observation, Healthy().findings, Severity::kOk, context);
  EXPECT_THAT(html, HasSubstr("<span class=\"restored\"><strong>restored from disk</strong>, "
                              "checked at 2023-11-14 22:13:20 UTC (5 min ago)</span>"));

  std::vector<IndexRow> rows = {
      Row("fresh.example", Severity::kOk, 0, 0, 0, "/report?domain=fresh.example", ""),
      Row("old.example", Severity::kOk, 0, 0, 0, "/report?domain=old.example", "")};
  rows[1].restored = true;
  const std::string index = RenderIndexHtml(rows, OverviewFilter{}, Context());
  EXPECT_EQ(Attributes(index, "<table id=\"domains\">", "</table>", "<tr class=\"domain\"",
                       "data-restored"),
            (std::vector<std::string>{"true"}));
  EXPECT_THAT(index, HasSubstr("data-domain=\"old.example\" data-status=\"ok\" "
                               "data-restored=\"true\""));
  EXPECT_THAT(index, HasSubstr("<span class=\"restored\"><strong>restored from disk</strong>, "
                               "checked at</span> 2023-11-14 22:13:20 UTC (5 min ago)"));
  EXPECT_THAT(index, HasSubstr("data-domain=\"fresh.example\" data-status=\"ok\"><td>"));
}

// ---------------------------------------------------------------------------------------------
// The overview (/): problem names, the summary of codes, filters, history strips.

// One record per character of `statuses` ('o' ok, 'i' info, 'w' warn, 'c' crit, 'e' error), a
// check every `interval` seconds, the last at `last`.
std::vector<CheckRecord> History(std::string_view statuses, double last, double interval) {
  std::vector<CheckRecord> history;
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    CheckRecord record;
    record.checked_at_unix = last - interval * static_cast<double>(statuses.size() - 1 - i);
    record.duration_seconds = 0.4 + 0.01 * static_cast<double>(i);
    switch (statuses[i]) {
      case 'i':
        record.status = Severity::kInfo;
        record.info = 1;
        break;
      case 'w':
        record.status = Severity::kWarn;
        record.warn = 2;
        break;
      case 'c':
        record.status = Severity::kCrit;
        record.crit = 1;
        record.warn = 1;
        break;
      case 'e':
        record.status = Severity::kError;
        record.error = 1;
        break;
      default:
        record.status = Severity::kOk;
    }
    history.push_back(record);
  }
  return history;
}

// Three endpoints on two MX hosts, PTR and FCrDNS fine; the two on mx1 offer no STARTTLS.
CheckResult NoStartTlsOnTwoOfThree() {
  DomainObservation obs = HealthyDomain(
      "starttls.example", {{10, "mx1.starttls.example", {"198.51.100.21", "2001:db8::21"}},
                           {20, "mx2.starttls.example", {"198.51.100.22"}}});
  obs.started_at_unix = 1700000050;
  obs.duration_seconds = 1.25;
  WithoutStartTls(&obs.endpoints[0]);
  WithoutStartTls(&obs.endpoints[1]);
  return EvaluatedFixture(std::move(obs));
}

std::shared_ptr<const CheckResult> SnapshotOf(const CheckResult& check) {
  return std::make_shared<CheckResult>(check);
}

// As the daemon's "/" handler builds them (app.cc), over fixed checks and histories.
std::vector<IndexRow> OverviewRows() {
  struct Domain {
    std::string name;
    std::shared_ptr<const CheckResult> snapshot;
    std::vector<CheckRecord> history;
    double next_check_unix = 0;
  };
  const std::vector<Domain> domains = {
      // OK for 48 hourly checks: the strip reaches back two days.
      {"good.example", SnapshotOf(Healthy()), History(std::string(48, 'o'), 1700000000, 3600),
       1700003600},
      // Turned crit four checks ago.
      {"broken.example", SnapshotOf(Broken()), History("oooooooooocccc", 1700000100, 300),
       1700000400},
      {"starttls.example", SnapshotOf(NoStartTlsOnTwoOfThree()), History("wwwwww", 1700000050, 300),
       1700000350},
      // Flapped, then the resolver failed.
      {"servfail.example", SnapshotOf(DnsFailure()), History("ooowwcoee", 1700000200, 300),
       1700000500},
      {"pending.example", nullptr, {}},
  };
  std::vector<IndexRow> rows;
  for (const auto& domain : domains) {
    const std::optional<CheckSummary> summary =
        domain.snapshot ? std::optional(SummariseCheck(*domain.snapshot)) : std::nullopt;
    IndexRow row = MakeIndexRow(domain.name, summary ? &*summary : nullptr, domain.history,
                                domain.next_check_unix);
    if (domain.snapshot) {
      row.report_href = "/report?domain=" + UrlEncodeQueryValue(domain.name);
      row.json_href = row.report_href + "&format=json";
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

OverviewFilter Filter(std::string_view status, std::string_view code, std::string_view q) {
  auto parsed = ParseOverviewFilter(status, code, q);
  EXPECT_TRUE(parsed.ok()) << parsed.message();
  return parsed.ok() ? parsed.value() : OverviewFilter{};
}

// The part of `html` that is the row of `domain`.
std::string RowHtml(const std::string& html, const std::string& domain) {
  const std::size_t begin = html.find("<tr class=\"domain\" data-domain=\"" + domain + "\"");
  if (begin == std::string::npos) {
    return "";
  }
  return html.substr(begin, html.find("</tr>", begin) - begin);
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (std::size_t pos = text.find(what); pos != std::string::npos;
       pos = text.find(what, pos + what.size())) {
    ++count;
  }
  return count;
}

TEST(HtmlOverviewTest, GoldenOverviewNamesWhatIsBrokenWhere) {
  const std::string html = RenderIndexHtml(OverviewRows(), OverviewFilter{}, Context());
  ExpectGolden("html/overview.html", html, "HtmlOverview*");

  // Worst first, pending last.
  EXPECT_EQ(
      Attributes(html, "<table id=\"domains\">", "</table>", "<tr class=\"domain\"", "data-domain"),
      (std::vector<std::string>{"servfail.example", "broken.example", "starttls.example",
                                "good.example", "pending.example"}));
  // One endpoint: title · subject. Several endpoints: how many of those judged.
  const std::string broken = RowHtml(html, "broken.example");
  EXPECT_THAT(broken, HasSubstr("<span class=\"what\">open relay</span><span class=\"where\"> · "
                                "mx1.broken.example [198.51.100.7]</span>"));
  const std::string starttls = RowHtml(html, "starttls.example");
  EXPECT_THAT(starttls, HasSubstr("<span class=\"what\">no STARTTLS</span><span class=\"where\">"
                                  " on 2 of 3 endpoints</span>"));
  EXPECT_THAT(starttls, HasSubstr("title=\"mx1.starttls.example [198.51.100.21], "
                                  "mx1.starttls.example [2001:db8::21]\""));
  // Each row's problems are worst first, and match the findings' own severities.
  for (const char* domain : {"broken.example", "starttls.example", "servfail.example"}) {
    const std::string row = RowHtml(html, domain);
    const auto severities = Attributes(row, "<ul class=\"problems\">", "</ul>",
                                       "<li class=\"problem\"", "data-severity");
    ASSERT_FALSE(severities.empty()) << domain;
    for (std::size_t i = 1; i < severities.size(); ++i) {
      EXPECT_GE(Rank(severities[i - 1]), Rank(severities[i])) << domain << " " << i;
    }
  }
  EXPECT_THAT(RowHtml(html, "good.example"), Not(HasSubstr("class=\"problem\"")));

  // The summary: one line per active code, linking to the filtered view.
  EXPECT_THAT(html, HasSubstr("<li class=\"code\" data-code=\"smtp.open_relay\" "
                              "data-severity=\"crit\" data-domains=\"1\"><a "
                              "href=\"/?code=smtp.open_relay\">"));
  EXPECT_THAT(html, HasSubstr("2 domains: no STARTTLS</a>"));
  const auto summary_severities =
      Attributes(html, "<ul class=\"codes\">", "</ul>", "<li class=\"code\"", "data-severity");
  for (std::size_t i = 1; i < summary_severities.size(); ++i) {
    EXPECT_GE(Rank(summary_severities[i - 1]), Rank(summary_severities[i])) << i;
  }
  EXPECT_THAT(html,
              HasSubstr("<a class=\"status-link\" data-status=\"crit\" href=\"/?status=crit\">"));
  EXPECT_THAT(html, HasSubstr("href=\"/?status=pending\""));

  // History: one cell per record, and when the status last changed.
  EXPECT_EQ(Count(RowHtml(html, "good.example"), "<span class=\"cell\" data-status=\"ok\""), 48u);
  EXPECT_EQ(Count(broken, "<span class=\"cell\""), 14u);
  EXPECT_EQ(Count(broken, "<span class=\"cell\" data-status=\"crit\""), 4u);
  EXPECT_THAT(broken, HasSubstr("<strong class=\"sev-crit\">crit</strong> since <time "
                                "datetime=\"2023-11-14T22:00:00Z\""));
  EXPECT_THAT(broken, HasSubstr(">22:00 UTC</time>, was <span class=\"sev-ok\">ok</span>"));
  EXPECT_THAT(RowHtml(html, "good.example"), HasSubstr("in all 48 checks since <time"));
  EXPECT_THAT(RowHtml(html, "good.example"), HasSubstr(">Nov 12 23:13 UTC</time>"));
  EXPECT_THAT(RowHtml(html, "servfail.example"), HasSubstr("error</strong> since"));
  EXPECT_THAT(RowHtml(html, "pending.example"), Not(HasSubstr("class=\"history")));
  EXPECT_THAT(html, Not(HasSubstr("id=\"filter\"")));
  EXPECT_THAT(html, HasSubstr("data-shown=\"5\" data-total=\"5\""));
}

TEST(HtmlOverviewTest, GoldenFilteredByCodeAndName) {
  const OverviewFilter filter = Filter("", "smtp.starttls.missing", " TLS ");
  const std::string html = RenderIndexHtml(OverviewRows(), filter, Context());
  ExpectGolden("html/overview_filtered.html", html, "HtmlOverview*");
  // broken.example has the code too, but not "tls" in its name.
  EXPECT_EQ(
      Attributes(html, "<table id=\"domains\">", "</table>", "<tr class=\"domain\"", "data-domain"),
      (std::vector<std::string>{"starttls.example"}));
  EXPECT_THAT(html, HasSubstr("data-shown=\"1\" data-total=\"5\""));
  EXPECT_THAT(html, HasSubstr("<section id=\"filter\" data-status=\"\" "
                              "data-code=\"smtp.starttls.missing\" data-q=\"tls\">"));
  // Each condition can be removed on its own, or all at once.
  EXPECT_THAT(html, HasSubstr("<a class=\"remove\" href=\"/?q=tls\">"));
  EXPECT_THAT(html, HasSubstr("<a class=\"remove\" href=\"/?code=smtp.starttls.missing\">"));
  EXPECT_THAT(html, HasSubstr("<a class=\"clear\" href=\"/\">"));
  // The summary still covers every domain, and marks the code filtered on.
  EXPECT_THAT(html, HasSubstr("data-code=\"smtp.open_relay\""));
  EXPECT_THAT(html, HasSubstr("href=\"/?code=smtp.starttls.missing\" aria-current=\"true\">"));
  EXPECT_THAT(html, Not(HasSubstr("class=\"no-match\"")));
}

TEST(HtmlOverviewTest, FiltersByStatusAndPending) {
  const auto rows = OverviewRows();
  auto shown = [&](const OverviewFilter& filter) {
    return Attributes(RenderIndexHtml(rows, filter, Context()), "<table id=\"domains\">",
                      "</table>", "<tr class=\"domain\"", "data-domain");
  };
  EXPECT_EQ(shown(Filter("CRIT", "", "")), (std::vector<std::string>{"broken.example"}));
  EXPECT_EQ(shown(Filter("pending", "", "")), (std::vector<std::string>{"pending.example"}));
  EXPECT_EQ(shown(Filter("warn", "", "")), (std::vector<std::string>{"starttls.example"}));
  EXPECT_EQ(shown(Filter("", "", "EXAMPLE")).size(), 5u);
  EXPECT_EQ(shown(Filter("ok", "smtp.open_relay", "")), (std::vector<std::string>{}));
}

TEST(HtmlOverviewTest, UnknownCodeMatchesNothingAndIsShownEscaped) {
  const OverviewFilter filter = Filter("", "<script>x</script>", "\"><b>");
  const std::string html = RenderIndexHtml(OverviewRows(), filter, Context());
  EXPECT_THAT(html, HasSubstr("data-shown=\"0\""));
  EXPECT_THAT(html, HasSubstr("<p class=\"no-match\">"));
  EXPECT_THAT(html, HasSubstr("<code>&lt;script&gt;x&lt;/script&gt;</code> (not a finding code"));
  EXPECT_THAT(html, HasSubstr("data-q=\"&quot;&gt;&lt;b&gt;\""));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<b>")));
  // The remove links carry the other condition URL-encoded, then HTML-escaped.
  EXPECT_THAT(html, HasSubstr("href=\"/?q=%22%3E%3Cb%3E\""));
  EXPECT_THAT(html, HasSubstr("href=\"/?code=%3Cscript%3Ex%3C%2Fscript%3E\""));
}

TEST(HtmlOverviewTest, NoActiveFindingAnywhereSaysSo) {
  const CheckSummary healthy = SummariseCheck(*SnapshotOf(Healthy()));
  std::vector<IndexRow> rows = {MakeIndexRow("good.example", &healthy, {})};
  const std::string html = RenderIndexHtml(rows, OverviewFilter{}, Context());
  EXPECT_THAT(html, HasSubstr("<p class=\"all-clear\">No domain has an active finding.</p>"));
  EXPECT_THAT(html, Not(HasSubstr("<ul class=\"codes\">")));
  EXPECT_THAT(html, HasSubstr("nothing to fix"));
}

TEST(HtmlOverviewTest, GoldenReportHistoryStrip) {
  HtmlPageContext context = Context();
  context.history = History("ooowwcoee", 1700000200, 300);
  const CheckResult check = DnsFailure();
  const std::string html =
      RenderReportHtml(check.observation, check.findings, check.status, context);
  ExpectGolden("html/report_history.html", html, "HtmlOverview*");
  const std::string history = html.substr(html.find("<section id=\"history\">"));
  EXPECT_LT(html.find("<section id=\"history\">"), html.find("<section id=\"what-to-fix\">"));
  EXPECT_THAT(history, HasSubstr("<div class=\"history history-large\" data-checks=\"9\""));
  EXPECT_EQ(Count(history.substr(0, history.find("</section>")), "<span class=\"cell\""), 9u);
  EXPECT_THAT(history, HasSubstr("error</strong> since <time datetime=\"2023-11-14T22:11:40Z\""));
  // Every change, newest first, with its time.
  EXPECT_EQ(
      Attributes(history, "<ol class=\"changes\"", "</ol>", "<li class=\"change\"", "data-to"),
      (std::vector<std::string>{"error", "ok", "crit", "warn"}));
  EXPECT_EQ(
      Attributes(history, "<ol class=\"changes\"", "</ol>", "<li class=\"change\"", "data-from"),
      (std::vector<std::string>{"ok", "crit", "warn", "ok"}));
  EXPECT_THAT(history, HasSubstr("title=\"2023-11-14 21:51:40 UTC: WARN (2 warn), took 0.43 s, "
                                 "was OK\""));
  // The way back to the overview, filtered to this status and to each finding's code.
  EXPECT_THAT(html, HasSubstr("<a class=\"overview-status\" href=\"/?status=error\">"));
  EXPECT_THAT(html, HasSubstr("<a class=\"same-code\" href=\"/?code=smtp.dns.error\">"));
}

TEST(HtmlOverviewTest, ReportWithoutHistoryOrIndexHasNeither) {
  HtmlPageContext context = Context();
  context.index_href.clear();
  const CheckResult check = Broken();
  const std::string html =
      RenderReportHtml(check.observation, check.findings, check.status, context);
  EXPECT_THAT(html, Not(HasSubstr("id=\"history\"")));
  EXPECT_THAT(html, Not(HasSubstr("class=\"same-code\"")));
  EXPECT_THAT(html, Not(HasSubstr("class=\"overview-status\"")));
}

TEST(HtmlEscapeTest, EscapesMarkupQuotesAndControlBytes) {
  EXPECT_EQ(EscapeHtml("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  EXPECT_EQ(EscapeHtml(std::string("a\0b\x7f\tc\n", 7)), "a\\x00b\\x7f\tc\n");
  EXPECT_EQ(UrlEncodeQueryValue("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
}

}  // namespace
}  // namespace smtp_exporter
