// Plain, serialisable data describing what a probe saw. Probing fills it; rules, reports and
// metrics only read it (DESIGN.md §1). A misbehaving server is data here, never an exception.
// Plain value types; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/base/ip_address.h"
#include "config/base/result.h"
#include "probes/smtp_reply.h"
#include "probes/transport.h"

namespace smtp_exporter {

// One line of a session transcript, kept verbatim.
struct TranscriptEntry {
  enum class Direction { kClient, kServer, kNote };
  double at_seconds = 0;  // since the probe started
  Direction direction = Direction::kNote;
  std::string text;
};

// kUnreachable: the network said so (an ICMP error, or neighbour discovery failed on the link).
// kNoRoute: this host's own routing table has no usable route (no IPv6 default route, say), so
// connect() failed before anything was sent: a fact about the exporter's host, not the endpoint.
enum class ConnectStatus {
  kNotAttempted,
  kConnected,
  kRefused,
  kTimeout,
  kUnreachable,
  kNoRoute,
  kError
};

// How a server answered one transaction probe (null sender, postmaster, open relay).
enum class ProbeOutcome {
  kNotTested,  // disabled by options, or never reached
  kAccepted,   // 2xx
  kRejected,   // 5xx
  kTemporary,  // 4xx: greylisting, rate limits; not judged
  kError,      // no usable reply: session ended, timeout, unexpected code
};

// One command sent and the reply it got (or why it got none).
struct SmtpStep {
  std::string command;
  std::optional<Reply> reply;
  std::string error;  // set when no reply arrived
};

struct TransactionProbe {
  ProbeOutcome outcome = ProbeOutcome::kNotTested;
  std::vector<SmtpStep> steps;  // the commands this probe's verdict rests on
  std::string detail;           // how the verdict was reached, for the report
};

struct StartTlsObservation {
  bool offered = false;    // STARTTLS in the plaintext EHLO reply
  bool attempted = false;  // we sent STARTTLS
  std::optional<Reply> reply;
  bool ok = false;         // handshake completed
  TlsDetails tls;          // valid when ok
  std::string error;       // refusal or handshake failure, verbatim
  // Bytes the server sent after its 220 to STARTTLS and before the handshake; they are
  // discarded (RFC 3207 §5, the CVE-2011-0411 class of plaintext injection).
  std::size_t plaintext_bytes_discarded = 0;
};

// Which connection the transaction probes ran on.
enum class TransactionChannel {
  kNone,            // not run (disabled, or the session ended before)
  kTls,             // after a successful STARTTLS
  kPlain,           // plaintext session (no STARTTLS offered or STARTTLS refused)
  kPlainReconnect,  // a fresh plaintext connection after a failed TLS handshake
};

// Why an endpoint probe stopped short, in a bounded vocabulary (the reason label of
// smtp_probe_failed_phase). A verdict, such as a refused RCPT, is not a failure.
enum class FailureReason {
  kTimeout,         // a deadline passed
  kRefused,         // TCP connection refused
  kUnreachable,     // no route to the address (ICMP, or none on this host)
  kClosed,          // the server closed the connection
  kReply4xx,        // a temporary refusal (RFC 5321 §4.2.1: 4yz), 421 included
  kReply5xx,        // a permanent refusal (5yz)
  kTlsHandshake,    // the STARTTLS upgrade failed
  kLimitExceeded,   // the server broke one of our safety bounds
  kProtocol,        // a malformed or unexpected reply
  kError,           // anything else (a local socket error)
  kNotAllowed,      // never attempted: the address is in a denied network (denied_networks)
};

// The first failure of an endpoint probe: the phase it happened in (one of the phase names of
// PhaseDuration, e.g. "greeting", "starttls") and why. A STARTTLS failure is recorded even when
// the probe goes on in plaintext, since senders that insist on TLS stop there.
struct ProbeFailure {
  std::string phase;
  FailureReason reason = FailureReason::kError;
};

struct PhaseDuration {
  std::string phase;  // connect, greeting, ehlo, starttls, tls_ehlo, reconnect, transactions, total
  double seconds = 0;
};

// Which service an endpoint session checked. The submission sessions (RFC 8314) send no
// MAIL, RCPT, DATA or AUTH: greeting, EHLO, STARTTLS (587) and QUIT only.
enum class EndpointService {
  kMx,           // the MX service (port 25): EHLO, STARTTLS and the transaction probes
  kSubmission,   // message submission with STARTTLS (port 587, RFC 6409, RFC 8314 §3.3)
  kSubmissions,  // message submission over implicit TLS (port 465, RFC 8314 §3.3)
};

struct EndpointObservation {
  EndpointService service = EndpointService::kMx;
  // What was probed.
  std::string domain;   // the domain whose mail service this endpoint serves
  std::string mx_name;  // MX target host name (SNI, banner comparison)
  IpAddress ip;
  std::uint16_t port = 25;
  double started_at_unix = 0;  // wall clock, seconds

