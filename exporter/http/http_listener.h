// Binding and starting a cpp-httplib server the way both of our HTTP front-ends do: the
// happyDomain checker mode (CheckerServer) and the exporter daemon (ExporterApp). Free
// functions over a server the caller owns; a server is used by one owner thread here, as
// httplib requires for bind and listen.
#pragma once

#include <httplib.h>

#include <exception>
#include <string>
#include <string_view>
#include <thread>

#include "config/base/result.h"

namespace smtp_exporter {

// Binds `server` to `listen_address` ("host:port", ":port" or "[v6]:port"; port 0 lets the
// kernel pick): the bound port, or why not (naming `flag`, e.g. "-listen").
Result<int> BindHttpServer(httplib::Server& server, const std::string& listen_address,
                           std::string_view flag);

// What an exception that escaped an HTTP handler says (its what(), or "unknown error"), for
// the server's exception handler: the last line of defence, so nothing thrown in a handler
// takes the process down (DESIGN.md §5).
std::string DescribeException(std::exception_ptr exception);

// What both servers apply to every request and response, whatever the route; call it once,
// before binding, instead of server.set_pre_routing_handler:
// - `X-Content-Type-Options: nosniff` on every response, those httplib writes itself (400,
//   404) included: replies carry text from hostile SMTP servers (/report?format=json|text,
//   /probe?debug=true, the checker's reports), and a browser must never sniff it into HTML
//   (WHATWG Fetch, "X-Content-Type-Options"). As a server-wide default header, so no route
//   can forget it and none sets it twice.
// - Range headers ignored (RFC 9110 §14.2 lets a server ignore Range): no route serves partial
//   content, and cpp-httplib 0.11.4 answers N overlapping ranges with the body N times
//   (yhirose/cpp-httplib#1766: 8 KB of "0-," turned a 9 KB /metrics into a 25 MB 206). Every
//   reply is whole, status 200.
// Then `pre_routing` (may be empty) runs, as httplib's pre-routing handler. If it leaves the
// request unhandled:
// - A POST, PUT or PATCH with neither Content-Length nor Transfer-Encoding is answered 411
//   Length Required at once (RFC 9110 §15.5.12). RFC 9112 §6.3 gives such a request an empty
//   body, but httplib 0.11 waits for one until its read timeout, holding a worker: a client
//   could pin workers for free. (The daemon's /-/reload, whose curl sends no Content-Length,
//   is answered in its own `pre_routing` before this.)
void InstallCommonPolicies(httplib::Server& server,
                           httplib::Server::HandlerWithResponse pre_routing = nullptr);

// Starts serving a bound `server` on a new thread and waits (at most 5 s) until it listens:
// httplib's stop() does nothing before that, so a shutdown right after start would otherwise
// leave it listening forever. The caller joins the thread after stop().
std::thread ServeInBackground(httplib::Server& server);

}  // namespace smtp_exporter
