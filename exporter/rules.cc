#include "exporter/rules.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/domain_name.h"
#include "probes/result.h"

namespace smtp_exporter {
namespace {

// Server text quoted in a message is bounded: the full reply stays in the observation.
constexpr std::size_t kMaxQuotedLines = 3;
constexpr std::size_t kMaxQuotedChars = 200;

// Extensions judged by smtp.extension.missing: the ones nearly every current MTA advertises.
struct ExpectedExtension {
  std::string_view keyword;
  std::string_view rfc;
};
constexpr ExpectedExtension kExpectedExtensions[] = {
    {"PIPELINING", "RFC 2920"},          {"8BITMIME", "RFC 6152"}, {"SIZE", "RFC 1870"},
    {"ENHANCEDSTATUSCODES", "RFC 2034"}, {"SMTPUTF8", "RFC 6531"},
};

// Collects findings, filling fix and RFC from the catalog.
class FindingCollector {
 public:
  // A failed check at the catalog's default severity.
  void Fail(std::string_view code, const std::string& subject, std::string message) {
    const CatalogEntry* entry = FindCatalogEntry(code);
    Add(code, entry != nullptr ? entry->severity : Severity::kError, subject, std::move(message));
  }
  // A failed check at an explicit severity (when the catalog's note says it varies).
  void Fail(std::string_view code, Severity severity, const std::string& subject,
            std::string message) {
    Add(code, severity, subject, std::move(message));
  }
  void Pass(std::string_view code, const std::string& subject, std::string message) {
    Add(code, Severity::kOk, subject, std::move(message));
  }
  std::vector<Finding> Take() { return std::move(findings_); }

 private:
  void Add(std::string_view code, Severity severity, const std::string& subject,
           std::string message) {
    const CatalogEntry* entry = FindCatalogEntry(code);
    Finding finding;
    finding.code = std::string(code);
    finding.severity = severity;
    finding.subject = subject;
    finding.message = std::move(message);
    if (entry != nullptr) {
      if (severity != Severity::kOk) {
        finding.fix = std::string(entry->fix);
      }
      finding.rfc = std::string(entry->rfc);
    }
    findings_.push_back(std::move(finding));
  }

  std::vector<Finding> findings_;
};

// Cuts at `limit` bytes without splitting a UTF-8 sequence.
std::string Truncate(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) {
    return std::string(text);
  }
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return std::string(text.substr(0, cut)) + "...";
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) {
      out += separator;
    }
    out += item;
  }
  return out;
}

// The reply's lines verbatim, each in quotes: "554 5.7.1 Relay access denied".
std::string Quote(const Reply& reply) {
  if (reply.lines.empty()) {
    return std::to_string(reply.code);
  }
  std::string out;
  for (std::size_t i = 0; i < reply.lines.size() && i < kMaxQuotedLines; ++i) {
    if (i > 0) {
      out += " / ";
    }
    out += "\"" + Truncate(reply.lines[i], kMaxQuotedChars) + "\"";
  }
  if (reply.lines.size() > kMaxQuotedLines) {
    out += " (+" + std::to_string(reply.lines.size() - kMaxQuotedLines) + " more lines)";
  }
  return out;
}

std::string DomainSubject(const DomainObservation& obs) {
  return obs.domain.empty() ? obs.dns.domain : obs.domain;
}

std::string EndpointSubject(const EndpointObservation& e) {
  return e.mx_name.empty() ? "[" + e.ip + "]" : e.mx_name + " [" + e.ip + "]";
}

// The subject for a reverse lookup: the endpoint probing that address, else the address.
std::string ReverseSubject(const DomainObservation& obs, const IpAddress& ip) {
  const std::string text = ip.ToString();
  for (const auto& e : obs.endpoints) {
    if (e.ip == text) {
      return EndpointSubject(e);
    }
  }
  for (const auto& p : obs.plan.endpoints) {
    if (p.ip == ip) {
      return p.mx_name + " [" + text + "]";
    }
  }
  return "[" + text + "]";
}

// The lookup got an answer (records or a definite "none"), as opposed to failing or not running.
bool Answered(const DnsLookup& lookup) {
  return lookup.status == DnsStatus::kOk || lookup.status == DnsStatus::kNoData ||
         lookup.status == DnsStatus::kNxDomain;
}

std::string LookupText(const DnsLookup& lookup) {
  std::string out(DnsStatusName(lookup.status));
  if (!lookup.error.empty()) {
    out += " (" + lookup.error + ")";
  }
  return out;
}

std::string AddressList(const std::vector<IpAddress>& addresses) {
  std::vector<std::string> texts;
  for (const auto& ip : addresses) {
    texts.push_back(ip.ToString());
  }
  return Join(texts, ", ");
}

bool IsNullTarget(const MxTarget& target) { return target.host.empty() || target.host == "."; }

