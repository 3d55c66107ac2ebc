#include "probes/observation_json.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace smtp_exporter {
namespace {

nlohmann::json OptionalReply(const std::optional<Reply>& reply) {
  return reply ? ToJson(*reply) : nlohmann::json(nullptr);
}

std::string_view DirectionName(TranscriptEntry::Direction direction) {
  switch (direction) {
    case TranscriptEntry::Direction::kClient:
      return "client";
    case TranscriptEntry::Direction::kServer:
      return "server";
    case TranscriptEntry::Direction::kNote:
      return "note";
  }
  return "note";
}

nlohmann::json ToJson(const TransactionProbe& probe) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& step : probe.steps) {
    steps.push_back(
        {{"command", step.command}, {"reply", OptionalReply(step.reply)}, {"error", step.error}});
  }
  return {{"outcome", ProbeOutcomeName(probe.outcome)},
          {"detail", probe.detail},
          {"steps", std::move(steps)}};
}

nlohmann::json ToJson(const TlsDetails& tls) {
  return {{"version", tls.version},
          {"cipher", tls.cipher},
          {"peer_subject", tls.peer_subject},
          {"peer_dns_names", tls.peer_dns_names},
          {"peer_not_after_unix", tls.peer_not_after_unix ? nlohmann::json(*tls.peer_not_after_unix)
                                                          : nlohmann::json(nullptr)}};
}

}  // namespace

nlohmann::json ToJson(const Reply& reply) { return {{"code", reply.code}, {"lines", reply.lines}}; }

nlohmann::json ToJson(const ExtensionSet& extensions) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : extensions.items()) {
    out.push_back({{"keyword", item.keyword}, {"params", item.params}});
  }
  return out;
}

nlohmann::json ToJson(const EndpointObservation& e) {
  nlohmann::json phases = nlohmann::json::object();
  for (const auto& phase : e.phases) {
    phases[phase.phase] = phase.seconds;
  }
  nlohmann::json transcript = nlohmann::json::array();
  for (const auto& entry : e.transcript) {
    transcript.push_back(
        {{"at", entry.at_seconds}, {"dir", DirectionName(entry.direction)}, {"text", entry.text}});
  }
  const auto size_limit = e.ExtensionsUnion().SizeLimit();
  return {
      {"service", EndpointServiceName(e.service)},
      {"domain", e.domain},
      {"mx", e.mx_name},
      {"ip", e.ip.ToString()},
      {"family", IpFamilyName(e.family())},
      {"port", e.port},
      {"started_at", e.started_at_unix},
      {"connect", {{"status", ConnectStatusName(e.connect_status)}, {"error", e.connect_error}}},
      {"greeting",
       {{"reply", OptionalReply(e.greeting)},
        {"announced_hostname", e.announced_hostname},
        {"mentions_esmtp", e.greeting_mentions_esmtp}}},
      {"ehlo",
       {{"reply", OptionalReply(e.ehlo)},
        {"helo_reply", OptionalReply(e.helo)},
        {"esmtp", e.esmtp},
        {"helo_fallback", e.helo_fallback}}},
      {"extensions",
       {{"plain", ToJson(e.extensions_plain)},
        {"tls", ToJson(e.extensions_tls)},
        {"union", ToJson(e.ExtensionsUnion())},
        {"size_limit", size_limit ? nlohmann::json(*size_limit) : nlohmann::json(nullptr)},
        {"auth_mechanisms_plain", e.extensions_plain.AuthMechanisms()}}},
      {"auth_before_tls", e.auth_before_tls},
      {"starttls",
       {{"offered", e.starttls.offered},
        {"attempted", e.starttls.attempted},
        {"reply", OptionalReply(e.starttls.reply)},
        {"ok", e.starttls.ok},
        {"tls", e.starttls.ok ? ToJson(e.starttls.tls) : nlohmann::json(nullptr)},
        {"error", e.starttls.error},
        {"plaintext_bytes_discarded", e.starttls.plaintext_bytes_discarded}}},
      {"tls_ehlo_reply", OptionalReply(e.tls_ehlo)},
      {"transactions",
       {{"channel", TransactionChannelName(e.transactions_channel)},
        {"pipelined", e.transactions_pipelined},
        {"sender", e.probe_sender},
        {"relay_recipient", e.probe_recipient},
        {"null_sender", ToJson(e.null_sender)},
        {"postmaster", ToJson(e.postmaster)},
        {"open_relay", ToJson(e.open_relay)}}},
      {"session",
       {{"domains", e.session_domains}, {"opened_for", e.session_opened_for}}},
      {"protocol_violations", e.protocol_violations},
      {"limit_exceeded", e.limit_exceeded},
      {"session_error", e.session_error},
      {"session_error_code",
       e.session_error_code ? nlohmann::json(ErrorCodeName(*e.session_error_code)) : nullptr},
      {"failure", e.failure ? nlohmann::json{{"phase", e.failure->phase},
                                              {"reason", FailureReasonName(e.failure->reason)}}
                            : nlohmann::json(nullptr)},
      {"phases", std::move(phases)},
      {"transcript", std::move(transcript)},
  };
}

