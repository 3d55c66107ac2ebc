// JSON form of the observation types (nlohmann::json). The schema is documented in
// docs/json-schema.md and versioned by kObservationSchemaVersion. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "probes/dns_observation.h"
#include "probes/observation.h"

namespace smtp_exporter {

// Bumped whenever a field is renamed or removed (adding fields keeps the version).
inline constexpr int kObservationSchemaVersion = 1;

nlohmann::json ToJson(const Reply& reply);
nlohmann::json ToJson(const ExtensionSet& extensions);
nlohmann::json ToJson(const EndpointObservation& endpoint);
nlohmann::json ToJson(const DnsObservation& dns);
// The domain observation: dns, plan and endpoints (findings are added by the caller).
nlohmann::json ToJson(const DomainObservation& domain);

// Serialises with invalid UTF-8 from the network replaced (never throws on server bytes).
std::string DumpJson(const nlohmann::json& value, int indent = 2);

}  // namespace smtp_exporter
