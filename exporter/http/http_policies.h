// What both of our HTTP front-ends (the exporter daemon and the happyDomain checker mode)
// apply to every request, whatever the route: the policies below and the last line of defence
// against exceptions. Free functions over routes the caller owns, called once before serving;
// thread-safe afterwards, as the routes are.
#pragma once

#include <httplib.h>

#include <exception>
#include <string>

namespace smtp_exporter {

// What an exception that escaped an HTTP handler says (its what(), or "unknown error"), for
// the server's exception handler: the last line of defence, so nothing thrown in a handler
// takes the process down (DESIGN.md §5).
std::string DescribeException(std::exception_ptr exception);

// What both servers apply to every request and response, whatever the route; call it once,
// before serving, instead of server.set_pre_routing_handler:
// - `X-Content-Type-Options: nosniff` on every response, those httplib writes itself (400,
//   404) included: replies carry text from hostile SMTP servers (/report?format=json|text,
//   /probe?debug=true, the checker's reports), and a browser must never sniff it into HTML
//   (WHATWG Fetch, "X-Content-Type-Options"). As a server-wide default header, so no route
//   can forget it and none sets it twice.
// (Range headers are ignored too, by HttpRoutes::ServeOne in http_front.h.)
// Then `pre_routing` (may be empty) runs, as httplib's pre-routing handler. If it leaves the
// request unhandled:
// - A POST, PUT or PATCH with neither Content-Length nor Transfer-Encoding is answered 411
//   Length Required at once (RFC 9110 §15.5.12). RFC 9112 §6.3 gives such a request an empty
//   body, but httplib 0.11 waits for one until the request deadline, holding a connection:
//   a client could pin them for free. (The daemon's /-/reload, whose curl sends no
//   Content-Length, is answered in its own `pre_routing` before this.)
void InstallCommonPolicies(httplib::Server& server,
                           httplib::Server::HandlerWithResponse pre_routing = nullptr);

}  // namespace smtp_exporter
