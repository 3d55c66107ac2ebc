#include "config/check_options.h"

#include <unistd.h>

#include <array>
#include <string_view>

#include "config/domain_name.h"

namespace smtp_exporter {
namespace {

// True if `name` equals `zone` or is below it (case-insensitive, trailing dots ignored).
bool InZone(std::string_view raw_name, std::string_view raw_zone) {
  const std::string name = NormaliseHostName(raw_name);
  const std::string zone = NormaliseHostName(raw_zone);
  if (zone.empty()) {
    return false;
  }
  if (name == zone) {
    return true;
  }
  return name.size() > zone.size() && name.ends_with(zone) &&
         name[name.size() - zone.size() - 1] == '.';
}

}  // namespace

std::string DefaultHeloName() {
  std::array<char, 256> buffer{};
  if (gethostname(buffer.data(), buffer.size() - 1) != 0 || buffer[0] == '\0') {
    return "localhost";
  }
  return std::string(buffer.data());
}

std::string ProbeAddressFor(const std::string& configured, const std::string& domain) {
  const auto at = configured.rfind('@');
  const std::string probe_domain = at == std::string::npos ? "" : configured.substr(at + 1);
  if (!InZone(probe_domain, domain)) {
    return configured;
  }
  return InZone("example.com", domain) ? "postmaster@example.net" : "postmaster@example.com";
}

}  // namespace smtp_exporter
