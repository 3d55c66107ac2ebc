// The overview's model (exporter/report/overview.h): how a domain's active findings become named
// problem lines, grouped over endpoints; the summary of codes across domains; the query
// filters and their validation; status changes in a history. The page built from it is in
// html_report_test.cc.
#include "exporter/report/overview.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The fixture's subjects are written as reports show them: "example.org" (the domain),
// "mx1.example.org" (an MX host) or "mx1.example.org [192.0.2.1]" / "[192.0.2.1]" (an endpoint).
Subject SubjectOf(std::string_view text) {
  const std::string domain = "example.org";
  const std::size_t open = text.find('[');
  if (open != std::string_view::npos && text.back() == ']') {
    const std::string mx(open == 0 ? std::string_view() : text.substr(0, open - 1));
    const auto ip = IpAddress::Parse(text.substr(open + 1, text.size() - open - 2));
    EXPECT_TRUE(ip.has_value()) << text;
    return Subject::Endpoint(domain, mx, ip.value_or(IpAddress{}), 25);
  }
  return text == domain ? Subject::Domain(domain) : Subject::Host(domain, std::string(text));
}

Finding F(const char* code, Severity severity, const char* subject) {
  Finding finding;
  finding.code = code;
  finding.severity = severity;
  finding.subject = SubjectOf(subject);
  finding.message = "message";
  return finding;
}

std::vector<std::string> Texts(const std::vector<ProblemLine>& lines) {
  std::vector<std::string> out;
  for (const auto& line : lines) {
    out.push_back(ProblemText(line));
  }
  return out;
}

TEST(SummariseProblemsTest, OneEndpointIsNamedSeveralAreCounted) {
  const std::vector<Finding> findings = {
      F("smtp.open_relay", Severity::kCrit, "mx5.example.org [192.0.2.5]"),
      F("smtp.starttls.missing", Severity::kWarn, "mx1.example.org [192.0.2.1]"),
      F("smtp.starttls.missing", Severity::kWarn, "mx2.example.org [192.0.2.2]"),
      F("smtp.starttls.missing", Severity::kOk, "mx3.example.org [192.0.2.3]"),
      F("smtp.ipv6.missing", Severity::kInfo, "example.org"),
  };
  const auto lines = SummariseProblems("example.org", findings, 3);
  EXPECT_THAT(Texts(lines), ElementsAre("open relay · mx5.example.org [192.0.2.5]",
                                        "no STARTTLS on 2 of 3 endpoints", "no IPv6"));
  EXPECT_EQ(lines[0].severity, Severity::kCrit);
  EXPECT_FALSE(lines[0].grouped_endpoints);
  EXPECT_TRUE(lines[1].grouped_endpoints);
  EXPECT_THAT(lines[1].subjects, ElementsAre(SubjectOf("mx1.example.org [192.0.2.1]"),
                                             SubjectOf("mx2.example.org [192.0.2.2]")));
  EXPECT_TRUE(lines[2].subjects.empty());  // about the domain: its row names it
}

TEST(SummariseProblemsTest, SeveritiesAreTheFindingsOwnNeverMerged) {
  // One endpoint unreachable while another works (WARN), one the exporter cannot route to
  // (INFO, not judged): two lines, each at its finding's severity.
  const std::vector<Finding> findings = {
      F("smtp.tcp.unreachable", Severity::kWarn, "mx1.example.org [192.0.2.1]"),
      F("smtp.tcp.unreachable", Severity::kInfo, "mx1.example.org [2001:db8::1]"),
  };
  const auto lines = SummariseProblems("example.org", findings, 2);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].severity, Severity::kWarn);
  EXPECT_EQ(lines[1].severity, Severity::kInfo);
  EXPECT_EQ(ProblemText(lines[1]), "SMTP port unreachable · mx1.example.org [2001:db8::1]");
}

