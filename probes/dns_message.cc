#include "probes/dns_message.h"

#include <ares.h>

#include <algorithm>

#include "config/domain_name.h"

namespace smtp_exporter {
namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr int kTypeCname = 5;
constexpr std::size_t kMaxChain = 16;

unsigned ReadU16(const unsigned char* p) {
  return static_cast<unsigned>(p[0]) << 8 | static_cast<unsigned>(p[1]);
}

// Expands the (possibly compressed) name at `offset`; advances `offset` past it.
Result<std::string> ExpandName(const unsigned char* message, std::size_t length,
                               std::size_t* offset) {
  if (*offset >= length) {
    return Error{ErrorCode::kProtocol, "DNS name past the end of the message"};
  }
  char* expanded = nullptr;
  long encoded_length = 0;
  // ares_expand_name bounds-checks against the whole message and rejects compression loops.
  const int rc = ares_expand_name(message + *offset, message, static_cast<int>(length),
                                  &expanded, &encoded_length);
  if (rc != ARES_SUCCESS || encoded_length <= 0) {
    return Error{ErrorCode::kProtocol, "malformed DNS name"};
  }
  std::string name(expanded);
  ares_free_string(expanded);
  *offset += static_cast<std::size_t>(encoded_length);
  return NormaliseHostName(std::move(name));
}

}  // namespace

Result<std::vector<AnswerRecord>> ParseAnswerRecords(const unsigned char* message,
                                                     std::size_t length) {
  if (message == nullptr || length < kHeaderSize || length > 65535) {
    return Error{ErrorCode::kProtocol, "DNS message shorter than its header"};
  }
  const unsigned questions = ReadU16(message + 4);
  const unsigned answers = ReadU16(message + 6);
  std::size_t offset = kHeaderSize;
  for (unsigned i = 0; i < questions; ++i) {
    Result<std::string> name = ExpandName(message, length, &offset);
    if (!name.ok()) {
      return name.error();
    }
    if (offset + 4 > length) {
      return Error{ErrorCode::kProtocol, "truncated question"};
    }
    offset += 4;  // QTYPE, QCLASS
  }
  std::vector<AnswerRecord> records;
  for (unsigned i = 0; i < answers; ++i) {
    Result<std::string> owner = ExpandName(message, length, &offset);
    if (!owner.ok()) {
      return owner.error();
    }
    if (offset + 10 > length) {
      return Error{ErrorCode::kProtocol, "truncated resource record"};
    }
    AnswerRecord record;
    record.owner = std::move(owner).value();
    record.type = ReadU16(message + offset);
    record.klass = ReadU16(message + offset + 2);
    record.rdlength = ReadU16(message + offset + 8);
    offset += 10;
    if (offset + record.rdlength > length) {
      return Error{ErrorCode::kProtocol, "resource record data past the end of the message"};
    }
    record.rdata = offset;
    offset += record.rdlength;
    records.push_back(std::move(record));
  }
  return records;
}

Result<std::vector<CnameRecord>> ParseCnameRecords(const unsigned char* message,
                                                   std::size_t length) {
  Result<std::vector<AnswerRecord>> answers = ParseAnswerRecords(message, length);
  if (!answers.ok()) {
    return answers.error();
  }
  std::vector<CnameRecord> records;
  for (AnswerRecord& answer : answers.value()) {
    if (answer.type == kTypeCname) {
      std::size_t rdata = answer.rdata;
      Result<std::string> target = ExpandName(message, length, &rdata);
      if (!target.ok()) {
        return target.error();
      }
      records.push_back({std::move(answer.owner), std::move(target).value()});
    }
  }
  return records;
}

std::vector<std::string> FollowCnameChain(const std::string& name,
                                          const std::vector<CnameRecord>& records) {
  std::vector<std::string> chain{NormaliseHostName(name)};
  while (chain.size() <= kMaxChain) {
    const auto next = std::find_if(records.begin(), records.end(),
                                   [&](const CnameRecord& r) { return r.owner == chain.back(); });
    if (next == records.end() ||
        std::find(chain.begin(), chain.end(), next->target) != chain.end()) {
      break;
    }
    chain.push_back(next->target);
  }
  if (chain.size() == 1) {
    return {};
  }
  return chain;
}

}  // namespace smtp_exporter
