#include "exporter/report/metrics.h"

#include <prometheus/client_metric.h>
#include <prometheus/metric_type.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "exporter/check/facts.h"
#include "exporter/report/utf8.h"
#include "config/base/ip_address.h"

namespace smtp_exporter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

// A label value is at most this long: DNS names are at most 253 octets, and an endpoint subject
// ("mx [ip]") a little more.
constexpr std::size_t kMaxLabelValueBytes = 320;
// smtp_extension: at most this many keywords per endpoint and stage.
constexpr std::size_t kMaxExtensionsPerStage = 50;
constexpr std::size_t kMaxExtensionKeywordBytes = 32;
constexpr std::size_t kMaxPhaseNameBytes = 32;
// The whole endpoint probe's phase: exported even when the other phases are not
// (MetricsDetail::phase_durations), for the dashboard's slowest-endpoints panel.
constexpr std::string_view kTotalPhase = "total";

struct FamilySpec {
  std::string_view name;
  MetricType type;
  // Plain text: TextSerializer writes HELP verbatim, so no backslash and no newline here.
  std::string_view help;
};

// Per domain.
constexpr FamilySpec kDomainStatus{
    "smtp_domain_status", MetricType::Gauge,
    "Worst finding severity of the latest check: 0 ok, 1 info, 2 warn, 3 crit, 4 error (the "
    "check itself failed)."};
constexpr FamilySpec kFindings{"smtp_findings", MetricType::Gauge,
                               "Findings of the latest check, by severity (passed checks count "
                               "as ok)."};
constexpr FamilySpec kFinding{"smtp_finding", MetricType::Gauge,
                              "One series per active non-OK finding of the latest check, "
                              "always 1; rules and codes in docs/findings.md. mx and ip join "
                              "with smtp_endpoint_up."};
constexpr FamilySpec kMxRecords{"smtp_mx_records", MetricType::Gauge,
                                "MX targets of the domain (a null MX counts none); absent when "
                                "the MX lookup failed or was not made."};
constexpr FamilySpec kNullMx{"smtp_null_mx", MetricType::Gauge,
                             "1 if the domain publishes a null MX (RFC 7505), else 0; absent "
                             "when the MX lookup failed or was not made."};
constexpr FamilySpec kDaneTlsaRecords{"smtp_dane_tlsa_records", MetricType::Gauge,
                                      "TLSA records (DANE, RFC 7672) at _PORT._tcp.MX; absent "
                                      "when not looked up (test_dane off) or the lookup "
                                      "failed."};
constexpr FamilySpec kDaneTlsaAuthenticated{
    "smtp_dane_tlsa_authenticated", MetricType::Gauge,
    "1 if the resolver validated the TLSA answer with DNSSEC (AD bit), else 0; absent when not "
    "looked up (test_dane off) or the lookup failed. Only meaningful from a trusted validating "
    "resolver."};
constexpr FamilySpec kEndpoints{"smtp_endpoints", MetricType::Gauge,
                                "Endpoints (MX host and address pairs) planned for probing, by "
                                "address family; absent when the plan is unknown."};
constexpr FamilySpec kCheckSuccess{"smtp_check_success", MetricType::Gauge,
                                   "1 if the latest check produced a verdict, 0 if the check "
                                   "itself failed (status error)."};
constexpr FamilySpec kCheckDuration{"smtp_check_duration_seconds", MetricType::Gauge,
                                    "Wall time the latest check of the domain took."};
constexpr FamilySpec kCheckTimestamp{"smtp_check_timestamp_seconds", MetricType::Gauge,
                                     "Unix time the latest check of the domain started."};
constexpr FamilySpec kCheckRestored{"smtp_check_restored", MetricType::Gauge,
                                    "1 while the latest result is one restored from disk "
                                    "(--storage.path) at start-up, made before the exporter "
                                    "restarted, 0 once the domain has been checked since."};
constexpr FamilySpec kChangeTimestamp{
    "smtp_change_timestamp_seconds", MetricType::Gauge,
    "Unix time of the check that last saw a posture change of this kind (mx_set, starttls, "
    "tls_version, extensions, banner, auth_before_tls, ptr, mta_sts_mode, dane_tlsa); absent "
    "for kinds unchanged since "
    "the daemon began tracking the domain. Scheduled checks only."};

// Per endpoint.
constexpr FamilySpec kEndpointUp{"smtp_endpoint_up", MetricType::Gauge,
                                 "1 if the endpoint accepted the TCP connection and greeted "
                                 "with 220, else 0."};
