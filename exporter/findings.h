// Findings: the verdicts the rule set (rules.h) draws from an observation, and the catalog that
// gives every finding code its default severity, short title, title, fix text and RFC
// reference, kept in one table in findings.cc. docs/findings.md is generated from that table
// (RenderCatalogMarkdown). Plain value types and immutable data; thread-safe (the catalog is
// built once, then only read).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter {

// Ordered so that the worst wins under operator< / std::max. kError is the check's own failure
// (e.g. the resolver could not answer): the result is unknown, so it ranks above kCrit and is
// never reported as OK.
enum class Severity { kOk, kInfo, kWarn, kCrit, kError };

// "ok", "info", "warn", "crit", "error": used in JSON, metric labels and docs.
std::string_view SeverityName(Severity severity);

struct Finding {
  std::string code;  // catalog code, e.g. "smtp.open_relay"
  Severity severity = Severity::kOk;
  // What the finding is about: "example.org", "mx1.example.org" or
  // "mx1.example.org [192.0.2.1]".
  std::string subject;
  // What was seen, with the server's verbatim reply where there is one. May contain bytes from
  // the network: renderers escape it.
  std::string message;
  std::string fix;  // from the catalog; empty for OK findings
  std::string rfc;  // from the catalog, e.g. "RFC 5321 §4.5.1"

  friend bool operator==(const Finding&, const Finding&) = default;
};

// One code of the rule set.
struct CatalogEntry {
  std::string_view code;
  // A few words naming the problem where space is short (the overview page): "open relay",
  // "no STARTTLS". Reads well both as "open relay · mx1.example.org [192.0.2.1]" and as
  // "no STARTTLS on 2 of 3 endpoints".
  std::string_view short_title;
  Severity severity;       // default severity when the check fails
  std::string_view title;  // one line: what the problem is
  std::string_view fix;    // what to change, with Postfix / Exim settings where they apply
  std::string_view rfc;    // the rule's source
  std::string_view note;   // when the severity differs from the default, or ""
};

// Every code, in documentation order (DNS, endpoint, transaction, coverage, protocol).
const std::vector<CatalogEntry>& FindingCatalog();

// The entry for `code`, or nullptr.
const CatalogEntry* FindCatalogEntry(std::string_view code);

// docs/findings.md: every code with its severity, meaning, fix and RFC.
std::string RenderCatalogMarkdown();

}  // namespace smtp_exporter
