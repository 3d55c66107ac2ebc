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

#include <string>

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

}  // namespace smtp_exporter
