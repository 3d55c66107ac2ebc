#include "exporter/cmd/check_command.h"

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "config/check_option_table.h"
#include "config/check_options.h"
#include "config/domain_name.h"
#include "config/duration.h"
#include "exporter/check/check.h"
#include "exporter/cmd/flags.h"
#include "exporter/report/findings_text.h"
#include "exporter/report/html_report.h"
#include "exporter/report/terminal_text.h"
#include "exporter/report/text_report.h"
#include "exporter/version.h"
#include "probes/domain_check.h"
#include "probes/observation_json.h"

namespace smtp_exporter {
namespace {

// Fills options from the option table's flags; fails on the first bad value.
Status ApplyFlags(const ParsedFlags& flags, CheckOptions* options) {
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    if (auto v = flags.Get(std::string(spec.flag))) {
      if (Status set = SetCheckOption(spec, *v, *options); !set.ok()) {
        return Error::InvalidArgument("--" + std::string(spec.flag) + " " + set.message());
      }
    }
  }
  return Status::Ok();
}

}  // namespace

std::string CheckUsage() {
  std::string usage = R"(usage: smtp_exporter check DOMAIN [flags]

Checks DOMAIN's inbound mail service now: DNS posture of its MX set, then every address of
every MX on port 25. Prints what to fix first, then each endpoint, then the passed checks.

Check options (the YAML config keys and /probe parameters of the same names, docs/options.md):
)";
  for (const CheckOptionSpec& option : CheckOptionSpecs()) {
    std::string flag = "  --" + std::string(option.flag);
    flag.resize(std::max<std::size_t>(flag.size() + 1, 30), ' ');
    usage += flag + "default " + std::string(option.default_text) + "\n";
  }
  usage += R"(
Other flags:
  --dns-servers IP[:PORT],... resolvers to ask (default: /etc/resolv.conf's)
  --dns-timeout DURATION      per-try DNS timeout (default 2s)
  --dns-tries N               tries per DNS server before a query fails (default 2)
  --endpoint-concurrency N    endpoints probed at once (default 4)
  --endpoint IP[:PORT]        probe only this address instead of the MX set (PTR still checked)
  --mx-name NAME              with --endpoint: the MX host name (TLS SNI, banner comparison)
  --format text|json|html     output format (default text)
  --color auto|always|never   colour the text output (default auto: only when stdout is a
                              terminal and NO_COLOR is unset)
  --progress auto|always|never
                              one line on stderr per endpoint as it finishes (default auto:
                              only when stderr is a terminal)

The probes stop at RCPT: DATA is never sent, so no mail is delivered.
Exit code: 0 OK or INFO, 1 WARN, 2 CRIT, 3 ERROR or usage error (monitoring-plugin convention).
Run from Nagios or Icinga (no terminal), stdout carries only the result and stderr stays empty.
)";
  return usage;
}

