#include "probes/dns_probe.h"

#include <algorithm>
#include <map>

#include "config/domain_name.h"

namespace smtp_exporter {
namespace {

DnsLookup LookupOf(const DnsAnswer& answer) { return DnsLookup{answer.status, answer.error}; }

void AppendUnique(const std::vector<IpAddress>& from, std::vector<IpAddress>* to) {
  for (const auto& ip : from) {
    if (std::find(to->begin(), to->end(), ip) == to->end()) {
      to->push_back(ip);
    }
  }
}

}  // namespace

DnsObservation ProbeDns(const Resolver& resolver, const Clock& clock, const std::string& domain,
                        Deadline deadline, const DnsProbeLimits& limits,
                        std::optional<std::uint16_t> tlsa_port) {
  const SteadyTime started = clock.Now();
  DnsObservation dns;
  dns.domain = NormaliseHostName(domain);

  const DnsAnswer mx = resolver.Resolve({{dns.domain, DnsType::kMx}}, deadline).front();
  dns.mx = LookupOf(mx);

  if (mx.status == DnsStatus::kNoData) {
    // RFC 5321 §5.1: no MX RRset, so senders use the domain's own address records.
    const auto answers = resolver.Resolve(
        {{dns.domain, DnsType::kA}, {dns.domain, DnsType::kAaaa}}, deadline);
    dns.implicit_a = LookupOf(answers[0]);
    dns.implicit_aaaa = LookupOf(answers[1]);
    AppendUnique(answers[0].addresses, &dns.implicit_addresses);
    AppendUnique(answers[1].addresses, &dns.implicit_addresses);
    dns.implicit_mx = !dns.implicit_addresses.empty();
  } else if (mx.status == DnsStatus::kOk) {
    std::vector<MxRecord> records = mx.mx;
    bool has_null = false;
    std::erase_if(records, [&](const MxRecord& r) {
      const bool is_null = r.host.empty();
      has_null = has_null || is_null;
      return is_null;
    });
    // RFC 7505 §3: a null MX is the only MX record; anything beside it is an error.
    dns.null_mx = has_null && records.empty();
    dns.null_mx_mixed = has_null && !records.empty();
    std::sort(records.begin(), records.end(), [](const MxRecord& a, const MxRecord& b) {
      return a.preference != b.preference ? a.preference < b.preference
                                          : NormaliseHostName(a.host) < NormaliseHostName(b.host);
    });
    if (records.size() > limits.max_mx_targets) {
      records.resize(limits.max_mx_targets);
    }
    std::vector<DnsQuery> queries;
    for (const auto& record : records) {
      MxTarget target;
      target.preference = record.preference;
      target.host = NormaliseHostName(record.host);
      // RFC 5321 §5.1: the MX target must be a host name; "192.0.2.1" or "[192.0.2.1]" written
      // as a name is not looked up as an address by conforming senders.
      target.is_ip_literal = IpAddress::Parse(target.host).has_value();
      if (!target.is_ip_literal) {
        queries.push_back({target.host, DnsType::kA});
        queries.push_back({target.host, DnsType::kAaaa});
        if (tlsa_port) {
          // RFC 7672 §2.2.2: the TLSA base name is the MX host name as published (senders may
          // use its CNAME-expanded name only when the expansion validated; an alias as MX
          // target is reported by smtp.mx_sanity anyway). RFC 6698 §3: _PORT._tcp.HOST.
          target.tlsa.name = "_" + std::to_string(*tlsa_port) + "._tcp." + target.host;
          queries.push_back({target.tlsa.name, DnsType::kTlsa});
        }
      }
      dns.mx_targets.push_back(std::move(target));
    }
    const auto answers = resolver.Resolve(queries, deadline);
    std::size_t next = 0;
    for (auto& target : dns.mx_targets) {
      if (target.is_ip_literal) {
        continue;
      }
      const DnsAnswer& a = answers[next++];
      const DnsAnswer& aaaa = answers[next++];
      if (tlsa_port) {
        const DnsAnswer& tlsa = answers[next++];
        target.tlsa.lookup = LookupOf(tlsa);
        target.tlsa.records = tlsa.tlsa;
        if (target.tlsa.records.size() > DaneLookup::kMaxTlsaRecords) {
          target.tlsa.records.resize(DaneLookup::kMaxTlsaRecords);
        }
        target.tlsa.authenticated = tlsa.authenticated;
      }
      target.a = LookupOf(a);
      target.aaaa = LookupOf(aaaa);
      AppendUnique(a.addresses, &target.addresses);
      AppendUnique(aaaa.addresses, &target.addresses);
      // RFC 5321 §5.1 / RFC 2181 §10.3: an MX target must not be an alias.
      target.cname_chain = !a.cname_chain.empty() ? a.cname_chain : aaaa.cname_chain;
    }
  }
  dns.timed_out = clock.Now() >= deadline;
  dns.duration_seconds = SecondsBetween(started, clock.Now());
  return dns;
}

EndpointPlan PlanEndpoints(const DnsObservation& dns, std::size_t max_endpoints) {
  EndpointPlan plan;
  auto add = [&](const std::string& name, std::uint16_t preference, const IpAddress& ip) {
    for (auto& existing : plan.endpoints) {
      if (existing.ip == ip) {
        if (existing.mx_name != name &&
            std::find(existing.also_named.begin(), existing.also_named.end(), name) ==
                existing.also_named.end()) {
          existing.also_named.push_back(name);
        }
        return;
      }
    }
    if (plan.endpoints.size() >= max_endpoints) {
      ++plan.dropped_over_cap;
      return;
    }
    plan.endpoints.push_back({name, preference, ip, {}});
  };
  if (dns.implicit_mx) {
    for (const auto& ip : dns.implicit_addresses) add(dns.domain, 0, ip);
    return plan;
  }
  for (const auto& target : dns.mx_targets) {
    for (const auto& ip : target.addresses) add(target.host, target.preference, ip);
  }
  return plan;
}

void ProbeReverseDns(const Resolver& resolver, const EndpointPlan& plan, Deadline deadline,
                     const DnsProbeLimits& limits, DnsObservation* dns) {
  std::vector<DnsQuery> ptr_queries;
  for (const auto& endpoint : plan.endpoints) {
    ptr_queries.push_back(DnsQuery::Ptr(endpoint.ip));
  }
  const auto ptr_answers = resolver.Resolve(ptr_queries, deadline);

  // Forward lookups of every PTR name, each name once however many addresses share it.
  std::vector<DnsQuery> forward;
  std::map<std::string, std::size_t> forward_index;
  for (std::size_t i = 0; i < plan.endpoints.size(); ++i) {
    ReverseDns reverse;
    reverse.ip = plan.endpoints[i].ip;
    reverse.ptr = LookupOf(ptr_answers[i]);
    for (const auto& name : ptr_answers[i].names) {
      if (reverse.ptr_names.size() < limits.max_ptr_names) {
        reverse.ptr_names.push_back(NormaliseHostName(name));
      }
    }
    for (const auto& name : reverse.ptr_names) {
      const DnsType type = reverse.ip.family() == IpFamily::kV4 ? DnsType::kA : DnsType::kAaaa;
      const std::string key = name + (type == DnsType::kA ? "/A" : "/AAAA");
      if (!forward_index.contains(key)) {
        forward_index[key] = forward.size();
        forward.push_back({name, type});
      }
    }
    dns->reverse.push_back(std::move(reverse));
  }
  const auto forward_answers = resolver.Resolve(forward, deadline);
  for (auto& reverse : dns->reverse) {
    if (reverse.ptr_names.empty()) {
      continue;  // undecided: the PTR rule reports the missing PTR
    }
    bool confirmed = false;
    bool undecided = false;
    for (const auto& name : reverse.ptr_names) {
      const std::string key =
          name + (reverse.ip.family() == IpFamily::kV4 ? "/A" : "/AAAA");
      const DnsAnswer& answer = forward_answers[forward_index[key]];
      if (IsDnsFailure(answer.status)) {
        undecided = true;
        reverse.fcrdns_failures.push_back({name, DnsLookup{answer.status, answer.error}});
        continue;
      }
      if (std::find(answer.addresses.begin(), answer.addresses.end(), reverse.ip) !=
          answer.addresses.end()) {
        confirmed = true;
        reverse.fcrdns_name = name;
        break;
      }
    }
    if (confirmed) {
      reverse.fcrdns_ok = true;
    } else if (!undecided) {
      reverse.fcrdns_ok = false;
    }
  }
}

}  // namespace smtp_exporter
