#include "exporter/checker/checker_protocol.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "config/check_option_table.h"
#include "config/domain_name.h"
#include "exporter/check/evaluate.h"
#include "exporter/check/rules.h"
#include "exporter/report/metrics.h"
#include "exporter/report/unix_time.h"

namespace smtp_exporter {
const std::vector<Rule>& CheckerRules() {
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> offered;
    for (const Rule& rule : Rules()) {
      // smtp.dane judges only what the option test_dane collects, which is not one of the
      // seed's run options: it trusts the AD bit of the resolver, which only an operator who
      // runs a validating resolver can vouch for (RFC 6698 §4.1). Offered, it could only ever
      // "return no state".
      // smtp.submission likewise judges only what the option `submission` collects, which
      // happyDomain cannot set.
      if (!rule.needs_history && rule.name != "smtp.dane" && rule.name != "smtp.submission") {
        offered.push_back(rule);
      }
    }
    return offered;
  }();
  return rules;
}

namespace {

using nlohmann::json;

// The interval happyDomain may schedule us at (§4 GET /definition, Go time.Duration: integer
// nanoseconds): 5 min to 7 days, daily by default. Probing an MX host more often than every
// five minutes only adds load on someone else's server.
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
constexpr std::int64_t kMinIntervalSeconds = 5 * 60;
constexpr std::int64_t kMaxIntervalSeconds = 7 * 24 * 3600;
constexpr std::int64_t kDefaultIntervalSeconds = 24 * 3600;

// The seed's `domain` run option: not a check option, the checked domain itself.
constexpr std::string_view kDomainOption = "domain";

const char* OptionFieldType(CheckOptionType type) {
  switch (type) {
    case CheckOptionType::kDuration:
      return "number";  // seconds, as the seed's `timeout`
    case CheckOptionType::kBool:
      return "bool";
    case CheckOptionType::kPort:
      return "uint";
    case CheckOptionType::kSubmissionPorts:  // "587,465", as the option table spells it
    case CheckOptionType::kHostName:
    case CheckOptionType::kMailAddress:
    case CheckOptionType::kFilePath:
      return "string";
  }
  return "string";
}

// The default of `spec` as a JSON value, read from a default CheckOptions so the definition
// cannot drift from the check; nullopt when the default is not a constant (helo_name: this
// machine's host name).
std::optional<json> OptionDefault(const CheckOptionSpec& spec) {
  const CheckOptions defaults;
  if (spec.key == "timeout") {  // whole seconds as a JSON integer, as Go prints 12.0
    const auto milliseconds = defaults.timeout.count();
    return milliseconds % 1000 == 0 ? json(milliseconds / 1000)
                                    : json(std::chrono::duration<double>(defaults.timeout).count());
  }
  if (spec.key == "test_null_sender") {
    return defaults.test_null_sender;
  }
  if (spec.key == "test_postmaster") {
    return defaults.test_postmaster;
  }
  if (spec.key == "test_open_relay") {
    return defaults.test_open_relay;
  }
  if (spec.key == "test_probe_address") {
    return defaults.test_probe_address;
  }
  if (spec.key == "port") {
    return defaults.port;
  }
  return std::nullopt;
}

// The text SetCheckOption parses for a JSON value of the option's type, or nullopt when the
// JSON type does not fit (the value is then ignored, as the SDK's option getters do).
std::optional<std::string> OptionText(const CheckOptionSpec& spec, const json& value) {
  switch (spec.type) {
    case CheckOptionType::kDuration: {
      if (!value.is_number()) {
        return std::nullopt;
      }
      const double seconds = value.get<double>();
      if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e6) {
        return std::to_string(static_cast<long long>(std::clamp(seconds, -1.0, 1e6))) + "s";
      }
      return std::to_string(std::llround(seconds * 1000)) + "ms";
    }
    case CheckOptionType::kBool:
      if (!value.is_boolean()) {
        return std::nullopt;
      }
      return value.get<bool>() ? "true" : "false";
    case CheckOptionType::kPort:
      if (!value.is_number()) {
        return std::nullopt;
      }
      return std::to_string(static_cast<long long>(std::clamp(value.get<double>(), -1.0, 1e6)));
    // Not a run option (IsRunOption): never read from a request; the table's text form if it were.
    case CheckOptionType::kSubmissionPorts:
    case CheckOptionType::kHostName:
    case CheckOptionType::kMailAddress:
    case CheckOptionType::kFilePath:
      if (!value.is_string()) {
        return std::nullopt;
      }
      return value.get<std::string>();
  }
  return std::nullopt;
}

