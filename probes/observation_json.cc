#include "probes/observation_json.h"

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
    steps.push_back({{"command", step.command},
                     {"reply", OptionalReply(step.reply)},
                     {"error", step.error}});
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

nlohmann::json ToJson(const Reply& reply) {
  return {{"code", reply.code}, {"lines", reply.lines}};
}

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
        {"sender", e.probe_sender},
        {"relay_recipient", e.probe_recipient},
        {"null_sender", ToJson(e.null_sender)},
        {"postmaster", ToJson(e.postmaster)},
        {"open_relay", ToJson(e.open_relay)}}},
      {"protocol_violations", e.protocol_violations},
      {"limit_exceeded", e.limit_exceeded},
      {"session_error", e.session_error},
      {"phases", std::move(phases)},
      {"transcript", std::move(transcript)},
  };
}

namespace {

nlohmann::json ToJson(const DnsLookup& lookup) {
  return {{"status", DnsStatusName(lookup.status)}, {"error", lookup.error}};
}

nlohmann::json Addresses(const std::vector<IpAddress>& addresses) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& ip : addresses) out.push_back(ip.ToString());
  return out;
}

}  // namespace

nlohmann::json ToJson(const DnsObservation& dns) {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& t : dns.mx_targets) {
    targets.push_back({{"preference", t.preference},
                       {"host", t.host},
                       {"is_ip_literal", t.is_ip_literal},
                       {"cname_chain", t.cname_chain},
                       {"a", ToJson(t.a)},
                       {"aaaa", ToJson(t.aaaa)},
                       {"addresses", Addresses(t.addresses)}});
  }
  nlohmann::json reverse = nlohmann::json::array();
  for (const auto& r : dns.reverse) {
    reverse.push_back({{"ip", r.ip.ToString()},
                       {"ptr", ToJson(r.ptr)},
                       {"ptr_names", r.ptr_names},
                       {"fcrdns_ok", r.fcrdns_ok ? nlohmann::json(*r.fcrdns_ok) : nullptr},
                       {"fcrdns_name", r.fcrdns_name},
                       {"fcrdns_errors", r.fcrdns_errors}});
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
  return {{"schema_version", kObservationSchemaVersion},
          {"domain", domain.domain},
          {"started_at", domain.started_at_unix},
          {"duration_seconds", domain.duration_seconds},
          {"dns", ToJson(domain.dns)},
          {"plan", {{"endpoints", std::move(plan)},
                    {"dropped_over_cap", domain.plan.dropped_over_cap}}},
          {"endpoints", std::move(endpoints)}};
}

std::string DumpJson(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace smtp_exporter
