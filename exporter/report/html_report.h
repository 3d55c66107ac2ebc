// The HTML report: the operator's main reading surface (seed README, "The HTML report renders
// ..."). RenderReportHtml turns one domain's observation and findings into one self-contained
// page: inline CSS, no JavaScript, no external fetches, light and dark, readable on a phone and
// printable. RenderIndexHtml is the landing page, the overview: what is broken where, across
// every configured domain, worst first, with each domain's history strip (overview.h holds its
// model: problem lines, filters, status changes).
//
// The page never recomputes a verdict: severities, the domain status and the endpoint panels'
// state come from the findings (Evaluate). Everything that came from the network or the
// config (banners, replies, PTR names, certificate subjects, domain names) is HTML-escaped, so a
// hostile server cannot inject markup; the daemon also serves the page with a CSP that forbids
// scripts (kReportContentSecurityPolicy).
//
// DOM contract, relied on by the browser tests (tests/browser/report_test.mjs):
//   main#report[data-domain][data-status]
//   header span.restored   (only when the result was restored from disk: "restored from disk,
//       checked at …")
//   header a.overview-status[href="/?status=…"]   (the overview filtered to this status)
//   section#history                                 (when the page has a history)
//       div.history.history-large[data-checks] > span.cell[data-status][title]  (oldest first)
//       p.since ("crit since 14:05 UTC, was ok"), ol.changes > li.change[data-from][data-to]
//   section#what-to-fix > ol > li.finding[data-code][data-severity]   (non-OK, worst first)
//       a.same-code[href="/?code=…"]              (the overview filtered to this code)
//   section#what-to-fix > p.all-clear                                  (when nothing to fix)
//   section#posture-changes                         (when the daemon tracks posture)
//       table > tr.posture-change[data-kind]   (newest first), or p.no-change
//   section#dns
//   section#endpoints > details.endpoint[data-ip][data-mx][data-status][open when >= warn]
//       summary .badge[data-badge]  (data-badge="open-relay" is the red OPEN RELAY badge)
//       pre.banner, pre.transcript
//       section.mx-notes[data-source] > h3, dl.kv   (HtmlPageContext::mx_notes, when given)
//   details#passed-checks li.finding[data-severity=ok]
// Index (/, the overview):
//   main#index[data-shown][data-total]   (rows shown after filtering, rows configured)
//   p#status-summary a.status-link[data-status][href="/?status=…"]
//   section#problems > ul.codes > li.code[data-code][data-severity][data-domains]
//       > a[href="/?code=…"]   (one per code active in any domain, worst first; the one
//       filtered on has aria-current="true")
//   section#problems > p.all-clear                  (when no domain has an active finding)
//   section#filter[data-status][data-code][data-q]   (only when filtered)
//       span.filter[data-filter] > a.remove, a.clear[href="/"]
//   table#domains tr.domain[data-domain][data-status][data-restored]  (worst first; only the
//       matching rows; data-restored="true" and span.restored in the last-check cell only when
//       the row's result was restored from disk)
//       ul.problems > li.problem[data-code][data-severity] > .what (short title), .where
//       div.history[data-checks] > span.cell[data-status][title]  (oldest first), p.since
//   p.no-match                                      (when the filter matches no domain)
//
// Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/check/findings.h"
#include "exporter/check/check.h"
#include "exporter/report/overview.h"
#include "probes/dns_observation.h"

namespace smtp_exporter {

// Content-Security-Policy for the report and index pages: no script, no fetch, inline CSS only.
inline constexpr std::string_view kReportContentSecurityPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

// Facts about one MX host from elsewhere, shown in each endpoint panel of that host: the
// happyDomain checker mode's TLS checker results (related tls_probes). Rows are label/value
// pairs of plain text (escaped on output).
struct HostNotes {
  std::string title;   // e.g. "TLS checker (checker-tls)"
  std::string source;  // data-source attribute, e.g. "tls_probes"
  std::vector<std::pair<std::string, std::string>> rows;
};

// What a page shows besides the check itself.
struct HtmlPageContext {
  double now_unix = 0;         // for "in 42 s" / "3 min ago"; 0 leaves relative times out
  double next_check_unix = 0;  // 0: no next check (a CLI run or a /probe result)
  // The result was restored from the daemon's state on disk at start-up (CheckResult::
  // restored): the header says "restored from disk, checked at …" instead of "checked …".
  bool restored = false;
  // Links in the header; an empty string leaves the link out. Relative URLs (the daemon) or
  // empty (the CLI, whose page stands alone).
  std::string index_href;
  std::string json_href;
  std::string metrics_href;
  std::string generator;  // e.g. "smtp_exporter 0.1.0 (abc123)"; shown in the footer
  // The report's domain's recent checks, oldest first (CheckHistory): drawn as a strip above
  // "What to fix". Empty leaves the strip out (a CLI run has no history).
  std::vector<CheckRecord> history;
  // The domain's posture history (CheckResult::posture), when the daemon tracks it: drawn as
  // the "Changes" section. nullptr leaves it out (a CLI run, the checker mode).
  const PostureHistory* posture = nullptr;
  // Notes per MX host name (lower case, no trailing dot), shown in that host's endpoint
  // panels. Empty: none (the daemon and the CLI).
  std::map<std::string, HostNotes> mx_notes;
};

// The report of one check of one domain.
std::string RenderReportHtml(const DomainObservation& domain, const std::vector<Finding>& findings,
                             Severity status, const HtmlPageContext& context);

// The overview: the status summary, one line per active finding code across every row
// (linking to the filtered view), then the rows matching `filter`, worst first (unchecked
// last), then by name, each with its problem lines, counts and history strip. With a filter
// set, says so and links back to the whole list.
std::string RenderIndexHtml(const std::vector<IndexRow>& rows, const OverviewFilter& filter,
                            const HtmlPageContext& context);

}  // namespace smtp_exporter
