// Golden-file comparison for unit tests whose output is a whole document (metrics exposition,
// HTML report). SMTP_EXPORTER_REGENERATE_GOLDEN=1 rewrites the file instead; review the diff.
// Not thread-safe (writes files).
#pragma once

#include <string>

namespace smtp_exporter::testing {

// Compares `actual` with SMTP_EXPORTER_SOURCE_DIR/tests/testdata/<relative_path>; on a
// difference the failure shows `actual` and how to regenerate (`gtest_filter` is the filter
// that re-runs the test).
void ExpectGolden(const std::string& relative_path, const std::string& actual,
                  const std::string& gtest_filter);

}  // namespace smtp_exporter::testing
