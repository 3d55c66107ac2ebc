// The evaluation functions behind the rule table (rules.cc), one per named rule, defined in
// rules_dns.cc, rules_endpoint.cc, rules_tls.cc, rules_transactions.cc, rules_policy.cc,
// rules_dane.cc, rules_submission.cc and rules_drift.cc. Internal to exporter/check/:
// everything else goes through Rules() and Evaluate(). Pure; thread-safe.
#pragma once

#include <string>

#include "exporter/check/rule.h"

namespace smtp_exporter {

void EvaluateNullMx(const RuleContext& context, FindingSink& out);
void EvaluateMxPresent(const RuleContext& context, FindingSink& out);
void EvaluateMxSanity(const RuleContext& context, FindingSink& out);
void EvaluateEndpointReachable(const RuleContext& context, FindingSink& out);
void EvaluateBannerSanity(const RuleContext& context, FindingSink& out);
void EvaluateEhloSupported(const RuleContext& context, FindingSink& out);
void EvaluateStartTlsOffered(const RuleContext& context, FindingSink& out);
void EvaluateStartTlsHandshake(const RuleContext& context, FindingSink& out);
void EvaluateAuthPosture(const RuleContext& context, FindingSink& out);
void EvaluateReverseDns(const RuleContext& context, FindingSink& out);
void EvaluateNullSender(const RuleContext& context, FindingSink& out);
void EvaluatePostmaster(const RuleContext& context, FindingSink& out);
void EvaluateOpenRelay(const RuleContext& context, FindingSink& out);
void EvaluateExtensionPosture(const RuleContext& context, FindingSink& out);
void EvaluateIpv6Reachable(const RuleContext& context, FindingSink& out);
void EvaluateTlsQuality(const RuleContext& context, FindingSink& out);
void EvaluatePostureDrift(const RuleContext& context, FindingSink& out);
void EvaluateMtaSts(const RuleContext& context, FindingSink& out);
void EvaluateTlsRpt(const RuleContext& context, FindingSink& out);
void EvaluateDane(const RuleContext& context, FindingSink& out);
void EvaluateSubmission(const RuleContext& context, FindingSink& out);

// Calls fn(endpoint, subject) for each endpoint that answered EHLO or HELO, where what it
// offers (STARTTLS, AUTH, extensions) and the transaction probes can be judged; none for a null
// MX domain.
template <typename Fn>
void ForEachHelloEndpoint(const RuleContext& context, Fn&& fn) {
  if (context.facts.dns.null_mx) {
    return;
  }
  for (const auto& e : context.obs.endpoints) {
    if (ReachedHello(e)) {
      fn(e, EndpointSubject(e));
    }
  }
}

// "RCPT TO:<x@example.net> answered "554 5.7.1 ..."": the step a transaction probe's verdict
// rests on (the last reply of the outcome's class), else the probe's own detail.
std::string TransactionVerdictText(const TransactionProbe& probe);

}  // namespace smtp_exporter