int RunCheckCommand(const std::vector<std::string>& args, const CheckDependencies& deps,
                    std::ostream& out, std::ostream& err) {
  FlagSpec spec{{"endpoint", "mx-name", "format", "dns-servers", "dns-timeout", "dns-tries",
                 "endpoint-concurrency", "color", "progress"},
                {"help"}};
  for (const CheckOptionSpec& option : CheckOptionSpecs()) {
    spec.with_value.emplace(option.flag);
  }
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
  if (Status valid = ValidateHostName(domain); !valid.ok()) {
    err << "check: " << Quote(domain) << " is not a valid domain name: " << valid.message() << '\n';
    return kExitUnknown;
  }
  CheckOptions options;
  if (Status applied = ApplyFlags(flags, &options); !applied.ok()) {
    err << "check: " << applied.message() << '\n';
    return kExitUnknown;
  }
  const std::string format = flags.Get("format").value_or("text");
  if (format != "text" && format != "json" && format != "html") {
    err << "check: --format must be text, json or html\n";
    return kExitUnknown;
  }
  const std::optional<ColorMode> color_mode = ParseColorMode(flags.Get("color").value_or("auto"));
  if (!color_mode) {
    err << "check: --color must be auto, always or never\n";
    return kExitUnknown;
  }
  const std::optional<ColorMode> progress_mode =
      ParseColorMode(flags.Get("progress").value_or("auto"));
  if (!progress_mode) {
    err << "check: --progress must be auto, always or never\n";
    return kExitUnknown;
  }
  DomainCheckSettings settings;
  if (auto v = flags.Get("endpoint-concurrency")) {
    const int n = std::atoi(v->c_str());
    if (n < 1 || n > 64 || std::to_string(n) != *v) {
      err << "check: --endpoint-concurrency must be 1-64\n";
      return kExitUnknown;
    }
    settings.endpoint_concurrency = static_cast<std::size_t>(n);
  }
  if (const auto endpoint_flag = flags.Get("endpoint")) {
    Result<HostPort> endpoint = ParseHostPort(*endpoint_flag, options.port);
    if (!endpoint.ok()) {
      err << "check: --endpoint: " << endpoint.error().message << '\n';
      return kExitUnknown;
    }
    settings.only_endpoint = endpoint.value();
    settings.only_endpoint_mx_name = flags.Get("mx-name").value_or("");
  } else if (flags.Get("mx-name")) {
    err << "check: --mx-name goes with --endpoint\n";
    return kExitUnknown;
  }
  ResolverOptions resolver_options;
  if (auto v = flags.Get("dns-servers")) {
    Result<std::vector<HostPort>> servers = ParseHostPortList(*v, kDnsPort);
    if (!servers.ok()) {
      err << "check: --dns-servers: " << servers.error().message << '\n';
      return kExitUnknown;
    }
    resolver_options.servers = std::move(servers).value();
  }
  if (auto v = flags.Get("dns-timeout")) {
    const auto timeout = ParseDuration(*v);
    if (!timeout || timeout->count() == 0) {
      err << "check: --dns-timeout \"" << *v << "\" is not a duration\n";
      return kExitUnknown;
    }
    resolver_options.query_timeout = *timeout;
  }
  if (auto v = flags.Get("dns-tries")) {
    const int tries = std::atoi(v->c_str());
    if (tries < 1 || tries > 10 || std::to_string(tries) != *v) {
      err << "check: --dns-tries must be 1-10\n";
      return kExitUnknown;
    }
    resolver_options.tries = tries;
  }
  Result<std::unique_ptr<Resolver>> resolver = deps.make_resolver(resolver_options);
  if (!resolver.ok()) {
    err << "check: " << resolver.error().message << '\n';
    return kExitUnknown;
  }
  if (options.helo_name.empty()) {
    options.helo_name = DefaultHeloName();
  }
  // Progress goes to stderr, so stdout carries only the result. By default only a person at a
  // terminal sees it: a monitoring system runs the command without one, and Icinga 2 would
  // append stderr to the plugin output. NO_COLOR has no say here, it is about colour only.
  const bool progress = *progress_mode == ColorMode::kAlways ||
                        (*progress_mode == ColorMode::kAuto && deps.terminal.stderr_is_terminal);
  std::mutex progress_mutex;  // on_endpoint_done runs on several worker threads at once
  if (progress) {
    settings.on_endpoint_done = [&err, &progress_mutex](const EndpointObservation& e) {
      std::string line =
          "probed " + (e.mx_name.empty() ? "" : e.mx_name + " ") + "[" + e.ip.ToString() + "]" +
          (e.service == EndpointService::kMx ? "" : " port " + std::to_string(e.port)) + ": " +
          std::string(ConnectStatusName(e.connect_status));
      if (e.greeting) {
        line += ", greeting " + std::to_string(e.greeting->code);
      }
      if (!e.session_error.empty()) {
        line += ", ended early";
      }
      if (!e.phases.empty()) {
        char took[32];
        std::snprintf(took, sizeof(took), " (%.3f s)", e.phases.back().seconds);
        line += took;
      }
      const std::lock_guard<std::mutex> lock(progress_mutex);
      err << EscapeForTerminal(line) << '\n' << std::flush;
    };
  }
  CheckRequest request;
  request.domain = domain;
  request.options = options;
  request.settings = settings;
  const CheckResult result =
      Check(request, CheckDeps{*resolver.value(), deps.transports, deps.clock});
  const DomainObservation& observation = result.observation;
  const std::vector<Finding>& findings = result.findings;
  const Severity status = result.status;
  if (format == "json") {
    out << DumpJson(CheckDocument(observation, findings, status)) << '\n';
  } else if (format == "html") {
    // A standalone page (no links to a daemon), e.g. to attach to a ticket.
    HtmlPageContext context;
    context.generator = std::string("smtp_exporter ") + kVersion + " check";
    out << RenderReportHtml(observation, findings, status, context);
  } else {
    const bool color = ShouldColor(*color_mode, deps.terminal.stdout_is_terminal,
                                   deps.terminal.no_color, deps.terminal.term);
    out << RenderDomainText(observation, findings, status, color);
  }
  return ExitCodeFor(status);
}

}  // namespace smtp_exporter
