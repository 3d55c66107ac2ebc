#include "exporter/report/overview.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <map>

#include "config/domain_name.h"
#include "exporter/report/html.h"

namespace smtp_exporter {
namespace {

// Subjects shown on a line before "and N more": enough to name a domain's MX hosts, short
// enough to keep the line one line.
constexpr std::size_t kMaxSubjectsShown = 3;

constexpr std::array<std::string_view, 6> kStatusWords = {"ok",   "info",  "warn",
                                                          "crit", "error", "pending"};

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const std::size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) {
    return {};
  }
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

}  // namespace

std::string ProblemWhere(const ProblemLine& line) {
  const std::size_t count = line.subjects.size();
  if (line.grouped_endpoints) {
    if (line.endpoints_judged >= count) {
      return " on " + std::to_string(count) + " of " + std::to_string(line.endpoints_judged) +
             " endpoints";
    }
    return " on " + std::to_string(count) + " endpoints";
  }
  if (count == 0) {
    return "";
  }
  std::string out = " · ";
  for (std::size_t i = 0; i < count && i < kMaxSubjectsShown; ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += line.subjects[i].Text();
  }
  if (count > kMaxSubjectsShown) {
    out += " and " + std::to_string(count - kMaxSubjectsShown) + " more";
  }
  return out;
}

std::string ProblemText(const ProblemLine& line) { return line.title + ProblemWhere(line); }

std::vector<ProblemLine> SummariseProblems(std::string_view domain,
                                           const std::vector<Finding>& findings,
                                           std::size_t endpoints_judged) {
  std::vector<ProblemLine> lines;
  for (const auto& finding : findings) {
    if (finding.severity == Severity::kOk) {
      continue;
    }
    // A domain has a handful of lines: a linear search keeps them in the findings' order.
    auto line = std::find_if(lines.begin(), lines.end(), [&](const ProblemLine& l) {
      return l.code == finding.code && l.severity == finding.severity;
    });
    if (line == lines.end()) {
      ProblemLine added;
      added.code = finding.code;
      added.severity = finding.severity;
      const CatalogEntry* entry = FindCatalogEntry(finding.code);
      added.title = entry != nullptr ? std::string(entry->short_title) : finding.code;
      added.endpoints_judged = endpoints_judged;
      lines.push_back(std::move(added));
      line = lines.end() - 1;
    }
    // One subject may carry several findings of a code (two failed lookups of one endpoint):
    // the line counts subjects, not findings.
    if (std::find(line->subjects.begin(), line->subjects.end(), finding.subject) ==
        line->subjects.end()) {
      line->subjects.push_back(finding.subject);
    }
  }
  for (auto& line : lines) {
    // About the domain itself (no MX host, no address): its row already names it.
    if (line.subjects.size() == 1 && line.subjects[0].mx.empty() && !line.subjects[0].ip &&
        NormaliseHostName(line.subjects[0].domain) == NormaliseHostName(domain)) {
      line.subjects.clear();
    }
    line.grouped_endpoints =
        line.subjects.size() >= 2 && std::all_of(line.subjects.begin(), line.subjects.end(),
                                                 [](const Subject& s) { return s.ip.has_value(); });
  }
  return lines;
}

std::size_t EndpointsJudged(const DomainObservation& observation) {
  return static_cast<std::size_t>(
      std::count_if(observation.endpoints.begin(), observation.endpoints.end(), [](const auto& e) {
        return e.connect_status != ConnectStatus::kNotAttempted &&
               e.connect_status != ConnectStatus::kNoRoute;
      }));
}

CheckSummary SummariseCheck(const CheckResult& result) {
  CheckSummary summary;
  summary.status = result.status;
  std::copy_if(result.findings.begin(), result.findings.end(),
               std::back_inserter(summary.active_findings),
               [](const Finding& finding) { return finding.severity != Severity::kOk; });
  summary.endpoints = result.observation.endpoints.size();
  summary.endpoints_judged = EndpointsJudged(result.observation);
  summary.checked_at_unix = result.observation.started_at_unix;
  summary.restored = result.restored;
  return summary;
}

