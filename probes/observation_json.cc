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
      {"ip", e.ip},
      {"family", IpFamilyName(e.family)},
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

std::string DumpJson(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace smtp_exporter
