#include "exporter/check/rules.h"

#include <array>
#include <sstream>
#include <string_view>

#include "exporter/check/rule_functions.h"

namespace smtp_exporter {
namespace {

using std::string_view_literals::operator""sv;

// The codes each rule may emit. A code listed twice, or a catalog code listed nowhere, fails
// RulesTest.EveryCatalogCodeBelongsToExactlyOneRule.
constexpr std::array kNullMxCodes = {"smtp.mx.null"sv, "smtp.mx.null_mixed"sv};
constexpr std::array kMxPresentCodes = {"smtp.mx.missing"sv, "smtp.mx.implicit"sv,
                                        "smtp.dns.error"sv};
constexpr std::array kMxSanityCodes = {"smtp.mx.ip_literal"sv, "smtp.mx.cname"sv,
                                       "smtp.mx.unresolvable"sv};
constexpr std::array kEndpointReachableCodes = {
    "smtp.tcp.unreachable"sv,   "smtp.all_unreachable"sv,    "smtp.session.aborted"sv,
    "smtp.limits.exceeded"sv,   "smtp.protocol.violation"sv, "smtp.probe.temporary"sv,
    "smtp.probe.inconclusive"sv};
constexpr std::array kBannerSanityCodes = {"smtp.banner.rejected"sv, "smtp.banner.delayed"sv,
                                           "smtp.banner.hostname_mismatch"sv};
constexpr std::array kEhloSupportedCodes = {"smtp.ehlo.rejected"sv, "smtp.ehlo.deferred"sv,
                                            "smtp.ehlo.helo_fallback"sv};
constexpr std::array kStartTlsOfferedCodes = {"smtp.starttls.missing"sv, "smtp.all_no_starttls"sv};
constexpr std::array kStartTlsHandshakeCodes = {"smtp.starttls.failed"sv};
constexpr std::array kAuthPostureCodes = {"smtp.auth.plaintext"sv};
constexpr std::array kReverseDnsCodes = {"smtp.ptr.missing"sv, "smtp.fcrdns.mismatch"sv};
constexpr std::array kNullSenderCodes = {"smtp.null_sender.rejected"sv};
constexpr std::array kPostmasterCodes = {"smtp.postmaster.rejected"sv};
constexpr std::array kOpenRelayCodes = {"smtp.open_relay"sv};
constexpr std::array kExtensionPostureCodes = {"smtp.extension.missing"sv};
constexpr std::array kIpv6ReachableCodes = {"smtp.ipv6.missing"sv, "smtp.ipv6.unreachable"sv};
constexpr std::array kPostureDriftCodes = {"smtp.drift.starttls_lost"sv,
                                          "smtp.drift.changed"sv};
constexpr std::array kTlsQualityCodes = {"smtp.tls.unavailable"sv, "smtp.tls.probe_issue"sv};
constexpr std::array kMtaStsCodes = {
    "smtp.mta_sts.missing"sv,        "smtp.mta_sts.record_invalid"sv,
    "smtp.mta_sts.policy_unavailable"sv, "smtp.mta_sts.policy_invalid"sv,
    "smtp.mta_sts.mx_not_covered"sv, "smtp.mta_sts.starttls_missing"sv};
constexpr std::array kTlsRptCodes = {"smtp.tls_rpt.missing"sv, "smtp.tls_rpt.invalid"sv};
constexpr std::array kDaneCodes = {"smtp.dane.lookup_failed"sv, "smtp.dane.no_tlsa"sv,
                                   "smtp.dane.not_validated"sv, "smtp.dane.unusable_parameters"sv};
constexpr std::array kSubmissionCodes = {
    "smtp.submission.unreachable"sv,     "smtp.submission.no_starttls"sv,
    "smtp.submission.tls_failed"sv,      "smtp.submission.plaintext_auth"sv,
    "smtp.submission.auth_before_tls"sv, "smtp.submission.no_auth"sv};

std::vector<Rule> BuildRules() {
  return {
      {"smtp.null_mx",
       "A null MX (RFC 7505, \"MX 0 .\") is reported, and must be the only MX record", kNullMxCodes,
       true, EvaluateNullMx},
      {"smtp.mx_present",
       "The domain has an MX set (or falls back to an implicit MX), and every DNS lookup of the "
       "check answered",
       kMxPresentCodes, true, EvaluateMxPresent},
      {"smtp.mx_sanity", "MX targets are host names, not aliases (CNAME), and resolve",
       kMxSanityCodes, true, EvaluateMxSanity},
      {"smtp.endpoint_reachable",
       "Every MX endpoint accepts TCP on the SMTP port and holds an SMTP session to QUIT within "
       "the protocol bounds",
       kEndpointReachableCodes, true, EvaluateEndpointReachable},
      {"smtp.banner_sanity", "Every endpoint greets with 220, announcing its MX or PTR name",
       kBannerSanityCodes, true, EvaluateBannerSanity},
      {"smtp.ehlo_supported", "EHLO is accepted (ESMTP), not only HELO", kEhloSupportedCodes, true,
       EvaluateEhloSupported},
      {"smtp.starttls_offered",
       "Every endpoint advertises STARTTLS, and at least one endpoint completes it",
       kStartTlsOfferedCodes, true, EvaluateStartTlsOffered},
      {"smtp.starttls_handshake", "The STARTTLS upgrade completes a TLS handshake",
       kStartTlsHandshakeCodes, true, EvaluateStartTlsHandshake},
      {"smtp.auth_posture", "AUTH is not advertised before STARTTLS", kAuthPostureCodes, true,
       EvaluateAuthPosture},
      {"smtp.reverse_dns",
       "Every endpoint address has a PTR record whose name resolves back to it (FCrDNS)",
       kReverseDnsCodes, true, EvaluateReverseDns},
      {"smtp.null_sender", "Bounces (MAIL FROM:<>) are accepted", kNullSenderCodes, true,
       EvaluateNullSender},
      {"smtp.postmaster", "Mail to postmaster@ the domain is accepted", kPostmasterCodes, true,
       EvaluatePostmaster},
      {"smtp.open_relay", "Relaying to a recipient outside the domain is refused", kOpenRelayCodes,
       true, EvaluateOpenRelay},
      {"smtp.extension_posture",
       "PIPELINING and 8BITMIME are advertised (other extensions are listed, not judged)",
       kExtensionPostureCodes, true, EvaluateExtensionPosture},
      {"smtp.ipv6_reachable", "The MX set publishes IPv6 addresses, and they accept connections",
       kIpv6ReachableCodes, true, EvaluateIpv6Reachable},
      {"smtp.tls_quality",
       "A TLS checker's certificate findings for the endpoints, folded in when they are given",
       kTlsQualityCodes, false, EvaluateTlsQuality},
      // Our own rules, beyond happyDomain's 16.
      {"smtp.mta_sts",
       "The MTA-STS record and the HTTPS policy it announces are valid, the policy covers every MX "
       "host, and every endpoint has the STARTTLS an enforce or testing policy requires",
       kMtaStsCodes, true, EvaluateMtaSts},
      {"smtp.tls_rpt", "The TLS-RPT record is published and valid", kTlsRptCodes, true,
       EvaluateTlsRpt},
      {"smtp.dane",
       "Each MX host's TLSA records (DANE, RFC 7672) are DNSSEC-validated and usable for SMTP; "
       "checked when the option test_dane is on",
       kDaneCodes, true, EvaluateDane},
      {"smtp.submission",
       "The message submission ports (RFC 8314) answer, encrypt before any password can be sent "
       "(STARTTLS on 587, implicit TLS on 465) and offer AUTH over TLS; checked when the option "
       "submission names ports",
       kSubmissionCodes, true, EvaluateSubmission},
      {"smtp.posture_drift",
       "STARTTLS, the TLS version, EHLO keywords, the banner name, AUTH before TLS, PTR names, "
       "the MX set, the MTA-STS mode and TLSA records stay as earlier checks saw them (the "
       "daemon only)",
       kPostureDriftCodes, true, EvaluatePostureDrift, /*needs_history=*/true},
  };
}

// GitHub's anchor for the heading "Code `smtp.mx.null`": "code-smtpmxnull" (lowercase, spaces
// to -, other punctuation but _ dropped). Rule and code headings differ by their first word,
// since smtp.open_relay names both.
std::string Anchor(std::string_view heading) {
  std::string anchor;
  for (char c : heading) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
      anchor += c;
    } else if (c >= 'A' && c <= 'Z') {
      anchor += static_cast<char>(c - 'A' + 'a');
    } else if (c == ' ') {
      anchor += '-';
    }
  }
  return anchor;
}

}  // namespace