TEST(SummariseProblemsTest, HostsAreListedNotCountedAsEndpoints) {
  const std::vector<Finding> findings = {
      F("smtp.mx.cname", Severity::kCrit, "mx1.example.org"),
      F("smtp.mx.cname", Severity::kCrit, "mx2.example.org"),
      F("smtp.dns.error", Severity::kError, "mx1.example.org [192.0.2.1]"),
      F("smtp.dns.error", Severity::kError, "mx1.example.org [192.0.2.1]"),
      F("smtp.ptr.missing", Severity::kWarn, "[192.0.2.1]"),
      F("smtp.ptr.missing", Severity::kWarn, "[192.0.2.2]"),
      F("smtp.ptr.missing", Severity::kWarn, "[192.0.2.3]"),
      F("smtp.ptr.missing", Severity::kWarn, "[192.0.2.4]"),
      F("smtp.no.such", Severity::kWarn, "example.org"),
  };
  const auto lines = SummariseProblems("EXAMPLE.org", findings, 3);
  // Two findings about one subject count once; more subjects than judged endpoints (an
  // endpoint can be named without having been judged) drop the denominator.
  EXPECT_THAT(Texts(lines), ElementsAre("MX is an alias (CNAME) · mx1.example.org, mx2.example.org",
                                        "DNS lookup failed · mx1.example.org [192.0.2.1]",
                                        "no PTR on 4 endpoints", "smtp.no.such"));
}

TEST(SummariseProblemsTest, LongListsAreCut) {
  std::vector<Finding> findings;
  for (const char* host : {"a.example", "b.example", "c.example", "d.example", "e.example"}) {
    findings.push_back(F("smtp.mx.unresolvable", Severity::kCrit, host));
  }
  EXPECT_THAT(Texts(SummariseProblems("example.org", findings, 0)),
              ElementsAre("MX has no address · a.example, b.example, c.example and 2 more"));
}

TEST(SummariseProblemsTest, NothingActiveNoLine) {
  EXPECT_TRUE(
      SummariseProblems("example.org", {F("smtp.open_relay", Severity::kOk, "x [192.0.2.1]")}, 1)
          .empty());
}

TEST(EndpointsJudgedTest, LeavesOutNoRouteAndNotAttempted) {
  DomainObservation obs;
  for (const ConnectStatus status :
       {ConnectStatus::kConnected, ConnectStatus::kTimeout, ConnectStatus::kNoRoute,
        ConnectStatus::kNotAttempted, ConnectStatus::kRefused}) {
    EndpointObservation e;
    e.connect_status = status;
    obs.endpoints.push_back(e);
  }
  EXPECT_EQ(EndpointsJudged(obs), 3u);
}

TEST(MakeIndexRowTest, CountsAndProblemsFromTheSnapshot) {
  CheckResult snapshot;
  snapshot.observation.started_at_unix = 1700000000;
  snapshot.observation.endpoints.resize(2);
  snapshot.observation.endpoints[0].connect_status = ConnectStatus::kConnected;
  snapshot.observation.endpoints[1].connect_status = ConnectStatus::kConnected;
  snapshot.findings = {F("smtp.dns.error", Severity::kError, "example.org"),
                       F("smtp.open_relay", Severity::kCrit, "mx [192.0.2.1]"),
                       F("smtp.open_relay", Severity::kCrit, "mx [192.0.2.2]"),
                       F("smtp.ptr.missing", Severity::kWarn, "mx [192.0.2.1]"),
                       F("smtp.ipv6.missing", Severity::kInfo, "example.org"),
                       F("smtp.postmaster.rejected", Severity::kOk, "mx [192.0.2.1]")};
  snapshot.status = Severity::kError;
  const CheckSummary summary = SummariseCheck(snapshot);
  EXPECT_EQ(summary.active_findings.size(), 5u);  // the OK one left out
  const IndexRow row = MakeIndexRow("example.org", &summary, {CheckRecord{}}, 1700000060);
  EXPECT_TRUE(row.checked);
  EXPECT_EQ(row.status, Severity::kError);
  EXPECT_EQ(row.error, 1u);
  EXPECT_EQ(row.crit, 2u);
  EXPECT_EQ(row.warn, 1u);
  EXPECT_EQ(row.info, 1u);
  EXPECT_EQ(row.endpoints, 2u);
  EXPECT_EQ(row.next_check_unix, 1700000060);
  EXPECT_EQ(row.history.size(), 1u);
  EXPECT_THAT(Texts(row.problems),
              ElementsAre("DNS lookup failed", "open relay on 2 of 2 endpoints",
                          "no PTR · mx [192.0.2.1]", "no IPv6"));

  EXPECT_FALSE(row.restored);
  snapshot.restored = true;
  const CheckSummary restored = SummariseCheck(snapshot);
  EXPECT_TRUE(MakeIndexRow("example.org", &restored, {}).restored);

  const IndexRow pending = MakeIndexRow("example.net", nullptr, {});
  EXPECT_FALSE(pending.checked);
  EXPECT_FALSE(pending.restored);
  EXPECT_TRUE(pending.problems.empty());
}

