// Fuzz target: DNS answers as the resolver reads them (ParseDnsAnswer, probes/resolver.h: c-ares's
// A/AAAA/MX/PTR/TXT parsers plus our own CNAME and TLSA readers, probes/dns_message.h and
// probes/resolver.cc).
//
// Input: byte 0 picks the query (A, AAAA, MX, PTR of an IPv4 or IPv6 address, TXT or TLSA); the
// rest is the raw DNS message a server sent back. TLSA: at most 16 records, each showing at most
// 64 bytes of its association data as lower-case hex, and "authenticated" only with the AD bit.
// Invariants: an answer is kOk exactly when it holds records of the query's type, and a failed
// one says why; A answers hold only IPv4 addresses, AAAA only IPv6, each once; a CNAME chain is
// empty or starts at the query name, has no repeats and is bounded; names come back without
// trailing dots; TXT answers stay within kMaxTxtRecords records of kMaxTxtBytes; the CNAME records read are normalised, and following them from any owner gives
// a bounded chain of real links.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/base/ip_address.h"
#include "config/domain_name.h"
#include "probes/dns_message.h"
#include "probes/resolver.h"
#include "tests/fuzz/fuzz_check.h"

namespace smtp_exporter::fuzz {
namespace {

// FollowCnameChain stops after 16 links: the name plus 16 targets.
constexpr std::size_t kMaxChain = 17;

template <typename T>
bool Unique(const std::vector<T>& items) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (items[i] == items[j]) return false;
    }
  }
  return true;
}

void CheckChain(const std::string& name, const std::vector<std::string>& chain,
                const std::vector<CnameRecord>& records) {
  if (chain.empty()) {
    return;
  }
  FUZZ_CHECK(chain.size() >= 2 && chain.size() <= kMaxChain);
  FUZZ_CHECK(chain.front() == NormaliseHostName(name));
  FUZZ_CHECK(Unique(chain));
  for (std::size_t i = 1; i < chain.size(); ++i) {
    FUZZ_CHECK(std::any_of(records.begin(), records.end(), [&](const CnameRecord& r) {
      return r.owner == chain[i - 1] && r.target == chain[i];
    }));
  }
}

bool Normalised(const std::string& name) {
  return name == NormaliseHostName(name);
}

DnsQuery QueryFor(std::uint8_t selector) {
  switch (selector % 7) {
    case 0:
      return {"mx1.example.org.", DnsType::kA};
    case 1:
      return {"mx1.example.org.", DnsType::kAaaa};
    case 2:
      return {"example.org.", DnsType::kMx};
    case 3:
      return DnsQuery::Ptr(*IpAddress::Parse("192.0.2.25"));
    case 4:
      return DnsQuery::Ptr(*IpAddress::Parse("2001:db8::25"));
    case 5:
      return {"_mta-sts.example.org.", DnsType::kTxt};
    default:
      return {"_25._tcp.mx1.example.org.", DnsType::kTlsa};
  }
}

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  if (size == 0 || size > 65536) {
    return 0;
  }
  const DnsQuery query = QueryFor(data[0]);
  const unsigned char* message = data + 1;
  const std::size_t length = size - 1;

  DnsAnswer answer;
  ParseDnsAnswer(query, message, static_cast<int>(length), &answer);
  const bool has_records = !answer.addresses.empty() || !answer.mx.empty() ||
                           !answer.names.empty() || !answer.txt.empty() ||
                           !answer.tlsa.empty();
  FUZZ_CHECK((answer.status == DnsStatus::kOk) == has_records);
  FUZZ_CHECK(answer.status != DnsStatus::kNotQueried);
  if (answer.status != DnsStatus::kOk && answer.status != DnsStatus::kNoData) {
    FUZZ_CHECK(!answer.error.empty());
  }
  switch (query.type) {
    case DnsType::kA:
    case DnsType::kAaaa: {
      const IpFamily family = query.type == DnsType::kA ? IpFamily::kV4 : IpFamily::kV6;
      for (const IpAddress& ip : answer.addresses) {
        FUZZ_CHECK(ip.family() == family);
      }
      FUZZ_CHECK(Unique(answer.addresses));
      FUZZ_CHECK(answer.mx.empty() && answer.names.empty() && answer.txt.empty());
      break;
    }
    case DnsType::kMx:
      for (const MxRecord& mx : answer.mx) {
        FUZZ_CHECK(!mx.host.ends_with('.'));
      }
      FUZZ_CHECK(answer.addresses.empty() && answer.names.empty());
      FUZZ_CHECK(answer.cname_chain.empty());
      break;
    case DnsType::kPtr:
      for (const std::string& name : answer.names) {
        FUZZ_CHECK(!name.ends_with('.'));
      }
      FUZZ_CHECK(Unique(answer.names));
      FUZZ_CHECK(answer.addresses.empty() && answer.mx.empty());
      FUZZ_CHECK(answer.cname_chain.empty());
      break;
    case DnsType::kTxt:
      FUZZ_CHECK(answer.txt.size() <= kMaxTxtRecords);
      for (const std::string& record : answer.txt) {
        FUZZ_CHECK(record.size() <= kMaxTxtBytes);
      }
      FUZZ_CHECK(answer.addresses.empty() && answer.mx.empty() && answer.names.empty());
      FUZZ_CHECK(answer.cname_chain.empty());
      break;
    case DnsType::kTlsa:
      FUZZ_CHECK(answer.tlsa.size() <= DaneLookup::kMaxTlsaRecords);
      for (const TlsaRecord& record : answer.tlsa) {
        const std::size_t shown = std::min(record.data_length, TlsaRecord::kMaxTlsaDataShown);
        FUZZ_CHECK(record.data_hex.size() == 2 * shown);
        FUZZ_CHECK(record.data_hex.find_first_not_of("0123456789abcdef") == std::string::npos);
        FUZZ_CHECK(record.data_length <= 65535);
      }
      FUZZ_CHECK(!answer.authenticated || (length >= 4 && (message[3] & 0x20) != 0));
      FUZZ_CHECK(answer.addresses.empty() && answer.mx.empty() && answer.names.empty());
      FUZZ_CHECK(answer.cname_chain.empty());
      break;
  }
  // Only TLSA answers carry TLSA records or the AD bit.
  if (query.type != DnsType::kTlsa) {
    FUZZ_CHECK(answer.tlsa.empty() && !answer.authenticated);
  }

  // Our own reader of the answer section, on its own.
  const Result<std::vector<CnameRecord>> records = ParseCnameRecords(message, length);
  if (records.ok()) {
    for (const CnameRecord& record : records.value()) {
      FUZZ_CHECK(Normalised(record.owner));
      FUZZ_CHECK(Normalised(record.target));
    }
    if (query.type == DnsType::kA || query.type == DnsType::kAaaa) {
      CheckChain(query.name, answer.cname_chain, records.value());
    }
    for (const CnameRecord& record : records.value()) {
      CheckChain(record.owner, FollowCnameChain(record.owner, records.value()), records.value());
    }
  } else {
    FUZZ_CHECK(answer.cname_chain.empty());
    FUZZ_CHECK(!records.error().message.empty());
  }
  return 0;
}