namespace {

nlohmann::json ToJson(const DnsLookup& lookup) {
  return {{"status", DnsStatusName(lookup.status)}, {"error", lookup.error}};
}

nlohmann::json FailedLookups(const std::vector<FailedForwardLookup>& failures) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& failure : failures) {
    nlohmann::json item = ToJson(failure.lookup);
    item["name"] = failure.name;
    out.push_back(std::move(item));
  }
  return out;
}

nlohmann::json Addresses(const std::vector<IpAddress>& addresses) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& ip : addresses) out.push_back(ip.ToString());
  return out;
}

nlohmann::json ToJson(const TxtLookupResult& lookup) {
  return {{"status", DnsStatusName(lookup.status)},
          {"error", lookup.error},
          {"records", lookup.records}};
}

nlohmann::json ToJson(const MtaStsObservation& m) {
  nlohmann::json policy = nullptr;
  if (m.policy) {
    policy = {{"mode", MtaStsModeName(m.policy->mode)},
              {"mx", m.policy->mx},
              {"max_age", m.policy->max_age_seconds}};
  }
  return {{"record_lookup", ToJson(m.record_lookup)},
          {"record_count", m.record_count},
          {"record_error", m.record_error},
          {"record_id", m.record_id},
          {"policy_host", m.policy_host},
          {"fetch_status", PolicyFetchStatusName(m.fetch_status)},
          {"fetch_error", m.fetch_error},
          {"http_status", m.http_status},
          {"policy_address",
           m.policy_address ? nlohmann::json(m.policy_address->ToString()) : nullptr},
          {"policy_body", m.policy_body},
          {"policy", std::move(policy)},
          {"fetch_seconds", m.fetch_seconds}};
}

nlohmann::json ToJson(const TlsRptObservation& t) {
  return {{"record_lookup", ToJson(t.record_lookup)},
          {"record_count", t.record_count},
          {"record_error", t.record_error},
          {"rua", t.rua}};
}

}  // namespace

nlohmann::json ToJson(const DnsObservation& dns) {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& t : dns.mx_targets) {
    nlohmann::json target = {{"preference", t.preference},
                             {"host", t.host},
                             {"is_ip_literal", t.is_ip_literal},
                             {"cname_chain", t.cname_chain},
                             {"a", ToJson(t.a)},
                             {"aaaa", ToJson(t.aaaa)},
                             {"addresses", Addresses(t.addresses)}};
    // DANE: written only when collected (test_dane), so documents without it stay as they were.
    if (t.tlsa.lookup.status != DnsStatus::kNotQueried) {
      nlohmann::json records = nlohmann::json::array();
      for (const auto& record : t.tlsa.records) {
        records.push_back({{"usage", record.usage},
                           {"selector", record.selector},
                           {"matching_type", record.matching_type},
                           {"data_length", record.data_length},
                           {"data", record.data_hex}});
      }
      nlohmann::json tlsa = ToJson(t.tlsa.lookup);
      tlsa["name"] = t.tlsa.name;
      tlsa["authenticated"] = t.tlsa.authenticated;
      tlsa["records"] = std::move(records);
      target["tlsa"] = std::move(tlsa);
    }
    targets.push_back(std::move(target));
  }
  nlohmann::json reverse = nlohmann::json::array();
  for (const auto& r : dns.reverse) {
    reverse.push_back({{"ip", r.ip.ToString()},
                       {"ptr", ToJson(r.ptr)},
                       {"ptr_names", r.ptr_names},
                       {"fcrdns_ok", r.fcrdns_ok ? nlohmann::json(*r.fcrdns_ok) : nullptr},
                       {"fcrdns_name", r.fcrdns_name},
                       {"fcrdns_failures", FailedLookups(r.fcrdns_failures)}});
  }
  return {{"domain", dns.domain},
          {"mx", ToJson(dns.mx)},
          {"mx_targets", std::move(targets)},
          {"null_mx", dns.null_mx},
          {"null_mx_mixed", dns.null_mx_mixed},
          {"implicit_mx", dns.implicit_mx},
          {"implicit_a", ToJson(dns.implicit_a)},
          {"implicit_aaaa", ToJson(dns.implicit_aaaa)},
          {"implicit_addresses", Addresses(dns.implicit_addresses)},
          {"reverse", std::move(reverse)},
          {"timed_out", dns.timed_out},
          {"duration_seconds", dns.duration_seconds}};
}

