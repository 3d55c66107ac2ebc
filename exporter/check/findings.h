// Findings: the verdicts the named rules (rules.h) draw from an observation, and the catalog that
// gives every finding code its default severity, short title, title, fix text and RFC
// reference, kept in one table in catalog.cc. docs/findings.md is generated from it and the rule
// table. Plain value types and immutable data; thread-safe (the catalog is built once, then
// only read).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/base/ip_address.h"

namespace smtp_exporter {

// Ordered so that the worst wins under operator< / std::max. kError is the check's own failure
// (e.g. the resolver could not answer): the result is unknown, so it ranks above kCrit and is
// never reported as OK.
enum class Severity { kOk, kInfo, kWarn, kCrit, kError };

// "ok", "info", "warn", "crit", "error": used in JSON, metric labels and docs.
std::string_view SeverityName(Severity severity);
// "OK", "INFO", "WARN", "CRIT", "ERROR": in text reports and docs.
std::string_view SeverityLabelName(Severity severity);

// What a finding is about, kept structured so that reports and metrics attach findings to
// endpoints without parsing text: the domain itself, one MX host, or one endpoint (an address
// and port, with the MX host name that led to it when there is one).
struct Subject {
  std::string domain;           // the checked domain
  std::string mx;               // an MX host name; empty when about the domain as a whole
  std::optional<IpAddress> ip;  // set when about one endpoint (or one address)
  std::uint16_t port = 0;       // the endpoint's port, with ip
  // Text() names the port: an endpoint of a service beside the MX one (submission, RFC 8314),
  // where one address has several ports that findings must tell apart.
  bool show_port = false;

  static Subject Domain(std::string domain);
  static Subject Host(std::string domain, std::string mx);
  static Subject Endpoint(std::string domain, std::string mx, const IpAddress& ip,
                          std::uint16_t port);
  // An endpoint of another service on `host` (a submission port): Text() shows the port.
  static Subject Service(std::string domain, std::string host, const IpAddress& ip,
                         std::uint16_t port);

  // "example.org", "mx1.example.org", "mx1.example.org [192.0.2.1]", "[192.0.2.1]" or, for a
  // service endpoint, "mail.example.org [192.0.2.1]:587".
  std::string Text() const;
  // About the endpoint ip:port (or about its address, when the port is not known).
  bool IsAbout(const IpAddress& address, std::uint16_t endpoint_port) const;

  friend bool operator==(const Subject&, const Subject&) = default;
};

struct Finding {
  std::string rule;  // the named rule that emitted it, e.g. "smtp.open_relay" (rules.h)
  std::string code;  // catalog code, e.g. "smtp.open_relay"
  Severity severity = Severity::kOk;
  Subject subject;  // what the finding is about
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

}  // namespace smtp_exporter
