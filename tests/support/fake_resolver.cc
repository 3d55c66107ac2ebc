#include "tests/support/fake_resolver.h"

namespace smtp_exporter::testing {

void FakeResolver::SetAddresses(const std::string& name, DnsType type,
                                std::vector<std::string> ips) {
  DnsAnswer answer;
  answer.status = ips.empty() ? DnsStatus::kNoData : DnsStatus::kOk;
  for (const auto& ip : ips) answer.addresses.push_back(*IpAddress::Parse(ip));
  Set(name, type, std::move(answer));
}

void FakeResolver::SetMx(const std::string& name, std::vector<MxRecord> records) {
  DnsAnswer answer;
  answer.status = records.empty() ? DnsStatus::kNoData : DnsStatus::kOk;
  answer.mx = std::move(records);
  Set(name, DnsType::kMx, std::move(answer));
}

void FakeResolver::SetPtr(const std::string& ip, std::vector<std::string> names) {
  DnsAnswer answer;
  answer.status = names.empty() ? DnsStatus::kNoData : DnsStatus::kOk;
  answer.names = std::move(names);
  Set(DnsQuery::Ptr(*IpAddress::Parse(ip)).name, DnsType::kPtr, std::move(answer));
}

std::vector<DnsAnswer> FakeResolver::Resolve(const std::vector<DnsQuery>& queries,
                                             Deadline /*deadline*/) const {
  std::vector<DnsAnswer> answers;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& query : queries) {
    asked_.push_back(query);
    const auto it = table_.find({query.name, query.type});
    if (it != table_.end()) {
      answers.push_back(it->second);
    } else {
      DnsAnswer nx;
      nx.status = DnsStatus::kNxDomain;
      answers.push_back(nx);
    }
  }
  return answers;
}

}  // namespace smtp_exporter::testing