  ConnectStatus connect_status = ConnectStatus::kNotAttempted;
  std::string connect_error;

  std::optional<Reply> greeting;
  std::string announced_hostname;
  bool greeting_mentions_esmtp = false;

  std::optional<Reply> ehlo;  // plaintext EHLO reply
  std::optional<Reply> helo;  // set when EHLO was refused and HELO tried
  bool esmtp = false;         // EHLO accepted
  bool helo_fallback = false;

  ExtensionSet extensions_plain;
  ExtensionSet extensions_tls;  // from the EHLO after STARTTLS
  bool auth_before_tls = false;  // AUTH in the plaintext EHLO reply

  // The TLS upgrade. For kSubmissions (implicit TLS) it is the handshake right after connect:
  // `offered` stays false, `attempted` and `ok` say whether it was tried and completed, and
  // the EHLO reply, read over TLS, is `tls_ehlo` and `extensions_tls`.
  StartTlsObservation starttls;
  std::optional<Reply> tls_ehlo;

  TransactionChannel transactions_channel = TransactionChannel::kNone;
  // The transaction probes and QUIT went out as one RFC 2920 group (the server advertised
  // PIPELINING and the `pipelining` option was on); false: lock-step, one command per reply.
  bool transactions_pipelined = false;
  std::string probe_sender;     // MAIL FROM used by non-null probes
  std::string probe_recipient;  // RCPT TO used by the open-relay probe
  TransactionProbe null_sender;
  TransactionProbe postmaster;
  TransactionProbe open_relay;

  std::vector<std::string> protocol_violations;  // non-fatal RFC deviations, deduplicated
  std::string limit_exceeded;  // which safety bound the server broke, if any
  std::string session_error;   // why the session ended before QUIT, if it did
  // The error behind session_error when one ended the session (kTimeout, kConnectionClosed,
  // ...): rules branch on this, never on the text.
  std::optional<ErrorCode> session_error_code;
  std::optional<ProbeFailure> failure;  // unset when every phase that ran completed

  std::vector<PhaseDuration> phases;
  std::vector<TranscriptEntry> transcript;

  // A scheduled check may share its MX session with other domains' checks whose MX hosts are
  // the same address (ProbeSharedEndpoint): how many domains the session served (1: its own),
  // and the domain whose check opened it when that was another one (empty otherwise).
  std::size_t session_domains = 1;
  std::string session_opened_for;

  IpFamily family() const { return ip.family(); }

  // STARTTLS-era and plaintext extensions together (RFC 3207 §4.2: the post-TLS set may differ).
  ExtensionSet ExtensionsUnion() const {
    ExtensionSet all = extensions_plain;
    all.Merge(extensions_tls);
    return all;
  }
  // Duration of one phase, or nullopt if it did not run.
  std::optional<double> PhaseSeconds(const std::string& phase) const {
    for (const auto& p : phases) {
      if (p.phase == phase) {
        return p.seconds;
      }
    }
    return std::nullopt;
  }
};

std::string_view ConnectStatusName(ConnectStatus status);
// "mx", "submission", "submissions" (the IANA service names of ports 25, 587 and 465).
std::string_view EndpointServiceName(EndpointService service);
std::string_view ProbeOutcomeName(ProbeOutcome outcome);
std::string_view TransactionChannelName(TransactionChannel channel);
// "timeout", "refused", "unreachable", "closed", "reply_4xx", "reply_5xx", "tls_handshake",
// "limit_exceeded", "protocol", "error", "not_allowed".
std::string_view FailureReasonName(FailureReason reason);
// The failure reason a transport or protocol error stands for.
FailureReason FailureReasonFor(ErrorCode code);
// For reports: "" for a session of its own, else "one session served 12 domains whose MX hosts
// share this address (opened for example.org's check)".
std::string SharedSessionSummary(const EndpointObservation& endpoint);

}  // namespace smtp_exporter
