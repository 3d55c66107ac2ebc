// CheckOptions: the per-run options of one domain check, as the seed (happyDomain checker-smtp)
// defines them, plus the port. A plain value type: copy it freely; no synchronisation needed.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace smtp_exporter {

struct CheckOptions {
  // Endpoint probe budget: connect, EHLO, STARTTLS and the transaction probes together; the
  // wait for the greeting is not counted (greeting_timeout). Default: 12 s (the seed's
  // `timeout`).
  std::chrono::milliseconds timeout{std::chrono::seconds(12)};

  // How long to wait for the 220 greeting after connecting. RFC 5321 §4.5.3.2.1 has senders
  // wait 5 minutes; tarpits and pre-greeting pauses (Postfix postscreen, Exim `delay` in
  // acl_smtp_connect) are deliberate, so this wait is separate and longer than a reply's.
  // Default: 30 s.
  std::chrono::milliseconds greeting_timeout{std::chrono::seconds(30)};

  // Name announced in EHLO/HELO. It should have valid A/AAAA and PTR records, or strict
  // receivers may greylist or reject the probe. Default: this machine's host name (see
  // DefaultHeloName()), never the seed's happyDomain host.
  std::string helo_name;

  // Probe `MAIL FROM:<>` (RFC 5321 §4.5.5: bounces must be accepted). Default: true.
  bool test_null_sender = true;

  // Probe `RCPT TO:<postmaster@domain>` (RFC 5321 §4.5.1). Default: true.
  bool test_postmaster = true;

  // Probe `RCPT TO:<test_probe_address>` to detect an open relay. Default: true.
  bool test_open_relay = true;

  // Recipient used for the open-relay probe; replaced by ProbeAddressFor() when it belongs to
  // the tested domain. Default: postmaster@example.com (the seed's).
  std::string test_probe_address = "postmaster@example.com";

  // Send the transaction probes as one RFC 2920 group when the server advertises PIPELINING
  // (one round trip instead of one per command); false keeps them in lock-step, one command
  // per reply. Verdicts are the same either way. Default: true.
  bool pipelining = true;

  // Look up the TLSA records (DANE, RFC 7672) of each MX host at _PORT._tcp.HOST, and whether
  // the resolver validated them with DNSSEC. Off by default: the AD bit is only meaningful from
  // a validating resolver the operator trusts (dns_servers), which the default system resolver
  // need not be. Default: false.
  bool test_dane = false;

  // TCP port of the SMTP service. Default: 25; other values are for labs and relays.
  std::uint16_t port = 25;

  // Look up the MTA-STS record (RFC 8461) and fetch the policy it announces. Default: true.
  bool test_mta_sts = true;

  // Look up the TLS-RPT record (RFC 8460). Default: true.
  bool test_tls_rpt = true;

  // TCP port of the MTA-STS policy host. Default: 443 (RFC 8461 §3.3); others are for labs.
  std::uint16_t mta_sts_port = 443;

  // PEM file of the CAs trusted for the MTA-STS policy host's certificate. Default: empty, the
  // system's CA bundle.
  std::string mta_sts_ca_file;

  // The message submission ports to check as well (RFC 8314): 587 (submission with STARTTLS,
  // RFC 6409) and/or 465 (submissions, implicit TLS, RFC 8314 §3.3), each at most once, in the
  // order given. The submission sessions never send MAIL, RCPT, DATA or AUTH: they read the
  // greeting, the EHLO reply (the AUTH mechanisms) before and after TLS, then QUIT.
  // Default: empty, off.
  std::vector<std::uint16_t> submission;

  // The host whose addresses the submission ports are checked on, resolved through the check's
  // own resolver. Default: empty, the MX hosts' addresses (many small domains submit to their
  // MX host).
  std::string submission_host;

  friend bool operator==(const CheckOptions&, const CheckOptions&) = default;
};

// Most domains one shared MX session serves (the `domains_per_session` setting). Its second
// transaction carries a postmaster RCPT per domain and the open-relay RCPT, and RFC 5321
// §4.5.3.1.8 has servers accept at least 100 recipients per transaction: 99 domains keep it
// within that.
inline constexpr std::size_t kMaxDomainsPerSession = 99;

// This machine's host name from gethostname(2) (no DNS lookup), or "localhost" if unknown.
std::string DefaultHeloName();

// The open-relay probe recipient for `domain`: `configured` unless its domain is `domain` or a
// subdomain of it (then the probe would test local delivery, not relaying), in which case a
// recipient at example.com (or example.net when example.com is the tested domain) is used.
std::string ProbeAddressFor(const std::string& configured, const std::string& domain);

}  // namespace smtp_exporter