const std::vector<Rule>& Rules() {
  static const std::vector<Rule>* const rules = new std::vector<Rule>(BuildRules());
  return *rules;
}

const Rule* FindRule(std::string_view name) {
  for (const auto& rule : Rules()) {
    if (rule.name == name) {
      return &rule;
    }
  }
  return nullptr;
}

const Rule* RuleForCode(std::string_view code) {
  for (const auto& rule : Rules()) {
    for (std::string_view owned : rule.codes) {
      if (owned == code) {
        return &rule;
      }
    }
  }
  return nullptr;
}

std::string RenderCatalogMarkdown() {
  std::ostringstream out;
  out << "<!-- Generated from the rule table (exporter/check/rules.cc) and the catalog\n"
         "     (exporter/check/catalog.cc) by RenderCatalogMarkdown().\n"
         "     Do not edit: change the table or the catalog, then run\n"
         "     SMTP_EXPORTER_REGENERATE_DOCS=1 unit_tests --gtest_filter='*CatalogMarkdown*' -->\n"
         "# Rules and findings\n\n"
         "Each check of a domain turns its observation into findings. The findings come from "
         "named rules: the 16 of happyDomain's checker-smtp, under their names, then our own "
         "(below them); each rule verifies one thing and may emit the finding codes listed "
         "under it. A finding carries its rule's "
         "name, a code, a severity, the subject it is about (the domain, an MX host, or an "
         "endpoint such as `mx1.example.org [192.0.2.1]`), a message with the server's verbatim "
         "reply where there is one, the fix and the RFC the rule enforces.\n\n"
         "Severities, best to worst: `ok` < `info` < `warn` < `crit` < `error`. The worst "
         "finding is the domain's state. `error` means the check itself could not complete "
         "(e.g. the resolver did not answer): the state is unknown, never OK. A check that "
         "passed is reported as an `ok` finding with the same code as its failure; a probe "
         "disabled by the options, or a rule that is disabled, yields no finding at all. The "
         "`check` command exits 0 for ok/info, 1 for warn, 2 for crit and 3 for error "
         "(monitoring-plugin convention).\n\n"
         "| Rule | Verifies | Codes |\n"
         "|---|---|---|\n";
  for (const auto& rule : Rules()) {
    out << "| [`" << rule.name << "`](#" << Anchor("rule " + std::string(rule.name)) << ") | "
        << rule.description << (rule.default_enabled ? "" : " (off by default)") << " | ";
    bool first = true;
    for (std::string_view code : rule.codes) {
      out << (first ? "" : ", ") << "[`" << code << "`](#" << Anchor("code " + std::string(code))
          << ")";
      first = false;
    }
    out << " |\n";
  }
  out << "\n`smtp.tls_quality` is off by default: it needs a TLS checker's findings, which only "
         "the happyDomain checker mode can be given. Enabled without them, it says that no TLS "
         "data is available (INFO), never a false OK or CRIT.\n";
  for (const auto& rule : Rules()) {
    out << "\n## Rule `" << rule.name << "`\n\n" << rule.description << ".\n\n";
    out << "| Code | Severity | Meaning |\n|---|---|---|\n";
    for (std::string_view code : rule.codes) {
      const CatalogEntry* entry = FindCatalogEntry(code);
      if (entry == nullptr) {
        continue;  // RulesTest fails on it
      }
      out << "| [`" << entry->code << "`](#" << Anchor("code " + std::string(entry->code)) << ") | "
          << SeverityLabelName(entry->severity) << (entry->note.empty() ? "" : " *") << " | "
          << entry->title << " |\n";
    }
    for (std::string_view code : rule.codes) {
      const CatalogEntry* entry = FindCatalogEntry(code);
      if (entry == nullptr) {
        continue;
      }
      out << "\n### Code `" << entry->code << "`\n\n"
          << "- **Rule:** `" << rule.name << "`\n"
          << "- **Severity:** " << SeverityLabelName(entry->severity) << "\n";
      if (!entry->note.empty()) {
        out << "- **Severity note:** " << entry->note << "\n";
      }
      out << "- **Meaning:** " << entry->title << "\n"
          << "- **On the overview page:** " << entry->short_title << "\n"
          << "- **Fix:** " << entry->fix << "\n"
          << "- **RFC:** " << entry->rfc << "\n";
    }
  }
  out << "\n\\* the severity depends on the situation; see the code's section.\n";
  return out.str();
}

}  // namespace smtp_exporter
