// The overview page's model: what the landing page (/) knows about each configured domain and
// how it reads the findings to answer "what is broken, where" at a glance. RenderIndexHtml
// (html_report.h) draws it; this header holds everything that is not markup, so the grouping,
// the filters and the status runs are tested on their own.
//
// - A domain's active (non-OK) findings become ProblemLines, worst first: one per code and
//   severity, named by the catalog's short title and its subject ("open relay ·
//   mx5.example.org [192.0.2.5]"), or, when several endpoints share it, by how many of the
//   domain's judged endpoints ("no STARTTLS on 2 of 3 endpoints"). Severities are the
//   findings' own; nothing is re-judged here.
// - OverviewFilter is the page's query (?status=, ?code=, ?q=), validated and bounded.
// - StatusChanges reads a CheckHistory into the moments the status changed.
//
// Pure functions and plain values; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/base/result.h"
#include "exporter/check/check.h"
#include "exporter/check/findings.h"
#include "probes/dns_observation.h"

namespace smtp_exporter {

// The active findings of one code and one severity in one domain.
struct ProblemLine {
  std::string code;
  Severity severity = Severity::kOk;
  std::string title;  // the catalog's short title; the code itself if the catalog lacks it
  // What the findings are about, in the findings' order. Empty when the only finding is about
  // the domain itself (its row already names it).
  std::vector<Subject> subjects;
  // True when there are several subjects and all are endpoints (they carry an address): the line
  // then reads "<title> on <subjects.size()> of <endpoints_judged> endpoints".
  bool grouped_endpoints = false;
  std::size_t endpoints_judged = 0;
};

// " · mx5.example.org [192.0.2.5]", " · mx1.example.org, mx2.example.org", " on 2 of 3
// endpoints", or "" (about the domain): what follows the title. Plain text, not escaped.
std::string ProblemWhere(const ProblemLine& line);

// The title followed by ProblemWhere: "open relay · mx5.example.org [192.0.2.5]".
std::string ProblemText(const ProblemLine& line);

// Groups the active findings of `domain` by code and severity, in the findings' order (worst
// first, as Evaluate sorts them). `endpoints_judged` is the denominator of grouped lines.
std::vector<ProblemLine> SummariseProblems(std::string_view domain,
                                           const std::vector<Finding>& findings,
                                           std::size_t endpoints_judged);

// Endpoints the rules could judge: probed, and not left out because the exporter's own host
// had no route to them (connect status no_route; see smtp.tcp.unreachable).
std::size_t EndpointsJudged(const DomainObservation& observation);

// One domain of the overview.
struct IndexRow {
  std::string domain;
  bool checked = false;  // false: no check has finished yet (the other fields are unset)
  Severity status = Severity::kOk;
  std::size_t error = 0;  // active findings by severity
  std::size_t crit = 0;
  std::size_t warn = 0;
  std::size_t info = 0;
  std::size_t endpoints = 0;
  double checked_at_unix = 0;
  double next_check_unix = 0;
  bool restored = false;  // the result was restored from disk at start-up (CheckResult::restored)
  std::string report_href;
  std::string json_href;
  std::vector<ProblemLine> problems;  // worst first
  std::vector<CheckRecord> history;   // oldest first; may be empty
};

// What the overview reads of a domain's latest check: its verdict and two counts from its
// observation, not the observation itself (the daemon keeps that packed and unpacks it only for
// a view that needs it: SnapshotStore), so a page of every domain unpacks none.
struct CheckSummary {
  Severity status = Severity::kOk;
  std::vector<Finding> active_findings;  // the findings that are not OK, worst first
  std::size_t endpoints = 0;
  std::size_t endpoints_judged = 0;  // EndpointsJudged
  double checked_at_unix = 0;        // when the check started
  bool restored = false;             // CheckResult::restored
};

// The summary of `result` (its OK findings left out).
CheckSummary SummariseCheck(const CheckResult& result);

// The row of `domain` from the summary of its latest check (nullptr: not checked yet), its
// history and when the scheduler will check it next (0: not scheduled, or running now). The
// links are left to the caller, which knows the routes.
IndexRow MakeIndexRow(const std::string& domain, const CheckSummary* latest,
                      std::vector<CheckRecord> history, double next_check_unix = 0);

// One active finding code across the overview: "3 domains: open relay".
struct CodeSummary {
  std::string code;
  std::string title;                  // short title
  Severity severity = Severity::kOk;  // the worst any domain has it at
  std::size_t domains = 0;            // domains with at least one active finding of the code
};

// Every code active in any row, worst severity first, then most domains, then by code.
std::vector<CodeSummary> SummariseCodes(const std::vector<IndexRow>& rows);

// The overview's filters, from the query string. Conditions combine: a row must meet each one
// that is set.
inline constexpr std::size_t kMaxOverviewQueryLength = 253;  // the longest domain name
inline constexpr std::size_t kMaxOverviewCodeLength = 64;    // every code is far shorter

struct OverviewFilter {
  std::string status;  // "" or ok, info, warn, crit, error, pending (no check finished yet)
  std::string code;    // "" or a code: rows with an active finding of it (unknown: none)
  std::string query;   // "" or a lower-case substring of the domain name

  bool active() const { return !status.empty() || !code.empty() || !query.empty(); }
};

// Validates `status`, `code` and `q` (empty = not set). status is one of the words above, in
// any case; code is at most kMaxOverviewCodeLength bytes and may name no catalog code (it then
// matches nothing); q is at most kMaxOverviewQueryLength bytes, trimmed and matched without
// regard to case. Returns the filter, or the reason for a 400.
Result<OverviewFilter> ParseOverviewFilter(std::string_view status, std::string_view code,
                                           std::string_view q);

bool MatchesFilter(const IndexRow& row, const OverviewFilter& filter);

// `base` ("/") with the filter's query string: "/?status=crit&code=smtp.open_relay&q=ex".
std::string OverviewHref(std::string_view base, const OverviewFilter& filter);

// A change of status between two consecutive records.
struct StatusChange {
  double at_unix = 0;  // the check that first had the new status
  Severity from = Severity::kOk;
  Severity to = Severity::kOk;
};

// The changes in `history` (oldest first), oldest first.
std::vector<StatusChange> StatusChanges(const std::vector<CheckRecord>& history);

}  // namespace smtp_exporter
