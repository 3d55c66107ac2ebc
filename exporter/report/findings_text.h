// Rendering of findings for people and programs: the plain-text "What to fix" / "Passed checks"
// lists of the `check` command, their JSON form, and the monitoring-plugin exit code.
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "exporter/check/findings.h"
#include "probes/dns_observation.h"

namespace smtp_exporter {

// "What to fix" (error, crit, warn, info: severity, code, subject, message, fix and RFC), then
// "Passed checks" (one line per OK finding). Findings are listed in the order given
// (Evaluate sorts them worst first). With `color`, headings and severity labels carry ANSI
// colours (terminal_text.h); without it the text has no escape sequence at all. Either way,
// control characters from the network are shown escaped (\xNN), so they cannot drive the
// terminal.
std::string RenderFindingsText(const std::vector<Finding>& findings, bool color = false);

// The two halves of RenderFindingsText, for reports that put other sections between them:
// "What to fix:" with every non-OK finding, and "Passed checks:" with one line per OK finding.
std::string RenderWhatToFixText(const std::vector<Finding>& findings, bool color = false);
std::string RenderPassedChecksText(const std::vector<Finding>& findings, bool color = false);

// "OK", "INFO", "WARN", "CRIT" or "ERROR", coloured when `color` (green, cyan, yellow, red,
// magenta).
std::string SeverityLabel(Severity severity, bool color = false);

// An array of {"rule", "code", "severity" (lowercase word), "subject", "message", "fix", "rfc"}.
// Messages may hold invalid UTF-8 from the network: serialise with DumpJson
// (probes/observation_json.h), which replaces it.
nlohmann::json FindingsToJson(const std::vector<Finding>& findings);

// The JSON document of one check: the observation (ToJson, probes/observation_json.h) with
// "status" and "findings" added. /report?format=json and `check --format json` both serve it.
nlohmann::json CheckDocument(const DomainObservation& observation,
                             const std::vector<Finding>& findings, Severity status);

// Monitoring-plugin convention: 0 for OK and INFO, 1 WARN, 2 CRIT, 3 ERROR (UNKNOWN).
int ExitCodeFor(Severity severity);

}  // namespace smtp_exporter
