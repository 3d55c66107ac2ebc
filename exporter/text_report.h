// Human-readable rendering of observations for the `check` command. Pure; thread-safe.
#pragma once

#include <string>

#include "probes/observation.h"

namespace smtp_exporter {

// Multi-line text: connection, greeting, EHLO, extensions (plain and TLS), STARTTLS, the three
// transaction probes with their replies, phase timings and the verbatim transcript.
std::string RenderEndpointText(const EndpointObservation& endpoint);

}  // namespace smtp_exporter
