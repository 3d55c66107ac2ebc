// BasicAuth (exporter/http/web_config.h) side by side: what a wrong password costs for a known
// user, for an unknown user (the decoy hash: these two must match, or timing tells which user
// names exist), a request without credentials, and Prometheus' repeated good scrape (cached).
// Hashes at cost 10, as `htpasswd -nBC 10` makes. Run: build/tests/basic_auth_benchmark
#include <benchmark/benchmark.h>
#include <string>

#include "exporter/http/web_config.h"
#include "tests/support/basic_auth.h"

namespace {

const smtp_exporter::BasicAuth& Auth() {
  static const smtp_exporter::BasicAuth auth(
      {{"prometheus", smtp_exporter::testing::BcryptHash("right", 10)}});
  return auth;
}

void Run(benchmark::State& state, const std::string& header, bool expected) {
  for (auto _ : state) {
    const bool allowed = Auth().Allows(header);
    if (allowed != expected) {
      state.SkipWithError("unexpected verdict");
      break;
    }
    benchmark::DoNotOptimize(allowed);
  }
}

void BM_KnownUserWrongPassword(benchmark::State& state) {
  Run(state, smtp_exporter::testing::BasicAuthorization("prometheus:wrong"), false);
}
void BM_UnknownUser(benchmark::State& state) { Run(state, smtp_exporter::testing::BasicAuthorization("nobody:wrong"), false); }
void BM_NoCredentials(benchmark::State& state) { Run(state, "", false); }
void BM_RightPasswordRemembered(benchmark::State& state) {
  Run(state, smtp_exporter::testing::BasicAuthorization("prometheus:right"), true);
}

BENCHMARK(BM_KnownUserWrongPassword)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_UnknownUser)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_NoCredentials)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RightPasswordRemembered)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
