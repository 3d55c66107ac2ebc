// The happyDomain checker protocol's data, without HTTP: the checker definition, run options as
// the host sends them, discovery entries, check states, metrics and the leniently read
// `tls_probes` related observations. Every shape follows happyDomain's checker SDK as
// /work/shared/happydomain-api.md cites it (checker-sdk-go v1.10.0 `checker/types.go`,
// `checker/server/server.go`); section numbers below (§n) are that document's.
// CheckerServer (checker_server.h) puts these on the wire.
//
// Pure functions over plain data; thread-safe.
#pragma once

#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/base/result.h"
#include "config/check_options.h"
#include "exporter/check/check.h"
#include "exporter/check/findings.h"
#include "exporter/check/rule.h"
#include "exporter/report/html_report.h"
#include "probes/dns_observation.h"

namespace smtp_exporter {

// checker-smtp's own id and observation key are unknown (§8.1): ours, used in /definition's
// `id` and `observationKeys`, and as the key /evaluate looks for first.
inline constexpr std::string_view kCheckerId = "smtp";
inline constexpr std::string_view kObservationKey = "smtp";
// The discovery entry type checker-tls consumes (seed; §6) and the observation key of its
// results that the host hands back as related data (§7).
inline constexpr std::string_view kTlsEndpointType = "tls.endpoint.v1";
inline constexpr std::string_view kTlsProbesKey = "tls_probes";

// The CheckerDefinition (§4 GET /definition): id, name, version, availability (svcs.MXs), the
// seed's seven run options (domain plus the option table's seed options, with our defaults),
// the rules it offers (CheckerRules), the interval in integer nanoseconds, has_html_report, has_metrics and
// observationKeys.
nlohmann::json CheckerDefinition(std::string_view version);

// The run options of one request: the domain (normalised: lower case, no trailing dot) and the
// check options. Options arrive as the host sends them (§4 POST /collect): JSON numbers
// (timeout, in seconds), booleans and strings. A value of another JSON type is ignored (the
// default stays), as the SDK's GetIntOption/GetBoolOption do; a value of the right type that is
// out of range is an error, phrased "option timeout must be between 1s and 5m, got 0s". Unknown
// options (the host's own `endpoint`) are ignored. `domain` is required only when
// `need_domain`; helo_name defaults to this machine's host name (DefaultHeloName).
struct RunOptions {
  std::string domain;
  CheckOptions options;
};
Result<RunOptions> ParseRunOptions(const nlohmann::json& options, bool need_domain);

// The `domain` option's text as a domain to check: a host name, one trailing dot allowed (the
// host auto-fills an FQDN, "example.com."), returned lower case without the dot.
// kInvalidArgument "option domain ..." otherwise.
Result<std::string> ParseDomainOption(std::string_view text);

// The rules this mode offers (/definition, /evaluate's states): every rule but those that judge
// what only the daemon keeps between checks (Rule::needs_history), since happyDomain runs each
// check on its own, and smtp.dane, whose option (test_dane) is not one of the seed's run
// options.
const std::vector<Rule>& CheckerRules();

// `precheck_failures` of POST /definition: {rule name: reason}, `{}` when every rule can run.
// A transaction probe switched off (test_* false) makes its rule unavailable; an option with a
// bad value makes every rule unavailable. A missing domain is no failure: the host's precheck
// carries stored options only, never the auto-filled domain (§4 POST /definition).
nlohmann::json PrecheckFailures(const nlohmann::json& options);

// `enabledRules` as RuleSelection: absent names (and a null or empty map) enabled, as the SDK's
// RuleEnabled. kInvalidArgument when it is neither null nor an object of booleans.
Result<RuleSelection> ParseEnabledRules(const nlohmann::json& enabled_rules);

// "mx1.example.com|25|mx1.example.com|smtp|false": the producer-chosen stable ref of the
// tls.endpoint.v1 entry of `host` (normalised) and `port`, in the part order checker-tls's
// contract uses (host, port, effective SNI, STARTTLS protocol, require) (§6).
std::string TlsEndpointRef(std::string_view host, std::uint16_t port);

// One tls.endpoint.v1 entry per MX target probed (each host name of the endpoint plan, in plan
// order, once): {"type", "ref", "payload": {"host", "port", "starttls": "smtp"}} (§6).
nlohmann::json DiscoveryEntries(const DomainObservation& observation);

// What a TLS checker (checker-tls) found for one of our MX targets, read leniently from a
// related `tls_probes` observation (§7). Every field is optional in the source; what is absent
// stays empty.
struct TlsProbeIssue {
  Severity severity = Severity::kWarn;  // the probe's "severity"/"level" when given
  std::string code;                     // e.g. "tls.cert.expired"; may be empty
  std::string message;
};
struct TlsProbeSummary {
  std::string mx;   // our MX target (normalised host name) the probe belongs to
  std::string ref;  // the related observation's ref
  std::string checker_id;
  std::string collected_at;
  std::string tls_version;
  std::string cipher_suite;
  std::optional<bool> chain_valid;
  std::optional<bool> hostname_match;
  std::string not_after;
  std::string issuer;
  std::vector<TlsProbeIssue> issues;
};

// Reads `related` (the /report request's {key: [RelatedObservation...]}) for TLS probes of the
// MX targets of `observation`: items under "tls_probes", and items under our own observation
// key whose "key" is "tls_probes" (happyDomain's HTTP provider forwards them there, §4 POST
// /report). Each item's data is taken apart leniently: its `probes` object's entry for the
// item's ref, else a probe (in an object or array) whose host and port match an MX target.
// Anything unparseable is skipped, never an error: a related item can only add information.
std::vector<TlsProbeSummary> ReadRelatedTlsProbes(const nlohmann::json& related,
                                                  const DomainObservation& observation);

// The HTML report's notes per MX host (html_report.h HostNotes): what each probe says.
std::map<std::string, HostNotes> TlsProbeNotes(const std::vector<TlsProbeSummary>& probes);

// The findings of smtp.tls_quality from the TLS probes: one per issue (its severity), or an OK
// finding per MX target whose probe reported none. Empty when `probes` is (the rule's own
// "no TLS data" finding then stands).
std::vector<Finding> TlsProbeFindings(const std::vector<TlsProbeSummary>& probes,
                                      const std::string& domain);

// The findings of a check with the related TLS probes folded into smtp.tls_quality (when the
// rule is enabled and there are probes): its "no TLS data available" finding is replaced by the
// probes' findings, the result sorted worst first again.
std::vector<Finding> FoldTlsProbes(std::vector<Finding> findings,
                                   const std::vector<TlsProbeSummary>& probes,
                                   const std::string& domain, const RuleSelection& rules);

// happyDomain's integer status of a severity (§5 CheckState): OK 1, INFO 2, WARN 3, CRIT 4,
// ERROR 5 (0, UNKNOWN, is for a rule with no state).
int CheckStatusOf(Severity severity);

// The `states` of POST /evaluate: for every enabled rule in definition order, one CheckState per
// finding it emitted ({"status", "message", "rule", "code", "subject", "meta": {"severity",
// "fix", "rfc", "mx", "ip", "port"}}), or the SDK's UNKNOWN state `rule "X" returned no state`
// when it emitted none. Messages are server text, verbatim (the host escapes on display).
nlohmann::json CheckStates(const std::vector<Finding>& findings, const RuleSelection& rules);

// One ERROR state per enabled rule, as a sibling checker's rules answer when their observation
// cannot be loaded (ping's `loadPingData`): code `code`, message `message`.
nlohmann::json ErrorStates(std::string_view code, const std::string& message,
                           const RuleSelection& rules);

// The rules named in a /report request's `states`: the rules the host ran. A selection of
// exactly those, or nullopt when no state names a rule (then every rule is shown).
std::optional<RuleSelection> RulesOfStates(const nlohmann::json& states);

// The metrics JSON array of POST /report (§5 CheckMetric): every sample of the domain's metric
// families (exporter/report/metrics.h, so names and labels are the /metrics ones) as {"name",
// "value", "unit" (for *_seconds), "labels", "timestamp": RFC 3339 of `now_unix`}.
nlohmann::json CheckMetrics(const CheckResult& result, double now_unix);

// Parses a request body as a JSON object whose `object_fields` are objects (or absent or null),
// as Go's decoder requires of the request structs' map fields. The error text is the SDK's
// "invalid request body: <why>" (an empty body is "EOF", as Go's decoder says).
Result<nlohmann::json> ParseRequestBody(std::string_view body,
                                        std::initializer_list<const char*> object_fields = {});

}  // namespace smtp_exporter
