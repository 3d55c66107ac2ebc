#include "tests/support/golden.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "tests/support/lab.h"

namespace smtp_exporter::testing {

void ExpectGolden(const std::string& relative_path, const std::string& actual,
                  const std::string& gtest_filter) {
  const std::string path = std::string(SMTP_EXPORTER_SOURCE_DIR) + "/tests/testdata/" +
                           relative_path;
  if (const char* regenerate = std::getenv("SMTP_EXPORTER_REGENERATE_GOLDEN");
      regenerate != nullptr && std::string(regenerate) == "1") {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << actual;
  }
  const std::string expected = ReadFile(path);
  EXPECT_TRUE(actual == expected)
      << path << " differs. If the change is intended, regenerate it with\n"
      << "  SMTP_EXPORTER_REGENERATE_GOLDEN=1 unit_tests --gtest_filter='" << gtest_filter
      << "'\nActual output:\n-----8<-----\n"
      << actual << "-----8<-----\n";
}

}  // namespace smtp_exporter::testing
