// The DNS posture rules: smtp.null_mx, smtp.mx_present, smtp.mx_sanity (the seed's checks 1-5).
#include <string>
#include <utility>
#include <vector>

#include "exporter/check/rule_functions.h"

namespace smtp_exporter {

// RFC 7505: a null MX ("MX 0 .") declares that the domain accepts no mail; it must be alone.
void EvaluateNullMx(const RuleContext& context, FindingSink& out) {
  const DnsFacts& dns = context.facts.dns;
  if (!dns.ran || dns.mx_failed) {
    return;
  }
  const std::string& domain = context.facts.domain;
  if (dns.null_mx) {
    out.Fail("smtp.mx.null", Subject::Domain(domain),
             domain + " publishes a null MX (\"MX 0 .\"): it declares that it accepts no mail");
    return;
  }
  if (context.obs.dns.null_mx_mixed) {
    std::vector<std::string> listed;
    for (const auto& target : context.obs.dns.mx_targets) {
      if (!IsNullTarget(target)) {
        listed.push_back(std::to_string(target.preference) + " " + target.host);
      }
    }
    out.Fail("smtp.mx.null_mixed", Subject::Domain(domain),
             "a null MX (\"MX 0 .\") is published next to other MX records: " + Join(listed, ", "));
  }
}

namespace {

// Every lookup of the check that failed (RFC 2308 §2: a failure is not "no records"): the
// verdicts that depend on it are unknown, which is an error state, never OK.
void EvaluateLookupFailures(const RuleContext& context, FindingSink& out) {
  const DomainObservation& obs = context.obs;
  const DnsObservation& dns = obs.dns;
  const std::string& domain = context.facts.domain;
  std::vector<std::pair<Subject, std::string>> failures;  // subject, message
  auto check = [&](const DnsLookup& lookup, const Subject& subject, const std::string& what) {
    if (IsDnsFailure(lookup.status)) {
      failures.emplace_back(subject, what + " lookup failed: " + LookupText(lookup));
    }
  };
  check(dns.mx, Subject::Domain(domain), "MX " + domain);
  check(dns.implicit_a, Subject::Domain(domain), "A " + domain + " (implicit MX)");
  check(dns.implicit_aaaa, Subject::Domain(domain), "AAAA " + domain + " (implicit MX)");
  for (const auto& target : dns.mx_targets) {
    if (IsNullTarget(target)) {
      continue;
    }
    check(target.a, Subject::Host(domain, target.host), "A " + target.host);
    check(target.aaaa, Subject::Host(domain, target.host), "AAAA " + target.host);
  }
  for (const auto& reverse : dns.reverse) {
    const Subject subject = ReverseSubject(obs, domain, reverse.ip, context.options.port);
    check(reverse.ptr, subject, "PTR " + reverse.ip.ToString());
    for (const auto& failure : reverse.fcrdns_failures) {
      failures.emplace_back(subject, "forward lookup of the PTR name failed, so FCrDNS of " +
                                         reverse.ip.ToString() + " is undecided: " + failure.name +
                                         ": " + std::string(DnsStatusName(failure.lookup.status)));
    }
  }
  if (dns.timed_out) {
    failures.emplace_back(Subject::Domain(domain),
                          "the DNS phase ran out of time before every lookup finished");
  }
  if (failures.empty()) {
    out.Pass("smtp.dns.error", Subject::Domain(domain), "every DNS lookup answered");
  }
  for (auto& [subject, message] : failures) {
    out.Fail("smtp.dns.error", subject, std::move(message));
  }
}

}  // namespace

// RFC 5321 §5.1: senders need an MX set (or, failing that, the domain's own address records).
void EvaluateMxPresent(const RuleContext& context, FindingSink& out) {
  const DnsFacts& facts = context.facts.dns;
  if (!facts.ran) {
    return;
  }
  EvaluateLookupFailures(context, out);
  if (facts.mx_failed || facts.null_mx) {
    return;  // smtp.dns.error says why / smtp.null_mx says it
  }
  const DnsObservation& dns = context.obs.dns;
  const std::string& domain = context.facts.domain;
  std::vector<std::string> listed;
  for (const auto& target : dns.mx_targets) {
    if (!IsNullTarget(target)) {
      listed.push_back(std::to_string(target.preference) + " " + target.host);
    }
  }
  if (!listed.empty()) {
    out.Pass("smtp.mx.missing", Subject::Domain(domain),
             std::to_string(listed.size()) + " MX record(s): " + Join(listed, ", "));
    return;
  }
  if (dns.mx.status == DnsStatus::kNxDomain) {
    out.Fail("smtp.mx.missing", Subject::Domain(domain),
             domain + " does not exist (NXDOMAIN): it cannot receive mail");
    return;
  }
  if (facts.implicit_mx) {
    out.Fail("smtp.mx.implicit", Subject::Domain(domain),
             "no MX records: senders fall back to the domain's own address records (" +
                 AddressList(dns.implicit_addresses) + ")");
  } else if (facts.no_mail) {
    out.Fail("smtp.mx.missing", Subject::Domain(domain),
             "no MX records and no address record (A: " + LookupText(dns.implicit_a) + ", AAAA: " +
                 LookupText(dns.implicit_aaaa) + "): " + domain + " cannot receive mail");
  }
  // Otherwise an implicit-MX lookup failed: smtp.dns.error reports it; no verdict.
}

// One MX target: RFC 5321 §5.1 (a host name with address records) and RFC 2181 §10.3 (no alias).
void EvaluateMxSanity(const RuleContext& context, FindingSink& out) {
  const DnsFacts& facts = context.facts.dns;
  if (!facts.ran || facts.mx_failed || facts.null_mx) {
    return;
  }
  for (const auto& target : context.obs.dns.mx_targets) {
    if (IsNullTarget(target)) {
      continue;
    }
    const std::string& host = target.host;
    const Subject about = Subject::Host(context.facts.domain, host);
    if (target.is_ip_literal) {
      out.Fail("smtp.mx.ip_literal", about,
               "MX " + std::to_string(target.preference) + " " + host +
                   " is an IP address written as a host name; conforming senders look it up as "
                   "a name and find nothing");
      continue;
    }
    out.Pass("smtp.mx.ip_literal", about, "the MX target is a host name");
    if (!target.cname_chain.empty()) {
      out.Fail("smtp.mx.cname", about,
               host + " is an alias (CNAME): " + host + " -> " + Join(target.cname_chain, " -> "));
    } else if (Answered(target.a) || Answered(target.aaaa)) {
      out.Pass("smtp.mx.cname", about, host + " is not an alias");
    }
    if (!target.addresses.empty()) {
      out.Pass("smtp.mx.unresolvable", about,
               host + " resolves to " + AddressList(target.addresses));
    } else if (Answered(target.a) && Answered(target.aaaa)) {
      out.Fail("smtp.mx.unresolvable", about,
               host + " has no address record (A: " + LookupText(target.a) +
                   ", AAAA: " + LookupText(target.aaaa) + "); senders cannot use this MX");
    }
  }
}

}  // namespace smtp_exporter
