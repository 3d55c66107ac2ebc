// SharedSessions: the scheduled checks' SMTP sessions (MX, and submission when it is on),
// shared between domains whose MX hosts (or submission host) are the same address. Most
// domains of a fleet use a few providers' MX hosts; probing each domain on a session of its
// own costs every provider address one session per domain and cycle, and with at most
// per_ip_connections sessions per address at a time that caps the cycle (issue #17: at 50 ms
// RTT a 10 000-domain fleet needed ≈50 minutes per 5-minute cycle).
//
// An endpoint probe asks for a session of its SessionShapeKey (address, port, service, MX
// name, HELO, timeouts, probes). Probes of one key wait in a queue; the first becomes the
// session's opener: it takes a per-IP slot (IpConnectionLimiter), connects, and when the
// session reaches its transaction probes, every probe of that key waiting by then (up to the
// key's batch size) joins it: one session answers their connection-level questions once and
// asks each domain's postmaster in the same transactions (ProbeSharedEndpoint; a submission
// session asks nothing per domain and serves each whole, at its end). Probes that arrive
// later wait for the next session, which the first of them opens as soon as the batch is
// taken, within the address's slots. So sessions group exactly as many domains as are
// waiting, which is one when the address is idle (an unshared check) and grows with the queue
// when it is busy, like a group commit.
//
// A domain whose verdict may owe something to sharing (SharedEndpointResult::
// needs_own_session) is probed again on a session of its own. A shared session that broke
// during its transactions (a server's error or recipient limits can cut a long group short)
// halves its key's batch size, down to one, for the next hour.
//
// Thread-safe: Probe() is called from many check threads at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/base/clock.h"
#include "config/check_options.h"
#include "probes/ip_limiter.h"
#include "probes/observation.h"
#include "probes/smtp_probe.h"
#include "probes/transport.h"

namespace smtp_exporter {

class SharedSessions {
 public:
  // `max_domains`: most domains per session, at most kMaxDomainsPerSession (1: no sharing).
  // `limiter` (optional) bounds the sessions per address.
  SharedSessions(TransportFactory& transports, const Clock& clock, IpConnectionLimiter* limiter,
                 std::size_t max_domains);

  // The endpoint probe of `target` (MX or submission) with `options`, on a session shared with
  // the other probes of its SessionShapeKey waiting at the same time. Blocks until the
  // session that served it has ended. nullopt: `cancelled` became true before any session
  // took it (nothing was sent for it).
  std::optional<EndpointObservation> Probe(const EndpointTarget& target,
                                           const CheckOptions& options,
                                           const std::atomic<bool>* cancelled = nullptr);

  struct Stats {
    std::uint64_t sessions = 0;       // sessions run
    std::uint64_t domain_probes = 0;  // endpoint probes they answered (a probe asked again twice)
    std::uint64_t probed_again = 0;   // probes asked again on a session of their own
    std::size_t waiting = 0;          // probes waiting for a session now
  };
  Stats stats() const;

 private:
  struct Waiter {
    std::string domain;
    bool taken = false;  // joined a session (or opened one)
    bool done = false;   // its result is in
    std::optional<SharedEndpointResult> result;
  };
  struct Queue {
    std::deque<Waiter*> waiting;  // not taken yet, oldest first
    bool opener_active = false;   // a session of this key is open and has not taken its batch
    std::size_t batch = 0;        // domains per session now (see the class comment)
    std::size_t users = 0;        // probes of this key in Probe() now
    std::condition_variable changed;
  };

  // Runs one session as the opener of `queue` (mutex_ not held); fills the results of every
  // waiter it took, `self` included. False (no session) when cancelled while waiting for
  // the address's slot.
  bool OpenSession(const std::string& key, Queue& queue, Waiter& self, const EndpointTarget& target,
                   const CheckOptions& options, const std::atomic<bool>* cancelled);
  // The unshared probe, on a session of its own: the limiter's slot, then ProbeEndpoint.
  std::optional<EndpointObservation> ProbeAlone(const EndpointTarget& target,
                                                const CheckOptions& options,
                                                const std::atomic<bool>* cancelled);

  TransportFactory& transports_;
  const Clock& clock_;
  IpConnectionLimiter* const limiter_;
  const std::size_t max_domains_;

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Queue>> queues_;  // keys with probes in Probe() now
  // Batch sizes below max_domains_ learnt from broken sessions, by key, and until when they
  // hold (kept while the key's queue is gone).
  struct ReducedBatch {
    std::size_t batch = 1;
    SteadyTime until;
  };
  std::map<std::string, ReducedBatch> reduced_batch_;
  Stats stats_;
};

}  // namespace smtp_exporter
