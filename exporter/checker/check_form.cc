#include "exporter/checker/check_form.h"

#include <sstream>

#include "config/check_option_table.h"
#include "config/check_options.h"
#include "exporter/report/html.h"

namespace smtp_exporter {
namespace {

std::string ValueOr(const std::map<std::string, std::string>& values, const std::string& key,
                    std::string_view fallback) {
  const auto it = values.find(key);
  return it != values.end() ? it->second : std::string(fallback);
}

}  // namespace

std::string RenderCheckFormHtml(const std::map<std::string, std::string>& values,
                                std::string_view error) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<title>Check a domain's inbound mail (MX)</title>\n<style>\n"
         "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
         "label{display:block;margin:.6rem 0 .2rem;font-weight:600}"
         "input{width:100%;padding:.4rem;box-sizing:border-box}"
         "small{color:#555}.error{color:#b00020;font-weight:600}"
         "button{margin-top:1rem;padding:.5rem 1.2rem}"
         "@media (prefers-color-scheme:dark){body{background:#111;color:#eee}small{color:#aaa}}"
         "\n</style>\n</head>\n<body>\n<main>\n<h1>Check a domain's inbound mail</h1>\n"
         "<p>Probes every MX host of the domain on port 25: greeting, EHLO, STARTTLS, "
         "null sender, postmaster and open-relay probes (stopping at RCPT), reverse DNS.</p>\n";
  if (!error.empty()) {
    out << "<p class=\"error\">" << EscapeHtml(error) << "</p>\n";
  }
  out << "<form id=\"check\" method=\"post\" action=\"/check\">\n"
         "<label for=\"domain\">Domain</label>\n<input id=\"domain\" name=\"domain\" "
         "required placeholder=\"example.com\" value=\""
      << EscapeHtml(ValueOr(values, "domain", "")) << "\">\n";
  const CheckOptions defaults;
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    if (!spec.seed_option) {
      continue;
    }
    const std::string key(spec.key);
    const std::string fallback =
        spec.key == "helo_name" ? DefaultHeloName() : std::string(spec.default_text);
    out << "<label for=\"" << EscapeHtml(key) << "\">" << EscapeHtml(spec.label) << "</label>\n"
        << "<input id=\"" << EscapeHtml(key) << "\" name=\"" << EscapeHtml(key) << "\" value=\""
        << EscapeHtml(ValueOr(values, key, fallback)) << "\">\n<small>" << EscapeHtml(spec.doc)
        << "</small>\n";
  }
  out << "<button type=\"submit\">Check</button>\n</form>\n</main>\n</body>\n</html>\n";
  return out.str();
}

Result<RunOptions> RunOptionsFromForm(const std::map<std::string, std::string>& values) {
  RunOptions run;
  const auto domain = values.find("domain");
  if (domain == values.end() || domain->second.empty()) {
    return Error{ErrorCode::kInvalidArgument, "option domain is required"};
  }
  Result<std::string> name = ParseDomainOption(domain->second);
  if (!name.ok()) {
    return name.error();
  }
  run.domain = name.value();
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    const auto it = values.find(std::string(spec.key));
    if (!spec.seed_option || it == values.end() || it->second.empty()) {
      continue;
    }
    if (Status set = SetCheckOption(spec, it->second, run.options); !set.ok()) {
      return Error::InvalidArgument("option " + std::string(spec.key) + " " + set.message());
    }
  }
  if (run.options.helo_name.empty()) {
    run.options.helo_name = DefaultHeloName();
  }
  return run;
}

}  // namespace smtp_exporter