// The seed's run options: the table's seed options (port is ours, not the seed's, and stays
// out of what happyDomain can set).
bool IsRunOption(const CheckOptionSpec& spec) { return spec.seed_option; }

std::string MetricUnit(const std::string& name) {
  if (name.ends_with("_seconds")) {
    return "seconds";
  }
  if (name.ends_with("_bytes")) {
    return "bytes";
  }
  return "";
}

double SampleValue(const prometheus::MetricFamily& family, const prometheus::ClientMetric& m) {
  switch (family.type) {
    case prometheus::MetricType::Counter:
      return m.counter.value;
    case prometheus::MetricType::Gauge:
      return m.gauge.value;
    case prometheus::MetricType::Untyped:
      return m.untyped.value;
    default:
      return m.gauge.value;
  }
}

// Lower-case host name without trailing dots from a JSON string, or "".
std::string HostOf(const json& value) {
  return value.is_string() ? NormaliseHostName(value.get<std::string>()) : std::string();
}

std::optional<bool> BoolOf(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_boolean()) {
    return std::nullopt;
  }
  return it->get<bool>();
}

std::string StringOf(const json& object, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    const auto it = object.find(key);
    if (it != object.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  return "";
}

Severity IssueSeverity(const json& issue) {
  if (!issue.is_object()) {
    return Severity::kWarn;
  }
  const auto it =
      issue.find("severity") != issue.end() ? issue.find("severity") : issue.find("level");
  if (it == issue.end()) {
    return Severity::kWarn;
  }
  if (it->is_number_integer()) {  // happyDomain's status integers (§5)
    switch (it->get<int>()) {
      case 2:
        return Severity::kInfo;
      case 4:
        return Severity::kCrit;
      default:
        return Severity::kWarn;
    }
  }
  const std::string word = LowerAscii(it->is_string() ? it->get<std::string>() : "");
  if (word == "info" || word == "notice") {
    return Severity::kInfo;
  }
  if (word == "crit" || word == "critical" || word == "error" || word == "fatal") {
    return Severity::kCrit;
  }
  return Severity::kWarn;
}

// Bounded, so a hostile or broken related item cannot flood the report.
constexpr std::size_t kMaxIssuesPerProbe = 32;
constexpr std::size_t kMaxRelatedItems = 256;
constexpr std::size_t kMaxFieldLength = 512;

std::string Bounded(std::string text) {
  if (text.size() > kMaxFieldLength) {
    text.resize(kMaxFieldLength);
    text += "…";
  }
  return text;
}

TlsProbeSummary SummariseProbe(const json& probe) {
  TlsProbeSummary summary;
  summary.tls_version = Bounded(StringOf(probe, {"tls_version", "version"}));
  summary.cipher_suite = Bounded(StringOf(probe, {"cipher_suite", "cipher"}));
  summary.chain_valid = BoolOf(probe, "chain_valid");
  summary.hostname_match = BoolOf(probe, "hostname_match");
  summary.not_after = Bounded(StringOf(probe, {"not_after"}));
  summary.issuer = Bounded(StringOf(probe, {"issuer"}));
  const auto issues = probe.find("issues");
  if (issues != probe.end() && issues->is_array()) {
    for (const json& issue : *issues) {
      if (summary.issues.size() == kMaxIssuesPerProbe) {
        break;
      }
      TlsProbeIssue read;
      if (issue.is_string()) {
        read.message = Bounded(issue.get<std::string>());
      } else if (issue.is_object()) {
        read.severity = IssueSeverity(issue);
        read.code = Bounded(StringOf(issue, {"code", "id"}));
        read.message = Bounded(StringOf(issue, {"message", "text", "description"}));
      } else {
        continue;
      }
      if (read.message.empty() && read.code.empty()) {
        continue;
      }
      summary.issues.push_back(std::move(read));
    }
  }
  return summary;
}

// The MX targets of `observation` whose TLS a probe may describe: every host name we publish.
std::vector<std::string> PublishedHosts(const DomainObservation& observation) {
  std::vector<std::string> hosts;
  std::set<std::string> seen;
  const auto add = [&](const std::string& name) {
    std::string host = NormaliseHostName(name);
    if (!host.empty() && seen.insert(host).second) {
      hosts.push_back(std::move(host));
    }
  };
  for (const PlannedEndpoint& endpoint : observation.plan.endpoints) {
    add(endpoint.mx_name);
    for (const std::string& name : endpoint.also_named) {
      add(name);
    }
  }
  return hosts;
}

std::uint16_t PortOf(const DomainObservation& observation) {
  return observation.endpoints.empty() ? 25 : observation.endpoints.front().port;
}

// The probe of `data` (a tls_probes observation) for `ref`, else for host:port; nullptr.
const json* FindProbe(const json& data, const std::string& ref, const std::string& host,
                      std::uint16_t port) {
  if (!data.is_object()) {
    return nullptr;
  }
  const auto probes = data.find("probes");
  if (probes == data.end()) {
    return nullptr;
  }
  if (probes->is_object() && !ref.empty()) {
    const auto by_ref = probes->find(ref);
    if (by_ref != probes->end() && by_ref->is_object()) {
      return &*by_ref;
    }
  }
  if (!probes->is_object() && !probes->is_array()) {
    return nullptr;
  }
  for (const json& probe : *probes) {
    if (!probe.is_object()) {
      continue;
    }
    const auto probe_port = probe.find("port");
    const bool port_matches =
        probe_port == probe.end() || (probe_port->is_number() && probe_port->get<double>() == port);
    if (HostOf(probe.value("host", json())) == host && port_matches) {
      return &probe;
    }
  }
  return nullptr;
}

}  // namespace

