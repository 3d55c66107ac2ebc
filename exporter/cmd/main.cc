// smtp_exporter entry point: the daemon (default), a sub-command, or the happyDomain checker mode
// (-listen / -healthcheck), wiring the real clock, sockets, resolver, logging and signals.
// Everything else lives in the libraries so that tests can drive it.
#include <signal.h>
#include <unistd.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "config/shard.h"
#include "exporter/daemon/app.h"
#include "exporter/checker/checker_server.h"
#include "exporter/cmd/check_command.h"
#include "exporter/cmd/checker_command.h"
#include "exporter/cmd/flags.h"
#include "exporter/cmd/healthcheck_command.h"
#include "exporter/cmd/log_format.h"
#include "exporter/version.h"
#include "config/base/clock.h"
#include "probes/resolver.h"
#include "probes/transport.h"

namespace smtp_exporter {
namespace {

constexpr const char* kUsage = R"(usage: smtp_exporter [flags]          run the exporter
       smtp_exporter check DOMAIN [flags]   check one domain now and print what to fix
       smtp_exporter healthcheck [flags]    exit 0 if the local exporter's /-/healthy is 200
       smtp_exporter -listen ADDR           the happyDomain checker mode (smtp_exporter -help
                                            after -listen for its flags)

exporter flags:
  --config.file PATH            YAML config (default smtp_exporter.yml)
  --web.listen-address ADDR     where to serve /metrics, /probe, /report (default :10125)
  --log.level LEVEL             debug, info, warn or error (default info)
  --log.format FORMAT           logfmt or json (default logfmt)
  --web.enable-lifecycle        let POST /-/reload reload the config (default off: 403;
                                SIGHUP always reloads)
  --web.config.file PATH        TLS and basic auth for the HTTP port, in exporter-toolkit's
                                format (tls_server_config, basic_auth_users); read at start
  --web.max-connections N       HTTP connections served at once; more get 503 (default 512)
  --shard i/n                   check only the config's domains whose name hashes to i
                                modulo n (0-based: 0/3, 1/3, 2/3); /probe serves any domain
  --storage.path DIR            keep each domain's latest result in DIR (created if missing,
                                one exporter per DIR) and serve it, marked restored, after a
                                restart until the domain is checked again (default: off)
  --version                     print the version
  --help                        this text

Run "smtp_exporter check --help" for the check flags.
)";

// For `check --color=auto` and `--progress=auto`.
TerminalInfo CheckTerminal() {
  TerminalInfo terminal;
  terminal.stdout_is_terminal = isatty(STDOUT_FILENO) == 1;
  terminal.stderr_is_terminal = isatty(STDERR_FILENO) == 1;
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  terminal.no_color = no_color != nullptr ? no_color : "";
  terminal.term = term != nullptr ? term : "";
  return terminal;
}

int RunCheck(const std::vector<std::string>& args) {
  TcpTransportFactory transports;
  const CheckDependencies deps{
      transports, SystemClock::Instance(),
      MakeAresResolver,
      CheckTerminal()};
  return RunCheckCommand(args, deps, std::cout, std::cerr);
}

// Logs go to stderr, one line each, in the format Prometheus' own daemons use.
bool SetUpLogging(const std::string& level, const std::string& format) {
  auto logger = spdlog::stderr_logger_mt("smtp_exporter");
  spdlog::set_default_logger(logger);
  const auto parsed = spdlog::level::from_str(level == "warn" ? "warning" : level);
  if (parsed == spdlog::level::off && level != "off") {
    return false;
  }
  spdlog::set_level(parsed);
  const std::optional<LogFormat> log_format = ParseLogFormat(format);
  if (!log_format) {
    return false;
  }
  spdlog::set_formatter(MakeLogFormatter(*log_format));
  return true;
}

