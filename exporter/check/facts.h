// Derived facts: what an observation means, decided once, for every rule, report and metric
// that needs it ("the endpoint works", "the lookup answered", "the domain receives no mail").
// Before this file each reader decided them for itself, and they drifted apart (REVIEW.md §1).
//
// Also the wording helpers every rule shares (quoting server replies, bounded excerpts).
// Pure functions of their arguments; thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exporter/check/findings.h"
#include "probes/dns_observation.h"
#include "probes/observation.h"

namespace smtp_exporter {

// ---- DNS ----------------------------------------------------------------------------------

// The lookup got an answer (records or a definite "none"), as opposed to failing or not running.
bool Answered(const DnsLookup& lookup);

// "nodata", or "servfail (server failed)": a lookup's status with the resolver's text.
std::string LookupText(const DnsLookup& lookup);

// An MX record whose target is the root ("MX 0 ."), i.e. a null MX entry (RFC 7505).
bool IsNullTarget(const MxTarget& target);

// What the DNS posture decides for the rest of the check.
struct DnsFacts {
  bool ran = false;             // the MX query was made (not so for `check --endpoint`)
  bool mx_failed = false;       // the MX query itself failed: nothing about the MX set is known
  bool null_mx = false;         // RFC 7505: the domain receives no mail, by design
  bool no_mail = false;         // NXDOMAIN, or no MX and no address: it cannot receive mail
  bool address_failed = false;  // an A/AAAA lookup of an MX target or of the domain failed
  bool aaaa_failed = false;     // an AAAA lookup failed: IPv6 coverage is unknown
  // No MX RRset, and senders fall back to the domain's own A/AAAA (RFC 5321 §5.1).
  bool implicit_mx = false;
  // The fallback A/AAAA lookups of the domain were made (there was no MX RRset): reports show
  // them whatever they answered.
  bool implicit_lookups_made = false;
};

DnsFacts DeriveDnsFacts(const DnsObservation& dns);

// ---- Endpoints ----------------------------------------------------------------------------

// An endpoint that works for a sender: it connects and greets with 220.
bool Works(const EndpointObservation& e);

// The exporter's own host had no route to the endpoint (connect() failed before sending
// anything, e.g. no IPv6 default route): nothing is known about the endpoint itself, so the
// domain-level verdicts (all_unreachable, ipv6.unreachable) leave it out.
bool NotJudged(const EndpointObservation& e);

// Got past the greeting and the EHLO/HELO exchange, so STARTTLS and AUTH can be judged.
bool ReachedHello(const EndpointObservation& e);

// EHLO got a temporary refusal (4yz, RFC 5321 §4.2.1) and nothing accepted or permanently
// refused it: the probe stopped there, and the server's posture is unknown, not bad.
bool EhloDeferred(const EndpointObservation& e);

// EHLO was refused and HELO after it too: no mail transaction can start.
bool HelloRefused(const EndpointObservation& e);

// A submission endpoint (RFC 8314) held its session to EHLO, over TLS on 465: the port answers
// as a submission server.
bool SubmissionAnswers(const EndpointObservation& e);

// The SASL mechanism sends the password itself: PLAIN (RFC 4616 §6) and LOGIN. RFC 4954 §4:
// they must not be used outside an encrypted session. `mechanism` in upper case.
bool SendsPasswordInClear(std::string_view mechanism);

// ---- The whole domain ---------------------------------------------------------------------

struct DomainFacts {
  std::string domain;  // the checked domain's name
  DnsFacts dns;
  // Per endpoint (same order as DomainObservation::endpoints): another endpoint of the domain
  // works, so senders fall back to it.
  std::vector<bool> another_endpoint_works;
};

DomainFacts DeriveFacts(const DomainObservation& obs);

// ---- Subjects and wording -----------------------------------------------------------------

// The endpoint `e` as a finding subject ("mx1.example.org [192.0.2.1]").
Subject EndpointSubject(const EndpointObservation& e);

// The subject for a reverse lookup of `ip`: the endpoint probing that address, else the
// planned endpoint (on `port`), else the bare address.
Subject ReverseSubject(const DomainObservation& obs, const std::string& domain, const IpAddress& ip,
                       std::uint16_t port);

// Server text quoted in a message is bounded: the full reply stays in the observation.
inline constexpr std::size_t kMaxQuotedLines = 3;
inline constexpr std::size_t kMaxQuotedChars = 200;

// Cuts at `limit` bytes without splitting a UTF-8 sequence, marking the cut with "...".
std::string Truncate(std::string_view text, std::size_t limit = kMaxQuotedChars);

std::string Join(const std::vector<std::string>& items, std::string_view separator);

// The reply's lines verbatim, each in quotes: "554 5.7.1 Relay access denied" (bounded).
std::string QuoteReply(const Reply& reply);

// Why an attempted STARTTLS did not give a TLS session, for a finding (bounded): "STARTTLS was
// refused: <reply>" or "the TLS handshake failed: <error>". The port-25 and the submission
// rules word it alike.
std::string StartTlsFailureText(const EndpointObservation& e);

// "192.0.2.1, 2001:db8::1".
std::string AddressList(const std::vector<IpAddress>& addresses);

// "12 s", "1.5 s".
std::string SecondsText(std::chrono::milliseconds duration);

}  // namespace smtp_exporter
