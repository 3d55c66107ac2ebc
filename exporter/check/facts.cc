#include "exporter/check/facts.h"

#include <string>

namespace smtp_exporter {

bool Answered(const DnsLookup& lookup) {
  return lookup.status == DnsStatus::kOk || lookup.status == DnsStatus::kNoData ||
         lookup.status == DnsStatus::kNxDomain;
}

std::string LookupText(const DnsLookup& lookup) {
  std::string out(DnsStatusName(lookup.status));
  if (!lookup.error.empty()) {
    out += " (" + lookup.error + ")";
  }
  return out;
}

bool IsNullTarget(const MxTarget& target) { return target.host.empty() || target.host == "."; }

namespace {

// The A/AAAA lookups behind the endpoint plan: did any fail?
void NoteAddressFailures(const DnsObservation& dns, DnsFacts& facts) {
  auto failed = [](const DnsLookup& lookup) { return IsDnsFailure(lookup.status); };
  facts.address_failed |= failed(dns.implicit_a) || failed(dns.implicit_aaaa);
  facts.aaaa_failed |= failed(dns.implicit_aaaa);
  for (const auto& target : dns.mx_targets) {
    if (IsNullTarget(target)) {
      continue;
    }
    facts.address_failed |= failed(target.a) || failed(target.aaaa);
    facts.aaaa_failed |= failed(target.aaaa);
  }
  if (dns.timed_out) {
    facts.address_failed = true;
    facts.aaaa_failed = true;
  }
}

}  // namespace

DnsFacts DeriveDnsFacts(const DnsObservation& dns) {
  DnsFacts facts;
  facts.implicit_lookups_made = dns.implicit_a.status != DnsStatus::kNotQueried ||
                                dns.implicit_aaaa.status != DnsStatus::kNotQueried;
  if (dns.mx.status == DnsStatus::kNotQueried) {
    return facts;  // no DNS phase: endpoints were given directly
  }
  facts.ran = true;
  NoteAddressFailures(dns, facts);
  if (IsDnsFailure(dns.mx.status)) {
    facts.mx_failed = true;
    return facts;
  }
  if (dns.null_mx) {
    facts.null_mx = true;
    return facts;
  }
  for (const auto& target : dns.mx_targets) {
    if (!IsNullTarget(target)) {
      return facts;  // an MX set to deliver to
    }
  }
  if (dns.mx.status == DnsStatus::kNxDomain) {
    facts.no_mail = true;
    return facts;
  }
  // No MX RRset: RFC 5321 §5.1 has senders fall back to the domain's own A/AAAA. Without
  // those either (and both lookups answered), the domain cannot receive mail.
  facts.implicit_mx = dns.implicit_mx || !dns.implicit_addresses.empty();
  if (!facts.implicit_mx && Answered(dns.implicit_a) && Answered(dns.implicit_aaaa)) {
    facts.no_mail = true;
  }
  return facts;
}

bool Works(const EndpointObservation& e) {
  return e.connect_status == ConnectStatus::kConnected && e.greeting.has_value() &&
         e.greeting->code == 220;
}

bool NotJudged(const EndpointObservation& e) { return e.connect_status == ConnectStatus::kNoRoute; }

bool ReachedHello(const EndpointObservation& e) { return Works(e) && (e.esmtp || e.helo_fallback); }

bool SubmissionAnswers(const EndpointObservation& e) {
  if (e.service == EndpointService::kSubmissions && !e.starttls.ok) {
    return false;
  }
  return ReachedHello(e);
}

bool SendsPasswordInClear(std::string_view mechanism) {
  return mechanism == "PLAIN" || mechanism == "LOGIN";
}

bool EhloDeferred(const EndpointObservation& e) {
  // Older observations also tried HELO after a 4yz: a 4yz to it too is still only deferred.
  return Works(e) && e.ehlo && e.ehlo->IsTransient() &&
         !(e.helo && (e.helo->IsPositive() || e.helo->IsPermanent()));
}

bool HelloRefused(const EndpointObservation& e) {
  return Works(e) && e.ehlo && !e.ehlo->IsPositive() && !EhloDeferred(e) && e.helo &&
         !e.helo->IsPositive();
}

DomainFacts DeriveFacts(const DomainObservation& obs) {
  DomainFacts facts;
  facts.domain = obs.domain.empty() ? obs.dns.domain : obs.domain;
  facts.dns = DeriveDnsFacts(obs.dns);
  std::size_t working = 0;
  for (const auto& e : obs.endpoints) {
    working += Works(e) ? std::size_t{1} : std::size_t{0};
  }
  facts.another_endpoint_works.reserve(obs.endpoints.size());
  for (const auto& e : obs.endpoints) {
    facts.another_endpoint_works.push_back(working > (Works(e) ? std::size_t{1} : std::size_t{0}));
  }
  return facts;
}

Subject EndpointSubject(const EndpointObservation& e) {
  return Subject::Endpoint(e.domain, e.mx_name, e.ip, e.port);
}

Subject ReverseSubject(const DomainObservation& obs, const std::string& domain, const IpAddress& ip,
                       std::uint16_t port) {
  for (const auto& e : obs.endpoints) {
    if (e.ip == ip) {
      return EndpointSubject(e);
    }
  }
  for (const auto& p : obs.plan.endpoints) {
    if (p.ip == ip) {
      return Subject::Endpoint(domain, p.mx_name, ip, port);
    }
  }
  return Subject::Endpoint(domain, "", ip, port);
}

std::string Truncate(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) {
    return std::string(text);
  }
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return std::string(text.substr(0, cut)) + "...";
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) {
      out += separator;
    }
    out += item;
  }
  return out;
}

std::string QuoteReply(const Reply& reply) {
  if (reply.lines.empty()) {
    return std::to_string(reply.code);
  }
  std::string out;
  for (std::size_t i = 0; i < reply.lines.size() && i < kMaxQuotedLines; ++i) {
    if (i > 0) {
      out += " / ";
    }
    out += "\"" + Truncate(reply.lines[i], kMaxQuotedChars) + "\"";
  }
  if (reply.lines.size() > kMaxQuotedLines) {
    out += " (+" + std::to_string(reply.lines.size() - kMaxQuotedLines) + " more lines)";
  }
  return out;
}

std::string StartTlsFailureText(const EndpointObservation& e) {
  if (e.starttls.reply && e.starttls.reply->code != 220) {
    return "STARTTLS was refused: " + QuoteReply(*e.starttls.reply);
  }
  const std::string& error = e.starttls.error.empty() ? e.session_error : e.starttls.error;
  return "the TLS handshake failed: " + Truncate(error);
}

std::string AddressList(const std::vector<IpAddress>& addresses) {
  std::vector<std::string> texts;
  texts.reserve(addresses.size());
  for (const auto& ip : addresses) {
    texts.push_back(ip.ToString());
  }
  return Join(texts, ", ");
}

std::string SecondsText(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  std::string text = std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    std::string fraction = std::to_string(1000 + ms % 1000).substr(1);
    while (fraction.back() == '0') {
      fraction.pop_back();
    }
    text += "." + fraction;
  }
  return text + " s";
}

}  // namespace smtp_exporter
