#include "exporter/http/http_listener.h"

#include <chrono>
#include <utility>

#include "config/base/listen_address.h"

namespace smtp_exporter {

Result<int> BindHttpServer(httplib::Server& server, const std::string& listen_address,
                           std::string_view flag) {
  const auto listen = ParseListenAddress(listen_address);
  if (!listen) {
    return Error::InvalidArgument(std::string(flag) + " \"" + listen_address +
                                  "\" is not host:port, :port or [ipv6]:port");
  }
  if (listen->second == 0) {
    const int port = server.bind_to_any_port(listen->first);
    if (port < 0) {
      return Error::Io("cannot listen on " + listen_address);
    }
    return port;
  }
  if (!server.bind_to_port(listen->first, listen->second)) {
    return Error::Io("cannot listen on " + listen_address + " (in use, or not an address here)");
  }
  return listen->second;
}

std::string DescribeException(std::exception_ptr exception) {
  try {
    if (exception) {
      std::rethrow_exception(exception);
    }
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return "unknown error";
}

void InstallCommonPolicies(httplib::Server& server,
                           httplib::Server::HandlerWithResponse pre_routing) {
  server.set_default_headers({{"X-Content-Type-Options", "nosniff"}});
  server.set_pre_routing_handler(
      [pre_routing = std::move(pre_routing)](const httplib::Request& req, httplib::Response& res) {
        // httplib parses Range into req.ranges before routing and applies them to the reply
        // after the handler; emptied here, they are never applied. httplib hands this hook its
        // own non-const Request as const, so the cast is well-defined; 0.11 has no other hook
        // between parsing and routing.
        const_cast<httplib::Request&>(req).ranges.clear();
        if (pre_routing && pre_routing(req, res) == httplib::Server::HandlerResponse::Handled) {
          return httplib::Server::HandlerResponse::Handled;
        }
        const bool carries_body = req.method == "POST" || req.method == "PUT" ||
                                  req.method == "PATCH";
        if (carries_body && !req.has_header("Content-Length") &&
            !req.has_header("Transfer-Encoding")) {
          res.status = 411;
          res.set_header("Connection", "close");
          res.set_content("a request body needs Content-Length or Transfer-Encoding: chunked\n",
                          "text/plain; charset=utf-8");
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      });
}

std::thread ServeInBackground(httplib::Server& server) {
  std::thread thread([&server] { server.listen_after_bind(); });
  for (int i = 0; i < 500 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return thread;
}

}  // namespace smtp_exporter