// An endpoint that works for a sender: it connects and greets with 220.
bool Works(const EndpointObservation& e) {
  return e.connect_status == ConnectStatus::kConnected && e.greeting.has_value() &&
         e.greeting->code == 220;
}

// Another endpoint of the domain than obs.endpoints[index] works: senders fall back to it.
bool AnotherEndpointWorks(const DomainObservation& obs, std::size_t index) {
  for (std::size_t i = 0; i < obs.endpoints.size(); ++i) {
    if (i != index && Works(obs.endpoints[i])) {
      return true;
    }
  }
  return false;
}

// "12 s", "1.5 s": the per-endpoint budget, as the probe used it.
std::string SecondsText(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  std::string text = std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    std::string fraction = std::to_string(1000 + ms % 1000).substr(1);
    while (fraction.back() == '0') {
      fraction.pop_back();
    }
    text += "." + fraction;
  }
  return text + " s";
}

// The exporter's own host had no route to the endpoint (connect() failed before sending
// anything, e.g. no IPv6 default route): nothing is known about the endpoint itself, so the
// domain-level verdicts (all_unreachable, ipv6.unreachable) leave it out.
bool NotJudged(const EndpointObservation& e) { return e.connect_status == ConnectStatus::kNoRoute; }

// Got past the greeting and the EHLO/HELO exchange, so STARTTLS and AUTH can be judged.
bool ReachedHello(const EndpointObservation& e) { return Works(e) && (e.esmtp || e.helo_fallback); }

// What the DNS rules decided, for the rules that depend on it.
struct DnsVerdict {
  bool ran = false;             // the MX query was made (not so for `check --endpoint`)
  bool mx_failed = false;       // the MX query itself failed: nothing about the MX set is known
  bool null_mx = false;         // RFC 7505: the domain receives no mail, by design
  bool no_mail = false;         // smtp.mx.missing fired
  bool address_failed = false;  // an A/AAAA lookup of an MX target or of the domain failed
  bool aaaa_failed = false;     // an AAAA lookup failed: IPv6 coverage is unknown
};

void EvaluateDnsErrors(const DomainObservation& obs, FindingCollector& out, DnsVerdict& verdict) {
  const DnsObservation& dns = obs.dns;
  const std::string domain = DomainSubject(obs);
  std::vector<std::pair<std::string, std::string>> failures;  // subject, message
  auto check = [&](const DnsLookup& lookup, const std::string& subject, const std::string& what) {
    if (IsDnsFailure(lookup.status)) {
      failures.emplace_back(subject, what + " lookup failed: " + LookupText(lookup));
      return true;
    }
    return false;
  };
  check(dns.mx, domain, "MX " + domain);
  verdict.address_failed |= check(dns.implicit_a, domain, "A " + domain + " (implicit MX)");
  const bool implicit_aaaa_failed =
      check(dns.implicit_aaaa, domain, "AAAA " + domain + " (implicit MX)");
  verdict.address_failed |= implicit_aaaa_failed;
  verdict.aaaa_failed |= implicit_aaaa_failed;
  for (const auto& target : dns.mx_targets) {
    if (IsNullTarget(target)) {
      continue;
    }
    verdict.address_failed |= check(target.a, target.host, "A " + target.host);
    const bool aaaa_failed = check(target.aaaa, target.host, "AAAA " + target.host);
    verdict.address_failed |= aaaa_failed;
    verdict.aaaa_failed |= aaaa_failed;
  }
  for (const auto& reverse : dns.reverse) {
    const std::string subject = ReverseSubject(obs, reverse.ip);
    check(reverse.ptr, subject, "PTR " + reverse.ip.ToString());
    for (const auto& error : reverse.fcrdns_errors) {
      failures.emplace_back(subject, "forward lookup of the PTR name failed, so FCrDNS of " +
                                         reverse.ip.ToString() + " is undecided: " + error);
    }
  }
  if (dns.timed_out) {
    failures.emplace_back(domain, "the DNS phase ran out of time before every lookup finished");
    verdict.address_failed = true;
    verdict.aaaa_failed = true;
  }
  if (failures.empty()) {
    out.Pass("smtp.dns.error", domain, "every DNS lookup answered");
  }
  for (auto& [subject, message] : failures) {
    out.Fail("smtp.dns.error", subject, std::move(message));
  }
}