json CheckerDefinition(std::string_view version) {
  json run_options = json::array();
  run_options.push_back({{"id", kDomainOption},
                         {"type", "string"},
                         {"label", "Domain"},
                         {"description", "Domain to test (auto-filled from the service)."},
                         {"autoFill", "domain_name"}});
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    if (!IsRunOption(spec)) {
      continue;
    }
    json field = {{"id", spec.key}, {"type", OptionFieldType(spec.type)}};
    if (!spec.label.empty()) {
      field["label"] = spec.label;
    }
    if (const auto value = OptionDefault(spec)) {
      field["default"] = *value;
    }
    field["description"] = spec.doc;
    run_options.push_back(std::move(field));
  }
  json rules = json::array();
  for (const Rule& rule : CheckerRules()) {
    rules.push_back({{"name", rule.name}, {"description", rule.description}});
  }
  json definition = {
      {"id", kCheckerId},
      {"name", "Inbound SMTP (MX posture)"},
      {"availability", {{"applyToService", true}, {"limitToServices", {"svcs.MXs"}}}},
      {"options", {{"runOpts", std::move(run_options)}}},
      {"rules", std::move(rules)},
      {"interval",
       {{"min", kMinIntervalSeconds * kNanosPerSecond},
        {"max", kMaxIntervalSeconds * kNanosPerSecond},
        {"default", kDefaultIntervalSeconds * kNanosPerSecond}}},
      {"has_html_report", true},
      {"has_metrics", true},
      {"observationKeys", {kObservationKey}},
  };
  if (!version.empty()) {
    definition["version"] = version;
  }
  return definition;
}

Result<RunOptions> ParseRunOptions(const json& options, bool need_domain) {
  RunOptions run;
  if (!options.is_null() && !options.is_object()) {
    return Error{ErrorCode::kInvalidArgument, "options must be an object"};
  }
  const json empty = json::object();
  const json& given = options.is_object() ? options : empty;
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    if (!IsRunOption(spec)) {
      continue;
    }
    const auto it = given.find(std::string(spec.key));
    if (it == given.end()) {
      continue;
    }
    const std::optional<std::string> text = OptionText(spec, *it);
    if (!text) {
      continue;  // another JSON type: the default stays (the SDK's GetIntOption/GetBoolOption)
    }
    if (Status set = SetCheckOption(spec, *text, run.options); !set.ok()) {
      return Error::InvalidArgument("option " + std::string(spec.key) + " " + set.message());
    }
  }
  if (run.options.helo_name.empty()) {
    run.options.helo_name = DefaultHeloName();
  }
  const auto domain = given.find(std::string(kDomainOption));
  if (domain != given.end() && domain->is_string() && !domain->get<std::string>().empty()) {
    Result<std::string> name = ParseDomainOption(domain->get<std::string>());
    if (!name.ok()) {
      return name.error();
    }
    run.domain = name.value();
  } else if (need_domain) {
    return Error{ErrorCode::kInvalidArgument,
                 "option domain is required: the domain whose MX hosts to check"};
  }
  return run;
}

