#include "exporter/check/check.h"

namespace smtp_exporter {

CheckResult Check(const CheckRequest& request, const CheckDeps& deps) {
  const CheckOptions options = EffectiveOptions(request.options, request.rules);
  CheckResult result;
  result.observation = CheckDomain(request.domain, options, request.settings, deps.resolver,
                                   deps.transports, deps.clock);
  result.findings = Evaluate(result.observation, options, request.rules);
  result.status = WorstSeverity(result.findings);
  return result;
}

}  // namespace smtp_exporter