// One MX target: RFC 5321 §5.1 (a host name with address records) and RFC 2181 §10.3 (no alias).
void EvaluateMxTarget(const MxTarget& target, FindingCollector& out) {
  const std::string& host = target.host;
  if (target.is_ip_literal) {
    out.Fail("smtp.mx.ip_literal", host,
             "MX " + std::to_string(target.preference) + " " + host +
                 " is an IP address written as a host name; conforming senders look it up as a "
                 "name and find nothing");
    return;
  }
  out.Pass("smtp.mx.ip_literal", host, "the MX target is a host name");
  if (!target.cname_chain.empty()) {
    out.Fail("smtp.mx.cname", host,
             host + " is an alias (CNAME): " + host + " -> " + Join(target.cname_chain, " -> "));
  } else if (Answered(target.a) || Answered(target.aaaa)) {
    out.Pass("smtp.mx.cname", host, host + " is not an alias");
  }
  if (!target.addresses.empty()) {
    out.Pass("smtp.mx.unresolvable", host, host + " resolves to " + AddressList(target.addresses));
  } else if (Answered(target.a) && Answered(target.aaaa)) {
    out.Fail("smtp.mx.unresolvable", host,
             host + " has no address record (A: " + LookupText(target.a) +
                 ", AAAA: " + LookupText(target.aaaa) + "); senders cannot use this MX");
  }
}

DnsVerdict EvaluateDns(const DomainObservation& obs, FindingCollector& out) {
  DnsVerdict verdict;
  const DnsObservation& dns = obs.dns;
  if (dns.mx.status == DnsStatus::kNotQueried) {
    return verdict;  // no DNS phase: endpoints were given directly
  }
  verdict.ran = true;
  EvaluateDnsErrors(obs, out, verdict);
  const std::string domain = DomainSubject(obs);
  if (IsDnsFailure(dns.mx.status)) {
    verdict.mx_failed = true;  // smtp.dns.error says why; the MX set is unknown
    return verdict;
  }
  if (dns.null_mx) {
    // RFC 7505: the domain declares that it receives no mail; nothing about delivery applies.
    out.Fail("smtp.mx.null", domain,
             domain + " publishes a null MX (\"MX 0 .\"): it declares that it accepts no mail");
    verdict.null_mx = true;
    return verdict;
  }
  std::vector<const MxTarget*> targets;
  std::vector<std::string> listed;
  for (const auto& target : dns.mx_targets) {
    if (!IsNullTarget(target)) {
      targets.push_back(&target);
      listed.push_back(std::to_string(target.preference) + " " + target.host);
    }
  }
  if (dns.null_mx_mixed) {
    out.Fail("smtp.mx.null_mixed", domain,
             "a null MX (\"MX 0 .\") is published next to other MX records: " + Join(listed, ", "));
  }
  if (!targets.empty()) {
    out.Pass("smtp.mx.missing", domain,
             std::to_string(targets.size()) + " MX record(s): " + Join(listed, ", "));
    for (const MxTarget* target : targets) {
      EvaluateMxTarget(*target, out);
    }
    return verdict;
  }
  if (dns.mx.status == DnsStatus::kNxDomain) {
    out.Fail("smtp.mx.missing", domain,
             domain + " does not exist (NXDOMAIN): it cannot receive mail");
    verdict.no_mail = true;
    return verdict;
  }
  // No MX RRset: RFC 5321 §5.1 has senders fall back to the domain's own A/AAAA.
  if (dns.implicit_mx || !dns.implicit_addresses.empty()) {
    out.Fail("smtp.mx.implicit", domain,
             "no MX records: senders fall back to the domain's own address records (" +
                 AddressList(dns.implicit_addresses) + ")");
  } else if (Answered(dns.implicit_a) && Answered(dns.implicit_aaaa)) {
    out.Fail("smtp.mx.missing", domain,
             "no MX records and no address record (A: " + LookupText(dns.implicit_a) + ", AAAA: " +
                 LookupText(dns.implicit_aaaa) + "): " + domain + " cannot receive mail");
    verdict.no_mail = true;
  }
  // Otherwise an implicit-MX lookup failed: smtp.dns.error reports it; no verdict.
  return verdict;
}

void EvaluateReachability(const DomainObservation& obs, const CheckOptions& options,
                          const DnsVerdict& dns, FindingCollector& out) {
  if (dns.null_mx || dns.mx_failed || dns.no_mail) {
    return;
  }
  const std::string domain = DomainSubject(obs);
  std::size_t attempted = 0;
  std::size_t connected = 0;
  std::vector<std::string> failed;
  for (const auto& e : obs.endpoints) {
    if (e.connect_status == ConnectStatus::kNotAttempted || NotJudged(e)) {
      continue;
    }
    ++attempted;
    if (e.connect_status == ConnectStatus::kConnected) {
      ++connected;
    } else {
      failed.push_back(e.ip + " " + std::string(ConnectStatusName(e.connect_status)));
    }
  }
  const std::string port = std::to_string(options.port);
  if (attempted > 0) {
    if (connected == 0) {
      out.Fail("smtp.all_unreachable", domain,
               "none of the " + std::to_string(attempted) +
                   " endpoint(s) accepts TCP connections on port " + port + " (" +
                   Join(failed, ", ") + "): mail to " + domain + " cannot be delivered");
    } else {
      out.Pass("smtp.all_unreachable", domain,
               std::to_string(connected) + " of " + std::to_string(attempted) +
                   " endpoint(s) accept TCP connections on port " + port);
    }
    return;
  }
  // Nothing was probed. That is a verdict only when DNS answered and left no address at all:
  // every MX target is an IP literal or unresolvable.
  bool any_target = false;
  bool any_address =
      !obs.plan.endpoints.empty() || !obs.endpoints.empty() || !obs.dns.implicit_addresses.empty();
  for (const auto& target : obs.dns.mx_targets) {
    if (!IsNullTarget(target)) {
      any_target = true;
      any_address = any_address || !target.addresses.empty();
    }
  }
  if (dns.ran && any_target && !any_address && !dns.address_failed) {
    out.Fail("smtp.all_unreachable", domain,
             "no MX target resolves to an address: there is no endpoint to deliver mail to");
  }
}

