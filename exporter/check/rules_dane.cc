// The DANE rule, smtp.dane (RFC 7672): the TLSA records at each MX host, whether the resolver
// authenticated them (DNSSEC), and whether their parameters are usable for SMTP. Presence and
// parameters only: matching the server's certificate against them is a TLS checker's job.
#include <string>
#include <vector>

#include "exporter/check/rule_functions.h"

namespace smtp_exporter {
namespace {

// RFC 7218 §2 mnemonics, for messages.
std::string UsageName(std::uint8_t usage) {
  switch (usage) {
    case 0:
      return "PKIX-TA(0)";
    case 1:
      return "PKIX-EE(1)";
    case 2:
      return "DANE-TA(2)";
    case 3:
      return "DANE-EE(3)";
    default:
      return "unassigned usage " + std::to_string(usage);
  }
}

std::string RecordText(const TlsaRecord& record) {
  return std::to_string(record.usage) + " " + std::to_string(record.selector) + " " +
         std::to_string(record.matching_type);
}

// Why `record` is unusable for SMTP, or "" when it is usable.
std::string UnusableBecause(const TlsaRecord& record) {
  // RFC 7672 §3.1.3: PKIX-TA(0) and PKIX-EE(1) are not for SMTP (no agreed set of trust anchors);
  // SMTP clients treat them as unusable.
  if (record.usage == 0 || record.usage == 1) {
    return UsageName(record.usage) + " is not for SMTP (RFC 7672 §3.1.3); use DANE-EE(3) or "
                                     "DANE-TA(2)";
  }
  if (record.usage > 3) {
    return UsageName(record.usage) + " (RFC 6698 §2.1.1 defines 0-3)";
  }
  // RFC 6698 §2.1.2: selector 0 (full certificate) or 1 (SubjectPublicKeyInfo).
  if (record.selector > 1) {
    return "unassigned selector " + std::to_string(record.selector) + " (RFC 6698 §2.1.2)";
  }
  // RFC 6698 §2.1.3: 0 exact match, 1 SHA-256 (32 bytes), 2 SHA-512 (64 bytes).
  switch (record.matching_type) {
    case 0:
      if (record.data_length == 0) {
        return "matching type Full(0) with no association data";
      }
      return "";
    case 1:
      if (record.data_length != 32) {
        return "a SHA2-256(1) digest of " + std::to_string(record.data_length) +
               " bytes, not 32";
      }
      return "";
    case 2:
      if (record.data_length != 64) {
        return "a SHA2-512(2) digest of " + std::to_string(record.data_length) +
               " bytes, not 64";
      }
      return "";
    default:
      return "unassigned matching type " + std::to_string(record.matching_type) +
             " (RFC 6698 §2.1.3)";
  }
}

}  // namespace

// RFC 7672 §2.2: per MX host, senders look up the TLSA RRset at _PORT._tcp.HOST and use it only
// when the answer is DNSSEC-validated ("secure"); §2.2.1: a failed TLSA lookup makes DANE senders
// treat the MX host as unusable, so its mail waits.
void EvaluateDane(const RuleContext& context, FindingSink& out) {
  const DnsFacts& facts = context.facts.dns;
  if (!facts.ran || facts.mx_failed || facts.null_mx || !context.options.test_dane) {
    return;
  }
  for (const auto& target : context.obs.dns.mx_targets) {
    const DaneLookup& dane = target.tlsa;
    if (IsNullTarget(target) || dane.lookup.status == DnsStatus::kNotQueried) {
      continue;  // not collected (the option was off, an IP literal, an older document)
    }
    const Subject about = Subject::Host(context.facts.domain, target.host);
    const std::string& name = dane.name;
    if (IsDnsFailure(dane.lookup.status)) {
      out.Fail("smtp.dane.lookup_failed", about,
               "TLSA " + name + " lookup failed: " + LookupText(dane.lookup) +
                   "; senders that validate DANE cannot tell whether TLS must be authenticated "
                   "and defer mail to this MX");
      continue;
    }
    out.Pass("smtp.dane.lookup_failed", about, "TLSA " + name + " answered");
    if (dane.records.empty()) {
      out.Fail("smtp.dane.no_tlsa", about,
               "no TLSA record at " + name + " (" +
                   std::string(DnsStatusName(dane.lookup.status)) +
                   "): DANE is not in use for this MX");
      continue;
    }
    std::vector<std::string> listed;
    for (const auto& record : dane.records) listed.push_back(RecordText(record));
    out.Pass("smtp.dane.no_tlsa", about,
             std::to_string(dane.records.size()) + " TLSA record(s) at " + name + ": " +
                 Join(listed, ", "));
    if (dane.authenticated) {
      out.Pass("smtp.dane.not_validated", about,
               "the TLSA answer for " + name + " is DNSSEC-validated (AD bit set)");
    } else {
      out.Fail("smtp.dane.not_validated", about,
               "TLSA records at " + name +
                   " are published, but the answer is not DNSSEC-validated (AD bit clear): "
                   "TLSA without DNSSEC is useless, senders must ignore it (RFC 7672 §2.2)");
    }
    std::vector<std::string> unusable;
    for (const auto& record : dane.records) {
      if (std::string why = UnusableBecause(record); !why.empty()) {
        unusable.push_back("TLSA " + RecordText(record) + ": " + why);
      }
    }
    if (unusable.empty()) {
      out.Pass("smtp.dane.unusable_parameters", about,
               "every TLSA record at " + name + " has parameters usable for SMTP");
    } else {
      out.Fail("smtp.dane.unusable_parameters", about,
               std::to_string(unusable.size()) + " of " + std::to_string(dane.records.size()) +
                   " TLSA record(s) at " + name + " unusable for SMTP: " +
                   Join(unusable, "; ") +
                   (unusable.size() == dane.records.size()
                        ? " (none usable: DANE senders still require TLS, but cannot "
                          "authenticate the server)"
                        : ""));
    }
  }
}

}  // namespace smtp_exporter
