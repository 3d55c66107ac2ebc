// Reading the CNAME records of a raw DNS answer (RFC 1035 §4.1), which c-ares 1.18 cannot do:
// its hostent from ares_parse_a_reply names the first alias's target, not the end of a longer
// chain. Input is untrusted network data: every read is bounds-checked. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "config/base/result.h"

namespace smtp_exporter {

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