nlohmann::json ToJson(const DomainObservation& domain) {
  nlohmann::json plan = nlohmann::json::array();
  for (const auto& p : domain.plan.endpoints) {
    plan.push_back({{"mx", p.mx_name},
                    {"preference", p.preference},
                    {"ip", p.ip.ToString()},
                    {"also_named", p.also_named}});
  }
  nlohmann::json endpoints = nlohmann::json::array();
  for (const auto& e : domain.endpoints) endpoints.push_back(ToJson(e));
  nlohmann::json out = {{"schema_version", kObservationSchemaVersion},
          {"domain", domain.domain},
          {"started_at", domain.started_at_unix},
          {"duration_seconds", domain.duration_seconds},
          {"dns", ToJson(domain.dns)},
          {"plan",
           {{"endpoints", std::move(plan)}, {"dropped_over_cap", domain.plan.dropped_over_cap}}},
          {"endpoints", std::move(endpoints)}};
  // Written only when collected: an absent key reads back as "not collected".
  if (!domain.submission.empty()) {
    nlohmann::json submission = nlohmann::json::array();
    for (const auto& e : domain.submission) submission.push_back(ToJson(e));
    out["submission"] = std::move(submission);
  }
  if (!domain.submission_host_error.empty()) {
    out["submission_host_error"] = domain.submission_host_error;
  }
  if (domain.mta_sts) {
    out["mta_sts"] = ToJson(*domain.mta_sts);
  }
  if (domain.tls_rpt) {
    out["tls_rpt"] = ToJson(*domain.tls_rpt);
  }
  return out;
}

