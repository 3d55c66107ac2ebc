// FUZZ_CHECK: the invariant check of the libFuzzer targets in this folder. A violated invariant
// is a bug just as a crash is, so it must stop the run the same way: print what failed and trap,
// which libFuzzer reports as a crash and saves the input as an artifact to replay
// (`./target crash-<sha1>`). Fuzz targets only; never used by the product.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string_view>

// Prints the failed condition and where, then traps.
#define FUZZ_CHECK(condition)                                                            \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__,         \
                   #condition);                                                          \
      __builtin_trap();                                                                  \
    }                                                                                    \
  } while (false)

namespace smtp_exporter::fuzz {

// `data` as a string_view; libFuzzer hands the input as bytes.
inline std::string_view AsText(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace smtp_exporter::fuzz
