// The rule set: turns one DomainObservation into findings (the seed's checks 1-18, codes in the
// catalog of findings.h). Pure functions of their arguments; thread-safe.
//
// Contract:
// - Every check that ran emits at least one finding; a check that passed emits an OK finding
//   with the code of its failure, so reports can list passed checks. A probe disabled by the
//   options (CheckOptions::test_*) yields no finding at all, never a false OK; so does a check
//   whose input is unknown (a failed lookup is smtp.dns.error, an ended session is
//   smtp.session.aborted), never a false verdict.
// - A null MX domain (RFC 7505) gets smtp.mx.null and nothing about delivery.
// - An endpoint that did not connect gets only its reachability finding (no cascade).
// - Transaction probes whose session ended (ProbeOutcome::kError) are not judged.
// - Server text in messages is verbatim (quoted, bounded in length); renderers escape it.
// - Output is sorted worst severity first, then by code, subject and message.
#pragma once

#include <vector>

#include "config/check_options.h"
#include "exporter/findings.h"
#include "probes/dns_observation.h"

namespace smtp_exporter {

std::vector<Finding> EvaluateRules(const DomainObservation& obs, const CheckOptions& options);

// The worst severity of `findings`; kOk when empty.
Severity WorstSeverity(const std::vector<Finding>& findings);

}  // namespace smtp_exporter