std::string DumpJson(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace smtp_exporter

// ---- Reading back -----------------------------------------------------------------------------

namespace smtp_exporter {
namespace {

// A field that is missing or has the wrong type; carries the path for the error message.
struct ReadError {
  std::string path;
  std::string problem;
};

// Walks one JSON object, naming the path of every field it reads.
class Reader {
 public:
  Reader(const nlohmann::json& json, std::string path) : json_(json), path_(std::move(path)) {
    if (!json_.is_object()) {
      throw ReadError{path_, "is not an object"};
    }
  }

  const nlohmann::json& Field(std::string_view name) const {
    const auto it = json_.find(name);
    if (it == json_.end()) {
      throw ReadError{Path(name), "is missing"};
    }
    return *it;
  }
  Reader Object(std::string_view name) const { return Reader(Field(name), Path(name)); }
  // The field, or nullptr when it is absent (for fields added after a schema version shipped).
  const nlohmann::json* Find(std::string_view name) const {
    const auto it = json_.find(name);
    return it == json_.end() ? nullptr : &*it;
  }
  std::string String(std::string_view name) const { return Get<std::string>(name, "a string"); }
  bool Bool(std::string_view name) const { return Get<bool>(name, "a boolean"); }
  double Number(std::string_view name) const {
    const nlohmann::json& value = Field(name);
    if (!value.is_number()) {
      throw ReadError{Path(name), "is not a number"};
    }
    return value.get<double>();
  }
  template <typename Int>
  Int Integer(std::string_view name) const {
    const nlohmann::json& value = Field(name);
    if (!value.is_number_integer()) {
      throw ReadError{Path(name), "is not an integer"};
    }
    if (value.is_number_unsigned()) {
      const auto v = value.get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<Int>::max())) {
        throw ReadError{Path(name), "is out of range"};
      }
      return static_cast<Int>(v);
    }
    const auto v = value.get<std::int64_t>();
    if (v < static_cast<std::int64_t>(std::numeric_limits<Int>::min()) ||
        (v > 0 && static_cast<std::uint64_t>(v) >
                      static_cast<std::uint64_t>(std::numeric_limits<Int>::max()))) {
      throw ReadError{Path(name), "is out of range"};
    }
    return static_cast<Int>(v);
  }
  std::vector<std::string> Strings(std::string_view name) const {
    const nlohmann::json& value = Field(name);
    if (!value.is_array()) {
      throw ReadError{Path(name), "is not an array"};
    }
    std::vector<std::string> out;
    for (const auto& item : value) {
      if (!item.is_string()) {
        throw ReadError{Path(name), "holds a non-string"};
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  const nlohmann::json& Array(std::string_view name) const {
    const nlohmann::json& value = Field(name);
    if (!value.is_array()) {
      throw ReadError{Path(name), "is not an array"};
    }
    return value;
  }
  std::string Path(std::string_view name) const { return path_ + "." + std::string(name); }

 private:
  template <typename T>
  T Get(std::string_view name, std::string_view what) const {
    const nlohmann::json& value = Field(name);
    const bool ok = std::is_same_v<T, bool> ? value.is_boolean() : value.is_string();
    if (!ok) {
      throw ReadError{Path(name), "is not " + std::string(what)};
    }
    return value.get<T>();
  }

  const nlohmann::json& json_;
  std::string path_;
};

// The enum value whose name `name_of` gives `text`, among `values`.
template <typename Enum, std::size_t N>
Enum EnumFromName(const std::string& text, const Enum (&values)[N],
                  std::string_view (*name_of)(Enum), const std::string& path) {
  for (const Enum value : values) {
    if (name_of(value) == text) {
      return value;
    }
  }
  throw ReadError{path, "has the unknown value \"" + text + "\""};
}

IpAddress AddressFrom(const std::string& text, const std::string& path) {
  const std::optional<IpAddress> ip = IpAddress::Parse(text);
  if (!ip) {
    throw ReadError{path, "is not an IP address"};
  }
  return *ip;
}

std::optional<Reply> ReplyFrom(const nlohmann::json& json, const std::string& path) {
  if (json.is_null()) {
    return std::nullopt;
  }
  const Reader r(json, path);
  return Reply{r.Integer<int>("code"), r.Strings("lines")};
}

ExtensionSet ExtensionsFrom(const nlohmann::json& json, const std::string& path) {
  if (!json.is_array()) {
    throw ReadError{path, "is not an array"};
  }
  ExtensionSet set;
  for (const auto& item : json) {
    const Reader r(item, path + "[]");
    set.Add({r.String("keyword"), r.String("params")});
  }
  return set;
}

TransactionProbe ProbeFrom(const Reader& r) {
  static constexpr ProbeOutcome kOutcomes[] = {ProbeOutcome::kNotTested, ProbeOutcome::kAccepted,
                                               ProbeOutcome::kRejected, ProbeOutcome::kTemporary,
                                               ProbeOutcome::kError};
  TransactionProbe probe;
  probe.outcome = EnumFromName(r.String("outcome"), kOutcomes, ProbeOutcomeName, r.Path("outcome"));
  probe.detail = r.String("detail");
  for (const auto& item : r.Array("steps")) {
    const Reader step(item, r.Path("steps[]"));
    probe.steps.push_back({step.String("command"),
                           ReplyFrom(step.Field("reply"), step.Path("reply")),
                           step.String("error")});
  }
  return probe;
}

// The order the prober records phases in; unknown names keep their (sorted) place after these.
constexpr std::string_view kPhaseOrder[] = {"connect",   "tls",          "greeting",
                                            "ehlo",      "starttls",     "tls_ehlo",
                                            "reconnect", "transactions", "total"};

std::size_t PhaseRank(std::string_view phase) {
  for (std::size_t i = 0; i < std::size(kPhaseOrder); ++i) {
    if (kPhaseOrder[i] == phase) {
      return i;
    }
  }
  return std::size(kPhaseOrder);
}

EndpointObservation EndpointFrom(const Reader& r) {
  static constexpr ConnectStatus kStatuses[] = {
      ConnectStatus::kNotAttempted, ConnectStatus::kConnected,   ConnectStatus::kRefused,
      ConnectStatus::kTimeout,      ConnectStatus::kUnreachable, ConnectStatus::kNoRoute,
      ConnectStatus::kError};
  static constexpr TransactionChannel kChannels[] = {
      TransactionChannel::kNone, TransactionChannel::kTls, TransactionChannel::kPlain,
      TransactionChannel::kPlainReconnect};
  static constexpr TranscriptEntry::Direction kDirections[] = {TranscriptEntry::Direction::kClient,
                                                               TranscriptEntry::Direction::kServer,
                                                               TranscriptEntry::Direction::kNote};
  static constexpr EndpointService kServices[] = {
      EndpointService::kMx, EndpointService::kSubmission, EndpointService::kSubmissions};
  EndpointObservation e;
  // Absent in documents from before the submission check: the MX service.
  if (r.Find("service") != nullptr) {
    e.service =
        EnumFromName(r.String("service"), kServices, EndpointServiceName, r.Path("service"));
  }
  e.domain = r.String("domain");
  e.mx_name = r.String("mx");
  e.ip = AddressFrom(r.String("ip"), r.Path("ip"));
  e.port = r.Integer<std::uint16_t>("port");
  e.started_at_unix = r.Number("started_at");
  const Reader connect = r.Object("connect");
  e.connect_status =
      EnumFromName(connect.String("status"), kStatuses, ConnectStatusName, connect.Path("status"));
  e.connect_error = connect.String("error");
  const Reader greeting = r.Object("greeting");
  e.greeting = ReplyFrom(greeting.Field("reply"), greeting.Path("reply"));
  e.announced_hostname = greeting.String("announced_hostname");
  e.greeting_mentions_esmtp = greeting.Bool("mentions_esmtp");
  const Reader ehlo = r.Object("ehlo");
  e.ehlo = ReplyFrom(ehlo.Field("reply"), ehlo.Path("reply"));
  e.helo = ReplyFrom(ehlo.Field("helo_reply"), ehlo.Path("helo_reply"));
  e.esmtp = ehlo.Bool("esmtp");
  e.helo_fallback = ehlo.Bool("helo_fallback");
  const Reader extensions = r.Object("extensions");
  e.extensions_plain = ExtensionsFrom(extensions.Field("plain"), extensions.Path("plain"));
  e.extensions_tls = ExtensionsFrom(extensions.Field("tls"), extensions.Path("tls"));
  e.auth_before_tls = r.Bool("auth_before_tls");
  const Reader starttls = r.Object("starttls");
  e.starttls.offered = starttls.Bool("offered");
  e.starttls.attempted = starttls.Bool("attempted");
  e.starttls.reply = ReplyFrom(starttls.Field("reply"), starttls.Path("reply"));
  e.starttls.ok = starttls.Bool("ok");
  if (!starttls.Field("tls").is_null()) {
    const Reader tls = starttls.Object("tls");
    e.starttls.tls.version = tls.String("version");
    e.starttls.tls.cipher = tls.String("cipher");
    e.starttls.tls.peer_subject = tls.String("peer_subject");
    e.starttls.tls.peer_dns_names = tls.Strings("peer_dns_names");
    if (!tls.Field("peer_not_after_unix").is_null()) {
      e.starttls.tls.peer_not_after_unix = tls.Integer<std::int64_t>("peer_not_after_unix");
    }
  }
  e.starttls.error = starttls.String("error");
  e.starttls.plaintext_bytes_discarded = starttls.Integer<std::size_t>("plaintext_bytes_discarded");
  e.tls_ehlo = ReplyFrom(r.Field("tls_ehlo_reply"), r.Path("tls_ehlo_reply"));
  const Reader transactions = r.Object("transactions");
  e.transactions_channel = EnumFromName(transactions.String("channel"), kChannels,
                                        TransactionChannelName, transactions.Path("channel"));
  // Added after schema version 1 first shipped: absent in older documents (lock-step then).
  if (const auto it = transactions.Find("pipelined"); it != nullptr) {
    e.transactions_pipelined = transactions.Bool("pipelined");
  }
  // Added with shared MX sessions: absent in older documents (a session of its own then).
  if (const auto it = r.Find("session"); it != nullptr) {
    const Reader session = r.Object("session");
    e.session_domains = session.Integer<std::size_t>("domains");
    e.session_opened_for = session.String("opened_for");
  }
  e.probe_sender = transactions.String("sender");
  e.probe_recipient = transactions.String("relay_recipient");
  e.null_sender = ProbeFrom(transactions.Object("null_sender"));
  e.postmaster = ProbeFrom(transactions.Object("postmaster"));
  e.open_relay = ProbeFrom(transactions.Object("open_relay"));
  e.protocol_violations = r.Strings("protocol_violations");
  e.limit_exceeded = r.String("limit_exceeded");
  e.session_error = r.String("session_error");
  // Added after schema version 1 first shipped: absent in older documents.
  if (const auto it = r.Find("session_error_code"); it != nullptr && !it->is_null()) {
    static constexpr ErrorCode kCodes[] = {ErrorCode::kInvalidArgument,
                                           ErrorCode::kTimeout,
                                           ErrorCode::kConnectionRefused,
                                           ErrorCode::kUnreachable,
                                           ErrorCode::kNoRoute,
                                           ErrorCode::kConnectionClosed,
                                           ErrorCode::kIo,
                                           ErrorCode::kTls,
                                           ErrorCode::kProtocol,
                                           ErrorCode::kLimitExceeded,
                                           ErrorCode::kDns,
                                           ErrorCode::kCancelled,
                                           ErrorCode::kInternal};
    if (!it->is_string()) {
      throw ReadError{r.Path("session_error_code"), "is not a string"};
    }
    e.session_error_code =
        EnumFromName(it->get<std::string>(), kCodes, ErrorCodeName, r.Path("session_error_code"));
  }
  // Added within schema version 2: absent in older documents.
  if (const auto it = r.Find("failure"); it != nullptr && !it->is_null()) {
    static constexpr FailureReason kReasons[] = {
        FailureReason::kTimeout,      FailureReason::kRefused,       FailureReason::kUnreachable,
        FailureReason::kClosed,       FailureReason::kReply4xx,      FailureReason::kReply5xx,
        FailureReason::kTlsHandshake, FailureReason::kLimitExceeded, FailureReason::kProtocol,
        FailureReason::kError,        FailureReason::kNotAllowed};
    const Reader failure = r.Object("failure");
    e.failure = ProbeFailure{failure.String("phase"),
                             EnumFromName(failure.String("reason"), kReasons, FailureReasonName,
                                          failure.Path("reason"))};
  }
  const nlohmann::json& phases = r.Field("phases");
  if (!phases.is_object()) {
    throw ReadError{r.Path("phases"), "is not an object"};
  }
  for (const auto& [phase, seconds] : phases.items()) {
    if (!seconds.is_number()) {
      throw ReadError{r.Path("phases." + phase), "is not a number"};
    }
    e.phases.push_back({phase, seconds.get<double>()});
  }
  std::stable_sort(e.phases.begin(), e.phases.end(),
                   [](const PhaseDuration& a, const PhaseDuration& b) {
                     return PhaseRank(a.phase) < PhaseRank(b.phase);
                   });
  for (const auto& item : r.Array("transcript")) {
    const Reader entry(item, r.Path("transcript[]"));
    e.transcript.push_back(
        {entry.Number("at"),
         EnumFromName(entry.String("dir"), kDirections, DirectionName, entry.Path("dir")),
         entry.String("text")});
  }
  return e;
}

DnsLookup LookupFrom(const Reader& r) {
  static constexpr DnsStatus kStatuses[] = {
      DnsStatus::kNotQueried, DnsStatus::kOk,      DnsStatus::kNoData,  DnsStatus::kNxDomain,
      DnsStatus::kServFail,   DnsStatus::kRefused, DnsStatus::kTimeout, DnsStatus::kError};
  return {EnumFromName(r.String("status"), kStatuses, DnsStatusName, r.Path("status")),
          r.String("error")};
}

std::vector<IpAddress> AddressesFrom(const Reader& r, std::string_view name) {
  std::vector<IpAddress> out;
  for (const std::string& text : r.Strings(name)) {
    out.push_back(AddressFrom(text, r.Path(name)));
  }
  return out;
}

DnsObservation DnsFrom(const Reader& r) {
  DnsObservation dns;
  dns.domain = r.String("domain");
  dns.mx = LookupFrom(r.Object("mx"));
  for (const auto& item : r.Array("mx_targets")) {
    const Reader t(item, r.Path("mx_targets[]"));
    MxTarget target;
    target.preference = t.Integer<std::uint16_t>("preference");
    target.host = t.String("host");
    target.is_ip_literal = t.Bool("is_ip_literal");
    target.cname_chain = t.Strings("cname_chain");
    target.a = LookupFrom(t.Object("a"));
    target.aaaa = LookupFrom(t.Object("aaaa"));
    target.addresses = AddressesFrom(t, "addresses");
    // Added within schema version 2: absent when not collected (and in older documents).
    if (const auto it = t.Find("tlsa"); it != nullptr && !it->is_null()) {
      const Reader tlsa = t.Object("tlsa");
      target.tlsa.name = tlsa.String("name");
      target.tlsa.lookup = LookupFrom(tlsa);
      target.tlsa.authenticated = tlsa.Bool("authenticated");
      for (const auto& record_json : tlsa.Array("records")) {
        const Reader record(record_json, tlsa.Path("records[]"));
        target.tlsa.records.push_back({record.Integer<std::uint8_t>("usage"),
                                       record.Integer<std::uint8_t>("selector"),
                                       record.Integer<std::uint8_t>("matching_type"),
                                       record.Integer<std::size_t>("data_length"),
                                       record.String("data")});
      }
    }
    dns.mx_targets.push_back(std::move(target));
  }
  dns.null_mx = r.Bool("null_mx");
  dns.null_mx_mixed = r.Bool("null_mx_mixed");
  dns.implicit_mx = r.Bool("implicit_mx");
  dns.implicit_a = LookupFrom(r.Object("implicit_a"));
  dns.implicit_aaaa = LookupFrom(r.Object("implicit_aaaa"));
  dns.implicit_addresses = AddressesFrom(r, "implicit_addresses");
  for (const auto& item : r.Array("reverse")) {
    const Reader v(item, r.Path("reverse[]"));
    ReverseDns reverse;
    reverse.ip = AddressFrom(v.String("ip"), v.Path("ip"));
    reverse.ptr = LookupFrom(v.Object("ptr"));
    reverse.ptr_names = v.Strings("ptr_names");
    if (!v.Field("fcrdns_ok").is_null()) {
      reverse.fcrdns_ok = v.Bool("fcrdns_ok");
    }
    reverse.fcrdns_name = v.String("fcrdns_name");
    for (const auto& failure : v.Array("fcrdns_failures")) {
      const Reader f(failure, v.Path("fcrdns_failures[]"));
      reverse.fcrdns_failures.push_back({f.String("name"), LookupFrom(f)});
    }
    dns.reverse.push_back(std::move(reverse));
  }
  dns.timed_out = r.Bool("timed_out");
  dns.duration_seconds = r.Number("duration_seconds");
  return dns;
}

TxtLookupResult TxtLookupFrom(const Reader& r) {
  const DnsLookup lookup = LookupFrom(r);
  return {lookup.status, lookup.error, r.Strings("records")};
}

MtaStsObservation MtaStsFrom(const Reader& r) {
  static constexpr PolicyFetchStatus kFetchStatuses[] = {
      PolicyFetchStatus::kNotAttempted,  PolicyFetchStatus::kOk,
      PolicyFetchStatus::kResolveFailed, PolicyFetchStatus::kConnectFailed,
      PolicyFetchStatus::kTlsFailed,     PolicyFetchStatus::kHttpStatus,
      PolicyFetchStatus::kMediaType,     PolicyFetchStatus::kTooLarge,
      PolicyFetchStatus::kTimeout,       PolicyFetchStatus::kError,
      PolicyFetchStatus::kInvalid};
  static constexpr MtaStsMode kModes[] = {MtaStsMode::kEnforce, MtaStsMode::kTesting,
                                          MtaStsMode::kNone};
  MtaStsObservation m;
  m.record_lookup = TxtLookupFrom(r.Object("record_lookup"));
  m.record_count = r.Integer<std::size_t>("record_count");
  m.record_error = r.String("record_error");
  m.record_id = r.String("record_id");
  m.policy_host = r.String("policy_host");
  m.fetch_status = EnumFromName(r.String("fetch_status"), kFetchStatuses, PolicyFetchStatusName,
                                r.Path("fetch_status"));
  m.fetch_error = r.String("fetch_error");
  m.http_status = r.Integer<int>("http_status");
  if (!r.Field("policy_address").is_null()) {
    m.policy_address = AddressFrom(r.String("policy_address"), r.Path("policy_address"));
  }
  m.policy_body = r.String("policy_body");
  if (!r.Field("policy").is_null()) {
    const Reader p = r.Object("policy");
    MtaStsPolicy policy;
    policy.mode = EnumFromName(p.String("mode"), kModes, MtaStsModeName, p.Path("mode"));
    policy.mx = p.Strings("mx");
    policy.max_age_seconds = p.Integer<std::int64_t>("max_age");
    m.policy = std::move(policy);
  }
  m.fetch_seconds = r.Number("fetch_seconds");
  return m;
}

TlsRptObservation TlsRptFrom(const Reader& r) {
  TlsRptObservation t;
  t.record_lookup = TxtLookupFrom(r.Object("record_lookup"));
  t.record_count = r.Integer<std::size_t>("record_count");
  t.record_error = r.String("record_error");
  t.rua = r.Strings("rua");
  return t;
}

}  // namespace

Result<DomainObservation> DomainObservationFromJson(const nlohmann::json& json) {
  try {
    const Reader r(json, "$");
    const int version = r.Integer<int>("schema_version");
    if (version != kObservationSchemaVersion) {
      return Error{ErrorCode::kInvalidArgument,
                   "unsupported observation schema_version " + std::to_string(version) +
                       " (this build reads " + std::to_string(kObservationSchemaVersion) + ")"};
    }
    DomainObservation obs;
    obs.domain = r.String("domain");
    obs.started_at_unix = r.Number("started_at");
    obs.duration_seconds = r.Number("duration_seconds");
    obs.dns = DnsFrom(r.Object("dns"));
    const Reader plan = r.Object("plan");
    for (const auto& item : plan.Array("endpoints")) {
      const Reader p(item, plan.Path("endpoints[]"));
      obs.plan.endpoints.push_back({p.String("mx"), p.Integer<std::uint16_t>("preference"),
                                    AddressFrom(p.String("ip"), p.Path("ip")),
                                    p.Strings("also_named")});
    }
    obs.plan.dropped_over_cap = plan.Integer<std::size_t>("dropped_over_cap");
    for (const auto& item : r.Array("endpoints")) {
      obs.endpoints.push_back(EndpointFrom(Reader(item, "$.endpoints[]")));
    }
    // Absent in documents from before these were collected: "not collected".
    if (r.Find("submission") != nullptr) {
      const nlohmann::json& submission = r.Array("submission");
      if (submission.size() > kMaxSubmissionEndpoints) {
        throw ReadError{r.Path("submission"),
                        "has more than " + std::to_string(kMaxSubmissionEndpoints) + " endpoints"};
      }
      for (const auto& item : submission) {
        obs.submission.push_back(EndpointFrom(Reader(item, "$.submission[]")));
        if (obs.submission.back().service == EndpointService::kMx) {
          throw ReadError{"$.submission[]", "is not a submission endpoint"};
        }
      }
    }
    if (r.Find("submission_host_error") != nullptr) {
      obs.submission_host_error = r.String("submission_host_error");
    }
    if (r.Find("mta_sts") != nullptr) {
      obs.mta_sts = MtaStsFrom(r.Object("mta_sts"));
    }
    if (r.Find("tls_rpt") != nullptr) {
      obs.tls_rpt = TlsRptFrom(r.Object("tls_rpt"));
    }
    return obs;
  } catch (const ReadError& error) {
    return Error{ErrorCode::kInvalidArgument,
                 "observation JSON: " + error.path + " " + error.problem};
  } catch (const nlohmann::json::exception& error) {
    return Error{ErrorCode::kInvalidArgument, std::string("observation JSON: ") + error.what()};
  }
}

}  // namespace smtp_exporter
