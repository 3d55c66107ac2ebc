// BasicAuth (exporter/http/web_config.h) side by side: what a wrong password costs for a known
// user, for an unknown user (the decoy hash: these two must match, or timing tells which user
// names exist), a request without credentials, and Prometheus' repeated good scrape (cached).
// Hashes at cost 10, as `htpasswd -nBC 10` makes. Run: build/tests/basic_auth_benchmark
#include <benchmark/benchmark.h>
#include <crypt.h>
#include <openssl/evp.h>

#include <array>
#include <string>

#include "exporter/http/web_config.h"

namespace {

std::string Hash(const std::string& password) {
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
  crypt_data data{};
  crypt_gensalt_rn("$2y$", 10, nullptr, 0, salt.data(), static_cast<int>(salt.size()));
  crypt_rn(password.c_str(), salt.data(), &data, sizeof(data));
  return data.output;
}

std::string Basic(const std::string& credentials) {
  std::string encoded(4 * ((credentials.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                     reinterpret_cast<const unsigned char*>(credentials.data()),
                                     static_cast<int>(credentials.size()));
  encoded.resize(static_cast<std::size_t>(length));
  return "Basic " + encoded;
}

const smtp_exporter::BasicAuth& Auth() {
  static const smtp_exporter::BasicAuth auth({{"prometheus", Hash("right")}});
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
  Run(state, Basic("prometheus:wrong"), false);
}
void BM_UnknownUser(benchmark::State& state) { Run(state, Basic("nobody:wrong"), false); }
void BM_NoCredentials(benchmark::State& state) { Run(state, "", false); }
void BM_RightPasswordRemembered(benchmark::State& state) {
  Run(state, Basic("prometheus:right"), true);
}

BENCHMARK(BM_KnownUserWrongPassword)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_UnknownUser)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_NoCredentials)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RightPasswordRemembered)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