void EvaluateStartTlsCoverage(const DomainObservation& obs, FindingCollector& out) {
  std::size_t judged = 0;
  std::size_t ok = 0;
  for (const auto& e : obs.endpoints) {
    if (ReachedHello(e)) {
      ++judged;
      ok += e.starttls.ok ? 1 : 0;
    }
  }
  if (judged == 0) {
    return;  // nothing answered EHLO/HELO: the endpoint findings say why
  }
  const std::string domain = DomainSubject(obs);
  if (ok == 0) {
    out.Fail("smtp.all_no_starttls", domain,
             "none of the " + std::to_string(judged) +
                 " endpoint(s) that answered EHLO completes STARTTLS: all mail to " + domain +
                 " travels in plaintext");
  } else {
    out.Pass(
        "smtp.all_no_starttls", domain,
        std::to_string(ok) + " of " + std::to_string(judged) + " endpoint(s) complete STARTTLS");
  }
}

void EvaluateIpv6(const DomainObservation& obs, const DnsVerdict& dns, FindingCollector& out) {
  if (!dns.ran || dns.null_mx || dns.mx_failed || dns.no_mail) {
    return;
  }
  const std::string domain = DomainSubject(obs);
  std::size_t v6_known = 0;
  std::size_t any_known = 0;
  auto count = [&](IpFamily family) {
    ++any_known;
    v6_known += family == IpFamily::kV6 ? 1 : 0;
  };
  for (const auto& target : obs.dns.mx_targets) {
    for (const auto& ip : target.addresses) {
      count(ip.family());
    }
  }
  for (const auto& ip : obs.dns.implicit_addresses) {
    count(ip.family());
  }
  for (const auto& p : obs.plan.endpoints) {
    count(p.ip.family());
  }
  for (const auto& e : obs.endpoints) {
    count(e.family);
  }
  if (any_known == 0) {
    return;  // no address at all: smtp.mx.unresolvable / smtp.all_unreachable say so
  }
  if (v6_known == 0) {
    if (!dns.aaaa_failed) {
      out.Fail("smtp.ipv6.missing", domain,
               "no MX host of " + domain + " has an AAAA record: IPv6-only senders cannot deliver");
    }
    return;
  }
  std::size_t v6_attempted = 0;
  std::size_t v6_connected = 0;
  std::size_t v4_connected = 0;
  std::vector<std::string> v6_failed;
  for (const auto& e : obs.endpoints) {
    if (e.connect_status == ConnectStatus::kNotAttempted || NotJudged(e)) {
      continue;
    }
    const bool connected = e.connect_status == ConnectStatus::kConnected;
    if (e.family == IpFamily::kV6) {
      ++v6_attempted;
      v6_connected += connected ? 1 : 0;
      if (!connected) {
        v6_failed.push_back(e.ip);
      }
    } else {
      v4_connected += connected ? 1 : 0;
    }
  }
  out.Pass("smtp.ipv6.missing", domain, "IPv6 addresses are published for the MX hosts");
  if (v6_attempted == 0) {
    return;
  }
  if (v6_connected > 0) {
    out.Pass("smtp.ipv6.unreachable", domain,
             std::to_string(v6_connected) + " of " + std::to_string(v6_attempted) +
                 " IPv6 endpoint(s) accept connections");
  } else if (v4_connected > 0) {
    // With nothing reachable at all, smtp.all_unreachable already says it.
    out.Fail("smtp.ipv6.unreachable", domain,
             "AAAA records are published but none of the " + std::to_string(v6_attempted) +
                 " IPv6 endpoint(s) accepts connections (" + Join(v6_failed, ", ") +
                 "), while IPv4 works");
  }
}

