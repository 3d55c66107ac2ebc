#include "exporter/text_report.h"

#include <cstdio>
#include <ctime>
#include <sstream>

namespace smtp_exporter {
namespace {

std::string Seconds(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3f s", value);
  return buffer;
}

std::string UnixToUtc(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// Control characters from the network are shown escaped so they cannot drive the terminal.
std::string Printable(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char raw : text) {
    const auto c = static_cast<unsigned char>(raw);
    if (c < 0x20 || c == 0x7f) {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\x%02x", c);
      out += buffer;
    } else {
      out += raw;
    }
  }
  return out;
}

void WriteReply(std::ostringstream& out, const char* indent, const Reply& reply) {
  for (const auto& line : reply.lines) {
    out << indent << Printable(line) << '\n';
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
    out += Printable(item.keyword);
    if (!item.params.empty()) {
      out += " " + Printable(item.params);
    }
  }
  return out;
}

void WriteProbe(std::ostringstream& out, const std::string& name, const TransactionProbe& probe) {
  out << "  " << Printable(name) << ": " << ProbeOutcomeName(probe.outcome);
  if (!probe.detail.empty()) {
    out << " (" << Printable(probe.detail) << ")";
  }
  out << '\n';
  for (const auto& step : probe.steps) {
    out << "      C: " << Printable(step.command) << '\n';
    if (step.reply) {
      for (const auto& line : step.reply->lines) {
        out << "      S: " << Printable(line) << '\n';
      }
    } else {
      out << "      !  " << Printable(step.error) << '\n';
    }
  }
}

}  // namespace

std::string RenderEndpointText(const EndpointObservation& e) {
  std::ostringstream out;
  out << "Endpoint " << e.ip << " port " << e.port << " (" << IpFamilyName(e.family) << ")";
  if (!e.mx_name.empty()) {
    out << ", MX " << Printable(e.mx_name);
  }
  out << ", domain " << Printable(e.domain) << '\n';
  out << "  connect: " << ConnectStatusName(e.connect_status);
  if (!e.connect_error.empty()) {
    out << " (" << Printable(e.connect_error) << ")";
  }
  out << '\n';
  if (e.greeting) {
    out << "  greeting (" << e.greeting->code << "), announces \""
        << Printable(e.announced_hostname) << "\"" << (e.greeting_mentions_esmtp ? ", ESMTP" : "")
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
  if (e.esmtp) {
    out << "  extensions before TLS: " << ExtensionList(e.extensions_plain) << '\n';
    if (e.starttls.ok) {
      out << "  extensions after TLS:  " << ExtensionList(e.extensions_tls) << '\n';
    }
    out << "  AUTH before STARTTLS: " << (e.auth_before_tls ? "YES (credentials over plaintext)" : "no")
        << '\n';
  }
  if (e.esmtp || e.starttls.offered) {
    out << "  STARTTLS: ";
    if (!e.starttls.offered) {
      out << "not offered\n";
    } else if (e.starttls.ok) {
      const TlsDetails& tls = e.starttls.tls;
      out << "ok, " << tls.version << ", " << tls.cipher << '\n';
      out << "      certificate (not verified): " << Printable(tls.peer_subject);
      if (!tls.peer_dns_names.empty()) {
        out << ", DNS names:";
        for (const auto& name : tls.peer_dns_names) out << ' ' << Printable(name);
      }
      if (tls.peer_not_after_unix) {
        out << ", notAfter " << UnixToUtc(*tls.peer_not_after_unix);
      }
      out << '\n';
    } else {
      out << "FAILED: " << Printable(e.starttls.error) << '\n';
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
        << "; DATA is never sent):\n";
    WriteProbe(out, "null sender", e.null_sender);
    WriteProbe(out, "postmaster", e.postmaster);
    WriteProbe(out, "open relay (RCPT TO:<" + e.probe_recipient + ">)", e.open_relay);
  }
  for (const auto& violation : e.protocol_violations) {
    out << "  protocol violation: " << Printable(violation) << '\n';
  }
  if (!e.limit_exceeded.empty()) {
    out << "  safety limit exceeded: " << Printable(e.limit_exceeded) << '\n';
  }
  if (!e.session_error.empty()) {
    out << "  session ended early: " << Printable(e.session_error) << '\n';
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
    out << "    " << stamp << ' ' << marker << ' ' << Printable(entry.text) << '\n';
  }
  return out.str();
}

}  // namespace smtp_exporter
