#include "probes/resolver.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>

#include "config/domain_name.h"
#include "probes/dns_message.h"

namespace smtp_exporter {
namespace {

// Upper bound on driver loop turns per Resolve(): each turn waits in poll(), so this only
// guards against a spinning loop, never cuts a healthy batch short.
constexpr int kMaxDriverTurns = 100000;

DnsStatus StatusFromAres(int status) {
  switch (status) {
    case ARES_SUCCESS:
      return DnsStatus::kOk;
    case ARES_ENODATA:
      return DnsStatus::kNoData;
    case ARES_ENOTFOUND:
      return DnsStatus::kNxDomain;
    case ARES_ESERVFAIL:
      return DnsStatus::kServFail;
    case ARES_EREFUSED:
      return DnsStatus::kRefused;
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      return DnsStatus::kTimeout;
    default:
      return DnsStatus::kError;
  }
}

// One query in flight: where its answer goes.
struct Pending {
  const DnsQuery* query;
  DnsAnswer* answer;
  int* outstanding;
};

void ParseAddresses(const DnsQuery& query, const unsigned char* buffer, int length,
                    DnsAnswer* answer) {
  hostent* host = nullptr;
  const int rc = query.type == DnsType::kA
                     ? ares_parse_a_reply(buffer, length, &host, nullptr, nullptr)
                     : ares_parse_aaaa_reply(buffer, length, &host, nullptr, nullptr);
  if (rc != ARES_SUCCESS) {
    answer->status = StatusFromAres(rc);
    answer->error = ares_strerror(rc);
    return;
  }
  const int family = query.type == DnsType::kA ? AF_INET : AF_INET6;
  for (char** entry = host->h_addr_list; entry != nullptr && *entry != nullptr; ++entry) {
    if (host->h_addrtype != family) {
      continue;
    }
    const IpAddress ip =
        IpAddress::FromBytes(query.type == DnsType::kA ? IpFamily::kV4 : IpFamily::kV6,
                             reinterpret_cast<const std::uint8_t*>(*entry));
    if (std::find(answer->addresses.begin(), answer->addresses.end(), ip) ==
        answer->addresses.end()) {
      answer->addresses.push_back(ip);
    }
  }
  // RFC 5321 §5.1: MX targets must not be aliases, so the chain is recorded whole. c-ares 1.18's
  // hostent misnames the end of chains longer than one link: read the records themselves.
  if (Result<std::vector<CnameRecord>> cnames =
          ParseCnameRecords(buffer, static_cast<std::size_t>(length));
      cnames.ok()) {
    answer->cname_chain = FollowCnameChain(query.name, cnames.value());
  }
  ares_free_hostent(host);
  answer->status = answer->addresses.empty() ? DnsStatus::kNoData : DnsStatus::kOk;
}

void ParseMx(const unsigned char* buffer, int length, DnsAnswer* answer) {
  ares_mx_reply* replies = nullptr;
  const int rc = ares_parse_mx_reply(buffer, length, &replies);
  if (rc != ARES_SUCCESS) {
    answer->status = StatusFromAres(rc);
    answer->error = ares_strerror(rc);
    return;
  }
  for (const ares_mx_reply* mx = replies; mx != nullptr; mx = mx->next) {
    answer->mx.push_back({mx->priority, StripTrailingDots(mx->host != nullptr ? mx->host : "")});
  }
  ares_free_data(replies);
  answer->status = answer->mx.empty() ? DnsStatus::kNoData : DnsStatus::kOk;
}

void ParsePtr(const DnsQuery& query, const unsigned char* buffer, int length, DnsAnswer* answer) {
  const std::optional<IpAddress>& ip = query.address;
  const int family = ip && ip->family() == IpFamily::kV6 ? AF_INET6 : AF_INET;
  const int size = family == AF_INET6 ? 16 : 4;
  hostent* host = nullptr;
  const int rc =
      ares_parse_ptr_reply(buffer, length, ip ? ip->bytes().data() : nullptr, size, family, &host);
  if (rc != ARES_SUCCESS) {
    answer->status = StatusFromAres(rc);
    answer->error = ares_strerror(rc);
    return;
  }
  if (host->h_name != nullptr) {
    answer->names.push_back(StripTrailingDots(host->h_name));
  }
  for (char** alias = host->h_aliases; alias != nullptr && *alias != nullptr; ++alias) {
    std::string name = StripTrailingDots(*alias);
    if (std::find(answer->names.begin(), answer->names.end(), name) == answer->names.end()) {
      answer->names.push_back(std::move(name));
    }
  }
  ares_free_hostent(host);
  answer->status = answer->names.empty() ? DnsStatus::kNoData : DnsStatus::kOk;
}

// TXT records, each one's character-strings concatenated, bounded in count and size.
void ParseTxt(const unsigned char* buffer, int length, DnsAnswer* answer) {
  ares_txt_ext* replies = nullptr;
  const int rc = ares_parse_txt_reply_ext(buffer, length, &replies);
  if (rc != ARES_SUCCESS) {
    answer->status = StatusFromAres(rc);
    answer->error = ares_strerror(rc);
    return;
  }
  bool dropping = false;
  for (const ares_txt_ext* txt = replies; txt != nullptr; txt = txt->next) {
    if (txt->record_start != 0) {
      dropping = answer->txt.size() >= kMaxTxtRecords;
      if (!dropping) {
        answer->txt.emplace_back();
      }
    }
    if (dropping || answer->txt.empty() || txt->txt == nullptr) {
      continue;
    }
    std::string& record = answer->txt.back();
    const std::size_t room = kMaxTxtBytes - std::min(kMaxTxtBytes, record.size());
    record.append(reinterpret_cast<const char*>(txt->txt), std::min(room, txt->length));
  }
  ares_free_data(replies);
  answer->status = answer->txt.empty() ? DnsStatus::kNoData : DnsStatus::kOk;
}

// TLSA (RFC 6698 §2) is sent with ares_send, which hands over every reply as it came: the rcode
// and the header flags are read here, where ares_query would have mapped them itself.
constexpr int kTypeTlsa = 52;  // RFC 6698 §7.1
constexpr std::size_t kDnsHeaderSize = 12;
constexpr unsigned char kAdBit = 0x20;  // byte 3 of the header (RFC 4035 §3.2.3)

void ParseTlsa(const unsigned char* buffer, int length, DnsAnswer* answer) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::size_t size = length > 0 ? static_cast<std::size_t>(length) : 0;
  if (buffer == nullptr || size < kDnsHeaderSize) {
    answer->status = DnsStatus::kError;
    answer->error = "malformed DNS reply (shorter than its header)";
    return;
  }
  answer->authenticated = (buffer[3] & kAdBit) != 0;
  switch (const int rcode = buffer[3] & 0x0f; rcode) {
    case 0:
      break;
    case 2:
      answer->status = DnsStatus::kServFail;
      answer->error = ares_strerror(ARES_ESERVFAIL);  // the same words as ares_query's
      return;
    case 3:
      answer->status = DnsStatus::kNxDomain;
      answer->error = ares_strerror(ARES_ENOTFOUND);
      return;
    case 5:
      answer->status = DnsStatus::kRefused;
      answer->error = ares_strerror(ARES_EREFUSED);
      return;
    default:
      answer->status = DnsStatus::kError;
      answer->error = "DNS reply with rcode " + std::to_string(rcode);
      return;
  }
  // A CNAME at the TLSA name comes first, then the target's TLSA records: every TLSA record of
  // the answer section is the RRset the query name leads to.
  Result<std::vector<AnswerRecord>> records = ParseAnswerRecords(buffer, size);
  if (!records.ok()) {
    answer->status = DnsStatus::kError;
    answer->error = "malformed DNS reply: " + records.error().message;
    return;
  }
  for (const AnswerRecord& rr : records.value()) {
    if (rr.type != kTypeTlsa || rr.klass != ns_c_in) {
      continue;
    }
    if (rr.rdlength < 3) {
      answer->status = DnsStatus::kError;
      answer->error = "malformed DNS reply: TLSA record shorter than its three parameters";
      answer->tlsa.clear();
      return;
    }
    if (answer->tlsa.size() < DaneLookup::kMaxTlsaRecords) {
      TlsaRecord record;
      record.usage = buffer[rr.rdata];
      record.selector = buffer[rr.rdata + 1];
      record.matching_type = buffer[rr.rdata + 2];
      record.data_length = rr.rdlength - 3;
      const std::size_t shown = std::min(record.data_length, TlsaRecord::kMaxTlsaDataShown);
      for (std::size_t b = 0; b < shown; ++b) {
        const unsigned char octet = buffer[rr.rdata + 3 + b];
        record.data_hex += kHex[octet >> 4];
        record.data_hex += kHex[octet & 0x0f];
      }
      answer->tlsa.push_back(std::move(record));
    }
  }
  answer->status = answer->tlsa.empty() ? DnsStatus::kNoData : DnsStatus::kOk;
}

void OnAnswer(void* arg, int status, int /*timeouts*/, unsigned char* buffer, int length) {
  auto* pending = static_cast<Pending*>(arg);
  DnsAnswer* answer = pending->answer;
  --*pending->outstanding;
  if (status != ARES_SUCCESS || buffer == nullptr) {
    answer->status = StatusFromAres(status);
    answer->error =
        status == ARES_ECANCELLED ? "no answer before the deadline" : ares_strerror(status);
    return;
  }
  ParseDnsAnswer(*pending->query, buffer, length, answer);
}

int QueryType(DnsType type) {
  switch (type) {
    case DnsType::kA:
      return ns_t_a;
    case DnsType::kAaaa:
      return ns_t_aaaa;
    case DnsType::kMx:
      return ns_t_mx;
    case DnsType::kPtr:
      return ns_t_ptr;
    case DnsType::kTxt:
      return ns_t_txt;
    case DnsType::kTlsa:
      return kTypeTlsa;
  }
  return ns_t_a;
}

// RAII for one channel.
class Channel {
 public:
  explicit Channel(ares_channel channel) : channel_(channel) {}
  ~Channel() {
    if (channel_ != nullptr) {
      ares_destroy(channel_);
    }
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ares_channel get() const { return channel_; }

 private:
  ares_channel channel_;
};

// Sends a TLSA query with the AD bit set in its header: a validating resolver then says in its
// reply whether it validated the answer (RFC 6840 §5.7), without the cost of DO and the RRSIGs.
// c-ares 1.18's ares_query has no way to set AD, so the query is built here and sent as is.
void SendWithAdBit(ares_channel channel, const std::string& name, Pending* pending) {
  unsigned char* query = nullptr;
  int query_length = 0;
  const int rc = ares_create_query(name.c_str(), ns_c_in, kTypeTlsa, 0, /*rd=*/1, &query,
                                   &query_length, /*max_udp_size=*/0);
  if (rc != ARES_SUCCESS || query == nullptr || query_length < static_cast<int>(kDnsHeaderSize)) {
    if (query != nullptr) {
      ares_free_string(query);
    }
    OnAnswer(pending, rc != ARES_SUCCESS ? rc : ARES_EBADQUERY, 0, nullptr, 0);
    return;
  }
  query[3] |= kAdBit;
  // ares_send copies the query (and gives it a fresh id) before returning.
  ares_send(channel, query, query_length, OnAnswer, pending);
  ares_free_string(query);
}

int MillisUntil(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  // Slices of at most 200 ms, so a cancellation is noticed promptly.
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 200));
}

}  // namespace