void EvaluateBounds(const EndpointObservation& e, const std::string& subject,
                    FindingCollector& out) {
  if (!e.limit_exceeded.empty()) {
    // WARN, not CRIT (the catalog's default, kept on review): the bounds are this exporter's
    // safety limits, wider than RFC 5321 §4.5.3.1 where it sets any (it sets none on the
    // number of reply lines), so breaking one shows a broken server or middlebox but does not
    // prove that senders fail. What it costs is said: nothing later in the session was judged.
    out.Fail("smtp.limits.exceeded", subject,
             "the session was abandoned: " + Truncate(e.limit_exceeded, kMaxQuotedChars) +
                 "; the checks after that point have no verdict");
  } else {
    out.Pass("smtp.limits.exceeded", subject, "the server stayed within the protocol bounds");
  }
  // Non-fatal deviations get their own INFO code: unlike a broken bound they did not stop us.
  if (!e.protocol_violations.empty()) {
    out.Fail("smtp.protocol.violation", subject, Join(e.protocol_violations, "; "));
  } else {
    out.Pass("smtp.protocol.violation", subject, "no protocol deviation seen");
  }
}

// PTR (RFC 1912 §2.1) and forward confirmation (RFC 8601 §3 "iprev") of the endpoint address.
void EvaluateReverse(const DomainObservation& obs, const EndpointObservation& e,
                     const std::string& subject, FindingCollector& out) {
  const std::optional<IpAddress> ip = IpAddress::Parse(e.ip);
  const ReverseDns* reverse = ip ? obs.dns.FindReverse(*ip) : nullptr;
  if (reverse == nullptr || !Answered(reverse->ptr)) {
    return;  // not looked up, or the lookup failed (smtp.dns.error)
  }
  if (reverse->ptr_names.empty()) {
    out.Fail("smtp.ptr.missing", subject,
             "no PTR record for " + e.ip + " (" + LookupText(reverse->ptr) +
                 "); Gmail, Outlook.com and Yahoo reject or junk mail sent from addresses "
                 "without reverse DNS");
    return;
  }
  out.Pass("smtp.ptr.missing", subject, "PTR " + e.ip + " -> " + Join(reverse->ptr_names, ", "));
  if (!reverse->fcrdns_ok.has_value()) {
    return;  // a forward lookup failed: smtp.dns.error
  }
  if (*reverse->fcrdns_ok) {
    out.Pass("smtp.fcrdns.mismatch", subject,
             "the PTR name " + reverse->fcrdns_name + " resolves back to " + e.ip);
  } else {
    out.Fail("smtp.fcrdns.mismatch", subject,
             "PTR " + e.ip + " -> " + Join(reverse->ptr_names, ", ") +
                 ", but no PTR name resolves back to " + e.ip +
                 "; Gmail, Outlook.com and Yahoo require forward-confirmed reverse DNS");
  }
}

// RFC 5321 §4.2: the greeting names the server; compare with the MX and PTR names.
void EvaluateBannerName(const DomainObservation& obs, const EndpointObservation& e,
                        const std::string& subject, FindingCollector& out) {
  const std::string announced = NormaliseHostName(e.announced_hostname);
  std::vector<std::string> mx_names;
  if (!e.mx_name.empty()) {
    mx_names.push_back(NormaliseHostName(e.mx_name));
  }
  const std::optional<IpAddress> ip = IpAddress::Parse(e.ip);
  if (ip) {
    for (const auto& p : obs.plan.endpoints) {
      if (p.ip == *ip) {
        for (const auto& name : p.also_named) {
          mx_names.push_back(NormaliseHostName(name));
        }
      }
    }
  }
  const ReverseDns* reverse = ip ? obs.dns.FindReverse(*ip) : nullptr;
  auto contains = [&](const std::vector<std::string>& names) {
    return std::find(names.begin(), names.end(), announced) != names.end();
  };
  if (!announced.empty() && contains(mx_names)) {
    out.Pass("smtp.banner.hostname_mismatch", subject,
             "the greeting announces " + announced + ", the MX name");
    return;
  }
  std::vector<std::string> ptr_names;
  if (reverse != nullptr) {
    for (const auto& name : reverse->ptr_names) {
      ptr_names.push_back(NormaliseHostName(name));
    }
  }
  if (!announced.empty() && contains(ptr_names)) {
    out.Pass("smtp.banner.hostname_mismatch", subject,
             "the greeting announces " + announced + ", the PTR name of " + e.ip);
    return;
  }
  // A mismatch is a verdict only when both names to compare with are known.
  if (mx_names.empty() || reverse == nullptr || !Answered(reverse->ptr)) {
    return;
  }
  const std::string shown =
      announced.empty() ? "no host name" : Truncate(e.announced_hostname, kMaxQuotedChars);
  out.Fail("smtp.banner.hostname_mismatch", subject,
           "the greeting " + Quote(*e.greeting) + " announces " + shown +
               ", which is neither the MX name (" + Join(mx_names, ", ") + ") nor a PTR name of " +
               e.ip + " (" + (ptr_names.empty() ? std::string("none") : Join(ptr_names, ", ")) +
               ")");
}

