// Reading the answer section of a raw DNS message (RFC 1035 §4.1) where c-ares 1.18 cannot:
// the CNAME records (its hostent from ares_parse_a_reply names the first alias's target, not the
// end of a longer chain), and the records of types it has no parser for (TLSA, read in
// resolver.cc). Input is untrusted network data: every read is bounds-checked. Pure;
// thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "config/base/result.h"

namespace smtp_exporter {

// One resource record of the answer section; its data is message[rdata, rdata + rdlength).
struct AnswerRecord {
  std::string owner;  // lower case, without the trailing dot
  unsigned type = 0;
  unsigned klass = 0;
  std::size_t rdata = 0;
  std::size_t rdlength = 0;
};

// Every record of the answer section of `message`, in order, after skipping the question
// section; kProtocol naming what is malformed (a truncated question or record, data past the
// end of the message, a bad name).
Result<std::vector<AnswerRecord>> ParseAnswerRecords(const unsigned char* message,
                                                     std::size_t length);

struct CnameRecord {
  std::string owner;   // lower case, without the trailing dot
  std::string target;  // lower case, without the trailing dot
};

// The CNAME records of the answer section of `message`, in order.
Result<std::vector<CnameRecord>> ParseCnameRecords(const unsigned char* message,
                                                   std::size_t length);

// Follows `records` from `name`: {name, alias target, ...}, or {} when `name` is not an alias.
// Bounded (loops and chains over 16 links stop there).
std::vector<std::string> FollowCnameChain(const std::string& name,
                                          const std::vector<CnameRecord>& records);

}  // namespace smtp_exporter