IndexRow RowWith(const char* domain, Severity status,
                 std::vector<std::pair<const char*, Severity>> problems) {
  IndexRow row;
  row.domain = domain;
  row.checked = true;
  row.status = status;
  for (const auto& [code, severity] : problems) {
    ProblemLine line;
    line.code = code;
    line.severity = severity;
    line.title = std::string("title of ") + code;
    row.problems.push_back(line);
  }
  return row;
}

TEST(SummariseCodesTest, WorstFirstThenMostDomains) {
  const std::vector<IndexRow> rows = {
      RowWith("a.example", Severity::kCrit,
              {{"smtp.open_relay", Severity::kCrit}, {"smtp.ptr.missing", Severity::kWarn}}),
      RowWith("b.example", Severity::kWarn,
              {{"smtp.tcp.unreachable", Severity::kWarn},
               {"smtp.tcp.unreachable", Severity::kInfo},
               {"smtp.ptr.missing", Severity::kWarn}}),
      RowWith("c.example", Severity::kInfo, {{"smtp.tcp.unreachable", Severity::kInfo}}),
      RowWith("d.example", Severity::kWarn, {{"smtp.auth.plaintext", Severity::kWarn}}),
  };
  const auto codes = SummariseCodes(rows);
  std::vector<std::string> seen;
  for (const auto& code : codes) {
    seen.push_back(code.code + " " + std::string(SeverityName(code.severity)) + " " +
                   std::to_string(code.domains));
  }
  // b.example has smtp.tcp.unreachable twice: it counts once, at its worse severity.
  EXPECT_THAT(seen, ElementsAre("smtp.open_relay crit 1", "smtp.ptr.missing warn 2",
                                "smtp.tcp.unreachable warn 2", "smtp.auth.plaintext warn 1"));
  EXPECT_EQ(codes[0].title, "title of smtp.open_relay");
  EXPECT_TRUE(SummariseCodes({}).empty());
}

OverviewFilter Parsed(std::string_view status, std::string_view code, std::string_view q) {
  Result<OverviewFilter> parsed = ParseOverviewFilter(status, code, q);
  if (!parsed.ok()) {
    ADD_FAILURE() << parsed.error().message;
    return {};
  }
  return parsed.value();
}

std::string ParseError(std::string_view status, std::string_view code, std::string_view q) {
  Result<OverviewFilter> parsed = ParseOverviewFilter(status, code, q);
  return parsed.ok() ? "(accepted)" : parsed.error().message;
}

TEST(OverviewFilterTest, ParsesAndBoundsTheQuery) {
  EXPECT_FALSE(Parsed("", "", "").active());
  const OverviewFilter filter = Parsed("CRIT", "SMTP.Open_Relay", "  Example.ORG\t");
  EXPECT_EQ(filter.status, "crit");
  EXPECT_EQ(filter.code, "smtp.open_relay");
  EXPECT_EQ(filter.query, "example.org");
  EXPECT_TRUE(filter.active());
  for (const char* status : {"ok", "info", "warn", "crit", "error", "pending"}) {
    EXPECT_EQ(Parsed(status, "", "").status, status);
  }
  // An unknown code is accepted (it matches nothing); a bad status is a 400.
  EXPECT_EQ(Parsed("", "smtp.no.such", "").code, "smtp.no.such");
  EXPECT_THAT(ParseError("bad", "", ""), HasSubstr("status must be one of ok, info, warn"));
  EXPECT_THAT(ParseError("critical", "", ""), HasSubstr("status must be one of"));
  // Bounds: a domain name is at most 253 characters; codes are far shorter than 64.
  EXPECT_EQ(Parsed("", "", std::string(kMaxOverviewQueryLength, 'a')).query.size(), 253u);
  EXPECT_THAT(ParseError("", "", std::string(kMaxOverviewQueryLength + 1, 'a')),
              HasSubstr("q must be at most 253 characters"));
  EXPECT_EQ(Parsed("", "", "  " + std::string(253, 'a') + "  ").query.size(), 253u);
  EXPECT_THAT(ParseError("", std::string(kMaxOverviewCodeLength + 1, 'c'), ""),
              HasSubstr("code must be at most 64 characters"));
  EXPECT_EQ(Parsed("", "", "   ").query, "");
}