constexpr FamilySpec kEsmtp{"smtp_esmtp", MetricType::Gauge,
                            "1 if the endpoint accepted EHLO, 0 if it refused it; absent when "
                            "it did not greet with 220."};
constexpr FamilySpec kStartTlsOk{"smtp_starttls_ok", MetricType::Gauge,
                                 "1 if STARTTLS was offered and the TLS handshake completed, 0 "
                                 "if not offered or failed; absent before EHLO or HELO."};
constexpr FamilySpec kTlsVersionInfo{"smtp_tls_version_info", MetricType::Gauge,
                                     "TLS version and cipher negotiated after STARTTLS, always "
                                     "1; absent unless the handshake completed."};
constexpr FamilySpec kTlsCertNotAfter{"smtp_tls_cert_not_after_timestamp_seconds",
                                      MetricType::Gauge,
                                      "notAfter of the certificate presented after STARTTLS, as "
                                      "Unix time (context only: MX certificates are rarely "
                                      "verified)."};
constexpr FamilySpec kExtension{"smtp_extension", MetricType::Gauge,
                                "EHLO keyword advertised by the endpoint, always 1; stage plain "
                                "(before STARTTLS) or tls (after); at most 50 per stage."};
constexpr FamilySpec kAuthPlaintext{"smtp_auth_plaintext", MetricType::Gauge,
                                    "1 if AUTH is advertised before STARTTLS, else 0; absent "
                                    "unless EHLO was accepted."};
constexpr FamilySpec kPtrPresent{"smtp_ptr_present", MetricType::Gauge,
                                 "1 if the endpoint address has a PTR record, 0 if it has none; "
                                 "absent when the lookup failed."};
constexpr FamilySpec kFcrdnsOk{"smtp_fcrdns_ok", MetricType::Gauge,
                               "1 if a PTR name of the endpoint address resolves back to it "
                               "(FCrDNS), 0 if none does; absent when undecided."};
constexpr FamilySpec kNullSenderAccepted{"smtp_null_sender_accepted", MetricType::Gauge,
                                         "1 if MAIL FROM:<> (bounces) was accepted, 0 if "
                                         "rejected; absent when not tested or inconclusive."};
constexpr FamilySpec kPostmasterAccepted{"smtp_postmaster_accepted", MetricType::Gauge,
                                         "1 if RCPT TO:<postmaster@domain> was accepted, 0 if "
                                         "rejected; absent when not tested or inconclusive."};
constexpr FamilySpec kOpenRelay{"smtp_open_relay", MetricType::Gauge,
                                "1 if the endpoint accepted a recipient outside its domain from "
                                "an outside sender (open relay), 0 if it refused; absent when "
                                "not tested or inconclusive."};
constexpr FamilySpec kPhaseDuration{"smtp_phase_duration_seconds", MetricType::Gauge,
                                    "Duration of one phase of the endpoint probe; absent for "
                                    "phases that did not run."};
constexpr FamilySpec kProbeFailedPhase{"smtp_probe_failed_phase", MetricType::Gauge,
                                      "Where the endpoint probe first failed and why, always 1: "
                                      "phase as in smtp_phase_duration_seconds, reason one of "
                                      "timeout, refused, unreachable, closed, reply_4xx, "
                                      "reply_5xx, tls_handshake, limit_exceeded, protocol, "
                                      "error; absent when every phase that ran completed."};

constexpr FamilySpec kMtaStsRecord{"smtp_mta_sts_record", MetricType::Gauge,
                                   "1 if the domain publishes exactly one valid MTA-STS record "
                                   "(RFC 8461 _mta-sts TXT), else 0; absent when not checked or "
                                   "the lookup failed."};
constexpr FamilySpec kMtaStsMode{"smtp_mta_sts_mode", MetricType::Gauge,
                                 "1 for the mode of the fetched MTA-STS policy (enforce, testing "
                                 "or none), 0 for the others; absent when no valid policy was "
                                 "fetched."};
constexpr FamilySpec kMtaStsMaxAge{"smtp_mta_sts_policy_max_age_seconds", MetricType::Gauge,
                                   "max_age of the fetched MTA-STS policy; absent when no valid "
                                   "policy was fetched."};
constexpr FamilySpec kTlsRptRecord{"smtp_tls_rpt_record", MetricType::Gauge,
                                   "1 if the domain publishes exactly one valid TLS-RPT record "
                                   "(RFC 8460 _smtp._tls TXT), else 0; absent when not checked "
                                   "or the lookup failed."};
