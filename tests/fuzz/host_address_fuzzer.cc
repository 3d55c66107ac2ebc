// Fuzz target: host names and IP addresses as operators write them in the config, on the
// command line and in /probe?domain= (config/domain_name.h, config/base/ip_address.h,
// config/base/listen_address.h, config/shard.h), and the quoting of error messages.
//
// Input: one piece of text, given to every parser.
// Invariants: a parsed IP address, network, IP[:PORT] or list of them, formatted and parsed
// again, is equal (round trip), and a network contains its own address; a valid host name stays
// valid once normalised, and normalising is idempotent; a valid probe address has one "@";
// Printable/Quote output is printable ASCII only, and Quote's has no unescaped quote inside;
// listen ports are 0-65535; a shard formats back to itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/base/ip_address.h"
#include "config/base/listen_address.h"
#include "config/domain_name.h"
#include "config/shard.h"
#include "tests/fuzz/fuzz_check.h"

namespace smtp_exporter::fuzz {
namespace {

bool PrintableAscii(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e) return false;
  }
  return true;
}

void CheckIp(std::string_view text) {
  const auto ip = IpAddress::Parse(text);
  if (!ip) {
    return;
  }
  const std::string formatted = ip->ToString();
  FUZZ_CHECK(formatted.find_first_of("[]") == std::string::npos);
  const auto again = IpAddress::Parse(formatted);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *ip);
  FUZZ_CHECK(IpAddress::FromBytes(ip->family(), ip->bytes().data()) == *ip);
  if (ip->family() == IpFamily::kV6) {
    FUZZ_CHECK(IpAddress::Parse("[" + formatted + "]") == ip);
  }
}

void CheckNetwork(std::string_view text) {
  const Result<IpNetwork> network = IpNetwork::Parse(text);
  if (!network.ok()) {
    FUZZ_CHECK(!network.error().message.empty());
    return;
  }
  const int max_prefix = network.value().address().family() == IpFamily::kV4 ? 32 : 128;
  FUZZ_CHECK(network.value().prefix_length() >= 0 &&
             network.value().prefix_length() <= max_prefix);
  FUZZ_CHECK(network.value().Contains(network.value().address()));
  const Result<IpNetwork> again = IpNetwork::Parse(network.value().ToString());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.value() == network.value());
}

void CheckHostPorts(std::string_view text) {
  const Result<HostPort> one = ParseHostPort(text, 53);
  if (one.ok()) {
    const Result<HostPort> again = ParseHostPort(one.value().ToString(), 25);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again.value() == one.value());
  }
  const Result<std::vector<HostPort>> list = ParseHostPortList(text, 53);
  if (list.ok()) {
    std::string joined;
    for (const HostPort& item : list.value()) {
      joined += (joined.empty() ? "" : ",") + item.ToString();
    }
    const Result<std::vector<HostPort>> again = ParseHostPortList(joined, 25);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again.value() == list.value());
  }
}

void CheckNames(std::string_view text) {
  const std::string lower = LowerAscii(text);
  FUZZ_CHECK(lower.size() == text.size());
  FUZZ_CHECK(lower.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos);
  const std::string normalised = NormaliseHostName(text);
  FUZZ_CHECK(NormaliseHostName(normalised) == normalised);
  FUZZ_CHECK(!normalised.ends_with('.'));
  if (ValidateHostName(text).ok()) {
    FUZZ_CHECK(ValidateHostName(normalised).ok());
    FUZZ_CHECK(normalised.size() <= 253);
    FUZZ_CHECK(!IpAddress::Parse(normalised).has_value());
  }
  if (ValidateProbeAddress(text).ok()) {
    const std::size_t at = text.find('@');
    FUZZ_CHECK(at != std::string_view::npos && at > 0);
    FUZZ_CHECK(text.find('@', at + 1) == std::string_view::npos);
  }

  FUZZ_CHECK(PrintableAscii(Printable(text, false)));
  const std::string quoted = Quote(text);
  FUZZ_CHECK(PrintableAscii(quoted));
  FUZZ_CHECK(quoted.size() >= 2 && quoted.front() == '"' && quoted.back() == '"');
  // Inside the quotes, every quote and backslash is escaped.
  for (std::size_t i = 1; i + 1 < quoted.size(); ++i) {
    if (quoted[i] == '\\') {
      ++i;
      FUZZ_CHECK(i + 1 < quoted.size());
      FUZZ_CHECK(quoted[i] == '\\' || quoted[i] == '"' || quoted[i] == 'x');
      continue;
    }
    FUZZ_CHECK(quoted[i] != '"');
  }
}

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  const std::string_view text = AsText(data, size);
  CheckIp(text);
  CheckNetwork(text);
  CheckHostPorts(text);
  CheckNames(text);
  if (const auto listen = ParseListenAddress(std::string(text))) {
    FUZZ_CHECK(listen->second >= 0 && listen->second <= 65535);
    FUZZ_CHECK(!listen->first.empty());
  }
  if (const Result<Shard> shard = ParseShard(text); shard.ok()) {
    FUZZ_CHECK(shard.value().count >= 1 && shard.value().index < shard.value().count);
    const Result<Shard> again = ParseShard(ShardName(shard.value()));
    FUZZ_CHECK(again.ok() && again.value() == shard.value());
  }
  return 0;
}
