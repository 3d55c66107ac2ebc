// The HTML report: the operator's main reading surface (seed README, "The HTML report renders
// ..."). RenderReportHtml turns one domain's observation and findings into one self-contained
// page: inline CSS, no JavaScript, no external fetches, light and dark, readable on a phone and
// printable. RenderIndexHtml is the landing page listing every configured domain worst first.
//
// The page never recomputes a verdict: severities, the domain status and the endpoint panels'
// state come from the findings (Evaluate). Everything that came from the network or the
// config (banners, replies, PTR names, certificate subjects, domain names) is HTML-escaped, so a
// hostile server cannot inject markup; the daemon also serves the page with a CSP that forbids
// scripts (kReportContentSecurityPolicy).
//
// DOM contract, relied on by the browser tests (tests/browser/report_test.mjs):
//   main#report[data-domain][data-status]
//   section#what-to-fix > ol > li.finding[data-code][data-severity]   (non-OK, worst first)
//   section#what-to-fix > p.all-clear                                  (when nothing to fix)
//   section#dns
//   section#endpoints > details.endpoint[data-ip][data-mx][data-status][open when >= warn]
//       summary .badge[data-badge]  (data-badge="open-relay" is the red OPEN RELAY badge)
//       pre.banner, pre.transcript
//   details#passed-checks li.finding[data-severity=ok]
//   index: table#domains tr.domain[data-domain][data-status]  (worst first)
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/check/findings.h"
#include "probes/dns_observation.h"

namespace smtp_exporter {

// Content-Security-Policy for the report and index pages: no script, no fetch, inline CSS only.
inline constexpr std::string_view kReportContentSecurityPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

// What a page shows besides the check itself.
struct HtmlPageContext {
  double now_unix = 0;         // for "in 42 s" / "3 min ago"; 0 leaves relative times out
  double next_check_unix = 0;  // 0: no next check (a CLI run or a /probe result)
  // Links in the header; an empty string leaves the link out. Relative URLs (the daemon) or
  // empty (the CLI, whose page stands alone).
  std::string index_href;
  std::string json_href;
  std::string metrics_href;
  std::string generator;  // e.g. "smtp_exporter 0.1.0 (abc123)"; shown in the footer
};

// The report of one check of one domain.
std::string RenderReportHtml(const DomainObservation& domain, const std::vector<Finding>& findings,
                             Severity status, const HtmlPageContext& context);

// One row of the index page.
struct IndexRow {
  std::string domain;
  bool checked = false;  // false: no check has finished yet (the other fields are unset)
  Severity status = Severity::kOk;
  std::size_t crit = 0;  // findings by severity (error counts as crit here)
  std::size_t warn = 0;
  std::size_t info = 0;
  std::size_t endpoints = 0;
  double checked_at_unix = 0;
  double next_check_unix = 0;
  std::string report_href;
  std::string json_href;
};

// The index: a status summary, then one row per domain, sorted worst first (unchecked last),
// then by name.
std::string RenderIndexHtml(std::vector<IndexRow> rows, const HtmlPageContext& context);

// "2026-11-25 14:03:07 UTC", or "-" for 0.
std::string FormatUnixUtc(double unix_seconds);

}  // namespace smtp_exporter