// The message submission ports (option `submission`, RFC 8314), one series per (host, address,
// port): labels domain, host (the MX host or the configured submission_host), ip, port.
constexpr FamilySpec kSubmissionUp{"smtp_submission_up", MetricType::Gauge,
                                   "1 if the submission port (587, 465) held a session to EHLO "
                                   "(over TLS on 465), else 0; absent unless the option "
                                   "submission names the port."};
constexpr FamilySpec kSubmissionTls{"smtp_submission_tls", MetricType::Gauge,
                                    "1 if the submission session was encrypted (STARTTLS on "
                                    "587, implicit TLS on 465), else 0; absent before EHLO on "
                                    "587 and without a connection on 465."};
constexpr FamilySpec kSubmissionAuthBeforeTls{
    "smtp_submission_auth_before_tls", MetricType::Gauge,
    "Port 587: 1 if AUTH is advertised before STARTTLS, else 0; absent unless EHLO was "
    "accepted."};
constexpr FamilySpec kSubmissionPlaintextAuthBeforeTls{
    "smtp_submission_plaintext_auth_before_tls", MetricType::Gauge,
    "Port 587: 1 if AUTH PLAIN or LOGIN (the password in clear) is advertised before "
    "STARTTLS, else 0; absent unless EHLO was accepted."};
constexpr FamilySpec kSubmissionAuthAfterTls{"smtp_submission_auth_after_tls", MetricType::Gauge,
                                             "1 if AUTH is advertised over TLS, else 0; absent "
                                             "unless EHLO over TLS was accepted."};

// Every per-domain and per-endpoint family, sorted by name: DomainSeries keeps its lines by
// index into this list.
constexpr std::array<const FamilySpec*, 36> kDomainFamilies = {
    &kAuthPlaintext,          &kChangeTimestamp,         &kCheckDuration,
    &kCheckRestored,          &kCheckSuccess,            &kCheckTimestamp,
    &kDaneTlsaAuthenticated,  &kDaneTlsaRecords,         &kDomainStatus,
    &kEndpointUp,             &kEndpoints,               &kEsmtp,
    &kExtension,              &kFcrdnsOk,                &kFinding,
    &kFindings,               &kMtaStsMode,              &kMtaStsMaxAge,
    &kMtaStsRecord,           &kMxRecords,               &kNullMx,
    &kNullSenderAccepted,     &kOpenRelay,               &kPhaseDuration,
    &kPostmasterAccepted,     &kProbeFailedPhase,        &kPtrPresent,
    &kStartTlsOk,             &kSubmissionAuthAfterTls,  &kSubmissionAuthBeforeTls,
    &kSubmissionPlaintextAuthBeforeTls,                  &kSubmissionTls,
    &kSubmissionUp,           &kTlsCertNotAfter,         &kTlsRptRecord,
    &kTlsVersionInfo};
static_assert(std::is_sorted(kDomainFamilies.begin(), kDomainFamilies.end(),
                             [](const FamilySpec* a, const FamilySpec* b) {
                               return a->name < b->name;
                             }),
              "kDomainFamilies must be sorted by name");

// The exporter itself.
constexpr FamilySpec kBuildInfo{"smtp_exporter_build_info", MetricType::Gauge,
                                "Version and revision of the running smtp_exporter, always 1."};
constexpr FamilySpec kReloadSuccessful{"smtp_exporter_config_last_reload_successful",
                                       MetricType::Gauge,
                                       "1 if the last configuration load succeeded, 0 if it "
                                       "failed (the previous configuration stays in use)."};
constexpr FamilySpec kReloadTimestamp{"smtp_exporter_config_last_reload_success_timestamp_seconds",
                                      MetricType::Gauge,
                                      "Unix time of the last successful configuration load."};
constexpr FamilySpec kChecksTotal{"smtp_exporter_checks_total", MetricType::Counter,
                                  "Domain checks completed since start, by resulting status."};
constexpr FamilySpec kChecksInFlight{"smtp_exporter_checks_in_flight", MetricType::Gauge,
                                     "Domain checks running now."};
constexpr FamilySpec kDomains{"smtp_exporter_domains", MetricType::Gauge,
                              "Domains in the configuration."};
constexpr FamilySpec kHttpConnections{"smtp_exporter_http_connections", MetricType::Gauge,
                                      "HTTP connections the exporter serves now."};
constexpr FamilySpec kHttpRefused{
    "smtp_exporter_http_connections_refused_total", MetricType::Counter,
    "HTTP connections answered 503 and closed because --web.max-connections were open."};
constexpr FamilySpec kSessions{
    "smtp_exporter_sessions_total", MetricType::Counter,
    "SMTP sessions of scheduled checks (MX, and submission when on); one may serve several "
    "domains whose MX or submission hosts share an address (domains_per_session)."};
