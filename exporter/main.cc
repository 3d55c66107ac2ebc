// smtp_exporter entry point: sub-command dispatch and wiring of the real clock and sockets.
// Everything else lives in the libraries so that tests can drive it.
#include <iostream>
#include <string>
#include <vector>

#include "exporter/check_command.h"
#include "exporter/version.h"
#include "probes/clock.h"
#include "probes/resolver.h"
#include "probes/transport.h"

namespace {

constexpr const char* kUsage = R"(usage: smtp_exporter <command> [flags]

commands:
  check DOMAIN [flags]   check DOMAIN's inbound mail service now and print what to fix
  --version                                   print the version
  --help                                      this text

Run "smtp_exporter check --help" for the check flags.
)";

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? smtp_exporter::kExitUnknown : 0;
  }
  if (args[0] == "--version") {
    std::cout << "smtp_exporter " << smtp_exporter::kVersion << '\n';
    return 0;
  }
  if (args[0] == "check") {
    smtp_exporter::TcpTransportFactory transports;
    const smtp_exporter::CheckDependencies deps{
        transports, smtp_exporter::SystemClock::Instance(),
        [](const smtp_exporter::ResolverOptions& options)
            -> smtp_exporter::Result<std::unique_ptr<smtp_exporter::Resolver>> {
          auto resolver = smtp_exporter::AresResolver::Create(options);
          if (!resolver.ok()) {
            return resolver.error();
          }
          return std::unique_ptr<smtp_exporter::Resolver>(std::move(resolver).value());
        }};
    return smtp_exporter::RunCheckCommand({args.begin() + 1, args.end()}, deps, std::cout,
                                          std::cerr);
  }
  std::cerr << "smtp_exporter: unknown command \"" << args[0] << "\"\n\n" << kUsage;
  return smtp_exporter::kExitUnknown;
}
