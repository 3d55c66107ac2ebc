// One check for a shared session against a real MTA (#17 item 2), used by the Postfix, Exim
// and aiosmtpd tests: a session shared by several domains gives each domain exactly the
// verdicts and details of its own session, breaks nowhere (no domain to be asked again), and
// shows no domain another domain's recipients.
// Thread-compatible: call from the test's thread.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "config/base/clock.h"
#include "probes/smtp_probe.h"
#include "probes/transport.h"
#include "tests/integration/lab_environment.h"

namespace smtp_exporter::testing {

// Probes `address` (MX name `mx`, the lab's SMTP port) once for all of `domains`, then each
// domain on its own, with the lab's HELO name, a 15 s timeout and `pipelining`, and expects
// each shared result to equal its own; `pipelined`: whether the server takes the transactions
// as one RFC 2920 group. Returns the shared results, `domains` order, for further checks.
inline std::vector<SharedEndpointResult> ExpectSharedSessionEqualsOwn(
    const std::string& address, const std::string& mx, const std::vector<std::string>& domains,
    bool pipelining, bool pipelined) {
  TcpTransportFactory transports;
  CheckOptions options;
  options.helo_name = "probe.lab.test";
  options.timeout = std::chrono::seconds(15);
  options.pipelining = pipelining;
  const IpAddress ip = *IpAddress::Parse(address);
  const SessionJoin join = [&domains] {
    return std::vector<std::string>(domains.begin() + 1, domains.end());
  };
  std::vector<SharedEndpointResult> shared =
      ProbeSharedEndpoint(transports, SystemClock::Instance(),
                          EndpointTarget{domains[0], mx, ip, kSmtpPort}, options, join);
  EXPECT_EQ(shared.size(), domains.size());
  for (std::size_t i = 0; i < domains.size() && i < shared.size(); ++i) {
    SCOPED_TRACE(domains[i]);
    const EndpointObservation alone =
        ProbeEndpoint(transports, SystemClock::Instance(),
                      EndpointTarget{domains[i], mx, ip, kSmtpPort}, options);
    const EndpointObservation& obs = shared[i].observation;
    EXPECT_FALSE(shared[i].needs_own_session);
    EXPECT_EQ(obs.domain, domains[i]);
    EXPECT_EQ(obs.session_domains, domains.size());
    EXPECT_EQ(obs.transactions_pipelined, pipelined);
    EXPECT_TRUE(obs.session_error.empty()) << obs.session_error;
    const std::pair<const TransactionProbe*, const TransactionProbe*> pairs[] = {
        {&alone.null_sender, &obs.null_sender},
        {&alone.postmaster, &obs.postmaster},
        {&alone.open_relay, &obs.open_relay}};
    for (const auto& [own, in_shared] : pairs) {
      EXPECT_EQ(ProbeOutcomeName(in_shared->outcome), ProbeOutcomeName(own->outcome));
      EXPECT_EQ(in_shared->detail, own->detail);
    }
    // Its own recipient is in its transcript; no other domain's, in any line it sent or saw.
    std::string transcript;
    for (const TranscriptEntry& entry : obs.transcript) {
      transcript += entry.text + "\n";
      for (std::size_t j = 0; j < domains.size(); ++j) {
        if (j != i && entry.direction == TranscriptEntry::Direction::kClient) {
          EXPECT_THAT(entry.text, ::testing::Not(::testing::HasSubstr("@" + domains[j] + ">")));
        }
      }
    }
    for (std::size_t j = 0; j < domains.size(); ++j) {
      const std::string rcpt = "RCPT TO:<postmaster@" + domains[j] + ">";
      if (i == j) {
        EXPECT_THAT(transcript, ::testing::HasSubstr(rcpt));
      } else {
        EXPECT_THAT(transcript, ::testing::Not(::testing::HasSubstr(rcpt)));
      }
    }
  }
  return shared;
}

}  // namespace smtp_exporter::testing