constexpr FamilySpec kSessionProbes{
    "smtp_exporter_session_probes_total", MetricType::Counter,
    "Endpoint probes of scheduled checks those sessions served; divided by "
    "smtp_exporter_sessions_total, the domains per session."};
constexpr FamilySpec kSessionProbedAgain{
    "smtp_exporter_session_probed_again_total", MetricType::Counter,
    "Endpoint probes run again on a session of their own because a shared one could not "
    "settle them (it broke during its transactions, or deferred one of their recipients)."};

// /probe.
constexpr FamilySpec kProbeSuccess{"probe_success", MetricType::Gauge,
                                   "1 if the domain has nothing to fix (status ok or info)."};
constexpr FamilySpec kProbeDuration{"probe_duration_seconds", MetricType::Gauge,
                                    "How long the probe took to complete in seconds."};

constexpr std::array<Severity, 5> kSeverities = {Severity::kOk, Severity::kInfo, Severity::kWarn,
                                                 Severity::kCrit, Severity::kError};

// A label value Prometheus accepts whatever the bytes: valid UTF-8 (a bad byte becomes U+FFFD)
// and bounded in length. One invalid value would otherwise fail the whole scrape. Quotes,
// backslashes and newlines are kept: the serializer escapes them.
std::string LabelValue(std::string_view text) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(std::min(text.size(), kMaxLabelValueBytes));
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = Utf8SequenceLength(text, i);
    const std::string_view piece = length == 0 ? kReplacement : text.substr(i, length);
    if (out.size() + piece.size() > kMaxLabelValueBytes) {
      break;
    }
    out.append(piece);
    i += length == 0 ? 1 : length;
  }
  return out;
}

