#include "exporter/report/findings_text.h"

#include <sstream>

#include "exporter/report/terminal_text.h"
#include "probes/observation_json.h"

namespace smtp_exporter {
namespace {

Color SeverityColor(Severity severity) {
  switch (severity) {
    case Severity::kOk:
      return Color::kGreen;
    case Severity::kInfo:
      return Color::kCyan;
    case Severity::kWarn:
      return Color::kYellow;
    case Severity::kCrit:
      return Color::kRed;
    case Severity::kError:
      return Color::kMagenta;
  }
  return Color::kMagenta;
}

}  // namespace

std::string SeverityLabel(Severity severity, bool color) {
  return Paint(std::string(SeverityLabelName(severity)), SeverityColor(severity), color);
}

std::string RenderWhatToFixText(const std::vector<Finding>& findings, bool color) {
  std::ostringstream out;
  out << Paint("What to fix:", Color::kBold, color) << '\n';
  bool any_problem = false;
  for (const auto& f : findings) {
    if (f.severity == Severity::kOk) {
      continue;
    }
    any_problem = true;
    out << "  " << SeverityLabel(f.severity, color) << "  " << EscapeForTerminal(f.code) << "  "
        << EscapeForTerminal(f.subject.Text()) << '\n'
        << "      " << EscapeForTerminal(f.message) << '\n';
    if (!f.fix.empty()) {
      out << "      fix: " << EscapeForTerminal(f.fix) << '\n';
    }
    if (!f.rfc.empty()) {
      out << "      rfc: " << EscapeForTerminal(f.rfc) << '\n';
    }
  }
  if (!any_problem) {
    out << "  nothing: every check that ran passed\n";
  }
  return out.str();
}

std::string RenderPassedChecksText(const std::vector<Finding>& findings, bool color) {
  std::ostringstream out;
  out << Paint("Passed checks:", Color::kBold, color) << '\n';
  bool any_ok = false;
  for (const auto& f : findings) {
    if (f.severity != Severity::kOk) {
      continue;
    }
    any_ok = true;
    out << "  " << SeverityLabel(Severity::kOk, color) << "  " << EscapeForTerminal(f.code) << "  "
        << EscapeForTerminal(f.subject.Text()) << ": " << EscapeForTerminal(f.message) << '\n';
  }
  if (!any_ok) {
    out << "  none\n";
  }
  return out.str();
}

std::string RenderFindingsText(const std::vector<Finding>& findings, bool color) {
  return RenderWhatToFixText(findings, color) + "\n" + RenderPassedChecksText(findings, color);
}

nlohmann::json FindingsToJson(const std::vector<Finding>& findings) {
  nlohmann::json array = nlohmann::json::array();
  for (const auto& f : findings) {
    array.push_back({{"rule", f.rule},
                     {"code", f.code},
                     {"severity", std::string(SeverityName(f.severity))},
                     {"subject", f.subject.Text()},
                     {"mx", f.subject.mx},
                     {"ip", f.subject.ip ? f.subject.ip->ToString() : std::string()},
                     {"port", f.subject.port},
                     {"message", f.message},
                     {"fix", f.fix},
                     {"rfc", f.rfc}});
  }
  return array;
}

nlohmann::json CheckDocument(const DomainObservation& observation,
                             const std::vector<Finding>& findings, Severity status) {
  nlohmann::json document = ToJson(observation);
  document["status"] = SeverityName(status);
  document["findings"] = FindingsToJson(findings);
  return document;
}

int ExitCodeFor(Severity severity) {
  switch (severity) {
    case Severity::kOk:
    case Severity::kInfo:
      return 0;
    case Severity::kWarn:
      return 1;
    case Severity::kCrit:
      return 2;
    case Severity::kError:
      return 3;
  }
  return 3;
}

}  // namespace smtp_exporter
