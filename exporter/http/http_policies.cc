#include "exporter/http/http_policies.h"

#include <string>
#include <string_view>
#include <utility>

#include "config/domain_name.h"
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

namespace smtp_exporter {
namespace {

std::string_view TrimSpace(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The weight of one Accept-Encoding element's parameters ("q=0.5"): 1 when absent, 0 when
// "q=0", "q=0.0", ... (RFC 9110 §12.4.2: qvalue is 0 to 1 with up to three decimals).
bool WeightIsZero(std::string_view parameters) {
  while (!parameters.empty()) {
    const std::size_t semicolon = parameters.find(';');
    const std::string_view parameter = TrimSpace(parameters.substr(0, semicolon));
    parameters = semicolon == std::string_view::npos ? std::string_view()
                                                     : parameters.substr(semicolon + 1);
    if (parameter.size() >= 2 && (parameter[0] == 'q' || parameter[0] == 'Q') &&
        parameter[1] == '=') {
      const std::string_view value = TrimSpace(parameter.substr(2));
      return !value.empty() && value[0] == '0' &&
             value.find_first_not_of("0.", 0) == std::string_view::npos;
    }
  }
  return false;
}

}  // namespace

bool AcceptsGzip(const httplib::Request& req) {
  bool any = false;  // what "*" says
  const std::string value = req.get_header_value("Accept-Encoding");
  std::string_view header = value;
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    const std::string_view element = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const std::size_t semicolon = element.find(';');
    const std::string coding = LowerAscii(TrimSpace(element.substr(0, semicolon)));
    const bool allowed = !WeightIsZero(
        semicolon == std::string_view::npos ? std::string_view() : element.substr(semicolon + 1));
    if (coding == "gzip" || coding == "x-gzip") {
      return allowed;  // named: its own weight decides, whatever "*" says
    }
    if (coding == "*") {
      any = allowed;
    }
  }
  return any;
}

}  // namespace smtp_exporter
