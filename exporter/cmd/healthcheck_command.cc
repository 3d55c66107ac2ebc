#include "exporter/cmd/healthcheck_command.h"

#include <httplib.h>

#include <future>
#include <thread>

#include "config/duration.h"
#include "exporter/daemon/app.h"
#include "exporter/cmd/flags.h"
#include "exporter/http/web_config.h"

namespace smtp_exporter {
namespace {

constexpr const char* kUsage = R"(usage: smtp_exporter healthcheck [flags]

Asks the exporter running on this host for /-/healthy; exit code 0 if it answers 200, else 1.
For container health checks (the image has no curl).

flags:
  --web.listen-address ADDR     the exporter's listen address (default :10125); a wildcard
                                host (":10125", "0.0.0.0:10125", "[::]:10125") means loopback
  --timeout DURATION            connect and read timeout (default 5s, at most 1m)
  --web.config.file PATH        the exporter's web config: TLS when it has tls_server_config;
                                with basic_auth_users, 401 means healthy (it answered)
  --help                        this text
)";

}  // namespace

std::optional<std::pair<std::string, int>> HealthcheckTarget(const std::string& listen_address) {
  auto target = ParseListenAddress(listen_address);
  if (!target || target->second == 0) {
    return std::nullopt;
  }
  if (target->first == "0.0.0.0") {
    target->first = "127.0.0.1";
  } else if (target->first == "::") {
    target->first = "::1";
  }
  return target;
}

HealthProbeReply GetWithin(const std::string& host, int port, const std::string& path,
                           std::chrono::milliseconds budget, bool tls) {
  const std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  httplib::Client client((tls ? "https://" : "http://") + bracketed + ":" + std::to_string(port));
  client.enable_server_certificate_verification(false);
  client.set_connection_timeout(budget);
  client.set_read_timeout(budget);
  client.set_write_timeout(budget);
  std::packaged_task<HealthProbeReply()> request([&client, &path] {
    const httplib::Result res = client.Get(path);
    if (!res) {
      return HealthProbeReply{std::nullopt, httplib::to_string(res.error())};
    }
    return HealthProbeReply{res->status, ""};
  });
  std::future<HealthProbeReply> reply = request.get_future();
  std::thread worker(std::move(request));
  if (reply.wait_for(budget) == std::future_status::ready) {
    worker.join();
    return reply.get();
  }
  // Shut the socket down under the request: its read fails at once. A connect still in
  // progress ends by its own timeout, the same budget started at the same time.
  client.stop();
  worker.join();
  return HealthProbeReply{std::nullopt, "no complete reply within " +
                                            std::to_string(budget.count()) + " ms"};
}

int RunHealthcheckCommand(const std::vector<std::string>& args, std::ostream& out,
                          std::ostream& err) {
  const FlagSpec spec{{"web.listen-address", "timeout", "web.config.file"}, {"help"}};
  const Result<ParsedFlags> parsed = ParseFlags(args, spec);
  if (!parsed.ok()) {
    err << "smtp_exporter healthcheck: " << parsed.error().message << "\n\n" << kUsage;
    return 2;
  }
  const ParsedFlags& flags = parsed.value();
  if (flags.Get("help")) {
    out << kUsage;
    return 0;
  }
  if (!flags.positional.empty()) {
    err << "smtp_exporter healthcheck: unexpected argument \"" << flags.positional.front()
        << "\"\n\n"
        << kUsage;
    return 2;
  }
  const std::string address = flags.Get("web.listen-address").value_or(kDefaultListenAddress);
  const auto target = HealthcheckTarget(address);
  if (!target) {
    err << "smtp_exporter healthcheck: --web.listen-address \"" << address
        << "\" is not host:port, :port or [ipv6]:port with a non-zero port\n";
    return 2;
  }
  const auto timeout = ParseDuration(flags.Get("timeout").value_or("5s"));
  if (!timeout || *timeout < std::chrono::milliseconds(1) || *timeout > std::chrono::minutes(1)) {
    err << "smtp_exporter healthcheck: --timeout must be a duration between 1ms and 1m\n";
    return 2;
  }
  bool tls = false;
  bool authenticated = false;
  if (const auto web_config_path = flags.Get("web.config.file")) {
    const Result<WebConfig> web = LoadWebConfig(*web_config_path);
    if (!web.ok()) {
      err << "smtp_exporter healthcheck: --web.config.file " << web.error().message << '\n';
      return 2;
    }
    tls = web.value().tls.has_value();
    authenticated = !web.value().basic_auth_users.empty();
  }
  const HealthProbeReply reply =
      GetWithin(target->first, target->second, "/-/healthy", *timeout, tls);
  if (!reply.status) {
    err << "unhealthy: cannot reach " << address << ": " << reply.error << '\n';
    return 1;
  }
  // Behind basic auth the probe has a hash, not the password: the exporter answering 401 is
  // the exporter serving.
  if (*reply.status != 200 && !(authenticated && *reply.status == 401)) {
    err << "unhealthy: /-/healthy answered " << *reply.status << '\n';
    return 1;
  }
  out << "healthy\n";
  return 0;
}

}  // namespace smtp_exporter
