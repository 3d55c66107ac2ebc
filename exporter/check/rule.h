// A named rule of the check: one thing the check verifies (happyDomain checker-smtp's rule
// names, e.g. "smtp.open_relay"), the finding codes it may emit, and its evaluation. The rule
// set (rules.h) is a table of these; Evaluate (evaluate.h) runs the enabled ones over one
// observation. A rule is a pure function of its context: it reads the observation, the options
// and the derived facts (facts.h) and writes findings to a sink; it never probes.
//
// Shape borrowed from node_exporter's collector registry (name, default-enabled flag, factory)
// and from happyDomain's checker SDK, whose /definition lists rules by name and whose /evaluate
// skips the rules a request disables.
//
// Plain types; thread-compatible (a FindingSink belongs to one Evaluate call).
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/check_options.h"
#include "exporter/check/facts.h"
#include "exporter/check/findings.h"
#include "exporter/check/posture.h"
#include "probes/dns_observation.h"

namespace smtp_exporter {

// What every rule reads. `options` are the effective options: a transaction probe whose rule
// is disabled counts as not requested (see Evaluate).
struct RuleContext {
  const DomainObservation& obs;
  const CheckOptions& options;
  const DomainFacts& facts;
  // The domain's posture history with `obs` folded in (AdvancePosture), when the caller tracks
  // one (the daemon); nullptr otherwise (a one-shot check, the happyDomain mode).
  const PostureHistory* posture = nullptr;
};

// Where a rule writes its findings. It fills fix and RFC from the catalog and stamps each
// finding with the rule's name.
class FindingSink {
 public:
  // A sink for the rule `rule`, which may emit only `codes`; emitting another code is a bug in
  // the rule and throws std::logic_error (every code has a unit test, so it shows there).
  FindingSink(std::string_view rule, std::span<const std::string_view> codes)
      : rule_(rule), codes_(codes) {}

  // A failed check at the catalog's default severity.
  void Fail(std::string_view code, const Subject& subject, std::string message);
  // A failed check at an explicit severity (when the catalog's note says it varies).
  void Fail(std::string_view code, Severity severity, const Subject& subject, std::string message);
  // A passed check: an OK finding with the code of its failure, so reports list passed checks.
  void Pass(std::string_view code, const Subject& subject, std::string message);

  std::vector<Finding> Take() { return std::move(findings_); }

 private:
  void Add(std::string_view code, Severity severity, const Subject& subject, std::string message);

  std::string_view rule_;
  std::span<const std::string_view> codes_;
  std::vector<Finding> findings_;
};

struct Rule {
  std::string_view name;                    // "smtp.open_relay": happyDomain's rule name, verbatim
  std::string_view description;             // one line: what the rule verifies
  std::span<const std::string_view> codes;  // every finding code it may emit (catalog codes)
  // Enabled unless the configuration says otherwise. False only for smtp.tls_quality, which
  // needs a TLS checker's findings that the exporter modes do not have.
  bool default_enabled = true;
  void (*evaluate)(const RuleContext& context, FindingSink& sink) = nullptr;
  // Judges only what the daemon keeps between checks (RuleContext::posture): the happyDomain
  // checker mode, which has no history, leaves it out of /definition.
  bool needs_history = false;
};

// Which rules run. The default enables the rules whose default_enabled is set. An explicit map
// follows happyDomain's checker SDK (`RuleEnabled`): a rule absent from the map is enabled.
class RuleSelection {
 public:
  // Every rule at its default.
  static RuleSelection Defaults();
  // happyDomain's `enabledRules`: {name: bool}; absent names are enabled, unknown names ignored.
  static RuleSelection FromEnabledMap(const std::map<std::string, bool, std::less<>>& enabled);

  bool Enabled(std::string_view rule) const;
  // The same selection with `rule` switched on or off.
  RuleSelection With(std::string_view rule, bool enabled) const;

 private:
  std::map<std::string, bool, std::less<>> explicit_;  // set by the caller
  bool absent_enabled_ = false;  // true: absent means enabled; false: absent means default
};

}  // namespace smtp_exporter
