// What both of our HTTP front-ends (the exporter daemon and the happyDomain checker mode)
// apply to every request, whatever the route: the policies below and the last line of defence
// against exceptions. Free functions over routes the caller owns, called once before serving;
// thread-safe afterwards, as the routes are.
#pragma once

#include <httplib.h>

#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace smtp_exporter {

class BasicAuth;

// What an exception that escaped an HTTP handler says (its what(), or "unknown error"), for
// the server's exception handler: the last line of defence, so nothing thrown in a handler
// takes the process down (DESIGN.md §5).
std::string DescribeException(std::exception_ptr exception);

// What a front-end adds to the common policies below.
struct HttpPolicies {
  // Route-specific, run after authentication and before the 411 rule; may be empty.
  httplib::Server::HandlerWithResponse pre_routing;
  // Basic authentication every request must pass (web config's basic_auth_users); not
  // owned, must outlive the routes. Null: none.
  const BasicAuth* basic_auth = nullptr;
  // Headers every response carries (web config's http_server_config.headers).
  std::vector<std::pair<std::string, std::string>> headers;
};

// What both servers apply to every request and response, whatever the route; call it once,
// before serving, instead of server.set_pre_routing_handler:
// - `X-Content-Type-Options: nosniff` on every response, those httplib writes itself (400,
//   404) included: replies carry text from hostile SMTP servers (/report?format=json|text,
//   /probe?debug=true, the checker's reports), and a browser must never sniff it into HTML
//   (WHATWG Fetch, "X-Content-Type-Options"). As a server-wide default header, so no route
//   can forget it and none sets it twice. `policies.headers` join it.
// - With `policies.basic_auth`, a request without the right credentials is answered 401 with
//   `WWW-Authenticate: Basic` (RFC 7617 §2), whatever its path, as exporter-toolkit does.
// (Range headers are ignored too, by HttpRoutes::ServeOne in http_front.h.)
// Then `policies.pre_routing` runs. If it leaves the request unhandled:
// - A POST, PUT or PATCH with neither Content-Length nor Transfer-Encoding is answered 411
//   Length Required at once (RFC 9110 §15.5.12). RFC 9112 §6.3 gives such a request an empty
//   body, but httplib 0.11 waits for one until the request deadline, holding a connection:
//   a client could pin them for free. (The daemon's /-/reload, whose curl sends no
//   Content-Length, is answered in its own `pre_routing` before this.)
void InstallCommonPolicies(httplib::Server& server, HttpPolicies policies = {});

// Whether `req`'s Accept-Encoding allows a gzip body (RFC 9110 §12.5.3): it lists "gzip",
// "x-gzip" or "*" with a weight above 0. No Accept-Encoding: no (identity is always fine).
bool AcceptsGzip(const httplib::Request& req);

}  // namespace smtp_exporter
