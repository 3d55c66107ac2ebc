// Check: the one pipeline of a domain check, used by every front-end (the daemon's schedule,
// /probe, the `check` command, and the happyDomain checker mode):
//
//   options + rule selection -> CheckDomain (collect: DNS, endpoint plan, reverse DNS, probes)
//     -> DomainObservation -> Evaluate (the enabled named rules) -> findings -> worst severity
//
// Front-ends differ only in what they put in the request (scheduler settings, a /probe
// timeout, CLI flags) and in how they render the result.
//
// Thread-safe: concurrent calls share nothing but the dependencies, which are thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "config/check_options.h"
#include "exporter/check/evaluate.h"
#include "exporter/check/findings.h"
#include "exporter/check/posture.h"
#include "exporter/check/rule.h"
#include "config/base/clock.h"
#include "probes/dns_observation.h"
#include "probes/domain_check.h"
#include "probes/resolver.h"
#include "probes/transport.h"

namespace smtp_exporter {

struct CheckRequest {
  std::string domain;
  CheckOptions options;
  // Which named rules run. A disabled transaction-probe rule also keeps its probe from being
  // sent (EffectiveOptions). Default: every rule at its default.
  RuleSelection rules = RuleSelection::Defaults();
  // How the collect stage runs: endpoint concurrency, the per-IP limiter, cancellation,
  // progress callbacks, a single endpoint instead of the MX set.
  DomainCheckSettings settings;
  // The domain's posture history before this check (posture.h), to track drift: the daemon
  // sets it (an empty history for a domain's first check); unset, nothing is tracked.
  std::optional<PostureHistory> posture;
};

// What a check needs from the outside world; tests pass a fake resolver and a scripted
// transport factory.
struct CheckDeps {
  const Resolver& resolver;
  TransportFactory& transports;
  const Clock& clock;
};

struct CheckResult {
  DomainObservation observation;
  std::vector<Finding> findings;  // sorted worst first (Evaluate)
  Severity status = Severity::kOk;
  // True when the observation was not collected by this process but read back from the
  // daemon's state on disk (--storage.path) at start-up and judged again: the result of a
  // check made before a restart, shown until the domain is checked again. Renderers say so.
  bool restored = false;
  // The request's posture history with this observation folded in; unset when not tracked.
  std::optional<PostureHistory> posture;
};

CheckResult Check(const CheckRequest& request, const CheckDeps& deps);

// The evaluate half of Check(): judges an observation collected earlier (state kept on disk)
// exactly as Check() judges a fresh one, with `options` and `rules` as a CheckRequest gives
// them, and `posture` (with the observation already folded in) as Check() leaves it in its
// result. The observation's own times are kept.
CheckResult EvaluateObservation(DomainObservation observation, const CheckOptions& options,
                                const RuleSelection& rules = RuleSelection::Defaults(),
                                std::optional<PostureHistory> posture = std::nullopt);

// The summary of one finished check, as the daemon's history keeps it and the history strips
// draw it.
struct CheckRecord {
  double checked_at_unix = 0;   // when the check started
  double duration_seconds = 0;  // how long it took
  Severity status = Severity::kOk;
  // Findings of the check by severity (OK findings are not counted).
  std::size_t error = 0;
  std::size_t crit = 0;
  std::size_t warn = 0;
  std::size_t info = 0;

  friend bool operator==(const CheckRecord&, const CheckRecord&) = default;
};

// The record of one check: its start and duration from the observation, its status and counts
// from the findings (never recomputed).
CheckRecord MakeCheckRecord(const CheckResult& result);

}  // namespace smtp_exporter
