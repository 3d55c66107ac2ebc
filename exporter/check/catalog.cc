#include "exporter/check/findings.h"

#include <utility>

namespace smtp_exporter {
namespace {

// The one table of finding codes. Codes are the seed's (happyDomain checker-smtp) where it names
// them; the others follow its smtp.<area>.<what> pattern. Fix texts name concrete Postfix and
// Exim settings; docs/findings.md is rendered from this table and the rule table (rules.h).
std::vector<CatalogEntry> BuildCatalog() {
  return {
      // DNS posture.
      {"smtp.mx.null", "null MX: accepts no mail", Severity::kInfo,
       "The domain publishes a null MX (MX 0 .): it declares that it accepts no mail",
       "Nothing to do if the domain really receives no mail: senders fail fast instead of "
       "queueing. If it should receive mail, replace the `MX 0 .` record with MX records naming "
       "your mail servers.",
       "RFC 7505 §3", ""},
      {"smtp.mx.null_mixed", "null MX mixed with other MX", Severity::kCrit,
       "A null MX (MX 0 .) is published next to other MX records",
       "A null MX must be the only MX record. Remove the `MX 0 .` record if the domain receives "
       "mail, or every other MX record if it does not; senders handle the mixed set "
       "inconsistently.",
       "RFC 7505 §3", ""},
      {"smtp.mx.missing", "no MX and no address", Severity::kCrit,
       "The domain has no MX and no address record (or does not exist): it cannot receive mail",
       "Publish MX records naming hosts that run an SMTP server on port 25, e.g. "
       "`example.org. MX 10 mx1.example.org.` plus A/AAAA records for mx1.example.org. If the "
       "domain must never receive mail, publish a null MX (`example.org. MX 0 .`, RFC 7505) so "
       "senders fail at once.",
       "RFC 5321 §5.1", ""},
      {"smtp.mx.implicit", "no MX record (implicit MX)", Severity::kWarn,
       "No MX records: mail falls back to the domain's own A/AAAA records (implicit MX)",
       "Publish an explicit MX record (e.g. `example.org. MX 10 mx1.example.org.`, even if it "
       "names the same host), so the mail service no longer depends on the web server's "
       "address. If the domain receives no mail, publish a null MX (`MX 0 .`) instead.",
       "RFC 5321 §5.1", ""},
      {"smtp.mx.ip_literal", "MX is an IP address", Severity::kCrit,
       "An MX target is an IP address, not a host name",
       "MX targets must be host names. Publish an address record for the server "
       "(`mx1.example.org. A 192.0.2.25`) and point the MX at `mx1.example.org.`; conforming "
       "senders look the literal up as a name and fail.",
       "RFC 5321 §5.1; RFC 1035 §3.3.9", ""},
      {"smtp.mx.cname", "MX is an alias (CNAME)", Severity::kCrit,
       "An MX target is an alias (CNAME)",
       "Point the MX record at the canonical host name, or replace the CNAME with A/AAAA records "
       "for the MX host. Some senders refuse or mishandle MX targets that are aliases.",
       "RFC 5321 §5.1; RFC 2181 §10.3", ""},
      {"smtp.mx.unresolvable", "MX has no address", Severity::kCrit,
       "An MX target has no A or AAAA record",
       "Publish A and/or AAAA records for the MX host, or remove the MX record that names it. "
       "Senders skip it, and bounce the mail when no other MX works.",
       "RFC 5321 §5.1", ""},
      {"smtp.dns.error", "DNS lookup failed", Severity::kError,
       "A DNS lookup failed (SERVFAIL, REFUSED, timeout): part of the check could not run",
       "The result is unknown, not OK, until the lookup answers. Check the zone's authoritative "
       "servers (SERVFAIL often means broken DNSSEC or a lame delegation: compare "
       "`dig +dnssec` and `delv` answers) and the resolver this exporter uses.",
       "RFC 1035 §4.1.1; RFC 2308 §2", ""},

      // Per endpoint: connection, greeting, EHLO.
      {"smtp.tcp.unreachable", "SMTP port unreachable", Severity::kCrit,
       "An MX endpoint does not accept TCP connections on the SMTP port (25 by default)",
       "Make the MTA listen on port 25 (or the port probed) on this address (Postfix: "
       "`inet_interfaces = all` and the `smtp inet` service in master.cf; Exim: "
       "`local_interfaces` and `daemon_smtp_ports = 25`) and allow inbound TCP 25 from anywhere "
       "in every firewall and security group on the path. If the address should not receive "
       "mail, remove its A/AAAA record from the MX host.",
       "RFC 5321 §4.5.4.2",
       "WARN instead of CRIT when another endpoint of the domain's MX set works (connects and "
       "greets with 220), since senders fall back to it. INFO, not judged, when the exporter's "
       "own host has no route to the address (connect() failed before anything was sent, "
       "e.g. no IPv6 default route: connect status `no_route`); the domain-level findings then "
       "leave that endpoint out."},
      {"smtp.all_unreachable", "no MX reachable", Severity::kCrit,
       "No MX endpoint accepts connections: mail to the domain cannot be delivered",
       "Bring at least one MX endpoint back on the SMTP port (see smtp.tcp.unreachable). Senders "
       "queue and retry for a few days, then bounce the mail.",
       "RFC 5321 §5.1; RFC 5321 §4.5.4.2", ""},
      {"smtp.banner.rejected", "no 220 greeting", Severity::kCrit,
       "The server does not greet with 220 (554 refuses the session, 421 is unavailable), or "
       "closes the connection without a greeting",
       "A 554 greeting refuses every transaction from the client: check whether the refusal "
       "targets this exporter's address only (postscreen or DNSBL checks, Postfix "
       "`smtpd_client_restrictions`, Exim `acl_smtp_connect`). A 421 greeting means the server "
       "is overloaded or shutting down: check process and connection limits (Postfix "
       "`default_process_limit`, Exim `smtp_accept_max`). A connection closed without a "
       "greeting: a crashed MTA process, or a firewall or load balancer that accepts TCP with "
       "no mail server behind it.",
       "RFC 5321 §3.1; RFC 5321 §4.2; RFC 5321 §4.2.1",
       "WARN instead of CRIT for a temporary refusal (a 4xx greeting, normally 421): RFC 5321 "
       "§4.2.1 makes 4yz replies transient, senders queue the mail, try the next MX and retry, "
       "and one probe cannot tell a busy moment from an outage. The message says whether "
       "another endpoint of the domain works meanwhile. A 554 greeting and a connection closed "
       "without one stay CRIT; no greeting in time is smtp.banner.delayed."},
      {"smtp.banner.delayed", "no greeting in time", Severity::kWarn,
       "The server accepted the connection but did not greet within the greeting wait",
       "A tarpit or a pre-greeting pause (Postfix `postscreen_greet_wait`, a `delay` in Exim's "
       "`acl_smtp_connect`) longer than this check's `greeting_timeout`. Senders wait up to 5 "
       "minutes for the greeting, so mail is delayed, not lost, unless the pause is longer. If "
       "the pause is deliberate, raise `greeting_timeout` above it; if not, look for an "
       "overloaded MTA (all smtpd processes busy: Postfix `default_process_limit`, Exim "
       "`smtp_accept_max`) or a middlebox that holds the connection.",
       "RFC 5321 §4.5.3.2.1; RFC 5321 §3.1", ""},
      {"smtp.banner.hostname_mismatch", "greeting names another host", Severity::kInfo,
       "The greeting announces a host name that is neither the MX name nor a PTR name of the "
       "address",
       "Announce the server's public name, the one in the MX and PTR records: Postfix "
       "`myhostname = mx1.example.org` (the default `smtpd_banner = $myhostname ESMTP $mail_name` "
       "uses it); Exim `primary_hostname = mx1.example.org` (used by `smtp_banner`). Harmless on "
       "its own, but it confuses diagnostics and some senders' heuristics.",
       "RFC 5321 §4.2; RFC 5321 §4.3.1", ""},
      {"smtp.ehlo.helo_fallback", "EHLO refused, HELO only", Severity::kWarn,
       "EHLO is refused and only HELO works: no ESMTP, so no STARTTLS, SIZE or 8BITMIME",
       "Every current MTA (Postfix, Exim, Sendmail, Exchange) supports EHLO. The usual cause is "
       "a firewall's SMTP inspection rewriting EHLO (Cisco ASA/PIX `inspect esmtp` or "
       "`fixup smtp`): disable it. Otherwise upgrade the MTA.",
       "RFC 5321 §2.2.1; RFC 5321 §3.2", ""},
      {"smtp.ehlo.deferred", "EHLO deferred (4xx)", Severity::kWarn,
       "EHLO got a temporary refusal (4xx): the session stopped before STARTTLS, AUTH and the "
       "transaction probes",
       "Usually the server could not finish a check of this exporter's HELO name or address in "
       "time (Exim `verify = helo` or `helo_verify_hosts` with a DNS lookup that deferred; "
       "Postfix `reject_unknown_helo_hostname` answering 450 on a temporary DNS failure) or it "
       "rate-limits the exporter. Give the exporter a `helo_name` with valid A/AAAA and PTR "
       "records, and check the server's own DNS resolver. Real senders retry later; if this "
       "persists, they are deferred too.",
       "RFC 5321 §4.2.1; RFC 5321 §3.2", ""},
      {"smtp.ehlo.rejected", "EHLO and HELO refused", Severity::kCrit,
       "Both EHLO and HELO are refused: no mail transaction can start",
       "Check the HELO/EHLO restrictions (Postfix `smtpd_helo_restrictions`, Exim "
       "`acl_smtp_helo`); they may refuse this exporter's HELO name, so give the exporter a "
       "`helo_name` with valid A/AAAA and PTR records. A server must accept any syntactically "
       "valid EHLO.",
       "RFC 5321 §4.1.1.1; RFC 5321 §2.2.1", ""},

      // Per endpoint: STARTTLS and AUTH.
      {"smtp.starttls.missing", "no STARTTLS", Severity::kWarn,
       "The endpoint does not offer STARTTLS",
       "Enable opportunistic TLS with a certificate. Postfix: `smtpd_tls_security_level = may` "
       "with `smtpd_tls_chain_files = /etc/ssl/mx1.pem` (or `smtpd_tls_cert_file` and "
       "`smtpd_tls_key_file`). Exim: `tls_advertise_hosts = *` with `tls_certificate` and "
       "`tls_privatekey`. If the MTA does offer it, look for a firewall's SMTP inspection "
       "stripping STARTTLS from the EHLO reply.",
       "RFC 3207 §4; RFC 7435", ""},
      {"smtp.starttls.failed", "STARTTLS fails", Severity::kCrit,
       "STARTTLS is offered but the TLS upgrade fails",
       "Senders that try STARTTLS and fail defer the mail or fall back to plaintext. Read the "
       "MTA log for the handshake error; check that the certificate and key exist, are readable "
       "by the MTA and match (Postfix `smtpd_tls_chain_files`, Exim `tls_certificate` / "
       "`tls_privatekey`), and that the protocol and cipher settings (Postfix "
       "`smtpd_tls_protocols`, Exim `tls_require_ciphers`) allow TLS 1.2 and 1.3.",
       "RFC 3207 §4; RFC 3207 §4.1", ""},
      {"smtp.all_no_starttls", "no working STARTTLS on any MX", Severity::kCrit,
       "No endpoint offers working STARTTLS: all mail to the domain travels in plaintext",
       "Enable STARTTLS on every MX: Postfix `smtpd_tls_security_level = may` plus a certificate "
       "(`smtpd_tls_chain_files`); Exim `tls_advertise_hosts = *` plus `tls_certificate` and "
       "`tls_privatekey`. Then make TLS required rather than opportunistic: publish an MTA-STS "
       "policy (RFC 8461) and/or DANE TLSA records for the MX hosts (RFC 7672), and TLS-RPT "
       "(RFC 8460) to hear about failures.",
       "RFC 3207; RFC 8461; RFC 7672", ""},
      {"smtp.auth.plaintext", "AUTH before STARTTLS", Severity::kCrit,
       "AUTH is advertised before STARTTLS: passwords can cross the network in clear",
       "Offer AUTH only inside TLS. Postfix: `smtpd_tls_auth_only = yes`; better, "
       "`smtpd_sasl_auth_enable = no` on port 25 and authentication on the submission ports 587 "
       "or 465 (master.cf `-o smtpd_sasl_auth_enable=yes`). Exim: "
       "`auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}`.",
       "RFC 4954 §4; RFC 8314 §3", ""},
      {"smtp.extension.missing", "PIPELINING or 8BITMIME missing", Severity::kInfo,
       "PIPELINING or 8BITMIME is not advertised (other extensions are listed, not judged)",
       "PIPELINING lets senders batch commands (fewer round trips); 8BITMIME lets 8-bit bodies "
       "through without conversion to 7-bit. Postfix advertises both by default: check "
       "`smtpd_discard_ehlo_keywords` and `smtpd_discard_ehlo_keyword_address_maps`. Exim: "
       "`pipelining_advertise_hosts = *` (the default) and `accept_8bitmime = true`. OpenSMTPD "
       "and aiosmtpd do not implement PIPELINING: nothing to configure there, hence INFO. A "
       "firewall's SMTP inspection (Cisco `inspect esmtp`) also hides extensions.",
       "RFC 2920; RFC 6152", ""},

      // Per endpoint: reverse DNS.
      {"smtp.ptr.missing", "no PTR", Severity::kWarn,
       "The endpoint address has no reverse DNS (PTR) record",
       "Ask whoever controls the address block (hosting provider or ISP, often a setting in its "
       "control panel) to publish a PTR record naming the MX host, e.g. "
       "`25.2.0.192.in-addr.arpa. PTR mx1.example.org.`, with a matching A/AAAA record. Gmail, "
       "Outlook.com and Yahoo reject or junk mail from hosts without PTR, which hits this host "
       "whenever it also sends (bounces, forwards, replies).",
       "RFC 1912 §2.1; RFC 8601 §3", ""},
      {"smtp.fcrdns.mismatch", "PTR does not resolve back", Severity::kWarn,
       "The PTR name does not resolve back to the address (no forward-confirmed reverse DNS)",
       "Make the PTR name's A/AAAA record contain this address, or change the PTR to a name that "
       "does (`PTR mx1.example.org.` and `mx1.example.org. A 192.0.2.25`). Gmail, Outlook.com "
       "and Yahoo require forward-confirmed reverse DNS of sending hosts and reject or junk mail "
       "without it.",
       "RFC 8601 §3; RFC 1912 §2.1", ""},

      // Per endpoint: transaction probes (they stop at RCPT; DATA is never sent).
      {"smtp.null_sender.rejected", "null sender refused", Severity::kCrit,
       "Mail from the null sender (MAIL FROM:<>, i.e. bounces) is refused",
       "Accept the null sender: bounces and delivery status notifications use it. Postfix: look "
       "for `<>` in the access maps of `smtpd_sender_restrictions` (`check_sender_access`) and "
       "for sender checks that misjudge it. Exim: look for `deny senders = :` in "
       "`acl_smtp_mail` / `acl_smtp_rcpt`.",
       "RFC 5321 §4.5.5; RFC 5321 §6.1", ""},
      {"smtp.postmaster.rejected", "postmaster refused", Severity::kCrit,
       "Mail to postmaster@ the domain is refused",
       "Every mail domain must accept mail for postmaster. Create the address (Postfix: "
       "`postmaster: root` in /etc/aliases then `newaliases`, or a `virtual_alias_maps` entry "
       "`postmaster@example.org admin@example.org`; Exim: an alias in /etc/aliases or the "
       "virtual-domain router) and exempt it from anti-spam checks (Postfix: "
       "`check_recipient_access` with `postmaster@ OK` first; Exim: "
       "`accept local_parts = postmaster` at the top of `acl_smtp_rcpt`).",
       "RFC 5321 §4.5.1", ""},
      {"smtp.open_relay", "open relay", Severity::kCrit,
       "The server relays mail to outside domains for anyone (open relay)",
       "Restrict relaying to your own users and hosts. Postfix: "
       "`smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, "
       "reject_unauth_destination` with `mynetworks` listing only your own hosts (never "
       "0.0.0.0/0). Exim: `hostlist relay_from_hosts = <; 127.0.0.1 ; ::1` (your own hosts "
       "only) and keep `require domains = +local_domains : +relay_to_domains` in "
       "`acl_smtp_rcpt`. An open relay is abused within hours and lands on blocklists.",
       "RFC 5321 §3.6; RFC 5321 §7.1; RFC 2505 §2", ""},
      {"smtp.probe.temporary", "probe answered 4xx (not judged)", Severity::kInfo,
       "A transaction probe got a temporary (4xx) answer, e.g. greylisting: not judged",
       "Usually greylisting or rate limiting of this exporter; nothing to fix if real senders "
       "get through after a retry. To have the probe judged, exempt the exporter's address "
       "(postgrey `whitelist_clients.local`, Postfix `check_client_access`, Exim greylist ACL "
       "exceptions).",
       "RFC 5321 §4.2.1", ""},
      {"smtp.probe.inconclusive", "probe inconclusive (not judged)", Severity::kInfo,
       "A transaction probe got no usable answer (e.g. the exporter's own sender was refused): "
       "not judged",
       "The server refused the probe's own sender address (checker@ the exporter's "
       "`helo_name`), so the recipient could not be tried. Give the exporter a `helo_name` whose "
       "domain has MX/A and SPF records, or exempt its address from sender verification "
       "(Postfix `reject_unverified_sender`, Exim `verify = sender`).",
       "RFC 5321 §4.2.1", ""},
      {"smtp.session.aborted", "session ended early", Severity::kWarn,
       "The SMTP session ended early (timeout, connection closed, 421): some checks have no "
       "verdict",
       "Read the MTA log for this session. Look for error and rate limits (Postfix "
       "`smtpd_hard_error_limit`, `smtpd_client_connection_rate_limit`; Exim "
       "`smtp_accept_max_per_host`, `smtp_ratelimit_*`), middleboxes that drop idle or TLS "
       "connections, and raise this check's `timeout` if the server is merely slow.",
       "RFC 5321 §4.5.3.2; RFC 5321 §3.8", ""},

      // Coverage and protocol conformance.
      {"smtp.ipv6.missing", "no IPv6", Severity::kInfo, "No MX endpoint has an IPv6 address",
       "Publish AAAA records for the MX hosts and make the MTA listen on IPv6 (Postfix "
       "`inet_protocols = all`; Exim listens on IPv6 unless `disable_ipv6 = true`), so "
       "IPv6-only senders can deliver.",
       "RFC 3974", ""},
      {"smtp.ipv6.unreachable", "IPv6 unreachable", Severity::kWarn,
       "AAAA records are published but no IPv6 endpoint accepts connections",
       "Senders that try IPv6 first wait for a timeout before falling back to IPv4, and "
       "IPv6-only senders cannot deliver. Make the MTA listen on IPv6 (Postfix "
       "`inet_protocols = all`, `inet_interfaces = all`), allow TCP 25 in the IPv6 firewall "
       "(ip6tables/nftables), or remove the AAAA records. First check that the exporter's host "
       "has IPv6 connectivity itself.",
       "RFC 3974", ""},
      {"smtp.limits.exceeded", "protocol bound exceeded", Severity::kWarn,
       "The server broke a protocol bound (line length, reply lines, session size): the session "
       "was abandoned",
       "The server sent a line longer than SMTP allows, a reply with too many lines or too much "
       "data. Check for an overlong banner (Postfix `smtpd_banner`, Exim `smtp_banner`) or a "
       "middlebox injecting data into the session.",
       "RFC 5321 §4.5.3.1", ""},
      {"smtp.protocol.violation", "protocol deviation", Severity::kInfo,
       "The server deviated from the SMTP protocol in a way the probe tolerated",
       "See the listed deviations (e.g. bare LF line endings, inconsistent multiline reply "
       "codes, plaintext sent after the STARTTLS reply, the CVE-2011-0411 class). They usually "
       "come from a middlebox or an old MTA: upgrade or remove the component responsible.",
       "RFC 5321 §4.2; RFC 5321 §2.3.8; RFC 3207 §4.2", ""},

      // Posture drift: changes between two checks of the daemon (exporter/check/posture.h).
      {"smtp.drift.starttls_lost", "STARTTLS lost", Severity::kWarn,
       "STARTTLS is no longer offered where an earlier check saw it offered",
       "If nobody turned STARTTLS off on purpose, something on the path removes it: a "
       "firewall's SMTP inspection (Cisco `inspect esmtp`, which hides STARTTLS as `XXXXXXXA`) "
       "or an attacker downgrading the session (STRIPTLS). Compare with a check from another "
       "network. Otherwise turn it back on: Postfix `smtpd_tls_security_level = may` with "
       "`smtpd_tls_chain_files`; Exim `tls_advertise_hosts = *` with `tls_certificate`. Senders "
       "now deliver in plaintext.",
       "RFC 3207 §6; RFC 8461 §1",
       "CRIT when the domain's MTA-STS policy is in enforce mode (senders that honour it defer "
       "the mail). Stays until STARTTLS is offered again. Only the daemon tracks posture: a "
       "one-shot check has no earlier check to compare with."},
      {"smtp.drift.changed", "posture changed", Severity::kInfo,
       "The mail service's posture changed since an earlier check (MX set, banner name, TLS "
       "version, EHLO keywords, AUTH before TLS, PTR names, MTA-STS mode, TLSA records, or "
       "STARTTLS coming back)",
       "Nothing to fix if the change was planned. Otherwise find who changed what the message "
       "names: a new MX record, a replaced MTA (new banner or extensions), a TLS library "
       "upgrade or downgrade, a reverse zone edit, an MTA-STS policy edit. After a TLSA change, "
       "check that the MX host's certificate matches one of the new records (RFC 7671 §8.1: "
       "publish the new record before the new certificate is used).",
       "RFC 5321 §4.3.1; RFC 3207 §4.2; RFC 8461 §5; RFC 7671 §8.1",
       "Reported for 24 hours after the check that saw it; the report's \"Changes\" section and "
       "smtp_change_timestamp_seconds keep it longer."},

      // TLS quality: a TLS checker's findings (happyDomain's checker mode).
      {"smtp.tls.unavailable", "no TLS checker data", Severity::kInfo,
       "No TLS checker findings were given: certificate quality is not judged",
       "Nothing to fix on the mail server. Certificate validity, expiry and name match are a "
       "TLS checker's job: in happyDomain, enable a TLS checker on the endpoints this checker "
       "publishes (tls.endpoint.v1), or disable the rule smtp.tls_quality.",
       "RFC 3207 §4.1; RFC 7672 §3", ""},
      {"smtp.tls.probe_issue", "TLS checker issue", Severity::kWarn,
       "A TLS checker reported a problem with this MX host's certificate or TLS setup",
       "Follow the TLS checker's message: renew or replace the certificate (its names must "
       "include the MX host name), serve the whole chain, and drop protocol versions and "
       "ciphers it flags.",
       "RFC 3207 §4.1; RFC 7672 §3",
       "Severity is the TLS checker's own (info, warn or crit); WARN when it gives none. "
       "Only the happyDomain checker mode receives these (related tls_probes observations)."},

      // Transport-security policies: MTA-STS (RFC 8461) and TLS-RPT (RFC 8460).
      {"smtp.mta_sts.missing", "no MTA-STS record", Severity::kInfo,
       "The domain publishes no MTA-STS record (_mta-sts TXT starting with v=STSv1)",
       "To make senders require TLS with a valid certificate, publish a policy at "
       "`https://mta-sts.example.org/.well-known/mta-sts.txt` (`version: STSv1`, `mode: testing` "
       "first, one `mx:` line per MX host, `max_age: 604800`) and the record "
       "`_mta-sts.example.org. TXT \"v=STSv1; id=20260101T000000\"`; change the id whenever the "
       "policy changes. Publish TLS-RPT too, to hear about failures.",
       "RFC 8461 §3.1", ""},
      {"smtp.mta_sts.record_invalid", "MTA-STS record invalid", Severity::kWarn,
       "The _mta-sts TXT record is not exactly one valid `v=STSv1; id=...` record, so senders "
       "ignore the policy",
       "Publish exactly one TXT record at `_mta-sts.example.org` of the form `v=STSv1; "
       "id=<1-32 letters and digits>`; delete duplicates (two v=STSv1 records disable MTA-STS). "
       "When the lookup itself fails, fix the zone's name servers.",
       "RFC 8461 §3.1",
       "ERROR when the TXT lookup itself failed (SERVFAIL, timeout): the posture is unknown."},
      {"smtp.mta_sts.policy_unavailable", "MTA-STS policy not fetchable", Severity::kWarn,
       "The MTA-STS policy announced by the record cannot be fetched over HTTPS",
       "Serve the policy at `https://mta-sts.example.org/.well-known/mta-sts.txt` with status "
       "200, `Content-Type: text/plain`, no redirect, and a certificate valid for "
       "`mta-sts.example.org` from a public CA (the full chain). Publish an A/AAAA record for "
       "mta-sts.example.org and open port 443.",
       "RFC 8461 §3.3", ""},
      {"smtp.mta_sts.policy_invalid", "MTA-STS policy invalid", Severity::kWarn,
       "The MTA-STS policy file was fetched but does not parse",
       "Write the policy as `key: value` lines: `version: STSv1`, `mode: enforce|testing|none`, "
       "`max_age: <seconds, at most 31557600>` and one `mx: <host or *.domain>` line per MX "
       "host (at least one unless mode is none).",
       "RFC 8461 §3.2", ""},
      {"smtp.mta_sts.mx_not_covered", "MX not in MTA-STS policy", Severity::kCrit,
       "An MX host matches none of the MTA-STS policy's mx patterns: senders honouring the policy "
       "will not deliver to it",
       "Add an `mx:` line for the host to the policy (a `*.example.org` pattern covers exactly "
       "one label, e.g. mx1.example.org but not a.mx.example.org), then change the record's id "
       "so senders fetch it again; or correct the MX records.",
       "RFC 8461 §4.1; RFC 8461 §5",
       "CRIT in enforce mode (mail to the host bounces); WARN in testing mode; not judged in "
       "mode none."},
      {"smtp.mta_sts.starttls_missing", "no STARTTLS under MTA-STS", Severity::kCrit,
       "An endpoint lacks working STARTTLS while the domain's MTA-STS policy requires TLS",
       "Enable STARTTLS with a certificate valid for the MX host name on every MX (Postfix "
       "`smtpd_tls_security_level = may` with `smtpd_tls_chain_files`; Exim "
       "`tls_advertise_hosts = *` with `tls_certificate`), or switch the policy to "
       "`mode: testing` until every MX has it.",
       "RFC 8461 §5; RFC 3207",
       "CRIT in enforce mode (senders refuse to deliver to it); WARN in testing mode; not "
       "judged in mode none."},
      {"smtp.tls_rpt.missing", "no TLS-RPT record", Severity::kInfo,
       "The domain publishes no TLS-RPT record (_smtp._tls TXT starting with v=TLSRPTv1)",
       "Publish `_smtp._tls.example.org. TXT \"v=TLSRPTv1; rua=mailto:tls-reports@example.org\"` "
       "so senders report TLS and MTA-STS failures delivering to the domain.",
       "RFC 8460 §3", ""},
      {"smtp.tls_rpt.invalid", "TLS-RPT record invalid", Severity::kWarn,
       "The _smtp._tls TXT record is not exactly one valid `v=TLSRPTv1; rua=...` record",
       "Publish exactly one record `v=TLSRPTv1; rua=<uri>[,<uri>]` where each URI is "
       "`mailto:` with an address or `https://` with a host.",
       "RFC 8460 §3",
       "ERROR when the TXT lookup itself failed (SERVFAIL, timeout): the posture is unknown."},
      // DANE (RFC 7672): TLSA records at the MX hosts. Severities: a domain without DANE is the
      // common, legitimate case (INFO); TLSA that senders ignore or cannot use protects nothing
      // but delivers (WARN); a failed TLSA lookup makes DANE senders defer mail to that MX, not
      // bounce it, and non-DANE senders are unaffected (WARN, not CRIT).
      {"smtp.dane.no_tlsa", "no TLSA record (no DANE)", Severity::kInfo,
       "An MX host publishes no TLSA record: DANE does not protect mail to it",
       "Optional. To let senders authenticate your server's certificate without a CA, sign the "
       "zone of the MX host with DNSSEC and publish `_25._tcp.mx1.example.org. TLSA 3 1 1 "
       "<SHA-256 of the certificate's public key>` (Postfix: `posttls-finger`; "
       "`openssl x509 -pubkey | openssl pkey -pubin -outform DER | sha256sum`), plus a record for "
       "the next key before rolling it over.",
       "RFC 7672 §2.2; RFC 6698 §2", ""},
      {"smtp.dane.not_validated", "TLSA not DNSSEC-validated", Severity::kWarn,
       "TLSA records are published but the answer is not DNSSEC-validated: senders ignore them",
       "TLSA without DNSSEC is useless: RFC 7672 §2.2 has senders ignore TLSA records that do "
       "not validate. Sign the MX host's zone (e.g. Knot `dnssec-signing: on`, BIND "
       "`dnssec-policy default;`) and publish the DS record at the parent. If the zone is "
       "signed, check that this exporter asks a validating resolver (dns_servers) over a "
       "trusted path: the AD bit is only meaningful from one.",
       "RFC 7672 §2.2; RFC 4035 §3.2.3; RFC 6698 §4.1", ""},
      {"smtp.dane.unusable_parameters", "TLSA unusable for SMTP", Severity::kWarn,
       "A TLSA record has parameters SMTP senders cannot use (PKIX usage, unknown selector or "
       "matching type, wrong digest length)",
       "Publish DANE-EE(3) or DANE-TA(2) records only: `3 1 1` (SHA-256 of the server's public "
       "key) is the recommended form. Usages PKIX-TA(0) and PKIX-EE(1) are not for SMTP; a "
       "SHA2-256 digest is 32 bytes (64 hex digits), a SHA2-512 digest 64 bytes.",
       "RFC 7672 §3.1; RFC 6698 §2.1", ""},
      {"smtp.dane.lookup_failed", "TLSA lookup failed", Severity::kWarn,
       "The TLSA lookup of an MX host failed (SERVFAIL, timeout): DANE senders defer mail to it",
       "A SERVFAIL for the TLSA name usually means broken DNSSEC (expired signatures, a DS "
       "without a matching key) or authoritative servers that mishandle the TLSA type. Compare "
       "`dig +dnssec TLSA _25._tcp.mx1.example.org` with `delv` and fix the zone: RFC 7672 "
       "§2.2.1 has DANE senders treat the MX host as unusable until the lookup answers.",
       "RFC 7672 §2.2.1; RFC 4035 §5.5", ""},
      // Message submission (option `submission`, RFC 8314): the ports mail users' programs
      // send through, 587 with STARTTLS and 465 with implicit TLS. Passwords cross them, so
      // what matters is that nothing can be authenticated in clear.
      {"smtp.submission.unreachable", "submission port unreachable", Severity::kWarn,
       "A configured submission port (587 or 465) does not hold a session to QUIT: no "
       "connection, no 220 greeting, or EHLO refused",
       "Check that the submission service listens on the port and address (Postfix master.cf: "
       "`submission inet n - y - - smtpd` and `submissions inet n - y - - smtpd` with "
       "`-o smtpd_tls_wrappermode=yes`; Exim: `daemon_smtp_ports = 25 : 465 : 587` and "
       "`tls_on_connect_ports = 465`), that the firewall lets it through, and that "
       "`submission_host` names the host your users send to.",
       "RFC 8314 §3; RFC 6409 §3",
       "WARN when another address still answers on that port; CRIT when no address of a "
       "configured port answers, or the submission host has no address: mail users cannot "
       "send. INFO when no session could be run because the domain has no MX address and "
       "`submission_host` is not set: nothing was checked."},
      {"smtp.submission.no_starttls", "no STARTTLS on 587", Severity::kCrit,
       "Port 587 does not offer STARTTLS, or the TLS upgrade fails: passwords and mail would "
       "cross the network in clear",
       "Offer STARTTLS on 587 and require it before AUTH. Postfix master.cf submission: "
       "`-o smtpd_tls_security_level=encrypt` with `smtpd_tls_cert_file`/`smtpd_tls_key_file` "
       "set; Exim: `tls_advertise_hosts = *` with `tls_certificate`/`tls_privatekey`. RFC 8314 "
       "§3.3 prefers implicit TLS on 465 for new setups.",
       "RFC 8314 §3.3, §4; RFC 3207 §4", ""},
      {"smtp.submission.tls_failed", "implicit TLS failed on 465", Severity::kCrit,
       "The TLS handshake right after connecting to port 465 failed: clients using implicit TLS "
       "cannot submit mail",
       "Port 465 must start TLS before any SMTP (RFC 8314 §3.3), so a plain SMTP greeting there "
       "is this finding. Postfix master.cf submissions: `-o smtpd_tls_wrappermode=yes`; Exim: "
       "`tls_on_connect_ports = 465`. Check the certificate and key files and the protocols "
       "allowed (TLS 1.2 or later, RFC 8314 §4.1).",
       "RFC 8314 §3.3, §4.1", ""},
      {"smtp.submission.plaintext_auth", "plaintext AUTH before TLS", Severity::kCrit,
       "Port 587 offers a plaintext password mechanism (PLAIN, LOGIN) before STARTTLS: a client "
       "can send the password in clear",
       "Advertise AUTH only after STARTTLS. Postfix: `smtpd_tls_auth_only = yes` (master.cf "
       "submission: `-o smtpd_tls_security_level=encrypt`); Exim: `auth_advertise_hosts = "
       "${if eq{$tls_in_cipher}{}{}{*}}`; Dovecot submission: `disable_plaintext_auth = yes`. "
       "Better still, serve users on 465 (implicit TLS, RFC 8314 §3.3).",
       "RFC 4954 §4; RFC 4616 §6; RFC 8314 §3", ""},
      {"smtp.submission.auth_before_tls", "AUTH before TLS", Severity::kWarn,
       "Port 587 offers AUTH before STARTTLS with mechanisms that do not send the password in "
       "clear (CRAM-MD5, SCRAM): the user name and a hash still cross in clear",
       "Advertise AUTH only after STARTTLS (Postfix `smtpd_tls_auth_only = yes`; Exim "
       "`auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}`): RFC 8314 §3 wants every "
       "submission session encrypted before authentication, and a client that authenticates "
       "in clear can be downgraded.",
       "RFC 4954 §4; RFC 8314 §3", ""},
      {"smtp.submission.no_auth", "no AUTH after TLS", Severity::kWarn,
       "The submission port offers no AUTH over TLS: its users cannot authenticate",
       "A submission server is for authenticated users (RFC 6409 §4.3): enable SASL on it "
       "(Postfix master.cf submission/submissions: `-o smtpd_sasl_auth_enable=yes` with "
       "`smtpd_sasl_type = dovecot`; Exim: an `authenticators` section). If the port accepts "
       "mail without authentication, it is another MX, not a submission service.",
       "RFC 6409 §4.3; RFC 4954 §3; RFC 8314 §3", ""},
  };
}

}  // namespace

Subject Subject::Domain(std::string domain) {
  Subject subject;
  subject.domain = std::move(domain);
  return subject;
}

Subject Subject::Host(std::string domain, std::string mx) {
  Subject subject = Domain(std::move(domain));
  subject.mx = std::move(mx);
  return subject;
}

Subject Subject::Endpoint(std::string domain, std::string mx, const IpAddress& ip,
                          std::uint16_t port) {
  Subject subject = Host(std::move(domain), std::move(mx));
  subject.ip = ip;
  subject.port = port;
  return subject;
}

Subject Subject::Service(std::string domain, std::string host, const IpAddress& ip,
                         std::uint16_t port) {
  Subject subject = Endpoint(std::move(domain), std::move(host), ip, port);
  subject.show_port = true;
  return subject;
}

std::string Subject::Text() const {
  if (ip) {
    const std::string address =
        "[" + ip->ToString() + "]" + (show_port ? ":" + std::to_string(port) : "");
    return mx.empty() ? address : mx + " " + address;
  }
  return mx.empty() ? domain : mx;
}

bool Subject::IsAbout(const IpAddress& address, std::uint16_t endpoint_port) const {
  return ip && *ip == address && (port == 0 || port == endpoint_port);
}

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kOk:
      return "ok";
    case Severity::kInfo:
      return "info";
    case Severity::kWarn:
      return "warn";
    case Severity::kCrit:
      return "crit";
    case Severity::kError:
      return "error";
  }
  return "error";
}

std::string_view SeverityLabelName(Severity severity) {
  switch (severity) {
    case Severity::kOk:
      return "OK";
    case Severity::kInfo:
      return "INFO";
    case Severity::kWarn:
      return "WARN";
    case Severity::kCrit:
      return "CRIT";
    case Severity::kError:
      return "ERROR";
  }
  return "ERROR";
}

const std::vector<CatalogEntry>& FindingCatalog() {
  static const std::vector<CatalogEntry>* const catalog =
      new std::vector<CatalogEntry>(BuildCatalog());
  return *catalog;
}

const CatalogEntry* FindCatalogEntry(std::string_view code) {
  for (const auto& entry : FindingCatalog()) {
    if (entry.code == code) {
      return &entry;
    }
  }
  return nullptr;
}

}  // namespace smtp_exporter
