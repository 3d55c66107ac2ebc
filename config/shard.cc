#include "config/shard.h"

#include <charconv>

#include "config/domain_name.h"

namespace smtp_exporter {
namespace {

// FNV-1a 64-bit parameters (Fowler, Noll, Vo; http://www.isthe.com/chongo/tech/comp/fnv/).
constexpr std::uint64_t kFnvOffsetBasis = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

// Decimal digits only (no sign, no spaces), at most 9 so the value fits without overflow.
bool ParseNumber(std::string_view text, std::uint32_t* value) {
  if (text.empty() || text.size() > 9) {
    return false;
  }
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<Shard> ParseShard(std::string_view text) {
  const std::string example = " (0-based index/count: --shard=0/3, 1/3 and 2/3 for three replicas)";
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Error::InvalidArgument("--shard " + Quote(text) + " is not i/n" + example);
  }
  Shard shard;
  if (!ParseNumber(text.substr(0, slash), &shard.index) ||
      !ParseNumber(text.substr(slash + 1), &shard.count)) {
    return Error::InvalidArgument("--shard " + Quote(text) + ": i and n must be decimal numbers" +
                                  example);
  }
  if (shard.count < 1 || shard.count > kMaxShards) {
    return Error::InvalidArgument("--shard " + Quote(text) + ": n must be between 1 and " +
                                  std::to_string(kMaxShards) + example);
  }
  if (shard.index >= shard.count) {
    return Error::InvalidArgument("--shard " + Quote(text) + ": i must be below n" + example);
  }
  return shard;
}

std::uint64_t ShardHash(std::string_view domain) {
  std::uint64_t hash = kFnvOffsetBasis;
  for (const char c : NormaliseHostName(domain)) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnvPrime;
  }
  return hash;
}

bool InShard(const Shard& shard, std::string_view domain) {
  return shard.count <= 1 || ShardHash(domain) % shard.count == shard.index;
}

std::string ShardName(const Shard& shard) {
  return std::to_string(shard.index) + "/" + std::to_string(shard.count);
}

}  // namespace smtp_exporter
