// Fuzz target: the observation JSON reader (DomainObservationFromJson, probes/observation_json.h),
// which reads observations back from the happyDomain host's /evaluate and /report requests and
// from state on disk, and the renderers every read-back observation then goes through (the
// rules, the terminal text and the HTML report).
//
// Input: a JSON document (most inputs are rejected by the reader; the seeds are real
// observations written by ToJson).
// Invariants: no exception escapes the reader; a refused document says which field; an
// accepted one, written again (ToJson, DumpJson), reads back, and what that second reading
// writes is the same JSON (round trip: nothing is lost or changed after the first reading);
// the terminal report is well-formed UTF-8 with no control byte but newline, and in colour no
// escape sequence but our own SGR ones; the HTML report holds no <script> and no raw ESC or NUL.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/domain_name.h"
#include "exporter/check/evaluate.h"
#include "exporter/report/html_report.h"
#include "exporter/report/text_report.h"
#include "probes/observation_json.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/terminal_safe.h"

namespace smtp_exporter::fuzz {
namespace {

// `text` without our own SGR sequences (ESC "[" digits and ";" "m", what Paint writes), or
// nullopt when an ESC starts anything else.
std::optional<std::string> WithoutSgr(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '\x1b') {
      out += text[i++];
      continue;
    }
    std::size_t end = i + 1;
    if (end >= text.size() || text[end] != '[') return std::nullopt;
    ++end;
    while (end < text.size() && ((text[end] >= '0' && text[end] <= '9') || text[end] == ';')) ++end;
    if (end >= text.size() || text[end] != 'm') return std::nullopt;
    i = end + 1;
  }
  return out;
}

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  const nlohmann::json input =
      nlohmann::json::parse(data, data + size, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (input.is_discarded()) {
    return 0;
  }
  const Result<DomainObservation> read = DomainObservationFromJson(input);
  if (!read.ok()) {
    FUZZ_CHECK(read.error().code == ErrorCode::kInvalidArgument);
    FUZZ_CHECK(!read.error().message.empty());
    return 0;
  }
  const DomainObservation& observation = read.value();

  // Round trip: written and read again, then written: the same document.
  const std::string written = DumpJson(ToJson(observation));
  const nlohmann::json reparsed = nlohmann::json::parse(written, nullptr, false);
  FUZZ_CHECK(!reparsed.is_discarded());
  const Result<DomainObservation> again = DomainObservationFromJson(reparsed);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(ToJson(again.value()) == reparsed);

  // What a read-back observation is used for: judged, then rendered.
  const std::vector<Finding> findings = Evaluate(observation, CheckOptions{});
  const Severity status = WorstSeverity(findings);
  FUZZ_CHECK(TerminalSafe(RenderDomainText(observation, findings, status, /*color=*/false)));
  // In colour, the only escape sequences are our own SGR ones.
  const std::optional<std::string> uncoloured =
      WithoutSgr(RenderDomainText(observation, findings, status, /*color=*/true));
  FUZZ_CHECK(uncoloured.has_value());
  FUZZ_CHECK(TerminalSafe(*uncoloured));
  // The report page has no script of its own, so none can come from the observation; nor can
  // a raw control byte.
  const std::string html = RenderReportHtml(observation, findings, status, HtmlPageContext{});
  FUZZ_CHECK(!html.empty());
  FUZZ_CHECK(LowerAscii(html).find("<script") == std::string::npos);
  FUZZ_CHECK(html.find('\x1b') == std::string::npos);
  FUZZ_CHECK(html.find('\0') == std::string::npos);
  return 0;
}
