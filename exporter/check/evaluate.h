// Evaluate: turns one DomainObservation into findings by running the enabled named rules
// (rules.h) over it and the facts derived from it (facts.h). Pure; thread-safe.
//
// Contract:
// - Every check that ran emits at least one finding; a check that passed emits an OK finding
//   with the code of its failure, so reports can list passed checks. A probe disabled by the
//   options (CheckOptions::test_*) yields no finding at all, never a false OK; so does a check
//   whose input is unknown (a failed lookup is smtp.dns.error, an ended session is
//   smtp.session.aborted), never a false verdict.
// - A disabled rule emits nothing. Disabling smtp.null_sender, smtp.postmaster or
//   smtp.open_relay also counts its transaction probe as not requested, so no other rule
//   reports on it (as happyDomain's SDK hands enabledRules to the collector too).
// - A null MX domain (RFC 7505) gets smtp.mx.null and nothing about delivery.
// - An endpoint that did not connect gets only its reachability finding (no cascade).
// - Transaction probes whose session ended (ProbeOutcome::kError) are not judged.
// - Server text in messages is verbatim (quoted, bounded in length); renderers escape it.
// - Output is sorted worst severity first, then by code, subject and message; each finding
//   carries the name of the rule that emitted it.
#pragma once

#include <vector>

#include "config/check_options.h"
#include "exporter/check/findings.h"
#include "exporter/check/posture.h"
#include "exporter/check/rule.h"
#include "probes/dns_observation.h"

namespace smtp_exporter {

// `posture`: the domain's posture history with `obs` already folded in, when the caller tracks
// one (RuleContext::posture); nullptr: smtp.posture_drift says nothing.
std::vector<Finding> Evaluate(const DomainObservation& obs, const CheckOptions& options,
                              const RuleSelection& rules = RuleSelection::Defaults(),
                              const PostureHistory* posture = nullptr);

// The options as the enabled rules need them: a transaction probe whose rule is disabled is not
// requested. The collector uses it too, so a disabled probe is never sent.
CheckOptions EffectiveOptions(const CheckOptions& options, const RuleSelection& rules);

// Evaluate's order: worst severity first, then code, subject and message; exact repeats
// removed. For callers that add findings of their own (the checker mode's TLS fold).
void SortFindings(std::vector<Finding>& findings);

// The worst severity of `findings`; kOk when empty.
Severity WorstSeverity(const std::vector<Finding>& findings);

}  // namespace smtp_exporter
