// ProbeEndpoint: the seed's per-endpoint checks 6-12 and 15-17 against one (MX, IP, port):
// TCP connect, greeting, EHLO (HELO fallback), extensions before and after STARTTLS, STARTTLS,
// then the null-sender, postmaster and open-relay transaction probes, which stop at RCPT
// (DATA is never sent), then QUIT: one RFC 2920 group when the server advertises PIPELINING
// (and options.pipelining), else one command per reply.
// With a submission target (RFC 8314) the same session stops short of any transaction: port
// 587 reads the greeting, EHLO (AUTH mechanisms in plaintext), STARTTLS, EHLO again (AUTH
// over TLS) and QUITs; port 465 runs the TLS handshake right after connect (implicit TLS),
// then greeting, EHLO and QUIT. MAIL, RCPT, DATA and AUTH are never sent there.
// Thread-safe if the factory and clock are (ours are).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config/check_options.h"
#include "config/base/clock.h"
#include "config/base/ip_address.h"
#include "probes/observation.h"
#include "probes/smtp_reply.h"
#include "probes/transport.h"

namespace smtp_exporter {

struct EndpointTarget {
  std::string domain;   // the domain under test (postmaster@domain, probe-address replacement)
  std::string mx_name;  // the MX host name: SNI and the name the banner is compared with
  IpAddress ip;
  std::uint16_t port = 25;
  EndpointService service = EndpointService::kMx;
};

// Runs the whole endpoint probe within options.timeout and returns what it saw. Never throws
// for anything the server does; a refused connection or a garbage reply is data.
EndpointObservation ProbeEndpoint(TransportFactory& transports, const Clock& clock,
                                  const EndpointTarget& target, const CheckOptions& options,
                                  const SmtpLimits& limits = {});

// Everything that shapes a session besides the domain whose postmaster it asks for: the
// address, port, service and MX name (SNI, banner comparison), HELO name, timeouts, which
// probes run, the open-relay recipient and pipelining (for a submission session, which runs
// no transaction, which probes run and the recipient do not count). Sessions of equal keys
// give every domain the same connection-level facts, so one session can serve them all
// (ProbeSharedEndpoint). An option the prober starts to read must be added here.
std::string SessionShapeKey(const EndpointTarget& target, const CheckOptions& options);

// One domain's part of a shared session.
struct SharedEndpointResult {
  EndpointObservation observation;
  // Its verdicts may owe something to sharing: the session broke during the transaction probes
  // of several domains (a server's error or recipient limits can cut a long group short), or
  // one of this domain's own RCPTs got a 4yz, or a 552 (RFC 5321 §4.5.3.1.10: "too many
  // recipients", which older servers send as 552). Probe the domain again in a session of its
  // own. Never set when the session served one domain.
  bool needs_own_session = false;
};

// Called once per session, when it reaches the transaction probes (or ends before them): the
// other domains (at most kMaxDomainsPerSession - 1, none twice, none equal to the target's) whose
// postmaster the session asks for too. Their endpoints must have the target's SessionShapeKey.
using SessionJoin = std::function<std::vector<std::string>()>;

// One session for target.domain and the domains `join` adds. An MX session runs the
// connection-level probes once, then the null-sender and postmaster probes of every domain in
// the same transactions (one RFC 2920 group when pipelined, else one domain after another), and
// the open-relay probe once. A submission session (587, 465) has no part of its own per domain:
// every domain gets the whole session. Returns target.domain's result first, then the joined
// domains' in `join`'s order. Each observation holds the session's facts, its own domain's
// transaction probes, and a transcript without the other domains' commands and replies;
// session_domains and session_opened_for say it was shared. With nobody joining, the result is
// exactly ProbeEndpoint's.
std::vector<SharedEndpointResult> ProbeSharedEndpoint(TransportFactory& transports,
                                                      const Clock& clock,
                                                      const EndpointTarget& target,
                                                      const CheckOptions& options,
                                                      const SessionJoin& join,
                                                      const SmtpLimits& limits = {});

}  // namespace smtp_exporter