void ParseDnsAnswer(const DnsQuery& query, const unsigned char* buffer, int length,
                    DnsAnswer* answer) {
  switch (query.type) {
    case DnsType::kA:
    case DnsType::kAaaa:
      ParseAddresses(query, buffer, length, answer);
      break;
    case DnsType::kMx:
      ParseMx(buffer, length, answer);
      break;
    case DnsType::kPtr:
      ParsePtr(query, buffer, length, answer);
      break;
    case DnsType::kTxt:
      ParseTxt(buffer, length, answer);
      break;
    case DnsType::kTlsa:
      ParseTlsa(buffer, length, answer);
      break;
  }
}

DnsQuery DnsQuery::Ptr(const IpAddress& ip) { return {ReverseName(ip), DnsType::kPtr, ip}; }

std::string ReverseName(const IpAddress& ip) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  const auto& bytes = ip.bytes();
  if (ip.family() == IpFamily::kV4) {
    for (int i = 3; i >= 0; --i) {
      out += std::to_string(bytes[static_cast<std::size_t>(i)]);
      out += '.';
    }
    return out + "in-addr.arpa";
  }
  for (int i = 15; i >= 0; --i) {
    const std::uint8_t byte = bytes[static_cast<std::size_t>(i)];
    out += kHex[byte & 0x0f];
    out += '.';
    out += kHex[byte >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

Result<std::unique_ptr<Resolver>> MakeAresResolver(const ResolverOptions& options) {
  auto resolver = AresResolver::Create(options);
  if (!resolver.ok()) {
    return resolver.error();
  }
  return std::unique_ptr<Resolver>(std::move(resolver).value());
}

Result<std::unique_ptr<AresResolver>> AresResolver::Create(const ResolverOptions& options) {
  static std::once_flag once;
  static int init_status = ARES_SUCCESS;
  std::call_once(once, [] { init_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (init_status != ARES_SUCCESS) {
    return Error{ErrorCode::kInternal,
                 std::string("c-ares initialisation failed: ") + ares_strerror(init_status)};
  }
  if (options.tries < 1 || options.query_timeout.count() < 1) {
    return Error{ErrorCode::kInvalidArgument, "DNS tries and timeout must be positive"};
  }
  std::string csv;
  for (const HostPort& server : options.servers) {
    if (!csv.empty()) {
      csv += ',';
    }
    csv += server.ToString();  // ares_set_servers_ports_csv's "IP:PORT" / "[IPv6]:PORT"
  }
  return std::unique_ptr<AresResolver>(new AresResolver(options, std::move(csv)));
}

std::vector<DnsAnswer> AresResolver::Resolve(const std::vector<DnsQuery>& queries,
                                             Deadline deadline) const {
  std::vector<DnsAnswer> answers(queries.size());
  if (queries.empty()) {
    return answers;
  }
  ares_options opts{};
  opts.timeout = static_cast<int>(options_.query_timeout.count());
  opts.tries = options_.tries;
  // ARES_FLAG_NOCHECKRESP: report SERVFAIL/REFUSED as such instead of hiding them behind a
  // retry; the operator needs to know their authoritative server is failing.
  opts.flags = ARES_FLAG_NOCHECKRESP;
  // Declared before the channel, so they outlive it: ares_destroy may still run callbacks.
  int outstanding = static_cast<int>(queries.size());
  std::vector<Pending> pending(queries.size());
  std::vector<std::string> names(queries.size());
  ares_channel raw = nullptr;
  const int init =
      ares_init_options(&raw, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
  Channel channel(raw);
  if (init != ARES_SUCCESS) {
    for (auto& answer : answers) {
      answer.status = DnsStatus::kError;
      answer.error = std::string("resolver initialisation failed: ") + ares_strerror(init);
    }
    return answers;
  }
  // Servers must be set before the first query, or it goes to /etc/resolv.conf's.
  if (!servers_csv_.empty()) {
    if (const int rc = ares_set_servers_ports_csv(channel.get(), servers_csv_.c_str());
        rc != ARES_SUCCESS) {
      for (auto& answer : answers) {
        answer.status = DnsStatus::kError;
        answer.error = std::string("bad DNS server list: ") + ares_strerror(rc);
      }
      return answers;
    }
  }
  for (std::size_t i = 0; i < queries.size(); ++i) {
    pending[i] = Pending{&queries[i], &answers[i], &outstanding};
    if (queries[i].type == DnsType::kPtr && !queries[i].address) {
      answers[i].status = DnsStatus::kError;
      answers[i].error = "PTR query without an address (use DnsQuery::Ptr)";
      --outstanding;
      continue;
    }
    names[i] = StripTrailingDots(queries[i].name);
    if (queries[i].type == DnsType::kTlsa) {
      SendWithAdBit(channel.get(), names[i], &pending[i]);
      continue;
    }
    ares_query(channel.get(), names[i].c_str(), ns_c_in, QueryType(queries[i].type), OnAnswer,
               &pending[i]);
  }
  for (int turn = 0; outstanding > 0 && turn < kMaxDriverTurns; ++turn) {
    if (std::chrono::steady_clock::now() >= deadline ||
        (options_.cancelled != nullptr && options_.cancelled->load())) {
      break;
    }
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    const int bitmask = ares_getsock(channel.get(), sockets, ARES_GETSOCK_MAXNUM);
    std::vector<pollfd> fds;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bitmask, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bitmask, i)) events |= POLLOUT;
      if (events != 0) {
        fds.push_back(pollfd{sockets[i], events, 0});
      }
    }
    int wait_ms = MillisUntil(deadline);
    timeval max_wait{wait_ms / 1000, (wait_ms % 1000) * 1000};
    timeval tv{};
    if (const timeval* ares_wait = ares_timeout(channel.get(), &max_wait, &tv);
        ares_wait != nullptr) {
      wait_ms = static_cast<int>(ares_wait->tv_sec * 1000 + ares_wait->tv_usec / 1000);
    }
    const int ready = poll(fds.data(), fds.size(), wait_ms);
    if (ready <= 0) {
      // Nothing readable: let c-ares fire its own per-try timeouts and retries.
      ares_process_fd(channel.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      continue;
    }
    for (const pollfd& fd : fds) {
      const bool readable = (fd.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
      const bool writable = (fd.revents & POLLOUT) != 0;
      if (readable || writable) {
        ares_process_fd(channel.get(), readable ? fd.fd : ARES_SOCKET_BAD,
                        writable ? fd.fd : ARES_SOCKET_BAD);
      }
    }
  }
  if (outstanding > 0) {
    // Fires every remaining callback with ARES_ECANCELLED, which reads as kTimeout.
    ares_cancel(channel.get());
  }
  return answers;
}

}  // namespace smtp_exporter
