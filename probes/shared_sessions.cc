#include "probes/shared_sessions.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>
#include <vector>

#include "config/domain_name.h"

namespace smtp_exporter {
namespace {

// How often a waiting probe looks at the shutdown flag.
constexpr std::chrono::milliseconds kCancelPoll{100};
// How long a key's batch stays reduced after one of its shared sessions broke.
constexpr std::chrono::hours kReducedBatchFor{1};

}  // namespace

SharedSessions::SharedSessions(TransportFactory& transports, const Clock& clock,
                               IpConnectionLimiter* limiter, std::size_t max_domains)
    : transports_(transports),
      clock_(clock),
      limiter_(limiter),
      max_domains_(std::clamp<std::size_t>(max_domains, 1, kMaxDomainsPerSession)) {}

SharedSessions::Stats SharedSessions::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stats stats = stats_;
  for (const auto& [key, queue] : queues_) {
    stats.waiting += queue->waiting.size();
  }
  return stats;
}

std::optional<EndpointObservation> SharedSessions::ProbeAlone(const EndpointTarget& target,
                                                              const CheckOptions& options,
                                                              const std::atomic<bool>* cancelled) {
  const std::string ip = target.ip.ToString();
  if (limiter_ != nullptr && !limiter_->Acquire(ip, cancelled)) {
    return std::nullopt;
  }
  IpConnectionLimiter::Slot slot(limiter_, ip);
  EndpointObservation observation = ProbeEndpoint(transports_, clock_, target, options);
  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.sessions;
  ++stats_.domain_probes;
  return observation;
}

std::optional<EndpointObservation> SharedSessions::Probe(const EndpointTarget& target,
                                                         const CheckOptions& options,
                                                         const std::atomic<bool>* cancelled) {
  if (max_domains_ <= 1) {
    return ProbeAlone(target, options, cancelled);
  }
  const std::string key = SessionShapeKey(target, options);
  Waiter self;
  self.domain = StripTrailingDots(target.domain);

  std::unique_lock<std::mutex> lock(mutex_);
  std::unique_ptr<Queue>& entry = queues_[key];
  if (!entry) {
    entry = std::make_unique<Queue>();
    entry->batch = max_domains_;
    if (const auto reduced = reduced_batch_.find(key); reduced != reduced_batch_.end()) {
      if (reduced->second.until > clock_.Now()) {
        entry->batch = reduced->second.batch;
      } else {
        reduced_batch_.erase(reduced);
      }
    }
  }
  Queue& queue = *entry;
  ++queue.users;
  queue.waiting.push_back(&self);
  auto leave_queue = [&queue, &self] {
    queue.waiting.erase(std::find(queue.waiting.begin(), queue.waiting.end(), &self));
  };

  bool cancelled_before_session = false;
  while (!self.done) {
    if (!self.taken && !queue.opener_active && queue.waiting.front() == &self) {
      // Nobody is gathering probes of this key: open the next session.
      queue.opener_active = true;
      self.taken = true;
      leave_queue();
      lock.unlock();
      const bool ran = OpenSession(key, queue, self, target, options, cancelled);
      lock.lock();
      if (!ran) {
        cancelled_before_session = true;
      }
      break;
    }
    if (!self.taken && cancelled != nullptr && cancelled->load()) {
      leave_queue();
      queue.changed.notify_all();  // the next in line may have to open the session now
      cancelled_before_session = true;
      break;
    }
    queue.changed.wait_for(lock, kCancelPoll);
  }

  std::optional<SharedEndpointResult> result = std::move(self.result);
  if (result && result->needs_own_session) {
    ++stats_.probed_again;
  }
  if (--queue.users == 0) {
    queues_.erase(key);
  }
  lock.unlock();

  if (cancelled_before_session || !result) {
    return std::nullopt;
  }
  if (result->needs_own_session) {
    return ProbeAlone(target, options, cancelled);
  }
  return std::move(result->observation);
}

bool SharedSessions::OpenSession(const std::string& key, Queue& queue, Waiter& self,
                                 const EndpointTarget& target, const CheckOptions& options,
                                 const std::atomic<bool>* cancelled) {
  const std::string ip = target.ip.ToString();
  // The wait for the address's slot happens while the session gathers nobody yet: probes of
  // this key that arrive meanwhile queue up and join it at its transactions.
  std::optional<IpConnectionLimiter::Slot> slot;
  if (limiter_ != nullptr) {
    if (!limiter_->Acquire(ip, cancelled)) {
      std::lock_guard<std::mutex> lock(mutex_);
      queue.opener_active = false;
      queue.changed.notify_all();
      return false;
    }
    slot.emplace(limiter_, ip);
  }

  std::vector<Waiter*> taken;  // in the order the session asks for their postmasters
  bool joined = false;
  SessionJoin join = [this, &queue, &self, &taken, &joined] {
    std::vector<std::string> domains;
    std::lock_guard<std::mutex> lock(mutex_);
    std::set<std::string> names{self.domain};
    for (auto it = queue.waiting.begin();
         it != queue.waiting.end() && domains.size() + 1 < queue.batch;) {
      Waiter* waiter = *it;
      if (!names.insert(waiter->domain).second) {
        ++it;  // the same domain twice (two MX names on one address): the next session
        continue;
      }
      waiter->taken = true;
      taken.push_back(waiter);
      domains.push_back(waiter->domain);
      it = queue.waiting.erase(it);
    }
    queue.opener_active = false;  // the batch is taken: the next session may gather
    joined = true;
    queue.changed.notify_all();
    return domains;
  };

  std::vector<SharedEndpointResult> results;
  try {
    results = ProbeSharedEndpoint(transports_, clock_, target, options, join);
  } catch (...) {
    // Out of memory or threads: nobody who waits for this session may wait forever.
    std::lock_guard<std::mutex> lock(mutex_);
    if (!joined) {
      queue.opener_active = false;
    }
    for (Waiter* waiter : taken) {
      waiter->done = true;  // no result: treated as cancelled
    }
    self.done = true;
    queue.changed.notify_all();
    throw;
  }
  slot.reset();  // the connection is closed: the next session of this address may start

  std::lock_guard<std::mutex> lock(mutex_);
  ++stats_.sessions;
  stats_.domain_probes += results.size();
  const bool broke = results.size() > 1 &&
                     std::all_of(results.begin(), results.end(),
                                 [](const SharedEndpointResult& r) { return r.needs_own_session; });
  if (broke) {
    // Every member is asked again: the session broke during its transactions (a server's
    // error or recipient limits may have cut the long group short). Sessions of this key take
    // at most half as many domains for the next hour.
    const SteadyTime now = clock_.Now();
    std::erase_if(reduced_batch_, [now](const auto& item) { return item.second.until <= now; });
    queue.batch = std::min(queue.batch, std::max<std::size_t>(1, results.size() / 2));
    reduced_batch_[key] = {queue.batch, now + kReducedBatchFor};
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    Waiter* waiter = i == 0 ? &self : taken.at(i - 1);
    waiter->result = std::move(results[i]);
    waiter->done = true;
  }
  self.done = true;
  for (Waiter* waiter : taken) {
    waiter->done = true;  // (a result per waiter; kept in case the prober dropped one)
  }
  queue.changed.notify_all();
  return true;
}

}  // namespace smtp_exporter
