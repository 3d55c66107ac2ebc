// JSON form of the observation types (nlohmann::json), written and read back. The schema is
// documented in docs/json-schema.md and versioned by kObservationSchemaVersion. The reader is
// what the happyDomain checker mode's /evaluate and state kept on disk need: an observation
// collected once is judged again later. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "probes/dns_observation.h"
#include "probes/observation.h"
#include "config/base/result.h"

namespace smtp_exporter {

// Bumped whenever a field is renamed or removed (adding fields keeps the version).
inline constexpr int kObservationSchemaVersion = 2;

nlohmann::json ToJson(const Reply& reply);
nlohmann::json ToJson(const ExtensionSet& extensions);
nlohmann::json ToJson(const EndpointObservation& endpoint);
nlohmann::json ToJson(const DnsObservation& dns);
// The domain observation: dns, plan and endpoints (findings are added by the caller).
nlohmann::json ToJson(const DomainObservation& domain);

// Reads back what ToJson(DomainObservation) wrote. Derived fields (extensions.union,
// size_limit, auth_mechanisms_plain, family) are recomputed, not read. kInvalidArgument with the path of
// the first missing or mistyped field, or an unsupported schema_version. Strings that held
// invalid UTF-8 when written come back with U+FFFD in their place (DumpJson replaced them).
Result<DomainObservation> DomainObservationFromJson(const nlohmann::json& json);

// Serialises with invalid UTF-8 from the network replaced (never throws on server bytes).
std::string DumpJson(const nlohmann::json& value, int indent = 2);

}  // namespace smtp_exporter