void EvaluateStartTls(const EndpointObservation& e, const std::string& subject,
                      FindingCollector& out) {
  if (!e.starttls.offered) {
    out.Fail("smtp.starttls.missing", subject,
             e.esmtp ? "the EHLO reply does not list STARTTLS: mail to this endpoint travels in "
                       "plaintext"
                     : "only HELO works, and HELO cannot offer STARTTLS: mail to this endpoint "
                       "travels in plaintext");
    return;
  }
  out.Pass("smtp.starttls.missing", subject, "STARTTLS is offered");
  if (e.starttls.ok) {
    std::string text = "STARTTLS completed";
    if (!e.starttls.tls.version.empty()) {
      text += ": " + e.starttls.tls.version;
      if (!e.starttls.tls.cipher.empty()) {
        text += ", " + e.starttls.tls.cipher;
      }
    }
    out.Pass("smtp.starttls.failed", subject, std::move(text));
    return;
  }
  if (!e.starttls.attempted) {
    return;  // offered but never tried: no verdict
  }
  std::string text;
  if (e.starttls.reply && e.starttls.reply->code != 220) {
    text = "STARTTLS was refused: " + Quote(*e.starttls.reply);
  } else {
    const std::string& error = e.starttls.error.empty() ? e.session_error : e.starttls.error;
    text = "the TLS handshake failed: " + Truncate(error, kMaxQuotedChars);
  }
  if (e.transactions_channel == TransactionChannel::kPlainReconnect) {
    text +=
        "; the transaction probes ran on a new plaintext connection, as a sender "
        "falling back to plaintext would";
  }
  out.Fail("smtp.starttls.failed", subject, std::move(text));
}

// RFC 4954 §4: no plaintext password mechanism outside TLS.
void EvaluateAuth(const EndpointObservation& e, const std::string& subject, FindingCollector& out) {
  if (e.auth_before_tls || e.extensions_plain.Has("AUTH")) {
    const std::vector<std::string> mechanisms = e.extensions_plain.AuthMechanisms();
    std::string text = "the plaintext EHLO reply advertises AUTH";
    if (!mechanisms.empty()) {
      text += " " + Truncate(Join(mechanisms, " "), kMaxQuotedChars);
    }
    text += " before STARTTLS: clients can send passwords in clear";
    out.Fail("smtp.auth.plaintext", subject, std::move(text));
  } else {
    out.Pass("smtp.auth.plaintext", subject, "AUTH is not advertised before STARTTLS");
  }
}

// Judged on the union of the plaintext and TLS EHLO replies (RFC 3207 §4.2: they may differ).
void EvaluateExtensions(const EndpointObservation& e, const std::string& subject,
                        FindingCollector& out) {
  const ExtensionSet all = e.ExtensionsUnion();
  std::vector<std::string> missing;
  std::vector<std::string> present;
  for (const auto& expected : kExpectedExtensions) {
    if (all.Has(expected.keyword)) {
      present.emplace_back(expected.keyword);
    } else {
      missing.push_back(std::string(expected.keyword) + " (" + std::string(expected.rfc) + ")");
    }
  }
  if (!missing.empty()) {
    out.Fail("smtp.extension.missing", subject,
             "not advertised before or after STARTTLS: " + Join(missing, ", "));
  } else {
    out.Pass("smtp.extension.missing", subject, "advertises " + Join(present, ", "));
  }
}

// The step a probe's verdict rests on: the last one whose reply has the outcome's class.
std::string VerdictText(const TransactionProbe& probe) {
  for (auto it = probe.steps.rbegin(); it != probe.steps.rend(); ++it) {
    if (!it->reply) {
      continue;
    }
    const Reply& reply = *it->reply;
    const bool matches = (probe.outcome == ProbeOutcome::kAccepted && reply.IsPositive()) ||
                         (probe.outcome == ProbeOutcome::kRejected && reply.IsPermanent()) ||
                         (probe.outcome == ProbeOutcome::kTemporary && reply.IsTransient());
    if (matches) {
      return Truncate(it->command, kMaxQuotedChars) + " answered " + Quote(reply);
    }
  }
  return Truncate(probe.detail, kMaxQuotedChars);
}

struct ProbeRule {
  bool enabled;
  const TransactionProbe* probe;
  std::string_view name;  // as in messages: "null-sender probe"
  std::string_view code;  // finding when the answer is the bad one
};