IndexRow MakeIndexRow(const std::string& domain, const CheckSummary* latest,
                      std::vector<CheckRecord> history, double next_check_unix) {
  IndexRow row;
  row.domain = domain;
  row.history = std::move(history);
  if (latest == nullptr) {
    return row;
  }
  row.checked = true;
  row.status = latest->status;
  for (const auto& finding : latest->active_findings) {
    row.error += finding.severity == Severity::kError;
    row.crit += finding.severity == Severity::kCrit;
    row.warn += finding.severity == Severity::kWarn;
    row.info += finding.severity == Severity::kInfo;
  }
  row.endpoints = latest->endpoints;
  row.checked_at_unix = latest->checked_at_unix;
  row.next_check_unix = next_check_unix;
  row.restored = latest->restored;
  row.problems = SummariseProblems(domain, latest->active_findings, latest->endpoints_judged);
  return row;
}

std::vector<CodeSummary> SummariseCodes(const std::vector<IndexRow>& rows) {
  std::map<std::string, CodeSummary> by_code;
  for (const auto& row : rows) {
    // A row may hold one code at two severities (e.g. smtp.tcp.unreachable WARN and INFO):
    // the domain counts once, at the worse.
    std::map<std::string_view, const ProblemLine*> worst_in_row;
    for (const auto& line : row.problems) {
      const ProblemLine*& seen = worst_in_row[line.code];
      if (seen == nullptr || line.severity > seen->severity) {
        seen = &line;
      }
    }
    for (const auto& [code, line] : worst_in_row) {
      CodeSummary& summary = by_code[line->code];
      if (summary.domains == 0) {
        summary.code = line->code;
        summary.title = line->title;
      }
      summary.severity = std::max(summary.severity, line->severity);
      ++summary.domains;
    }
  }
  std::vector<CodeSummary> out;
  out.reserve(by_code.size());
  for (auto& [code, summary] : by_code) {
    out.push_back(std::move(summary));
  }
  std::stable_sort(out.begin(), out.end(), [](const CodeSummary& a, const CodeSummary& b) {
    if (a.severity != b.severity) {
      return a.severity > b.severity;
    }
    return a.domains > b.domains;  // ties keep the map's order: by code
  });
  return out;
}

Result<OverviewFilter> ParseOverviewFilter(std::string_view status, std::string_view code,
                                           std::string_view q) {
  OverviewFilter filter;
  if (!status.empty()) {
    filter.status = LowerAscii(status);
    if (std::find(kStatusWords.begin(), kStatusWords.end(), filter.status) == kStatusWords.end()) {
      return Error::InvalidArgument("status must be one of ok, info, warn, crit, error, pending");
    }
  }
  if (code.size() > kMaxOverviewCodeLength) {
    return Error::InvalidArgument("code must be at most " + std::to_string(kMaxOverviewCodeLength) +
                                  " characters");
  }
  filter.code = LowerAscii(code);
  const std::string_view trimmed = Trim(q);
  if (trimmed.size() > kMaxOverviewQueryLength) {
    return Error::InvalidArgument("q must be at most " + std::to_string(kMaxOverviewQueryLength) +
                                  " characters");
  }
  filter.query = LowerAscii(trimmed);
  return filter;
}

bool MatchesFilter(const IndexRow& row, const OverviewFilter& filter) {
  if (!filter.status.empty()) {
    const std::string_view status = row.checked ? SeverityName(row.status) : "pending";
    if (status != filter.status) {
      return false;
    }
  }
  if (!filter.code.empty() &&
      std::none_of(row.problems.begin(), row.problems.end(),
                   [&](const ProblemLine& line) { return line.code == filter.code; })) {
    return false;
  }
  if (!filter.query.empty()) {
    // The query is lower-cased by ParseOverviewFilter; row domains are normalised names.
    if (LowerAscii(row.domain).find(filter.query) == std::string::npos) {
      return false;
    }
  }
  return true;
}

std::string OverviewHref(std::string_view base, const OverviewFilter& filter) {
  std::string out(base);
  char separator = '?';
  const std::pair<std::string_view, const std::string*> params[] = {
      {"status", &filter.status}, {"code", &filter.code}, {"q", &filter.query}};
  for (const auto& [name, value] : params) {
    if (value->empty()) {
      continue;
    }
    out += separator;
    out += name;
    out += '=';
    out += UrlEncodeQueryValue(*value);
    separator = '&';
  }
  return out;
}

std::vector<StatusChange> StatusChanges(const std::vector<CheckRecord>& history) {
  std::vector<StatusChange> changes;
  for (std::size_t i = 1; i < history.size(); ++i) {
    if (history[i].status != history[i - 1].status) {
      changes.push_back({history[i].checked_at_unix, history[i - 1].status, history[i].status});
    }
  }
  return changes;
}

}  // namespace smtp_exporter