Result<std::string> ParseDomainOption(std::string_view text) {
  if (Status valid = ValidateHostName(text); !valid.ok()) {
    return Error::InvalidArgument("option domain " + valid.message());
  }
  return NormaliseHostName(text);
}

json PrecheckFailures(const json& options) {
  json failures = json::object();
  const Result<RunOptions> parsed = ParseRunOptions(options, /*need_domain=*/false);
  if (!parsed.ok()) {
    for (const Rule& rule : CheckerRules()) {
      failures[std::string(rule.name)] = parsed.error().message;
    }
    return failures;
  }
  const CheckOptions& run = parsed.value().options;
  if (!run.test_null_sender) {
    failures["smtp.null_sender"] = "test_null_sender is false: MAIL FROM:<> is not probed";
  }
  if (!run.test_postmaster) {
    failures["smtp.postmaster"] = "test_postmaster is false: RCPT TO:<postmaster@…> is not probed";
  }
  if (!run.test_open_relay) {
    failures["smtp.open_relay"] = "test_open_relay is false: relaying is not probed";
  }
  return failures;
}

Result<RuleSelection> ParseEnabledRules(const json& enabled_rules) {
  std::map<std::string, bool, std::less<>> enabled;
  if (enabled_rules.is_null()) {
    return RuleSelection::FromEnabledMap(enabled);
  }
  if (!enabled_rules.is_object()) {
    return Error{ErrorCode::kInvalidArgument, "enabledRules must be an object"};
  }
  for (const auto& [name, value] : enabled_rules.items()) {
    if (!value.is_boolean()) {
      return Error{ErrorCode::kInvalidArgument, "enabledRules." + name + " must be a boolean"};
    }
    enabled[name] = value.get<bool>();
  }
  return RuleSelection::FromEnabledMap(enabled);
}

std::string TlsEndpointRef(std::string_view host, std::uint16_t port) {
  const std::string name = NormaliseHostName(host);
  // host | port | effective SNI (the host: we publish no separate SNI) | STARTTLS | require
  return name + "|" + std::to_string(port) + "|" + name + "|smtp|false";
}

json DiscoveryEntries(const DomainObservation& observation) {
  json entries = json::array();
  const std::uint16_t port = PortOf(observation);
  for (const std::string& host : PublishedHosts(observation)) {
    // `sni` (empty = host) and the require flag (false) are left out: their key spelling is
    // unknown and their zero values are what we mean (§6).
    entries.push_back({{"type", kTlsEndpointType},
                       {"ref", TlsEndpointRef(host, port)},
                       {"payload", {{"host", host}, {"port", port}, {"starttls", "smtp"}}}});
  }
  return entries;
}

std::vector<TlsProbeSummary> ReadRelatedTlsProbes(const json& related,
                                                  const DomainObservation& observation) {
  std::vector<TlsProbeSummary> probes;
  if (!related.is_object()) {
    return probes;
  }
  std::vector<const json*> items;
  for (const std::string_view key : {kTlsProbesKey, kObservationKey}) {
    const auto list = related.find(std::string(key));
    if (list == related.end() || !list->is_array()) {
      continue;
    }
    for (const json& item : *list) {
      if (items.size() == kMaxRelatedItems) {
        break;
      }
      if (!item.is_object()) {
        continue;
      }
      if (key == kObservationKey && item.value("key", json()) != json(kTlsProbesKey)) {
        continue;
      }
      items.push_back(&item);
    }
  }
  const std::uint16_t port = PortOf(observation);
  const std::vector<std::string> hosts = PublishedHosts(observation);
  std::set<std::string> done;  // one probe per MX target: the first item that has it
  for (const json* item : items) {
    const std::string ref = StringOf(*item, {"ref"});
    const auto data = item->find("data");
    if (data == item->end()) {
      continue;
    }
    for (const std::string& host : hosts) {
      if (done.contains(host)) {
        continue;
      }
      // An item's ref names one of our entries: it only describes that MX target.
      const std::string host_ref = TlsEndpointRef(host, port);
      if (!ref.empty() && ref != host_ref) {
        continue;
      }
      const json* probe = FindProbe(*data, host_ref, host, port);
      if (probe == nullptr) {
        continue;
      }
      TlsProbeSummary summary = SummariseProbe(*probe);
      summary.mx = host;
      summary.ref = Bounded(ref);
      summary.checker_id = Bounded(StringOf(*item, {"checkerId"}));
      summary.collected_at = Bounded(StringOf(*item, {"collectedAt"}));
      done.insert(host);
      probes.push_back(std::move(summary));
    }
  }
  std::sort(probes.begin(), probes.end(),
            [](const TlsProbeSummary& a, const TlsProbeSummary& b) { return a.mx < b.mx; });
  return probes;
}

