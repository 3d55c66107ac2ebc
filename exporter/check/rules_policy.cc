// The transport-security policy rules: smtp.mta_sts (RFC 8461) and smtp.tls_rpt (RFC 8460).
// They read DomainObservation::mta_sts / tls_rpt (nullopt: not collected, so no finding) and,
// for an MTA-STS policy in force, the MX set and the endpoints' STARTTLS outcome.
#include <string>
#include <vector>

#include "exporter/check/rule_functions.h"
#include "probes/mta_sts.h"

namespace smtp_exporter {
namespace {

// The record lookup failed (SERVFAIL, timeout, ...): the posture is unknown, which is the
// check's failure (ERROR), never a "missing record".
bool LookupFailed(const TxtLookupResult& lookup) { return IsDnsFailure(lookup.status); }

std::string LookupFailureText(const std::string& name, const TxtLookupResult& lookup) {
  return "the TXT lookup of " + name + " failed: " + LookupText({lookup.status, lookup.error});
}

// The MX host names a sender would match against the policy (RFC 8461 §4.1): the MX targets,
// or the domain itself for an implicit MX (RFC 5321 §5.1).
std::vector<std::string> MxHosts(const DomainObservation& obs, const std::string& domain) {
  std::vector<std::string> hosts;
  if (obs.dns.implicit_mx) {
    hosts.push_back(domain);
    return hosts;
  }
  for (const MxTarget& target : obs.dns.mx_targets) {
    if (!IsNullTarget(target) && !target.host.empty()) {
      hosts.push_back(target.host);
    }
  }
  return hosts;
}

// Enforce makes a policy violation a bounce (RFC 8461 §5); testing only reports it.
Severity PolicySeverity(MtaStsMode mode) {
  return mode == MtaStsMode::kEnforce ? Severity::kCrit : Severity::kWarn;
}

bool Covered(const std::vector<std::string>& patterns, const std::string& host) {
  for (const std::string& pattern : patterns) {
    if (MxPatternMatches(pattern, host)) {
      return true;
    }
  }
  return false;
}

}  // namespace

void EvaluateMtaSts(const RuleContext& context, FindingSink& out) {
  if (!context.obs.mta_sts) {
    return;  // not collected (test_mta_sts off)
  }
  const MtaStsObservation& m = *context.obs.mta_sts;
  const std::string& domain = context.facts.domain;
  const Subject subject = Subject::Domain(domain);
  const std::string record_name = "_mta-sts." + domain;
  if (LookupFailed(m.record_lookup)) {
    out.Fail("smtp.mta_sts.record_invalid", Severity::kError, subject,
             LookupFailureText(record_name, m.record_lookup) +
                 "; whether the domain publishes MTA-STS is unknown");
    return;
  }
  if (m.record_count == 0) {
    out.Fail("smtp.mta_sts.missing", subject,
             record_name +
                 " has no v=STSv1 TXT record: the domain publishes no MTA-STS policy, "
                 "so senders may deliver over plaintext or unauthenticated TLS");
    return;
  }
  out.Pass("smtp.mta_sts.missing", subject, record_name + " publishes a v=STSv1 record");
  if (!m.record_error.empty()) {
    out.Fail("smtp.mta_sts.record_invalid", subject,
             record_name + ": " + m.record_error +
                 "; senders treat the domain as having no "
                 "MTA-STS policy");
    return;
  }
  out.Pass("smtp.mta_sts.record_invalid", subject,
           record_name + " is valid (id=" + Truncate(m.record_id) + ")");
  const std::string url = "https://" + m.policy_host + "/.well-known/mta-sts.txt";
  switch (m.fetch_status) {
    case PolicyFetchStatus::kNotAttempted:
      return;
    case PolicyFetchStatus::kInvalid:
      out.Pass("smtp.mta_sts.policy_unavailable", subject, url + " was fetched");
      out.Fail("smtp.mta_sts.policy_invalid", subject,
               url + " is not a valid policy: " + Truncate(m.fetch_error) +
                   "; senders ignore it (no MTA-STS protection)");
      return;
    case PolicyFetchStatus::kOk:
      break;
    default:
      out.Fail("smtp.mta_sts.policy_unavailable", subject,
               url + " could not be fetched (" +
                   std::string(PolicyFetchStatusName(m.fetch_status)) +
                   "): " + Truncate(m.fetch_error) +
                   "; senders without a cached policy deliver without MTA-STS");
      return;
  }
  if (!m.policy) {
    return;  // kOk always carries the policy; a hand-edited document may not
  }
  const MtaStsPolicy& policy = *m.policy;
  out.Pass("smtp.mta_sts.policy_unavailable", subject, url + " was fetched");
  out.Pass("smtp.mta_sts.policy_invalid", subject,
           "mode " + std::string(MtaStsModeName(policy.mode)) + ", max_age " +
               std::to_string(policy.max_age_seconds) + " s, " + std::to_string(policy.mx.size()) +
               " mx pattern(s)");
  if (policy.mode == MtaStsMode::kNone || context.facts.dns.null_mx) {
    return;  // §5: mode none asks nothing of senders; a null MX receives no mail
  }
  const std::string mode(MtaStsModeName(policy.mode));
  const std::string consequence = policy.mode == MtaStsMode::kEnforce
                                      ? "senders that honour the enforce policy will not deliver "
                                        "to it (mail bounces if no MX qualifies)"
                                      : "in testing mode senders only report it (TLS-RPT)";
  for (const std::string& host : MxHosts(context.obs, domain)) {
    const Subject host_subject = Subject::Host(domain, host);
    if (Covered(policy.mx, host)) {
      out.Pass("smtp.mta_sts.mx_not_covered", host_subject,
               host + " matches the policy's mx patterns");
    } else {
      out.Fail("smtp.mta_sts.mx_not_covered", PolicySeverity(policy.mode), host_subject,
               "the MX host " + host + " matches none of the " + mode + " policy's mx patterns (" +
                   Truncate(Join(policy.mx, ", ")) + "): " + consequence);
    }
  }
  ForEachHelloEndpoint(context, [&](const EndpointObservation& e, const Subject& endpoint) {
    if (e.starttls.ok) {
      out.Pass("smtp.mta_sts.starttls_missing", endpoint,
               "STARTTLS works, as the " + mode + " policy requires");
      return;
    }
    out.Fail("smtp.mta_sts.starttls_missing", PolicySeverity(policy.mode), endpoint,
             std::string(e.starttls.offered ? "STARTTLS fails" : "STARTTLS is not offered") +
                 " but the MTA-STS policy is in " + mode + " mode: " + consequence);
  });
}

void EvaluateTlsRpt(const RuleContext& context, FindingSink& out) {
  if (!context.obs.tls_rpt) {
    return;  // not collected (test_tls_rpt off)
  }
  const TlsRptObservation& t = *context.obs.tls_rpt;
  const std::string& domain = context.facts.domain;
  const Subject subject = Subject::Domain(domain);
  const std::string record_name = "_smtp._tls." + domain;
  if (LookupFailed(t.record_lookup)) {
    out.Fail("smtp.tls_rpt.invalid", Severity::kError, subject,
             LookupFailureText(record_name, t.record_lookup) +
                 "; whether the domain publishes TLS-RPT is unknown");
    return;
  }
  if (t.record_count == 0) {
    out.Fail("smtp.tls_rpt.missing", subject,
             record_name +
                 " has no v=TLSRPTv1 TXT record: senders have nowhere to report TLS "
                 "failures delivering to the domain");
    return;
  }
  out.Pass("smtp.tls_rpt.missing", subject, record_name + " publishes a v=TLSRPTv1 record");
  if (!t.record_error.empty()) {
    out.Fail("smtp.tls_rpt.invalid", subject,
             record_name + ": " + t.record_error + "; senders send no reports");
    return;
  }
  out.Pass("smtp.tls_rpt.invalid", subject,
           record_name + " is valid; reports go to " + Truncate(Join(t.rua, ", ")));
}

}  // namespace smtp_exporter