// The three transaction probes (RFC 5321 §4.5.5, §4.5.1, §3.6). They stop at RCPT: DATA is
// never sent. Disabled probes yield nothing; ended sessions are reported by the caller.
void EvaluateTransactions(const EndpointObservation& e, const CheckOptions& options,
                          const std::string& subject, FindingCollector& out) {
  const ProbeRule rules[] = {
      {options.test_null_sender, &e.null_sender, "null-sender probe", "smtp.null_sender.rejected"},
      {options.test_postmaster, &e.postmaster, "postmaster probe", "smtp.postmaster.rejected"},
      {options.test_open_relay, &e.open_relay, "open-relay probe", "smtp.open_relay"},
  };
  for (const auto& rule : rules) {
    if (!rule.enabled) {
      continue;
    }
    const TransactionProbe& probe = *rule.probe;
    const bool relay = rule.code == "smtp.open_relay";
    const std::string name(rule.name);
    switch (probe.outcome) {
      case ProbeOutcome::kNotTested:
        break;
      case ProbeOutcome::kAccepted:
        if (relay) {
          out.Fail(rule.code, subject,
                   "OPEN RELAY: a recipient outside the domain was accepted from <" +
                       e.probe_sender + ">: " + VerdictText(probe) +
                       ". The probe stopped at RCPT; DATA was never sent, so no mail was "
                       "delivered");
        } else {
          out.Pass(rule.code, subject, name + " accepted: " + VerdictText(probe));
        }
        break;
      case ProbeOutcome::kRejected:
        if (relay) {
          out.Pass(rule.code, subject, "relaying refused: " + VerdictText(probe));
        } else {
          std::string text = (rule.code == "smtp.null_sender.rejected"
                                  ? std::string("bounces (MAIL FROM:<>) are refused: ")
                                  : "mail to postmaster@" + e.domain + " is refused: ") +
                             VerdictText(probe);
          if (!probe.detail.empty()) {
            text += " (" + Truncate(probe.detail, kMaxQuotedChars) + ")";
          }
          out.Fail(rule.code, subject, std::move(text));
        }
        break;
      case ProbeOutcome::kTemporary:
        out.Fail("smtp.probe.temporary", subject,
                 name + ": " + VerdictText(probe) + "; a temporary answer is not judged");
        break;
      case ProbeOutcome::kError:
        // With the session over, smtp.session.aborted lists the probes without a verdict.
        if (e.session_error.empty()) {
          out.Fail("smtp.probe.inconclusive", subject,
                   name + " reached no verdict: " + Truncate(probe.detail, kMaxQuotedChars));
        }
        break;
    }
  }
}

std::string NoVerdictList(const EndpointObservation& e, const CheckOptions& options) {
  std::vector<std::string> names;
  if (options.test_null_sender && e.null_sender.outcome == ProbeOutcome::kError) {
    names.emplace_back("null sender");
  }
  if (options.test_postmaster && e.postmaster.outcome == ProbeOutcome::kError) {
    names.emplace_back("postmaster");
  }
  if (options.test_open_relay && e.open_relay.outcome == ProbeOutcome::kError) {
    names.emplace_back("open relay");
  }
  return names.empty() ? "" : "; no verdict for: " + Join(names, ", ");
}

