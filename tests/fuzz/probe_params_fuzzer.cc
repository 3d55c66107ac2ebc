// Fuzz target: HTTP query parameters, as cpp-httplib splits and decodes a query string:
// - /probe's check options, each through the shared per-check option parser (SetCheckOption,
//   the option table in config/check_option_table.h) as the daemon applies them;
// - the overview's filter (ParseOverviewFilter: status, code, q; exporter/report/overview.h);
// - the checker mode's /check form (RunOptionsFromForm, exporter/checker/check_form.h) and the
//   form page rendered back with the posted values.
//
// Input: a query string ("domain=example.org&timeout=5s&helo_name=probe.example.net").
// Invariants: a refused value leaves the options untouched and says why in one line; an
// accepted value is written back (OptionText) and read again to the same options, so what we
// store is something we accept; host names come out normalised and valid; mail addresses pass
// the probe-address check. An accepted overview filter is lower case and bounded, and the link
// OverviewHref makes of it, split and parsed again, gives the same filter. Form options hold a
// valid normalised domain; the form page echoing any posted value holds no <script>.
#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "config/check_option_table.h"
#include "config/domain_name.h"
#include "exporter/checker/check_form.h"
#include "exporter/report/overview.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/option_text.h"

namespace smtp_exporter::fuzz {
namespace {

// The first value of `key`, as httplib's Request::get_param_value gives it; "" when absent.
std::string Param(const httplib::Params& params, const std::string& key) {
  const auto it = params.find(key);
  return it == params.end() ? std::string() : it->second;
}

void CheckOverviewFilter(const httplib::Params& params) {
  const Result<OverviewFilter> filter =
      ParseOverviewFilter(Param(params, "status"), Param(params, "code"), Param(params, "q"));
  if (!filter.ok()) {
    FUZZ_CHECK(filter.error().code == ErrorCode::kInvalidArgument);
    return;
  }
  const OverviewFilter& f = filter.value();
  FUZZ_CHECK(f.status == LowerAscii(f.status) && f.code == LowerAscii(f.code) &&
             f.query == LowerAscii(f.query));
  FUZZ_CHECK(f.code.size() <= kMaxOverviewCodeLength);
  FUZZ_CHECK(f.query.size() <= kMaxOverviewQueryLength);
  // The filter's own link leads back to it.
  const std::string href = OverviewHref("/", f);
  FUZZ_CHECK(href.starts_with("/"));
  httplib::Params again_params;
  if (const std::size_t question = href.find('?'); question != std::string::npos) {
    httplib::detail::parse_query_text(href.substr(question + 1), again_params);
  }
  const Result<OverviewFilter> again = ParseOverviewFilter(
      Param(again_params, "status"), Param(again_params, "code"), Param(again_params, "q"));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value().status == f.status && again.value().code == f.code &&
             again.value().query == f.query);
}

void CheckForm(const httplib::Params& params) {
  std::map<std::string, std::string> values;
  for (const auto& [key, value] : params) {
    values.emplace(key, value);  // the first of each name, as the form handler takes them
  }
  const Result<RunOptions> run = RunOptionsFromForm(values);
  std::string error;
  if (run.ok()) {
    FUZZ_CHECK(ValidateHostName(run.value().domain).ok());
    FUZZ_CHECK(run.value().domain == NormaliseHostName(run.value().domain));
    for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
      if (IsUnspellableDefault(spec, run.value().options)) {
        continue;
      }
      CheckOptions again;
      FUZZ_CHECK(SetCheckOption(spec, OptionText(spec, run.value().options), again).ok());
      FUZZ_CHECK(OptionText(spec, again) == OptionText(spec, run.value().options));
    }
  } else {
    FUZZ_CHECK(run.error().code == ErrorCode::kInvalidArgument);
    error = run.error().message;
  }
  std::string page = RenderCheckFormHtml(values, error);
  for (char& c : page) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  FUZZ_CHECK(page.find("<script") == std::string::npos);
}

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  const std::string query(AsText(data, size));
  httplib::Params params;
  httplib::detail::parse_query_text(query, params);

  CheckOptions options;
  options.helo_name = "probe.example.net";
  for (const auto& [key, value] : params) {
    const CheckOptionSpec* spec = FindCheckOption(key);
    if (spec == nullptr) {
      continue;
    }
    const CheckOptions before = options;
    const Status set = SetCheckOption(*spec, value, options);
    if (!set.ok()) {
      FUZZ_CHECK(options == before);
      FUZZ_CHECK(set.error().code == ErrorCode::kInvalidArgument);
      FUZZ_CHECK(!set.error().message.empty());
      FUZZ_CHECK(set.error().message.find('\n') == std::string::npos);
      continue;
    }
    const std::string text = OptionText(*spec, options);
    CheckOptions again = before;
    FUZZ_CHECK(SetCheckOption(*spec, text, again).ok());
    FUZZ_CHECK(again == options);
    switch (spec->type) {
      case CheckOptionType::kHostName:
        FUZZ_CHECK(ValidateHostName(text).ok());
        FUZZ_CHECK(text == NormaliseHostName(text));
        break;
      case CheckOptionType::kMailAddress:
        FUZZ_CHECK(ValidateProbeAddress(text).ok());
        break;
      case CheckOptionType::kBool:
        FUZZ_CHECK(ParseBoolText(value).has_value());
        break;
      case CheckOptionType::kDuration:
      case CheckOptionType::kPort:
      case CheckOptionType::kFilePath:
      case CheckOptionType::kSubmissionPorts:
        break;
    }
  }
  CheckOverviewFilter(params);
  CheckForm(params);
  return 0;
}
