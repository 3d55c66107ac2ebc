// Fuzz target: the posture history reader (PostureHistoryFromJson, exporter/check/posture.h),
// which reads the daemon's drift history back from its state on disk (--storage.path), and what
// a read-back history then goes through: the next check folded in (AdvancePosture), the
// smtp.posture_drift rule and the report's "Changes" section.
//
// Input: a JSON document (the seeds are histories written by PostureHistoryToJson).
// Invariants: no exception escapes; an accepted history keeps the bounds (at most
// kMaxPostureChanges changes, values of at most 2048 bytes) and, written again, reads back the
// same; folding in a check keeps the bounds; the HTML report holds no <script> and no raw NUL.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "exporter/check/evaluate.h"
#include "exporter/check/posture.h"
#include "exporter/report/html_report.h"
#include "tests/fuzz/fuzz_check.h"

namespace smtp_exporter::fuzz {
namespace {

constexpr std::size_t kMaxValueBytes = 2048;

bool WithinBounds(const PostureHistory& history) {
  if (history.changes.size() > kMaxPostureChanges) {
    return false;
  }
  for (const auto& f : history.facts) {
    if (f.value.size() > kMaxValueBytes || f.mx.size() > kMaxValueBytes) return false;
  }
  for (const auto& c : history.changes) {
    if (c.before.size() > kMaxValueBytes || c.after.size() > kMaxValueBytes) return false;
  }
  return true;
}

// A domain whose one endpoint answered EHLO with STARTTLS: its facts meet the fuzzed ones.
DomainObservation OneEndpoint() {
  DomainObservation obs;
  obs.domain = obs.dns.domain = "example.org";
  obs.started_at_unix = 1800000000;
  obs.dns.mx = {DnsStatus::kOk, ""};
  MxTarget target;
  target.preference = 10;
  target.host = "mx1.example.org";
  target.addresses = {*IpAddress::Parse("192.0.2.1")};
  obs.dns.mx_targets = {target};
  PlannedEndpoint planned;
  planned.mx_name = "mx1.example.org";
  planned.ip = target.addresses[0];
  obs.plan.endpoints = {planned};
  EndpointObservation e;
  e.domain = "example.org";
  e.mx_name = "mx1.example.org";
  e.ip = target.addresses[0];
  e.connect_status = ConnectStatus::kConnected;
  e.greeting = Reply{220, {"220 mx1.example.org ESMTP"}};
  e.announced_hostname = "mx1.example.org";
  e.ehlo = Reply{250, {"250-mx1.example.org", "250 STARTTLS"}};
  e.esmtp = true;
  e.extensions_plain = ExtensionSet::FromEhloReply(*e.ehlo);
  e.starttls.offered = true;
  obs.endpoints = {e};
  return obs;
}

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  const nlohmann::json doc = nlohmann::json::parse(AsText(data, size), nullptr, false);
  if (doc.is_discarded()) {
    return 0;
  }
  const Result<PostureHistory> read = PostureHistoryFromJson(doc);
  if (!read.ok()) {
    FUZZ_CHECK(!read.error().message.empty());
    return 0;
  }
  const PostureHistory& history = read.value();
  FUZZ_CHECK(WithinBounds(history));
  const Result<PostureHistory> again = PostureHistoryFromJson(PostureHistoryToJson(history));
  FUZZ_CHECK(again.ok() && again.value() == history);

  static const DomainObservation obs = OneEndpoint();
  const PostureHistory next = AdvancePosture(&history, obs);
  FUZZ_CHECK(WithinBounds(next));
  const std::vector<Finding> findings =
      Evaluate(obs, CheckOptions{}, RuleSelection::Defaults(), &next);
  HtmlPageContext context;
  context.now_unix = obs.started_at_unix;
  context.posture = &next;
  const std::string html = RenderReportHtml(obs, findings, WorstSeverity(findings), context);
  FUZZ_CHECK(html.find("<script") == std::string::npos);
  FUZZ_CHECK(html.find('\0') == std::string::npos);
  return 0;
}