// RFC 5321 §4.1.1.1 ehlo-keyword, upper-cased and bounded: [A-Z0-9-]{1,32}. nullopt otherwise.
std::optional<std::string> ExtensionKeyword(std::string_view keyword) {
  if (keyword.empty() || keyword.size() > kMaxExtensionKeywordBytes) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(keyword.size());
  for (const char c : keyword) {
    if (c >= 'a' && c <= 'z') {
      out.push_back(static_cast<char>(c - 'a' + 'A'));
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') {
      out.push_back(c);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// Phase names are ours ("connect", "tls_ehlo", ...); anything else is skipped.
bool IsPhaseName(std::string_view phase) {
  if (phase.empty() || phase.size() > kMaxPhaseNameBytes) {
    return false;
  }
  return std::all_of(phase.begin(), phase.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

double SeverityValue(Severity severity) { return static_cast<double>(static_cast<int>(severity)); }

double Bool(bool value) { return value ? 1.0 : 0.0; }

// 1 accepted, 0 rejected; nullopt for outcomes that are no verdict.
std::optional<double> OutcomeValue(ProbeOutcome outcome) {
  switch (outcome) {
    case ProbeOutcome::kAccepted:
      return 1.0;
    case ProbeOutcome::kRejected:
      return 0.0;
    case ProbeOutcome::kNotTested:
    case ProbeOutcome::kTemporary:
    case ProbeOutcome::kError:
      return std::nullopt;
  }
  return std::nullopt;
}

// The MX lookup gave an answer (records, NODATA or NXDOMAIN).
// Families under construction, keyed by name (so they come out sorted by name).
class FamilySet {
 public:
  void Add(const FamilySpec& spec, Labels labels, double value) {
    auto it = families_.find(spec.name);
    if (it == families_.end()) {
      MetricFamily family;
      family.name = std::string(spec.name);
      family.help = std::string(spec.help);
      family.type = spec.type;
      it = families_.emplace(family.name, std::move(family)).first;
    }
    ClientMetric metric;
    metric.label = std::move(labels);
    if (spec.type == MetricType::Counter) {
      metric.counter.value = value;
    } else {
      metric.gauge.value = value;
    }
    it->second.metric.push_back(std::move(metric));
  }

  void Add(const FamilySpec& spec, Labels labels, std::optional<double> value) {
    if (value.has_value()) {
      Add(spec, std::move(labels), *value);
    }
  }

  // Families sorted by name, samples by labels; a repeated label set keeps its first sample.
  std::vector<MetricFamily> Take() {
    std::vector<MetricFamily> out;
    out.reserve(families_.size());
    for (auto& [name, family] : families_) {
      auto& metrics = family.metric;
      std::stable_sort(
          metrics.begin(), metrics.end(),
          [](const ClientMetric& a, const ClientMetric& b) { return a.label < b.label; });
      metrics.erase(std::unique(metrics.begin(), metrics.end(),
                                [](const ClientMetric& a, const ClientMetric& b) {
                                  return a.label == b.label;
                                }),
                    metrics.end());
      if (!metrics.empty()) {
        out.push_back(std::move(family));
      }
    }
    families_.clear();
    return out;
  }

 private:
  std::map<std::string, MetricFamily, std::less<>> families_;
};

Labels With(Labels labels, std::string name, std::string value) {
  labels.push_back({std::move(name), std::move(value)});
  return labels;
}

void AddEndpoint(const DnsObservation& dns, const std::string& domain,
                 const EndpointObservation& endpoint, const MetricsDetail& detail,
                 FamilySet* set) {
  const Labels labels = {{"domain", domain},
                         {"mx", LabelValue(endpoint.mx_name)},
                         {"ip", endpoint.ip.ToString()},
                         {"family", std::string(IpFamilyName(endpoint.family()))}};

  const bool up = Works(endpoint);
  set->Add(kEndpointUp, labels, Bool(up));
  if (up && !EhloDeferred(endpoint)) {  // a 4yz to EHLO says neither yes nor no
    set->Add(kEsmtp, labels, Bool(endpoint.esmtp));
  }
  if (endpoint.esmtp) {
    set->Add(kAuthPlaintext, labels, Bool(endpoint.auth_before_tls));
  }
  if (endpoint.esmtp || endpoint.helo_fallback) {
    set->Add(kStartTlsOk, labels, Bool(endpoint.starttls.ok));
  }
  if (endpoint.starttls.ok) {
    const TlsDetails& tls = endpoint.starttls.tls;
    set->Add(
        kTlsVersionInfo,
        With(With(labels, "version", LabelValue(tls.version)), "cipher", LabelValue(tls.cipher)),
        1.0);
    if (tls.peer_not_after_unix.has_value()) {
      set->Add(kTlsCertNotAfter, labels, static_cast<double>(*tls.peer_not_after_unix));
    }
  }

  const auto add_extensions = [&](const ExtensionSet& extensions, const char* stage) {
    std::set<std::string> keywords;
    for (const Extension& extension : extensions.items()) {
      if (keywords.size() >= kMaxExtensionsPerStage) {
        break;
      }
      if (std::optional<std::string> keyword = ExtensionKeyword(extension.keyword)) {
        keywords.insert(std::move(*keyword));
      }
    }
    for (const std::string& keyword : keywords) {
      set->Add(kExtension, With(With(labels, "extension", keyword), "stage", stage), 1.0);
    }
  };
  if (detail.extensions) {
    add_extensions(endpoint.extensions_plain, "plain");
    add_extensions(endpoint.extensions_tls, "tls");
  }

  const ReverseDns* reverse = dns.FindReverse(endpoint.ip);
  if (reverse != nullptr) {
    const DnsStatus status = reverse->ptr.status;
    if (status == DnsStatus::kOk) {
      set->Add(kPtrPresent, labels, Bool(!reverse->ptr_names.empty()));
    } else if (status == DnsStatus::kNoData || status == DnsStatus::kNxDomain) {
      set->Add(kPtrPresent, labels, 0.0);
    }
    if (reverse->fcrdns_ok.has_value()) {
      set->Add(kFcrdnsOk, labels, Bool(*reverse->fcrdns_ok));
    }
  }

  set->Add(kNullSenderAccepted, labels, OutcomeValue(endpoint.null_sender.outcome));
  set->Add(kPostmasterAccepted, labels, OutcomeValue(endpoint.postmaster.outcome));
  set->Add(kOpenRelay, labels, OutcomeValue(endpoint.open_relay.outcome));

  for (const PhaseDuration& phase : endpoint.phases) {
    if (IsPhaseName(phase.phase) && (detail.phase_durations || phase.phase == kTotalPhase)) {
      set->Add(kPhaseDuration, With(labels, "phase", phase.phase), phase.seconds);
    }
  }
  if (endpoint.failure && IsPhaseName(endpoint.failure->phase)) {
    set->Add(kProbeFailedPhase,
             With(With(labels, "phase", endpoint.failure->phase), "reason",
                  std::string(FailureReasonName(endpoint.failure->reason))),
             1.0);
  }
}

void AddSubmissionEndpoint(const std::string& domain, const EndpointObservation& endpoint,
                           FamilySet* set) {
  const Labels labels = {{"domain", domain},
                         {"host", LabelValue(endpoint.mx_name)},
                         {"ip", endpoint.ip.ToString()},
                         {"port", std::to_string(endpoint.port)}};
  const bool implicit_tls = endpoint.service == EndpointService::kSubmissions;
  const bool hello = SubmissionAnswers(endpoint);
  set->Add(kSubmissionUp, labels, Bool(hello));
  if (implicit_tls ? endpoint.connect_status == ConnectStatus::kConnected : hello) {
    set->Add(kSubmissionTls, labels, Bool(endpoint.starttls.ok));
  }
  if (!implicit_tls && hello && endpoint.esmtp) {
    set->Add(kSubmissionAuthBeforeTls, labels, Bool(endpoint.extensions_plain.Has("AUTH")));
    const std::vector<std::string> mechanisms = endpoint.extensions_plain.AuthMechanisms();
    set->Add(kSubmissionPlaintextAuthBeforeTls, labels,
             Bool(std::any_of(mechanisms.begin(), mechanisms.end(),
                              [](const std::string& m) { return SendsPasswordInClear(m); })));
  }
  if (hello && endpoint.starttls.ok && endpoint.tls_ehlo && endpoint.tls_ehlo->IsPositive()) {
    set->Add(kSubmissionAuthAfterTls, labels, Bool(endpoint.extensions_tls.Has("AUTH")));
  }
}

void AddDomain(const CheckResult& snapshot, FamilySet* set, bool with_restored,
               const MetricsDetail& detail, std::size_t omitted_ok_findings = 0) {
  const DomainObservation& obs = snapshot.observation;
  const std::string domain = LabelValue(obs.domain);
  const Labels labels = {{"domain", domain}};

  set->Add(kDomainStatus, labels, SeverityValue(snapshot.status));
  set->Add(kCheckSuccess, labels, Bool(snapshot.status != Severity::kError));
  set->Add(kCheckDuration, labels, obs.duration_seconds);
  set->Add(kCheckTimestamp, labels, obs.started_at_unix);
  if (with_restored) {
    set->Add(kCheckRestored, labels, Bool(snapshot.restored));
  }
  if (snapshot.posture) {
    for (const auto& [kind, at] : snapshot.posture->last_change_at) {
      set->Add(kChangeTimestamp, With(labels, "kind", std::string(PostureKindName(kind))), at);
    }
  }

  std::array<double, kSeverities.size()> counts{};
  counts.at(static_cast<std::size_t>(Severity::kOk)) = static_cast<double>(omitted_ok_findings);
  for (const Finding& finding : snapshot.findings) {
    counts.at(static_cast<std::size_t>(finding.severity)) += 1;
    if (finding.severity != Severity::kOk) {
      set->Add(kFinding,
               {{"domain", domain},
                {"rule", LabelValue(finding.rule)},
                {"code", LabelValue(finding.code)},
                {"severity", std::string(SeverityName(finding.severity))},
                {"subject", LabelValue(finding.subject.Text())},
                {"mx", LabelValue(finding.subject.mx)},
                {"ip", finding.subject.ip ? finding.subject.ip->ToString() : std::string()}},
               1.0);
    }
  }
  for (const Severity severity : kSeverities) {
    set->Add(kFindings, With(labels, "severity", std::string(SeverityName(severity))),
             counts.at(static_cast<std::size_t>(severity)));
  }

  const DnsObservation& dns = obs.dns;
  const bool mx_decided = Answered(dns.mx);
  if (mx_decided) {
    set->Add(kMxRecords, labels, static_cast<double>(dns.mx_targets.size()));
    set->Add(kNullMx, labels, Bool(dns.null_mx));
    for (const MxTarget& target : dns.mx_targets) {
      const DaneLookup& dane = target.tlsa;
      if (dane.lookup.status == DnsStatus::kNotQueried || IsDnsFailure(dane.lookup.status)) {
        continue;  // not collected, or smtp.dane.lookup_failed says why
      }
      const Labels mx = With(labels, "mx", LabelValue(target.host));
      set->Add(kDaneTlsaRecords, mx, static_cast<double>(dane.records.size()));
      set->Add(kDaneTlsaAuthenticated, mx, Bool(dane.authenticated));
    }
  }
  // The plan is known when the MX lookup answered, or when a fixed endpoint replaced it.
  if (mx_decided || (dns.mx.status == DnsStatus::kNotQueried && !obs.plan.endpoints.empty())) {
    double v4 = 0;
    double v6 = 0;
    for (const PlannedEndpoint& planned : obs.plan.endpoints) {
      (planned.ip.family() == IpFamily::kV4 ? v4 : v6) += 1;
    }
    set->Add(kEndpoints, With(labels, "family", std::string(IpFamilyName(IpFamily::kV4))), v4);
    set->Add(kEndpoints, With(labels, "family", std::string(IpFamilyName(IpFamily::kV6))), v6);
  }

  // RFC 8461 / RFC 8460 policy records, when collected and their lookups answered.
  if (obs.mta_sts && !IsDnsFailure(obs.mta_sts->record_lookup.status) &&
      obs.mta_sts->record_lookup.status != DnsStatus::kNotQueried) {
    set->Add(kMtaStsRecord, labels,
             Bool(obs.mta_sts->record_count == 1 && obs.mta_sts->record_error.empty()));
    if (obs.mta_sts->policy) {
      for (const MtaStsMode mode : {MtaStsMode::kEnforce, MtaStsMode::kTesting, MtaStsMode::kNone}) {
        set->Add(kMtaStsMode, With(labels, "mode", std::string(MtaStsModeName(mode))),
                 Bool(obs.mta_sts->policy->mode == mode));
      }
      set->Add(kMtaStsMaxAge, labels, static_cast<double>(obs.mta_sts->policy->max_age_seconds));
    }
  }
  if (obs.tls_rpt && !IsDnsFailure(obs.tls_rpt->record_lookup.status) &&
      obs.tls_rpt->record_lookup.status != DnsStatus::kNotQueried) {
    set->Add(kTlsRptRecord, labels,
             Bool(obs.tls_rpt->record_count == 1 && obs.tls_rpt->record_error.empty()));
  }

  for (const EndpointObservation& endpoint : obs.endpoints) {
    AddEndpoint(dns, domain, endpoint, detail, set);
  }
  for (const EndpointObservation& endpoint : obs.submission) {
    AddSubmissionEndpoint(domain, endpoint, set);
  }
}

std::size_t DomainFamilyIndex(std::string_view name) {
  const auto it = std::lower_bound(
      kDomainFamilies.begin(), kDomainFamilies.end(), name,
      [](const FamilySpec* spec, std::string_view wanted) { return spec->name < wanted; });
  if (it == kDomainFamilies.end() || (*it)->name != name) {
    throw std::logic_error("not a domain metric family: " + std::string(name));
  }
  return static_cast<std::size_t>(it - kDomainFamilies.begin());
}

// "# HELP ...\n# TYPE ...\n" of `family` as TextSerializer writes it (a family without samples
// serializes to exactly those two lines).
std::string SerializedHeader(const FamilySpec& spec) {
  MetricFamily family;
  family.name = std::string(spec.name);
  family.help = std::string(spec.help);
  family.type = spec.type;
  return prometheus::TextSerializer().Serialize({family});
}

// The header of domain family `index`, serialized once.
const std::string& FamilyHeader(std::size_t index) {
  static const auto* const headers = [] {
    auto* list = new std::vector<std::string>();
    for (const FamilySpec* spec : kDomainFamilies) {
      list->push_back(SerializedHeader(*spec));
    }
    return list;
  }();
  return headers->at(index);
}

// `family`'s sample lines as TextSerializer writes them, without its header: serialized by the
// library and the header cut off, so the fleet text cannot drift from the one-domain views'.
std::string SampleLines(const MetricFamily& family) {
  std::string text = prometheus::TextSerializer().Serialize({family});
  const std::string& header = FamilyHeader(DomainFamilyIndex(family.name));
  if (text.compare(0, header.size(), header) != 0) {
    throw std::logic_error("unexpected TextSerializer output for " + family.name);
  }
  text.erase(0, header.size());
  return text;
}

}  // namespace

std::vector<prometheus::MetricFamily> DomainMetricFamilies(
    const std::vector<std::shared_ptr<const CheckResult>>& snapshots, bool with_restored,
    const MetricsDetail& detail) {
  FamilySet set;
  for (const auto& snapshot : snapshots) {
    if (snapshot != nullptr) {
      AddDomain(*snapshot, &set, with_restored, detail);
    }
  }
  return set.Take();
}

std::vector<prometheus::MetricFamily> ExporterMetricFamilies(const ExporterHealth& health) {
  FamilySet set;
  set.Add(kBuildInfo,
          {{"version", LabelValue(health.version)}, {"revision", LabelValue(health.revision)}},
          1.0);
  set.Add(kReloadSuccessful, {}, Bool(health.config_last_reload_successful));
  set.Add(kReloadTimestamp, {}, health.config_last_reload_success_timestamp_seconds);
  std::map<std::string, std::uint64_t> checks = health.checks_total;
  for (const Severity severity : kSeverities) {
    checks.try_emplace(std::string(SeverityName(severity)), 0);
  }
  for (const auto& [result, count] : checks) {
    set.Add(kChecksTotal, {{"result", LabelValue(result)}}, static_cast<double>(count));
  }
  set.Add(kChecksInFlight, {}, static_cast<double>(health.checks_in_flight));
  set.Add(kDomains, {}, static_cast<double>(health.domains));
  set.Add(kHttpConnections, {}, static_cast<double>(health.http_connections));
  set.Add(kHttpRefused, {}, static_cast<double>(health.http_connections_refused_total));
  set.Add(kSessions, {}, static_cast<double>(health.sessions_total));
  set.Add(kSessionProbes, {}, static_cast<double>(health.session_probes_total));
  set.Add(kSessionProbedAgain, {}, static_cast<double>(health.session_probed_again_total));
  return set.Take();
}

std::size_t DomainFamilyCount() { return kDomainFamilies.size(); }

std::string_view DomainSeries::Lines(std::size_t family) const {
  if (family >= ends_.size()) {
    return {};
  }
  const std::size_t begin = family == 0 ? 0 : ends_[family - 1];
  return std::string_view(text_).substr(begin, ends_[family] - begin);
}

DomainSeries RenderDomainSeries(const CheckResult& result, bool with_restored,
                                const MetricsDetail& detail, std::size_t omitted_ok_findings) {
  FamilySet set;
  AddDomain(result, &set, with_restored, detail, omitted_ok_findings);
  std::vector<std::string> lines(kDomainFamilies.size());
  DomainSeries series;
  std::size_t total = 0;
  for (MetricFamily& family : set.Take()) {
    const std::size_t index = DomainFamilyIndex(family.name);
    series.series_ += family.metric.size();
    lines[index] = SampleLines(family);
    total += lines[index].size();
  }
  if (total == 0) {
    return series;
  }
  series.text_.reserve(total);
  series.ends_.reserve(lines.size());
  for (const std::string& family_lines : lines) {
    series.text_.append(family_lines);
    series.ends_.push_back(static_cast<std::uint32_t>(series.text_.size()));
  }
  return series;
}

FleetExposition::FleetExposition(std::vector<const DomainSeries*> domains, std::string tail)
    : domains_(std::move(domains)), tail_(std::move(tail)) {
  ForEachPiece([this](std::string_view piece) {
    size_ += piece.size();
    return true;
  });
  size_ += tail_.size();
  for (const DomainSeries* domain : domains_) {
    series_ += domain->series();
  }
}

bool FleetExposition::ForEachPiece(const std::function<bool(std::string_view)>& piece) const {
  for (std::size_t family = 0; family < kDomainFamilies.size(); ++family) {
    bool header_written = false;
    for (const DomainSeries* domain : domains_) {
      const std::string_view lines = domain->Lines(family);
      if (lines.empty()) {
        continue;
      }
      if (!header_written) {
        if (!piece(FamilyHeader(family))) {
          return false;
        }
        header_written = true;
      }
      if (!piece(lines)) {
        return false;
      }
    }
  }
  return true;
}

bool FleetExposition::WriteChunks(const std::function<bool(std::string_view)>& write,
                                  bool with_tail) const {
  std::string chunk;
  chunk.reserve(kWriteChunkBytes);
  // Fills `chunk` from `piece` and hands each full one on; a piece that fills several goes on
  // in chunk-sized slices, so every chunk but the last is exactly kWriteChunkBytes.
  const auto add = [&](std::string_view piece) {
    while (!piece.empty()) {
      const std::size_t take = std::min(piece.size(), kWriteChunkBytes - chunk.size());
      chunk.append(piece.substr(0, take));
      piece.remove_prefix(take);
      if (chunk.size() == kWriteChunkBytes) {
        if (!write(chunk)) {
          return false;
        }
        chunk.clear();
      }
    }
    return true;
  };
  return ForEachPiece(add) && (!with_tail || add(tail_)) && (chunk.empty() || write(chunk));
}

bool FleetExposition::WriteDomains(const std::function<bool(std::string_view)>& write) const {
  return WriteChunks(write, /*with_tail=*/false);
}

bool FleetExposition::Write(const std::function<bool(std::string_view)>& write) const {
  return WriteChunks(write, /*with_tail=*/true);
}

std::string SerializeMetrics(const std::vector<prometheus::MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

std::string RenderProbeMetrics(const CheckResult& snapshot, bool success, double duration_seconds) {
  FamilySet set;
  AddDomain(snapshot, &set, /*with_restored=*/false, MetricsDetail::Full());
  set.Add(kProbeSuccess, {}, Bool(success));
  set.Add(kProbeDuration, {}, duration_seconds);
  return SerializeMetrics(set.Take());
}

}  // namespace smtp_exporter