TEST(OverviewFilterTest, EveryConditionMustHold) {
  IndexRow row =
      RowWith("Mail.Example.ORG", Severity::kCrit, {{"smtp.open_relay", Severity::kCrit}});
  IndexRow pending;
  pending.domain = "pending.example";
  EXPECT_TRUE(MatchesFilter(row, Parsed("", "", "")));
  EXPECT_TRUE(MatchesFilter(row, Parsed("crit", "", "")));
  EXPECT_FALSE(MatchesFilter(row, Parsed("warn", "", "")));
  EXPECT_FALSE(MatchesFilter(row, Parsed("pending", "", "")));
  EXPECT_TRUE(MatchesFilter(pending, Parsed("pending", "", "")));
  EXPECT_FALSE(MatchesFilter(pending, Parsed("ok", "", "")));
  EXPECT_TRUE(MatchesFilter(row, Parsed("", "smtp.open_relay", "")));
  EXPECT_FALSE(MatchesFilter(row, Parsed("", "smtp.ptr.missing", "")));
  EXPECT_FALSE(MatchesFilter(row, Parsed("", "smtp.no.such", "")));
  EXPECT_TRUE(MatchesFilter(row, Parsed("", "", "EXAMPLE.org")));
  EXPECT_TRUE(MatchesFilter(row, Parsed("", "", "mail.")));
  EXPECT_FALSE(MatchesFilter(row, Parsed("", "", "example.net")));
  EXPECT_TRUE(MatchesFilter(row, Parsed("crit", "smtp.open_relay", "mail")));
  EXPECT_FALSE(MatchesFilter(row, Parsed("crit", "smtp.open_relay", "other")));
}

TEST(OverviewFilterTest, HrefsCarryEveryConditionEncoded) {
  EXPECT_EQ(OverviewHref("/", OverviewFilter{}), "/");
  EXPECT_EQ(OverviewHref("/", Parsed("crit", "", "")), "/?status=crit");
  EXPECT_EQ(OverviewHref("/", Parsed("warn", "smtp.open_relay", "a&b=c d")),
            "/?status=warn&code=smtp.open_relay&q=a%26b%3Dc%20d");
  EXPECT_EQ(OverviewHref("/smtp/", Parsed("", "", "x")), "/smtp/?q=x");
}

TEST(StatusChangesTest, EveryChangeOldestFirst) {
  auto record = [](double at, Severity status) {
    CheckRecord r;
    r.checked_at_unix = at;
    r.status = status;
    return r;
  };
  EXPECT_TRUE(StatusChanges({}).empty());
  EXPECT_TRUE(StatusChanges({record(1, Severity::kOk), record(2, Severity::kOk)}).empty());
  const auto changes = StatusChanges({record(1, Severity::kOk), record(2, Severity::kCrit),
                                      record(3, Severity::kCrit), record(4, Severity::kOk),
                                      record(5, Severity::kError)});
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].at_unix, 2);
  EXPECT_EQ(changes[0].from, Severity::kOk);
  EXPECT_EQ(changes[0].to, Severity::kCrit);
  EXPECT_EQ(changes[1].at_unix, 4);
  EXPECT_EQ(changes[2].to, Severity::kError);
}

}  // namespace
}  // namespace smtp_exporter
