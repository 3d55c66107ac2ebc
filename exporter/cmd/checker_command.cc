#include "exporter/cmd/checker_command.h"

#include <httplib.h>

#include <chrono>

#include "config/check_option_table.h"
#include "config/check_options.h"
#include "exporter/checker/checker_server.h"
#include "exporter/cmd/flags.h"
#include "exporter/cmd/healthcheck_command.h"

namespace smtp_exporter {
namespace {

// The SDK's healthcheck budget (`checker/server/healthcheck.go`: context and client, 2 s).
constexpr std::chrono::seconds kHealthcheckTimeout{2};

FlagSpec CheckerFlags() {
  FlagSpec spec{{"listen", "dns-servers", "smtp-port", "denied-networks"},
                {"healthcheck", "h", "help", "version"}};
  spec.stop_at_first_positional = true;
  return spec;
}

}  // namespace

const char* const kCheckerUsage = R"(usage: smtp_exporter -listen ADDR [-dns-servers IP[:PORT],...]
       smtp_exporter -healthcheck [-listen ADDR]

The happyDomain checker mode: serves happyDomain's external-checker protocol (/health,
/definition, /collect, /evaluate, /report, /check) for the inbound mail (MX) of any domain it
is asked about. Point happyDomain at it with -checker-<id>-endpoint http://HOST:PORT.

flags (one or two dashes; -flag value or -flag=value):
  -listen ADDR        HTTP listen address (default :8080)
  -healthcheck        ask GET /health on the listen address (wildcards mean loopback) within
                      2 s and exit 0 if it answers 2xx, else 1; does not serve
  -dns-servers LIST   resolvers to ask, IP[:PORT],... (default: /etc/resolv.conf's)
  -smtp-port N        SMTP port to probe (default 25; other values are for labs and relays)
  -denied-networks L  networks never connected to, CIDR,... ("" for none; default: loopback,
                      private, link-local, unique-local, multicast and reserved, as /probe's)
  -version            print the version
  -h, -help           this text
)";

bool IsCheckerCommandLine(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg == "--" || arg.size() < 2 || arg.front() != '-') {
      return false;  // Go's flag package stops here
    }
    std::string name = arg.substr(arg.starts_with("--") ? 2 : 1);
    name = name.substr(0, name.find('='));
    if (name == "listen" || name == "healthcheck") {
      return true;
    }
  }
  return false;
}

Result<CheckerCommandLine> ParseCheckerCommandLine(const std::vector<std::string>& args) {
  Result<ParsedFlags> parsed = ParseFlags(args, CheckerFlags());
  if (!parsed.ok()) {
    return parsed.error();
  }
  const ParsedFlags& flags = parsed.value();
  CheckerCommandLine line;
  line.listen = flags.Get("listen").value_or(kDefaultCheckerListenAddress);
  line.healthcheck = flags.Get("healthcheck") == "true";
  line.help = flags.Get("h") == "true" || flags.Get("help") == "true";
  line.version = flags.Get("version") == "true";
  if (const auto servers = flags.Get("dns-servers")) {
    Result<std::vector<HostPort>> list = ParseHostPortList(*servers, kDnsPort);
    if (!list.ok()) {
      return Error::InvalidArgument("flag -dns-servers: " + list.error().message);
    }
    line.dns_servers = std::move(list).value();
  }
  if (const auto denied = flags.Get("denied-networks")) {
    line.denied_networks.clear();
    std::string_view rest = *denied;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      Result<IpNetwork> network = IpNetwork::Parse(item);
      if (!network.ok()) {
        return Error::InvalidArgument("flag -denied-networks: " + network.error().message);
      }
      line.denied_networks.push_back(network.value());
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  if (const auto port = flags.Get("smtp-port")) {
    CheckOptions options;
    if (Status set = SetCheckOption(*FindCheckOption("port"), *port, options); !set.ok()) {
      return Error::InvalidArgument("flag -smtp-port " + set.message());
    }
    line.smtp_port = options.port;
  }
  return line;
}

int RunCheckerHealthcheck(const std::string& listen, std::ostream& err) {
  const auto target = HealthcheckTarget(listen);
  if (!target) {
    err << "healthcheck failed: -listen \"" << listen
        << "\" is not host:port, :port or [ipv6]:port with a non-zero port\n";
    return 1;
  }
  const HealthProbeReply reply =
      GetWithin(target->first, target->second, "/health", kHealthcheckTimeout);
  if (!reply.status) {
    err << "healthcheck failed: " << reply.error << '\n';
    return 1;
  }
  if (*reply.status < 200 || *reply.status > 299) {
    err << "healthcheck failed: unexpected status " << *reply.status << '\n';
    return 1;
  }
  return 0;
}

}  // namespace smtp_exporter
