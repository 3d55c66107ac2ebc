// Fuzz target: the happyDomain checker mode's request bodies (exporter/checker/checker_protocol.h)
// as POST /evaluate reads them: the body, its enabledRules, its run options (JSON values through
// the shared option table), its related TLS probes, then the rules and the states answered.
// Also what POST /definition (PrecheckFailures) and POST /report (RulesOfStates) read.
//
// Input: a request body.
// Invariants: no exception escapes; a refused body's message is the SDK's "invalid request body:
// ..."; accepted run options hold a valid, normalised domain (or none) and options the option
// table reads back to the same values; precheck failures are an object and the states an array;
// a related TLS probe is only ever attributed to one of the observation's own MX hosts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/check_option_table.h"
#include "config/domain_name.h"
#include "exporter/check/evaluate.h"
#include "exporter/checker/checker_protocol.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/option_text.h"

namespace smtp_exporter::fuzz {
namespace {

// A small observation of example.org with one MX, for the related TLS probes to match.
DomainObservation Observation() {
  DomainObservation observation;
  observation.domain = "example.org";
  observation.plan.endpoints.push_back(
      {"mx1.example.org", 10, *IpAddress::Parse("192.0.2.25"), {}});
  return observation;
}

void CheckRunOptions(const nlohmann::json& options, bool need_domain) {
  const Result<RunOptions> run = ParseRunOptions(options, need_domain);
  if (!run.ok()) {
    FUZZ_CHECK(run.error().code == ErrorCode::kInvalidArgument);
    FUZZ_CHECK(!run.error().message.empty());
    return;
  }
  const std::string& domain = run.value().domain;
  FUZZ_CHECK(!need_domain || !domain.empty());
  if (!domain.empty()) {
    FUZZ_CHECK(ValidateHostName(domain).ok());
    FUZZ_CHECK(domain == NormaliseHostName(domain));
  }
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    if (IsUnspellableDefault(spec, run.value().options)) {
      continue;
    }
    CheckOptions again;
    const std::string text = OptionText(spec, run.value().options);
    FUZZ_CHECK(SetCheckOption(spec, text, again).ok());
    FUZZ_CHECK(OptionText(spec, again) == text);
  }
}

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  using nlohmann::json;
  const Result<json> body = ParseRequestBody(
      AsText(data, size), {"observations", "options", "enabledRules", "related"});
  if (!body.ok()) {
    FUZZ_CHECK(body.error().message.starts_with("invalid request body: "));
    return 0;
  }
  FUZZ_CHECK(body.value().is_object());
  const json options = body.value().value("options", json());
  CheckRunOptions(options, false);
  CheckRunOptions(options, true);
  FUZZ_CHECK(PrecheckFailures(options).is_object());
  (void)RulesOfStates(body.value().value("states", json()));

  static const DomainObservation observation = Observation();
  const std::vector<TlsProbeSummary> probes =
      ReadRelatedTlsProbes(body.value().value("related", json()), observation);
  for (const TlsProbeSummary& probe : probes) {
    FUZZ_CHECK(probe.mx == "mx1.example.org");
  }
  (void)TlsProbeNotes(probes);

  const Result<RuleSelection> rules = ParseEnabledRules(body.value().value("enabledRules", json()));
  if (!rules.ok()) {
    FUZZ_CHECK(rules.error().code == ErrorCode::kInvalidArgument);
    return 0;
  }
  const std::vector<Finding> findings =
      FoldTlsProbes(Evaluate(observation, CheckOptions{}, rules.value()), probes,
                    observation.domain, rules.value());
  FUZZ_CHECK(CheckStates(findings, rules.value()).is_array());
  return 0;
}
