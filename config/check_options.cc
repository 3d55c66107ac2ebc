#include "config/check_options.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace smtp_exporter {
namespace {

std::string ToLower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// True if `name` equals `zone` or is below it (case-insensitive, trailing dots ignored).
bool InZone(std::string name, std::string zone) {
  name = ToLower(name);
  zone = ToLower(zone);
  while (!name.empty() && name.back() == '.') name.pop_back();
  while (!zone.empty() && zone.back() == '.') zone.pop_back();
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
