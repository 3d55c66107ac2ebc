// The `smtp_exporter healthcheck` sub-command: asks a running exporter's /-/healthy and exits 0
// if it answers 200, 1 otherwise (2 for usage errors). It exists for container HEALTHCHECKs:
// the slim runtime image has no curl or wget, and the binary already carries an HTTP client.
// It only ever connects to this host (a wildcard listen address means loopback).
// The request runs on one short-lived helper thread (GetWithin); writes only to the streams it
// is given; no shared state.
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace smtp_exporter {

// `args` are the words after "healthcheck": [--web.listen-address ADDR] [--timeout DURATION]
// [--web.config.file PATH] (the exporter's: with tls_server_config the request goes over TLS,
// and with basic_auth_users a 401 counts as healthy, the server having answered).
int RunHealthcheckCommand(const std::vector<std::string>& args, std::ostream& out,
                          std::ostream& err);

// Where to connect to reach a server listening on `listen_address` ("host:port", ":port",
// "[v6]:port"): the wildcard addresses become the loopback address of the same family.
// nullopt if the address is not one of those forms or has port 0.
std::optional<std::pair<std::string, int>> HealthcheckTarget(const std::string& listen_address);

// What a health probe got: the HTTP status, or why there was none.
struct HealthProbeReply {
  std::optional<int> status;
  std::string error;  // set when status is not
};

// GET `path` from host:port over plain HTTP (or TLS when `tls`, without checking the
// certificate: it is our own listener on this host), the whole exchange (connect, request, reply)
// within `budget`. httplib's own timeouts apply to each read, so a server trickling its reply a
// byte at a time would stretch them without bound; here the request runs on a second thread
// and is stopped (its socket shut down) when the budget is spent. Both healthchecks use it.
HealthProbeReply GetWithin(const std::string& host, int port, const std::string& path,
                           std::chrono::milliseconds budget, bool tls = false);

}  // namespace smtp_exporter
