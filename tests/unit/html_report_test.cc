// The HTML report and index (exporter/html_report.h): golden pages for a healthy domain, one
// with many failures and a hostile server, and an error state; plus the properties the golden
// files could silently lose: escaping of server bytes, severity order of "What to fix", which
// endpoint panels are open, the OPEN RELAY badge, no script and no external fetch.
#include "exporter/html_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "exporter/html.h"
#include "exporter/check/evaluate.h"
#include "tests/support/golden.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ExpectGolden;
using testing::HealthyEndpoint;
using testing::Ip;
using testing::Mx;
using testing::Plan;
using testing::Reverse;

// Payloads a hostile server puts in its replies (the lab's responder sends the same kind).
constexpr char kScriptPayload[] = "<script>alert(1)</script>";
constexpr char kAttributePayload[] = "\"><img src=x onerror=alert(2)>";

CheckOptions Options() {
  CheckOptions options;
  options.helo_name = "probe.example.net";
  return options;
}

struct Check {
  DomainObservation observation;
  std::vector<Finding> findings;
  Severity status = Severity::kOk;
};

Check Evaluate(DomainObservation obs) {
  Check check;
  check.findings = Evaluate(obs, Options());
  check.status = WorstSeverity(check.findings);
  check.observation = std::move(obs);
  return check;
}

// Dual stack, TLS, every probe answered as it should.
Check Healthy() {
  DomainObservation obs;
  obs.domain = "good.example";
  obs.started_at_unix = 1700000000;
  obs.duration_seconds = 0.42;
  obs.dns.domain = obs.domain;
  obs.dns.mx.status = DnsStatus::kOk;
  obs.dns.duration_seconds = 0.02;
  obs.dns.mx_targets = {Mx(10, "mx1.good.example", {"198.51.100.10", "2001:db8::10"})};
  obs.dns.reverse = {Reverse("198.51.100.10", DnsStatus::kOk, {"mx1.good.example"}, true),
                     Reverse("2001:db8::10", DnsStatus::kOk, {"mx1.good.example"}, true)};
  Plan(&obs);
  obs.endpoints = {HealthyEndpoint(obs.domain, "mx1.good.example", "198.51.100.10"),
                   HealthyEndpoint(obs.domain, "mx1.good.example", "2001:db8::10")};
  for (auto& e : obs.endpoints) {
    e.transcript = {{0.0, TranscriptEntry::Direction::kNote, "connected"},
                    {0.05, TranscriptEntry::Direction::kServer, e.greeting->lines[0]},
                    {0.06, TranscriptEntry::Direction::kClient, "EHLO probe.example.net"}};
  }
  return Evaluate(std::move(obs));
}

// One MX host, two addresses: the IPv4 one is a hostile open relay offering AUTH in plaintext
// and no STARTTLS, with markup in every reply and no PTR; the IPv6 one does not answer.
Check Broken() {
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
  v4.ehlo = Reply{250,
                  {"250-mx1.broken.example", "250-PIPELINING", "250-AUTH PLAIN LOGIN",
                   std::string("250 X-") + kScriptPayload}};
  v4.extensions_plain = ExtensionSet::FromEhloReply(*v4.ehlo);
  v4.auth_before_tls = true;
  v4.starttls = {};
  v4.tls_ehlo.reset();
  v4.extensions_tls = {};
  v4.transactions_channel = TransactionChannel::kPlain;
  v4.probe_recipient = "postmaster@example.com";
  v4.open_relay = {ProbeOutcome::kAccepted,
                   {{"MAIL FROM:<checker@probe.example.net>", Reply{250, {"250 2.1.0 Ok"}}, ""},
                    {"RCPT TO:<postmaster@example.com>",
                     Reply{250, {std::string("250 2.1.5 ") + kScriptPayload}}, ""}},
                   "a recipient outside the domain was accepted"};
  v4.transcript = {{0.0, TranscriptEntry::Direction::kServer, banner},
                   {0.01, TranscriptEntry::Direction::kClient, "EHLO probe.example.net"}};

  EndpointObservation v6;
  v6.domain = obs.domain;
  v6.mx_name = "mx1.broken.example";
  v6.ip = *IpAddress::Parse("2001:db8::7");
  v6.connect_status = ConnectStatus::kTimeout;
  v6.connect_error = "no answer within 5 s";
  v6.phases = {{"connect", 5.0}, {"total", 5.0}};
  obs.endpoints = {v4, v6};
  return Evaluate(std::move(obs));
}

// The resolver failed: the check could not run; nothing was probed.
Check DnsFailure() {
  DomainObservation obs;
  obs.domain = "servfail.example";
  obs.started_at_unix = 1700000200;
  obs.duration_seconds = 3;
  obs.dns.domain = obs.domain;
  obs.dns.mx = {DnsStatus::kServFail, "Server failure"};
  return Evaluate(std::move(obs));
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

std::string Render(const Check& check) {
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
  const Check check = DnsFailure();
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

TEST(HtmlReportTest, PagesFetchNothingAndRunNoScript) {
  for (const Check& check : {Healthy(), Broken(), DnsFailure()}) {
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
  const Check check = Broken();
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

TEST(HtmlReportTest, IndexListsWorstFirstThenPending) {
  std::vector<IndexRow> rows(4);
  rows[0].domain = "pending.example";
  rows[1] = {"good.example", true, Severity::kOk, 0, 0, 0, 2, 1700000000, 1700000060,
             "/report?domain=good.example", ""};
  rows[2] = {"relay.example", true, Severity::kCrit, 2, 1, 1, 1, 1700000000, 1700000060,
             "/report?domain=relay.example", "/report?domain=relay.example&format=json"};
  rows[3] = {"<b>odd</b>.example", true, Severity::kWarn, 0, 1, 0, 1, 1700000000, 0, "", ""};
  const std::string html = RenderIndexHtml(rows, Context());
  EXPECT_EQ(Attributes(html, "<table id=\"domains\">", "</table>", "<tr class=\"domain\"",
                       "data-domain"),
            (std::vector<std::string>{"relay.example", "&lt;b&gt;odd&lt;/b&gt;.example",
                                      "good.example", "pending.example"}));
  EXPECT_THAT(html, HasSubstr("/report?domain=relay.example&amp;format=json"));
  EXPECT_THAT(html, Not(HasSubstr("<b>")));
  ExpectGolden("html/index.html", html, "HtmlReport*");
}

TEST(HtmlReportTest, RelativeTimesFollowTheClock) {
  HtmlPageContext context = Context();
  const std::string html = RenderReportHtml(Healthy().observation, Healthy().findings,
                                            Severity::kOk, context);
  EXPECT_THAT(html, HasSubstr("checked 2023-11-14 22:13:20 UTC (5 min ago)"));
  EXPECT_THAT(html, HasSubstr("next check 2023-11-14 22:19:20 UTC (in 60 s)"));
  context.now_unix = 0;
  EXPECT_THAT(RenderReportHtml(Healthy().observation, Healthy().findings, Severity::kOk, context),
              Not(HasSubstr(" ago)")));
}

TEST(HtmlEscapeTest, EscapesMarkupQuotesAndControlBytes) {
  EXPECT_EQ(EscapeHtml("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  EXPECT_EQ(EscapeHtml(std::string("a\0b\x7f\tc\n", 7)), "a\\x00b\\x7f\tc\n");
  EXPECT_EQ(UrlEncodeQueryValue("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
}

}  // namespace
}  // namespace smtp_exporter