// Blocks SIGTERM and SIGINT (and SIGHUP when `with_hangup`) in every thread started after this
// call, so one thread can take them with sigwait.
sigset_t BlockStopSignals(bool with_hangup) {
  sigset_t signals;
  sigemptyset(&signals);
  if (with_hangup) {
    sigaddset(&signals, SIGHUP);
  }
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int RunDaemon(const std::vector<std::string>& args) {
  const FlagSpec spec{{"config.file", "web.listen-address", "log.level", "log.format", "shard",
                       "web.config.file", "web.max-connections", "storage.path"},
                      {"help", "version", "web.enable-lifecycle"}};
  Result<ParsedFlags> parsed = ParseFlags(args, spec);
  if (!parsed.ok()) {
    std::cerr << "smtp_exporter: " << parsed.error().message << "\n\n" << kUsage;
    return 2;
  }
  const ParsedFlags& flags = parsed.value();
  if (flags.Get("help")) {
    std::cout << kUsage;
    return 0;
  }
  if (flags.Get("version")) {
    std::cout << "smtp_exporter " << kVersion << '\n';
    return 0;
  }
  if (!flags.positional.empty()) {
    std::cerr << "smtp_exporter: unknown command \"" << flags.positional.front() << "\"\n\n"
              << kUsage;
    return 2;
  }
  if (!SetUpLogging(flags.Get("log.level").value_or("info"),
                    flags.Get("log.format").value_or("logfmt"))) {
    std::cerr << "smtp_exporter: --log.level must be debug, info, warn or error and "
                 "--log.format logfmt or json\n";
    return 2;
  }
  // Signals are taken by one thread with sigwait: block them before any thread starts.
  sigset_t signals = BlockStopSignals(/*with_hangup=*/true);

  AppOptions options;
  options.config_path = flags.Get("config.file").value_or("smtp_exporter.yml");
  options.listen_address = flags.Get("web.listen-address").value_or(kDefaultListenAddress);
  options.enable_lifecycle = flags.Get("web.enable-lifecycle") == "true";
  options.web_config_path = flags.Get("web.config.file").value_or("");
  if (const auto max_connections = flags.Get("web.max-connections")) {
    std::size_t count = 0;
    const char* end = max_connections->data() + max_connections->size();
    const auto [stop, error] = std::from_chars(max_connections->data(), end, count);
    if (error != std::errc() || stop != end || count < 1 || count > 65536) {
      std::cerr << "smtp_exporter: --web.max-connections must be an integer from 1 to 65536\n";
      return 2;
    }
    options.max_connections = count;
  }
  options.storage_path = flags.Get("storage.path").value_or("");
  if (flags.Get("storage.path") && options.storage_path.empty()) {
    std::cerr << "smtp_exporter: --storage.path needs a directory\n";
    return 2;
  }
  if (const auto shard_flag = flags.Get("shard")) {
    Result<Shard> shard = ParseShard(*shard_flag);
    if (!shard.ok()) {
      std::cerr << "smtp_exporter: " << shard.error().message << '\n';
      return 2;
    }
    options.shard = shard.value();
  }
  Result<std::unique_ptr<ExporterApp>> created = ExporterApp::Create(options);
  if (!created.ok()) {
    // Config errors name the file (path:line:column); storage errors name --storage.path.
    spdlog::critical("cannot start: {}", created.error().message);
    return 1;
  }
  std::unique_ptr<ExporterApp>& app = created.value();
  if (Status bound = app->Bind(); !bound.ok()) {
    spdlog::critical("{}", bound.error().message);
    return 1;
  }
  spdlog::info("smtp_exporter {} listening on {} (port {}), config {}, shard {}", kVersion,
               options.listen_address, app->port(), options.config_path,
               ShardName(options.shard));
  app->Start();
  while (true) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) {
      continue;
    }
    if (signal_number == SIGHUP) {
      spdlog::info("SIGHUP: reloading {}", options.config_path);
      (void)app->Reload();  // logged and reported through the reload metrics
      continue;
    }
    spdlog::info("signal {}: shutting down", signal_number);
    break;
  }
  app->Shutdown();
  app->Wait();
  spdlog::info("stopped");
  return 0;
}

// The happyDomain checker mode (checker_command.h): serve until SIGTERM/SIGINT, then give
// in-flight requests 10 s (the SDK's shutdownTimeout).
int RunChecker(const std::vector<std::string>& args) {
  Result<CheckerCommandLine> parsed = ParseCheckerCommandLine(args);
  if (!parsed.ok()) {
    std::cerr << "smtp_exporter: " << parsed.error().message << "\n\n" << kCheckerUsage;
    return 2;
  }
  const CheckerCommandLine& line = parsed.value();
  if (line.help) {
    std::cout << kCheckerUsage;
    return 0;
  }
  if (line.version) {
    std::cout << "smtp_exporter " << kVersion << '\n';
    return 0;
  }
  if (line.healthcheck) {
    return RunCheckerHealthcheck(line.listen, std::cerr);
  }
  if (!SetUpLogging("info", "logfmt")) {
    return 2;
  }
  sigset_t signals = BlockStopSignals(/*with_hangup=*/false);
  CheckerServerOptions options;
  options.listen_address = line.listen;
  options.dns_servers = line.dns_servers;
  options.smtp_port = line.smtp_port;
  options.denied_networks = line.denied_networks;
  options.version = std::string(kVersion);
  if (!std::string_view(kRevision).empty()) {
    options.version += std::string(" (") + kRevision + ")";
  }
  options.log_request = [](const std::string& line_text) { spdlog::info("{}", line_text); };
  CheckerServer server(options);
  if (Status bound = server.Bind(); !bound.ok()) {
    spdlog::critical("{}", bound.message());
    return 1;
  }
  spdlog::info("smtp_exporter {} happyDomain checker listening on {} (port {})", kVersion,
               options.listen_address, server.port());
  server.Start();
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
    // only EINVAL, which our own sigset cannot cause; wait again
  }
  spdlog::info("signal {}: shutting down, in-flight requests get up to 10 s", signal_number);
  server.Shutdown(std::chrono::seconds(10));
  server.Wait();
  spdlog::info("stopped");
  return 0;
}

}  // namespace
}  // namespace smtp_exporter

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "check") {
    return smtp_exporter::RunCheck({args.begin() + 1, args.end()});
  }
  if (!args.empty() && args[0] == "healthcheck") {
    return smtp_exporter::RunHealthcheckCommand({args.begin() + 1, args.end()}, std::cout,
                                                std::cerr);
  }
  if (smtp_exporter::IsCheckerCommandLine(args)) {
    return smtp_exporter::RunChecker(args);
  }
  return smtp_exporter::RunDaemon(args);
}
