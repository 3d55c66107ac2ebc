#include "exporter/check_command.h"

#include "config/check_options.h"
#include "config/duration.h"
#include "exporter/flags.h"
#include "exporter/text_report.h"
#include "probes/observation_json.h"
#include "probes/smtp_probe.h"

namespace smtp_exporter {
namespace {

// Accepts "example.org" or "example.org." made of LDH labels (RFC 1035 §2.3.1, RFC 5890
// A-labels); what we put into "RCPT TO:<postmaster@DOMAIN>" must be a plain domain.
bool IsValidDomain(const std::string& name) {
  std::string_view rest = name;
  if (!rest.empty() && rest.back() == '.') {
    rest.remove_suffix(1);
  }
  if (rest.empty() || rest.size() > 253) {
    return false;
  }
  while (true) {
    const auto dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
      if (!ok) {
        return false;
      }
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    rest.remove_prefix(dot + 1);
  }
}

// Fills options from flags; returns an error message for the first bad value.
std::string ApplyFlags(const ParsedFlags& flags, CheckOptions* options) {
  if (auto v = flags.Get("helo-name")) {
    if (!IsValidDomain(*v)) {
      return "--helo-name \"" + *v + "\" is not a host name";
    }
    options->helo_name = *v;
  }
  if (auto v = flags.Get("timeout")) {
    const auto timeout = ParseDuration(*v);
    if (!timeout || timeout->count() == 0) {
      return "--timeout \"" + *v + "\" is not a duration (e.g. 12, 12s, 500ms)";
    }
    options->timeout = *timeout;
  }
  if (auto v = flags.Get("port")) {
    int port = 0;
    try {
      std::size_t used = 0;
      port = std::stoi(*v, &used);
      if (used != v->size()) {
        port = 0;
      }
    } catch (const std::exception&) {
      port = 0;
    }
    if (port < 1 || port > 65535) {
      return "--port \"" + *v + "\" is not a port number (1-65535)";
    }
    options->port = static_cast<std::uint16_t>(port);
  }
  if (auto v = flags.Get("test-null-sender")) options->test_null_sender = *v == "true";
  if (auto v = flags.Get("test-postmaster")) options->test_postmaster = *v == "true";
  if (auto v = flags.Get("test-open-relay")) options->test_open_relay = *v == "true";
  if (auto v = flags.Get("test-probe-address")) {
    const auto at = v->rfind('@');
    if (at == std::string::npos || at == 0 || !IsValidDomain(v->substr(at + 1)) ||
        v->find_first_of("<>\r\n \t") != std::string::npos) {
      return "--test-probe-address \"" + *v + "\" is not a mail address";
    }
    options->test_probe_address = *v;
  }
  return "";
}

}  // namespace

std::string CheckUsage() {
  return R"(usage: smtp_exporter check DOMAIN --endpoint IP[:PORT] [flags]

Probes one SMTP endpoint of DOMAIN's inbound mail service and prints what it saw.

  --endpoint IP[:PORT]        the address to probe (IPv4, IPv6, [IPv6]:PORT)
  --mx-name NAME              MX host name: TLS SNI and the name the banner is compared with
  --port N                    port when --endpoint has none (default 25)
  --helo-name NAME            name announced in EHLO/HELO (default: this machine's host name)
  --timeout DURATION          whole-endpoint budget: 12, 12s, 1m (default 12s)
  --test-null-sender=BOOL     probe MAIL FROM:<> (default true)
  --test-postmaster=BOOL      probe RCPT TO:<postmaster@DOMAIN> (default true)
  --test-open-relay=BOOL      probe relaying to --test-probe-address (default true)
  --test-probe-address ADDR   open-relay recipient (default postmaster@example.com)
  --format text|json          output format (default text)

The probes stop at RCPT: DATA is never sent, so no mail is delivered.
)";
}

int RunCheckCommand(const std::vector<std::string>& args, TransportFactory& transports,
                    const Clock& clock, std::ostream& out, std::ostream& err) {
  const FlagSpec spec{
      {"endpoint", "mx-name", "port", "helo-name", "timeout", "format", "test-null-sender",
       "test-postmaster", "test-open-relay", "test-probe-address"},
      {"help"}};
  Result<ParsedFlags> parsed = ParseFlags(args, spec);
  if (!parsed.ok()) {
    err << "check: " << parsed.error().message << "\n\n" << CheckUsage();
    return kExitUnknown;
  }
  const ParsedFlags& flags = parsed.value();
  if (flags.Get("help")) {
    out << CheckUsage();
    return 0;
  }
  if (flags.positional.size() != 1) {
    err << "check: expected exactly one DOMAIN\n\n" << CheckUsage();
    return kExitUnknown;
  }
  const std::string& domain = flags.positional.front();
  if (!IsValidDomain(domain)) {
    err << "check: \"" << domain << "\" is not a valid domain name\n";
    return kExitUnknown;
  }
  // Booleans given as values ("--test-open-relay false") are validated here.
  for (const char* name : {"test-null-sender", "test-postmaster", "test-open-relay"}) {
    if (auto v = flags.Get(name); v && !ParseBool(*v)) {
      err << "check: --" << name << " takes true or false, not \"" << *v << "\"\n";
      return kExitUnknown;
    }
  }
  ParsedFlags normalised = flags;
  for (const char* name : {"test-null-sender", "test-postmaster", "test-open-relay"}) {
    if (auto v = flags.Get(name)) normalised.values[name] = *ParseBool(*v) ? "true" : "false";
  }
  CheckOptions options;
  if (const std::string problem = ApplyFlags(normalised, &options); !problem.empty()) {
    err << "check: " << problem << '\n';
    return kExitUnknown;
  }
  const std::string format = flags.Get("format").value_or("text");
  if (format != "text" && format != "json") {
    err << "check: --format must be text or json\n";
    return kExitUnknown;
  }
  const auto endpoint_flag = flags.Get("endpoint");
  if (!endpoint_flag) {
    err << "check: finding DOMAIN's MX hosts through DNS is not available in this build yet; "
           "pass --endpoint IP[:PORT]\n";
    return kExitUnknown;
  }
  Result<HostPort> endpoint = ParseHostPort(*endpoint_flag, options.port);
  if (!endpoint.ok()) {
    err << "check: --endpoint: " << endpoint.error().message << '\n';
    return kExitUnknown;
  }
  if (options.helo_name.empty()) {
    options.helo_name = DefaultHeloName();
  }
  const EndpointTarget target{domain, flags.Get("mx-name").value_or(""), endpoint.value().ip,
                              endpoint.value().port};
  const EndpointObservation observation = ProbeEndpoint(transports, clock, target, options);
  if (format == "json") {
    nlohmann::json document = {{"schema_version", kObservationSchemaVersion},
                               {"domain", observation.domain},
                               {"endpoints", nlohmann::json::array({ToJson(observation)})}};
    out << DumpJson(document) << '\n';
  } else {
    out << RenderEndpointText(observation);
  }
  // Until the rule set exists, the exit code says whether the probe could run at all.
  return observation.connect_status == ConnectStatus::kConnected ? 0 : 2;
}

}  // namespace smtp_exporter