std::map<std::string, HostNotes> TlsProbeNotes(const std::vector<TlsProbeSummary>& probes) {
  std::map<std::string, HostNotes> notes;
  const auto yes_no = [](std::optional<bool> value, const char* yes, const char* no) {
    return !value ? std::string("not said") : std::string(*value ? yes : no);
  };
  for (const TlsProbeSummary& probe : probes) {
    HostNotes& note = notes[probe.mx];
    note.title = "TLS checker" + (probe.checker_id.empty() ? "" : " (" + probe.checker_id + ")");
    note.source = std::string(kTlsProbesKey);
    const auto row = [&note](std::string label, const std::string& value) {
      if (!value.empty()) {
        note.rows.emplace_back(std::move(label), value);
      }
    };
    row("Endpoint", probe.ref);
    row("Collected", probe.collected_at);
    row("TLS", probe.tls_version + (probe.cipher_suite.empty() ? "" : ", " + probe.cipher_suite));
    row("Chain", yes_no(probe.chain_valid, "valid", "does not validate"));
    row("Name match", yes_no(probe.hostname_match, "yes", "no"));
    row("Not after", probe.not_after);
    row("Issuer", probe.issuer);
    for (const TlsProbeIssue& issue : probe.issues) {
      row(std::string(SeverityLabelName(issue.severity)),
          (issue.code.empty() ? "" : "[" + issue.code + "] ") + issue.message);
    }
    if (probe.issues.empty()) {
      row("Issues", "none reported");
    }
  }
  return notes;
}

std::vector<Finding> TlsProbeFindings(const std::vector<TlsProbeSummary>& probes,
                                      const std::string& domain) {
  constexpr std::string_view kCode = "smtp.tls.probe_issue";
  const CatalogEntry* entry = FindCatalogEntry(kCode);
  std::vector<Finding> findings;
  for (const TlsProbeSummary& probe : probes) {
    const Subject subject = Subject::Host(domain, probe.mx);
    std::vector<TlsProbeIssue> issues = probe.issues;
    if (issues.empty() && probe.chain_valid == false) {
      issues.push_back({Severity::kCrit, "", "the certificate chain does not validate"});
    }
    if (issues.empty() && probe.hostname_match == false) {
      issues.push_back({Severity::kCrit, "", "the certificate does not name " + probe.mx});
    }
    for (const TlsProbeIssue& issue : issues) {
      Finding finding;
      finding.rule = "smtp.tls_quality";
      finding.code = std::string(kCode);
      finding.severity = issue.severity;
      finding.subject = subject;
      finding.message =
          "TLS checker: " + (issue.code.empty() ? "" : "[" + issue.code + "] ") + issue.message;
      if (entry != nullptr && finding.severity != Severity::kOk) {
        finding.fix = std::string(entry->fix);
      }
      finding.rfc = entry != nullptr ? std::string(entry->rfc) : "";
      findings.push_back(std::move(finding));
    }
    if (issues.empty()) {
      Finding finding;
      finding.rule = "smtp.tls_quality";
      finding.code = std::string(kCode);
      finding.severity = Severity::kOk;
      finding.subject = subject;
      finding.message =
          "the TLS checker reported no issue" +
          (probe.tls_version.empty() ? std::string() : " (" + probe.tls_version + ")");
      finding.rfc = entry != nullptr ? std::string(entry->rfc) : "";
      findings.push_back(std::move(finding));
    }
  }
  return findings;
}

std::vector<Finding> FoldTlsProbes(std::vector<Finding> findings,
                                   const std::vector<TlsProbeSummary>& probes,
                                   const std::string& domain, const RuleSelection& rules) {
  if (probes.empty() || !rules.Enabled("smtp.tls_quality")) {
    return findings;
  }
  std::erase_if(findings, [](const Finding& f) { return f.code == "smtp.tls.unavailable"; });
  std::vector<Finding> folded = TlsProbeFindings(probes, domain);
  findings.insert(findings.end(), folded.begin(), folded.end());
  SortFindings(findings);
  return findings;
}

int CheckStatusOf(Severity severity) {
  switch (severity) {
    case Severity::kOk:
      return 1;
    case Severity::kInfo:
      return 2;
    case Severity::kWarn:
      return 3;
    case Severity::kCrit:
      return 4;
    case Severity::kError:
      return 5;
  }
  return 0;
}

