// Listen addresses of our HTTP servers (the exporter daemon's --web.listen-address, the
// happyDomain checker mode's -listen): "host:port", ":port" or "[v6]:port". Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace smtp_exporter {

// Splits "host:port", ":port" or "[v6]:port"; an empty host means every address ("0.0.0.0").
// nullopt if there is no port or it is not 0-65535. The host is not resolved here.
std::optional<std::pair<std::string, int>> ParseListenAddress(const std::string& address);

}  // namespace smtp_exporter
