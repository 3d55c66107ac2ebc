#include "exporter/check/evaluate.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "exporter/check/rules.h"

namespace smtp_exporter {

void FindingSink::Fail(std::string_view code, const Subject& subject, std::string message) {
  const CatalogEntry* entry = FindCatalogEntry(code);
  Add(code, entry != nullptr ? entry->severity : Severity::kError, subject, std::move(message));
}

void FindingSink::Fail(std::string_view code, Severity severity, const Subject& subject,
                       std::string message) {
  Add(code, severity, subject, std::move(message));
}

void FindingSink::Pass(std::string_view code, const Subject& subject, std::string message) {
  Add(code, Severity::kOk, subject, std::move(message));
}

void FindingSink::Add(std::string_view code, Severity severity, const Subject& subject,
                      std::string message) {
  if (std::find(codes_.begin(), codes_.end(), code) == codes_.end()) {
    throw std::logic_error("rule " + std::string(rule_) + " emitted " + std::string(code) +
                           ", which is not one of its codes");
  }
  const CatalogEntry* entry = FindCatalogEntry(code);
  Finding finding;
  finding.rule = std::string(rule_);
  finding.code = std::string(code);
  finding.severity = severity;
  finding.subject = subject;
  finding.message = std::move(message);
  if (entry != nullptr) {
    if (severity != Severity::kOk) {
      finding.fix = std::string(entry->fix);
    }
    finding.rfc = std::string(entry->rfc);
  }
  findings_.push_back(std::move(finding));
}

RuleSelection RuleSelection::Defaults() { return RuleSelection(); }

RuleSelection RuleSelection::FromEnabledMap(
    const std::map<std::string, bool, std::less<>>& enabled) {
  RuleSelection selection;
  selection.absent_enabled_ = true;
  for (const auto& [name, on] : enabled) {
    if (FindRule(name) != nullptr) {
      selection.explicit_[name] = on;
    }
  }
  return selection;
}

bool RuleSelection::Enabled(std::string_view rule) const {
  if (const auto it = explicit_.find(rule); it != explicit_.end()) {
    return it->second;
  }
  if (absent_enabled_) {
    return true;
  }
  const Rule* found = FindRule(rule);
  return found != nullptr && found->default_enabled;
}

RuleSelection RuleSelection::With(std::string_view rule, bool enabled) const {
  RuleSelection copy = *this;
  copy.explicit_[std::string(rule)] = enabled;
  return copy;
}

CheckOptions EffectiveOptions(const CheckOptions& options, const RuleSelection& rules) {
  CheckOptions effective = options;
  effective.test_null_sender = options.test_null_sender && rules.Enabled("smtp.null_sender");
  effective.test_postmaster = options.test_postmaster && rules.Enabled("smtp.postmaster");
  effective.test_open_relay = options.test_open_relay && rules.Enabled("smtp.open_relay");
  effective.test_mta_sts = options.test_mta_sts && rules.Enabled("smtp.mta_sts");
  effective.test_tls_rpt = options.test_tls_rpt && rules.Enabled("smtp.tls_rpt");
  effective.test_dane = options.test_dane && rules.Enabled("smtp.dane");
  if (!rules.Enabled("smtp.submission")) {
    effective.submission.clear();  // no submission session without the rule that judges it
  }
  return effective;
}

namespace {

bool WorseFirst(const Finding& a, const Finding& b) {
  if (a.severity != b.severity) {
    return a.severity > b.severity;
  }
  if (a.code != b.code) {
    return a.code < b.code;
  }
  if (a.subject != b.subject) {
    const std::string a_text = a.subject.Text();
    const std::string b_text = b.subject.Text();
    if (a_text != b_text) {
      return a_text < b_text;
    }
    return a.subject.port < b.subject.port;
  }
  return a.message < b.message;
}

}  // namespace

std::vector<Finding> Evaluate(const DomainObservation& obs, const CheckOptions& options,
                              const RuleSelection& rules, const PostureHistory* posture) {
  const CheckOptions effective = EffectiveOptions(options, rules);
  const DomainFacts facts = DeriveFacts(obs);
  const RuleContext context{obs, effective, facts, posture};
  std::vector<Finding> findings;
  for (const Rule& rule : Rules()) {
    if (!rules.Enabled(rule.name)) {
      continue;
    }
    FindingSink sink(rule.name, rule.codes);
    rule.evaluate(context, sink);
    std::vector<Finding> emitted = sink.Take();
    std::move(emitted.begin(), emitted.end(), std::back_inserter(findings));
  }
  SortFindings(findings);
  return findings;
}

void SortFindings(std::vector<Finding>& findings) {
  std::sort(findings.begin(), findings.end(), WorseFirst);
  findings.erase(std::unique(findings.begin(), findings.end()), findings.end());
}

Severity WorstSeverity(const std::vector<Finding>& findings) {
  Severity worst = Severity::kOk;
  for (const auto& finding : findings) {
    worst = std::max(worst, finding.severity);
  }
  return worst;
}

}  // namespace smtp_exporter
