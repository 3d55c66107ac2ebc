#include "exporter/report/text_report.h"

#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>

#include "exporter/check/facts.h"
#include "exporter/report/findings_text.h"
#include "exporter/report/terminal_text.h"
#include "exporter/report/unix_time.h"
#include "probes/mta_sts.h"

namespace smtp_exporter {
namespace {

std::string Seconds(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3f s", value);
  return buffer;
}

// "ok" or "servfail (the resolver's text)".
std::string LookupText(DnsStatus status, const std::string& error) {
  std::string out(DnsStatusName(status));
  if (!error.empty()) {
    out += " (" + EscapeForTerminal(error) + ")";
  }
  return out;
}

// One policy record line: "  LABEL NAME: ok[, why it is invalid]", then the records of the
// lookup that start with `version`, one per line (MTA-STS and TLS-RPT records alike).
void WritePolicyRecord(std::ostringstream& out, std::string_view label, const std::string& name,
                       const TxtLookupResult& lookup, const std::string& record_error,
                       std::string_view version) {
  out << "  " << label << ' ' << EscapeForTerminal(name) << ": "
      << LookupText(lookup.status, lookup.error);
  if (!record_error.empty()) {
    out << ", " << EscapeForTerminal(record_error);
  }
  out << '\n';
  for (std::string_view record : RecordsWithVersion(lookup.records, version)) {
    out << "      " << EscapeForTerminal(record) << '\n';
  }
}

// DANE at one MX host (RFC 7672), when collected: the TLSA RRset and whether it validated.
void WriteTlsa(std::ostringstream& out, const DaneLookup& dane) {
  if (dane.lookup.status == DnsStatus::kNotQueried) {
    return;
  }
  out << "      TLSA " << EscapeForTerminal(dane.name) << ": ";
  if (dane.records.empty()) {
    out << LookupText(dane.lookup.status, dane.lookup.error) << ", no TLSA\n";
    return;
  }
  out << dane.records.size() << " record" << (dane.records.size() == 1 ? "" : "s") << ", "
      << (dane.authenticated ? "DNSSEC-validated (AD)" : "NOT validated (no AD bit)") << '\n';
  for (const auto& record : dane.records) {
    out << "        " << static_cast<int>(record.usage) << ' ' << static_cast<int>(record.selector)
        << ' ' << static_cast<int>(record.matching_type) << ' ' << record.data_hex
        << (record.data_hex.size() / 2 < record.data_length ? "..." : "") << '\n';
  }
}

void WriteReply(std::ostringstream& out, const char* indent, const Reply& reply) {
  for (const auto& line : reply.lines) {
    out << indent << EscapeForTerminal(line) << '\n';
  }
}

std::string ExtensionList(const ExtensionSet& set) {
  if (set.empty()) {
    return "(none)";
  }
  std::string out;
  for (const auto& item : set.items()) {
    if (!out.empty()) {
      out += ", ";
    }
    out += EscapeForTerminal(item.keyword);
    if (!item.params.empty()) {
      out += " " + EscapeForTerminal(item.params);
    }
  }
  return out;
}

void WriteProbe(std::ostringstream& out, const std::string& name, const TransactionProbe& probe) {
  out << "  " << EscapeForTerminal(name) << ": " << ProbeOutcomeName(probe.outcome);
  if (!probe.detail.empty()) {
    out << " (" << EscapeForTerminal(probe.detail) << ")";
  }
  out << '\n';
  for (const auto& step : probe.steps) {
    out << "      C: " << EscapeForTerminal(step.command) << '\n';
    if (step.reply) {
      for (const auto& line : step.reply->lines) {
        out << "      S: " << EscapeForTerminal(line) << '\n';
      }
    } else {
      out << "      !  " << EscapeForTerminal(step.error) << '\n';
    }
  }
}

}  // namespace

std::string RenderEndpointText(const EndpointObservation& e) {
  std::ostringstream out;
  out << "Endpoint " << e.ip.ToString() << " port " << e.port << " (" << IpFamilyName(e.family()) << ")";
  const bool implicit_tls = e.service == EndpointService::kSubmissions;
  if (e.service != EndpointService::kMx) {
    out << ", " << (implicit_tls ? "submission over implicit TLS" : "submission with STARTTLS");
  }
  if (!e.mx_name.empty()) {
    out << ", MX " << EscapeForTerminal(e.mx_name);
  }
  out << ", domain " << EscapeForTerminal(e.domain) << '\n';
  out << "  connect: " << ConnectStatusName(e.connect_status);
  if (!e.connect_error.empty()) {
    out << " (" << EscapeForTerminal(e.connect_error) << ")";
  }
  out << '\n';
  if (e.greeting) {
    out << "  greeting (" << e.greeting->code << "), announces \""
        << EscapeForTerminal(e.announced_hostname) << "\"" << (e.greeting_mentions_esmtp ? ", ESMTP" : "")
        << ":\n";
    WriteReply(out, "      ", *e.greeting);
  }
  if (e.ehlo) {
    out << "  EHLO: " << e.ehlo->code << (e.esmtp ? " (ESMTP)" : " (refused)") << '\n';
  }
  if (e.helo) {
    out << "  HELO fallback: " << e.helo->code << (e.helo_fallback ? " (accepted)" : " (refused)")
        << '\n';
  }
  if (e.esmtp && implicit_tls) {  // nothing was said before TLS
    out << "  extensions over TLS: " << ExtensionList(e.extensions_tls) << '\n';
  } else if (e.esmtp) {
    out << "  extensions before TLS: " << ExtensionList(e.extensions_plain) << '\n';
    if (e.starttls.ok) {
      out << "  extensions after TLS:  " << ExtensionList(e.extensions_tls) << '\n';
    }
    out << "  AUTH before STARTTLS: " << (e.auth_before_tls ? "YES (credentials over plaintext)" : "no")
        << '\n';
  }
  if (e.esmtp || e.starttls.offered || (implicit_tls && e.starttls.attempted)) {
    out << (implicit_tls ? "  TLS (implicit, RFC 8314): " : "  STARTTLS: ");
    if (!implicit_tls && !e.starttls.offered) {
      out << "not offered\n";
    } else if (e.starttls.ok) {
      const TlsDetails& tls = e.starttls.tls;
      out << "ok, " << tls.version << ", " << tls.cipher << '\n';
      out << "      certificate (not verified): " << EscapeForTerminal(tls.peer_subject);
      if (!tls.peer_dns_names.empty()) {
        out << ", DNS names:";
        for (const auto& name : tls.peer_dns_names) out << ' ' << EscapeForTerminal(name);
      }
      if (tls.peer_not_after_unix) {
        out << ", notAfter " << FormatUnixRfc3339(*tls.peer_not_after_unix);
      }
      out << '\n';
    } else {
      out << "FAILED: " << EscapeForTerminal(e.starttls.error) << '\n';
    }
    if (e.starttls.plaintext_bytes_discarded > 0) {
      out << "      " << e.starttls.plaintext_bytes_discarded
          << " plaintext bytes after the 220 were discarded\n";
    }
  }
  if (e.transactions_channel != TransactionChannel::kNone ||
      e.null_sender.outcome != ProbeOutcome::kNotTested ||
      e.postmaster.outcome != ProbeOutcome::kNotTested ||
      e.open_relay.outcome != ProbeOutcome::kNotTested) {
    out << "  transaction probes (over " << TransactionChannelName(e.transactions_channel)
        << (e.transactions_pipelined ? ", pipelined" : "") << "; DATA is never sent):\n";
    if (e.session_domains > 1) {
      out << "    shared: " << SharedSessionSummary(e) << "\n";
    }
    WriteProbe(out, "null sender", e.null_sender);
    WriteProbe(out, "postmaster", e.postmaster);
    WriteProbe(out, "open relay (RCPT TO:<" + e.probe_recipient + ">)", e.open_relay);
  }
  for (const auto& violation : e.protocol_violations) {
    out << "  protocol violation: " << EscapeForTerminal(violation) << '\n';
  }
  if (!e.limit_exceeded.empty()) {
    out << "  safety limit exceeded: " << EscapeForTerminal(e.limit_exceeded) << '\n';
  }
  if (!e.session_error.empty()) {
    out << "  session ended early: " << EscapeForTerminal(e.session_error) << '\n';
  }
  out << "  phases:";
  for (const auto& phase : e.phases) {
    out << ' ' << phase.phase << '=' << Seconds(phase.seconds);
  }
  out << '\n';
  out << "  transcript:\n";
  for (const auto& entry : e.transcript) {
    const char* marker = entry.direction == TranscriptEntry::Direction::kClient   ? "C:"
                         : entry.direction == TranscriptEntry::Direction::kServer ? "S:"
                                                                                  : "* ";
    char stamp[32];
    std::snprintf(stamp, sizeof(stamp), "%8.3f", entry.at_seconds);
    out << "    " << stamp << ' ' << marker << ' ' << EscapeForTerminal(entry.text) << '\n';
  }
  return out.str();
}

std::string RenderDnsText(const DnsObservation& dns) {
  std::ostringstream out;
  out << "DNS of " << EscapeForTerminal(dns.domain) << " (" << Seconds(dns.duration_seconds) << ")\n";
  if (dns.mx.status == DnsStatus::kNotQueried) {
    out << "  MX: not queried (single endpoint given)\n";
  } else {
    out << "  MX lookup: " << DnsStatusName(dns.mx.status);
    if (!dns.mx.error.empty()) {
      out << " (" << EscapeForTerminal(dns.mx.error) << ")";
    }
    out << '\n';
  }
  if (dns.null_mx) {
    out << "  null MX (RFC 7505): this domain accepts no mail\n";
  }
  if (dns.null_mx_mixed) {
    out << "  null MX published next to other MX records\n";
  }
  for (const auto& target : dns.mx_targets) {
    out << "  MX " << target.preference << ' ' << EscapeForTerminal(target.host);
    if (target.is_ip_literal) {
      out << "  (IP literal, not a host name)";
    }
    if (!target.cname_chain.empty()) {
      out << "  (CNAME:";
      for (std::size_t i = 1; i < target.cname_chain.size(); ++i) {
        out << " -> " << EscapeForTerminal(target.cname_chain[i]);
      }
      out << ")";
    }
    out << '\n';
    if (!target.is_ip_literal) {
      out << "      A " << DnsStatusName(target.a.status) << ", AAAA "
          << DnsStatusName(target.aaaa.status) << ':';
      for (const auto& ip : target.addresses) out << ' ' << ip.ToString();
      out << '\n';
    }
    WriteTlsa(out, target.tlsa);
  }
  if (DeriveDnsFacts(dns).implicit_lookups_made) {
    out << "  no MX RRset; implicit MX from the domain's A ("
        << DnsStatusName(dns.implicit_a.status) << ") and AAAA ("
        << DnsStatusName(dns.implicit_aaaa.status) << "):";
    for (const auto& ip : dns.implicit_addresses) out << ' ' << ip.ToString();
    out << '\n';
  }
  for (const auto& reverse : dns.reverse) {
    out << "  PTR " << reverse.ip.ToString() << ": ";
    if (reverse.ptr_names.empty()) {
      out << "none (" << DnsStatusName(reverse.ptr.status) << ")";
    } else {
      for (std::size_t i = 0; i < reverse.ptr_names.size(); ++i) {
        out << (i == 0 ? "" : ", ") << EscapeForTerminal(reverse.ptr_names[i]);
      }
      out << "; FCrDNS "
          << (!reverse.fcrdns_ok ? "undecided" : *reverse.fcrdns_ok ? "ok" : "MISMATCH");
    }
    out << '\n';
  }
  return out.str();
}

std::string RenderPoliciesText(const DomainObservation& domain) {
  std::ostringstream out;
  if (!domain.mta_sts && !domain.tls_rpt) {
    return "";
  }
  out << "Transport-security policies of " << EscapeForTerminal(domain.domain) << '\n';
  if (const auto& m = domain.mta_sts) {
    WritePolicyRecord(out, "MTA-STS record", "_mta-sts." + domain.domain, m->record_lookup,
                      m->record_error, "v=STSv1");
    if (m->fetch_status != PolicyFetchStatus::kNotAttempted) {
      out << "  MTA-STS policy https://" << EscapeForTerminal(m->policy_host)
          << "/.well-known/mta-sts.txt: " << PolicyFetchStatusName(m->fetch_status);
      if (m->http_status != 0) {
        out << " (HTTP " << m->http_status << ")";
      }
      if (!m->fetch_error.empty()) {
        out << ": " << EscapeForTerminal(m->fetch_error);
      }
      out << '\n';
    }
    if (m->policy) {
      out << "      mode " << MtaStsModeName(m->policy->mode) << ", max_age "
          << m->policy->max_age_seconds << " s, mx:";
      for (const auto& pattern : m->policy->mx) out << ' ' << EscapeForTerminal(pattern);
      out << '\n';
    }
  }
  if (const auto& t = domain.tls_rpt) {
    WritePolicyRecord(out, "TLS-RPT record", "_smtp._tls." + domain.domain, t->record_lookup,
                      t->record_error, "v=TLSRPTv1");
  }
  return out.str();
}

std::string RenderDomainText(const DomainObservation& domain, const std::vector<Finding>& findings,
                             Severity status, bool color) {
  std::ostringstream out;
  out << Paint(EscapeForTerminal(domain.domain), Color::kBold, color) << ": "
      << SeverityLabel(status, color) << " (" << domain.endpoints.size() << " endpoint"
      << (domain.endpoints.size() == 1 ? "" : "s") << ", checked in "
      << Seconds(domain.duration_seconds) << ")\n\n";
  out << RenderWhatToFixText(findings, color) << '\n';
  out << RenderDnsText(domain.dns) << '\n';
  if (const std::string policies = RenderPoliciesText(domain); !policies.empty()) {
    out << policies << '\n';
  }
  for (const auto& endpoint : domain.endpoints) {
    out << RenderEndpointText(endpoint) << '\n';
  }
  if (!domain.submission_host_error.empty()) {
    out << "Submission: " << EscapeForTerminal(domain.submission_host_error) << "\n\n";
  }
  for (const auto& endpoint : domain.submission) {
    out << RenderEndpointText(endpoint) << '\n';
  }
  out << RenderPassedChecksText(findings, color);
  return out.str();
}

}  // namespace smtp_exporter