void EvaluateEndpoint(const DomainObservation& obs, std::size_t index, const CheckOptions& options,
                      FindingCollector& out) {
  const EndpointObservation& e = obs.endpoints[index];
  const std::string subject = EndpointSubject(e);
  const std::string port = std::to_string(e.port);
  if (e.connect_status == ConnectStatus::kNotAttempted) {
    return;
  }
  if (NotJudged(e)) {
    // INFO: visible, but a monitor without IPv6 must not turn every dual-stack domain WARN.
    out.Fail("smtp.tcp.unreachable", Severity::kInfo, subject,
             "not judged: the exporter's own host has no route to " + e.ip + " (" +
                 Truncate(e.connect_error, kMaxQuotedChars) +
                 "), so no connection was tried; give it one (for IPv6, a default route) to "
                 "check this endpoint");
    return;
  }
  if (e.connect_status != ConnectStatus::kConnected) {
    const bool other_works = AnotherEndpointWorks(obs, index);
    std::string text = "TCP connection to " + e.ip + " port " + port +
                       " failed: " + std::string(ConnectStatusName(e.connect_status));
    if (!e.connect_error.empty()) {
      text += " (" + Truncate(e.connect_error, kMaxQuotedChars) + ")";
    }
    if (e.family == IpFamily::kV6 && e.connect_status == ConnectStatus::kUnreachable) {
      text += "; this also happens when the exporter's own host has no IPv6 route";
    }
    if (other_works) {
      text += "; other endpoints of the domain work, so senders fall back to them";
    }
    out.Fail("smtp.tcp.unreachable", other_works ? Severity::kWarn : Severity::kCrit, subject,
             std::move(text));
    return;  // no cascade: nothing else is known about this endpoint
  }
  out.Pass("smtp.tcp.unreachable", subject, "port " + port + " accepts TCP connections");
  EvaluateBounds(e, subject, out);
  EvaluateReverse(obs, e, subject, out);

  // RFC 5321 §3.1: a 554 greeting refuses the session. A missing greeting is told apart by
  // cause: a timeout (a tarpit, or a postscreen-like pre-greeting pause longer than our budget)
  // needs a different fix from a server that hangs up at once.
  if (!e.greeting) {
    std::string text;
    if (e.session_error.rfind(ErrorCodeName(ErrorCode::kTimeout), 0) == 0) {
      text = "no greeting within " + SecondsText(options.timeout) +
             ": the server accepted the TCP connection but sent no 220 before this check's "
             "timeout";
    } else if (e.session_error.rfind(ErrorCodeName(ErrorCode::kConnectionClosed), 0) == 0) {
      text = "the server closed the connection without a greeting";
    } else {
      text = "no greeting was received";
    }
    if (!e.session_error.empty()) {
      text += " (" + Truncate(e.session_error, kMaxQuotedChars) + ")";
    }
    out.Fail("smtp.banner.rejected", subject, std::move(text));
    return;
  }
  if (e.greeting->code != 220) {
    std::string text = "the server greeted with " + Quote(*e.greeting) + " instead of 220";
    if (e.greeting->IsTransient()) {
      // RFC 5321 §4.2.1: a 4yz greeting (421, §3.8) is a temporary refusal; senders queue the
      // mail and try the next MX (§5.1). Like a refused TCP connection (smtp.tcp.unreachable)
      // it is CRIT only when no other endpoint takes the mail meanwhile. A 5yz greeting is a
      // deliberate, lasting refusal and stays CRIT.
      const bool other_works = AnotherEndpointWorks(obs, index);
      text += other_works ? "; a temporary refusal, and other endpoints of the domain work, so "
                            "senders fall back to them"
                          : "; a temporary refusal, but no other endpoint of the domain works, "
                            "so mail is delayed until this one accepts it";
      out.Fail("smtp.banner.rejected", other_works ? Severity::kWarn : Severity::kCrit, subject,
               std::move(text));
      return;
    }
    out.Fail("smtp.banner.rejected", subject, std::move(text));
    return;
  }
  out.Pass("smtp.banner.rejected", subject, "the greeting is " + Quote(*e.greeting));
  EvaluateBannerName(obs, e, subject, out);

  if (!e.esmtp && !e.helo_fallback) {
    if (e.ehlo && !e.ehlo->IsPositive() && e.helo && !e.helo->IsPositive()) {
      out.Fail("smtp.ehlo.rejected", subject,
               "EHLO was answered " + Quote(*e.ehlo) + " and HELO " + Quote(*e.helo));
    } else if (e.limit_exceeded.empty()) {
      const std::string why = e.session_error.empty()
                                  ? std::string("no usable reply to EHLO or HELO")
                                  : Truncate(e.session_error, kMaxQuotedChars);
      out.Fail("smtp.session.aborted", subject,
               "the session ended at EHLO: " + why + NoVerdictList(e, options));
    }
    return;
  }
  // RFC 5321 §2.2.1: servers must support EHLO.
  if (e.helo_fallback) {
    out.Fail("smtp.ehlo.helo_fallback", subject,
             "EHLO was refused" + (e.ehlo ? " with " + Quote(*e.ehlo) : std::string()) +
                 "; only HELO works, so no extension (STARTTLS, SIZE, 8BITMIME) is available");
  } else {
    out.Pass("smtp.ehlo.helo_fallback", subject, "EHLO is accepted (ESMTP)");
  }
  EvaluateStartTls(e, subject, out);
  EvaluateAuth(e, subject, out);
  if (e.esmtp) {
    EvaluateExtensions(e, subject, out);  // HELO has no extensions: helo_fallback says it
  }
  EvaluateTransactions(e, options, subject, out);
  if (!e.session_error.empty() && e.limit_exceeded.empty()) {
    out.Fail("smtp.session.aborted", subject,
             "the session ended before QUIT: " + Truncate(e.session_error, kMaxQuotedChars) +
                 NoVerdictList(e, options));
  }
}

bool WorseFirst(const Finding& a, const Finding& b) {
  if (a.severity != b.severity) {
    return a.severity > b.severity;
  }
  if (a.code != b.code) {
    return a.code < b.code;
  }
  if (a.subject != b.subject) {
    return a.subject < b.subject;
  }
  return a.message < b.message;
}

}  // namespace

std::vector<Finding> EvaluateRules(const DomainObservation& obs, const CheckOptions& options) {
  FindingCollector out;
  const DnsVerdict dns = EvaluateDns(obs, out);
  if (!dns.null_mx) {
    EvaluateReachability(obs, options, dns, out);
    EvaluateStartTlsCoverage(obs, out);
    EvaluateIpv6(obs, dns, out);
    for (std::size_t i = 0; i < obs.endpoints.size(); ++i) {
      EvaluateEndpoint(obs, i, options, out);
    }
  }
  std::vector<Finding> findings = out.Take();
  std::sort(findings.begin(), findings.end(), WorseFirst);
  findings.erase(std::unique(findings.begin(), findings.end()), findings.end());
  return findings;
}

Severity WorstSeverity(const std::vector<Finding>& findings) {
  Severity worst = Severity::kOk;
  for (const auto& finding : findings) {
    worst = std::max(worst, finding.severity);
  }
  return worst;
}

}  // namespace smtp_exporter
