// The rule set: the 18 named rules (happyDomain checker-smtp's 16, plus smtp.mta_sts and
// smtp.tls_rpt), in documentation order, each with the finding codes it may emit. Every catalog code (findings.h) belongs to exactly one
// rule. docs/findings.md is rendered from this table and the catalog.
// Immutable after first use; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "exporter/check/rule.h"

namespace smtp_exporter {

// Every rule, in documentation order (DNS, endpoint, TLS, transactions, coverage).
const std::vector<Rule>& Rules();

// The rule named `name`, or nullptr.
const Rule* FindRule(std::string_view name);

// The rule that owns finding code `code`, or nullptr.
const Rule* RuleForCode(std::string_view code);

// docs/findings.md: every rule with its codes, each code with severity, meaning, fix and RFC.
std::string RenderCatalogMarkdown();

}  // namespace smtp_exporter
