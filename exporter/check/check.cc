#include "exporter/check/check.h"

#include <utility>

namespace smtp_exporter {

CheckResult Check(const CheckRequest& request, const CheckDeps& deps) {
  const CheckOptions options = EffectiveOptions(request.options, request.rules);
  DomainObservation observation = CheckDomain(request.domain, options, request.settings,
                                              deps.resolver, deps.transports, deps.clock);
  std::optional<PostureHistory> posture;
  if (request.posture) {
    posture = AdvancePosture(&*request.posture, observation);
  }
  return EvaluateObservation(std::move(observation), request.options, request.rules,
                             std::move(posture));
}

CheckResult EvaluateObservation(DomainObservation observation, const CheckOptions& options,
                                const RuleSelection& rules,
                                std::optional<PostureHistory> posture) {
  const CheckOptions effective = EffectiveOptions(options, rules);
  CheckResult result;
  result.observation = std::move(observation);
  result.posture = std::move(posture);
  result.findings = Evaluate(result.observation, effective, rules,
                             result.posture ? &*result.posture : nullptr);
  result.status = WorstSeverity(result.findings);
  return result;
}

CheckRecord MakeCheckRecord(const CheckResult& result) {
  CheckRecord record;
  record.checked_at_unix = result.observation.started_at_unix;
  record.duration_seconds = result.observation.duration_seconds;
  record.status = result.status;
  for (const auto& finding : result.findings) {
    switch (finding.severity) {
      case Severity::kError:
        ++record.error;
        break;
      case Severity::kCrit:
        ++record.crit;
        break;
      case Severity::kWarn:
        ++record.warn;
        break;
      case Severity::kInfo:
        ++record.info;
        break;
      case Severity::kOk:
        break;
    }
  }
  return record;
}

}  // namespace smtp_exporter
