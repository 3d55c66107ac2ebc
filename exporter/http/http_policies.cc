#include "exporter/http/http_policies.h"

#include <utility>

#include "exporter/http/web_config.h"

namespace smtp_exporter {

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

void InstallCommonPolicies(httplib::Server& server, HttpPolicies policies) {
  httplib::Headers headers{{"X-Content-Type-Options", "nosniff"}};
  for (auto& [name, value] : policies.headers) {
    headers.emplace(std::move(name), std::move(value));
  }
  server.set_default_headers(std::move(headers));
  server.set_pre_routing_handler(
      [pre_routing = std::move(policies.pre_routing), auth = policies.basic_auth](
          const httplib::Request& req, httplib::Response& res) {
        if (auth != nullptr && !auth->Allows(req.get_header_value("Authorization"))) {
          res.status = 401;
          res.set_header("WWW-Authenticate", "Basic");
          res.set_content("Unauthorized\n", "text/plain; charset=utf-8");
          return httplib::Server::HandlerResponse::Handled;
        }
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

}  // namespace smtp_exporter
