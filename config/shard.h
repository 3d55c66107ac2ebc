// Shard: which part of the configured domains one daemon replica checks, for scale-out
// ("--shard=i/n", 0-based: replica i of n checks the domains whose name hashes to i modulo n).
// The hash is FNV-1a 64 of the normalised name (lower case, no trailing dot), written out here
// rather than std::hash, whose values may change between builds and standard libraries: every
// replica, whatever its build, must agree on the assignment, and it must survive upgrades.
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/base/result.h"

namespace smtp_exporter {

struct Shard {
  // 0-based index of this replica, below `count`. Default: 0.
  std::uint32_t index = 0;
  // Number of replicas sharing the domain list, at least 1. Default: 1 (no sharding).
  std::uint32_t count = 1;

  bool operator==(const Shard&) const = default;
};

// Upper bound on the shard count: far above any sensible replica count, and low enough that a
// typo such as "1/1000000" is an error rather than a replica that checks nothing.
inline constexpr std::uint32_t kMaxShards = 4096;

// Parses "i/n" (decimal digits only, 0 <= i < n <= kMaxShards). On failure, the message says
// what is wrong and shows a valid example.
Result<Shard> ParseShard(std::string_view text);

// FNV-1a 64 over the bytes of NormaliseHostName(domain).
std::uint64_t ShardHash(std::string_view domain);

// True if `domain` belongs to `shard`: ShardHash(domain) % count == index.
bool InShard(const Shard& shard, std::string_view domain);

// "i/n", the form ParseShard reads.
std::string ShardName(const Shard& shard);

}  // namespace smtp_exporter