json CheckStates(const std::vector<Finding>& findings, const RuleSelection& rules) {
  json states = json::array();
  for (const Rule& rule : CheckerRules()) {
    if (!rules.Enabled(rule.name)) {
      continue;
    }
    bool any = false;
    for (const Finding& finding : findings) {
      if (finding.rule != rule.name) {
        continue;
      }
      any = true;
      json meta = {{"severity", SeverityName(finding.severity)}};
      if (!finding.fix.empty()) {
        meta["fix"] = finding.fix;
      }
      if (!finding.rfc.empty()) {
        meta["rfc"] = finding.rfc;
      }
      if (!finding.subject.mx.empty()) {
        meta["mx"] = finding.subject.mx;
      }
      if (finding.subject.ip) {
        meta["ip"] = finding.subject.ip->ToString();
        meta["port"] = finding.subject.port;
      }
      states.push_back({{"status", CheckStatusOf(finding.severity)},
                        {"message", finding.message},
                        {"rule", rule.name},
                        {"code", finding.code},
                        {"subject", finding.subject.Text()},
                        {"meta", std::move(meta)}});
    }
    if (!any) {
      // The SDK's evaluateRules, for a rule that returns nothing (§4 POST /evaluate).
      states.push_back({{"status", 0},
                        {"message", "rule \"" + std::string(rule.name) + "\" returned no state"},
                        {"rule", rule.name}});
    }
  }
  return states;
}

json ErrorStates(std::string_view code, const std::string& message, const RuleSelection& rules) {
  json states = json::array();
  for (const Rule& rule : CheckerRules()) {
    if (rules.Enabled(rule.name)) {
      states.push_back({{"status", 5}, {"message", message}, {"rule", rule.name}, {"code", code}});
    }
  }
  return states;
}

std::optional<RuleSelection> RulesOfStates(const json& states) {
  if (!states.is_array()) {
    return std::nullopt;
  }
  std::map<std::string, bool, std::less<>> ran;
  for (const json& state : states) {
    if (state.is_object() && state.contains("rule") && state["rule"].is_string()) {
      ran[state["rule"].get<std::string>()] = true;
    }
  }
  if (ran.empty()) {
    return std::nullopt;
  }
  for (const Rule& rule : CheckerRules()) {
    ran.try_emplace(std::string(rule.name), false);
  }
  return RuleSelection::FromEnabledMap(ran);
}

json CheckMetrics(const CheckResult& result, double now_unix) {
  const std::string timestamp = FormatUnixRfc3339(static_cast<std::int64_t>(now_unix));
  json metrics = json::array();
  const auto families = DomainMetricFamilies({std::make_shared<const CheckResult>(result)});
  for (const prometheus::MetricFamily& family : families) {
    const std::string unit = MetricUnit(family.name);
    for (const prometheus::ClientMetric& sample : family.metric) {
      json metric = {{"name", family.name}, {"value", SampleValue(family, sample)}};
      if (!unit.empty()) {
        metric["unit"] = unit;
      }
      if (!sample.label.empty()) {
        json labels = json::object();
        for (const auto& label : sample.label) {
          labels[label.name] = label.value;
        }
        metric["labels"] = std::move(labels);
      }
      metric["timestamp"] = timestamp;
      metrics.push_back(std::move(metric));
    }
  }
  return metrics;
}

Result<json> ParseRequestBody(std::string_view body,
                              std::initializer_list<const char*> object_fields) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Error{ErrorCode::kInvalidArgument, "invalid request body: EOF"};
  }
  json parsed;
  try {
    parsed = json::parse(body);  // exceptions carry nlohmann's message with the byte offset
  } catch (const json::exception& e) {
    return Error{ErrorCode::kInvalidArgument, std::string("invalid request body: ") + e.what()};
  }
  if (!parsed.is_object()) {
    return Error{ErrorCode::kInvalidArgument,
                 "invalid request body: the request must be a JSON object"};
  }
  // Go's decoder fails on a map field holding anything but an object or null.
  for (const char* field : object_fields) {
    const auto it = parsed.find(field);
    if (it != parsed.end() && !it->is_null() && !it->is_object()) {
      return Error{ErrorCode::kInvalidArgument,
                   std::string("invalid request body: ") + field + " must be an object"};
    }
  }
  return parsed;
}

}  // namespace smtp_exporter
