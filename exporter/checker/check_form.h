// The checker mode's interactive page (GET /check), after the SDK's `server.Interactive`
// (checker-sdk-go `checker/server/interactive.go`): a form where a person types a domain and
// the seed's run options, and what its POST means. POST /check then runs the check and answers
// with the HTML report (html_report.h). Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "config/base/result.h"
#include "exporter/checker/checker_protocol.h"

namespace smtp_exporter {

// The form's own policy: no script, inline CSS, and the form may post to this server only.
inline constexpr std::string_view kCheckFormContentSecurityPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'";

// The form: `domain` and every run option of the option table as a text field, pre-filled with
// `values` (what was posted, escaped) or the option's default; `error` (escaped) above it when
// not empty.
// DOM contract: form#check[method=post][action="/check"] > input[name=domain],
// input[name=<option key>] ...; p.error when `error` is set.
std::string RenderCheckFormHtml(const std::map<std::string, std::string>& values,
                                std::string_view error);

// The run options of a posted form: `domain` (required, ParseDomainOption) and any run option
// of the table given as text in its usual spellings (SetCheckOption: "12s", "true"); empty
// fields keep the default. kInvalidArgument naming the field otherwise.
Result<RunOptions> RunOptionsFromForm(const std::map<std::string, std::string>& values);

}  // namespace smtp_exporter
