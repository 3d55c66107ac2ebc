// FakeResolver: answers DNS queries from a table filled by the test; anything not in the table
// is NXDOMAIN. Records every query asked. Resolve() may be called from several threads.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "probes/resolver.h"

namespace smtp_exporter::testing {

class FakeResolver final : public Resolver {
 public:
  // Locked like Resolve(): a test may change the table while the daemon's scheduled checks
  // (other threads) read it.
  void Set(const std::string& name, DnsType type, DnsAnswer answer) {
    std::lock_guard<std::mutex> lock(mutex_);
    table_[{name, type}] = std::move(answer);
  }
  // Convenience: an OK answer with these addresses / MX records / PTR names.
  void SetAddresses(const std::string& name, DnsType type, std::vector<std::string> ips);
  void SetMx(const std::string& name, std::vector<MxRecord> records);
  void SetPtr(const std::string& ip, std::vector<std::string> names);

  std::vector<DnsAnswer> Resolve(const std::vector<DnsQuery>& queries,
                                 Deadline deadline) const override;

  std::vector<DnsQuery> asked() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return asked_;
  }

 private:
  mutable std::mutex mutex_;  // guards table_ and asked_
  std::map<std::pair<std::string, DnsType>, DnsAnswer> table_;
  mutable std::vector<DnsQuery> asked_;
};

// Forwards to a resolver owned elsewhere, for code that wants to own its Resolver.
class ResolverRef final : public Resolver {
 public:
  explicit ResolverRef(const Resolver& target) : target_(target) {}
  std::vector<DnsAnswer> Resolve(const std::vector<DnsQuery>& queries,
                                 Deadline deadline) const override {
    return target_.Resolve(queries, deadline);
  }

 private:
  const Resolver& target_;
};

}  // namespace smtp_exporter::testing
