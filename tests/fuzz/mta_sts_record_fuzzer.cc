// Fuzz target: the MTA-STS TXT record (ParseMtaStsRecord / SelectMtaStsRecord,
// probes/mta_sts.h), read from DNS answers: untrusted text.
//
// Input: TXT records separated by NUL bytes (the first alone is also parsed as one record).
// Invariants: an accepted record starts with "v=STSv1" and yields an id of 1 to 32 letters and
// digits that appears in it; selection succeeds only with exactly one v=STSv1 record, and then
// agrees with parsing that record; every error has a one-line message.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "probes/mta_sts.h"
#include "tests/fuzz/fuzz_check.h"

namespace smtp_exporter::fuzz {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::vector<std::string> SplitAtNul(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (out.size() < 16) {
    const std::size_t end = text.find('\0', start);
    out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return out;
}

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  if (size > 8192) {
    return 0;
  }
  const std::vector<std::string> records = SplitAtNul(std::string(AsText(data, size)));
  const Result<std::string> one = ParseMtaStsRecord(records[0]);
  if (one.ok()) {
    FUZZ_CHECK(records[0].starts_with("v=STSv1"));
    FUZZ_CHECK(!one.value().empty() && one.value().size() <= 32);
    FUZZ_CHECK(std::all_of(one.value().begin(), one.value().end(), IsAlnum));
    FUZZ_CHECK(records[0].find("id=" + one.value()) != std::string::npos);
  } else {
    FUZZ_CHECK(!one.error().message.empty());
    FUZZ_CHECK(one.error().message.find('\n') == std::string::npos);
  }
  const std::size_t versioned = RecordsWithVersion(records, "v=STSv1").size();
  const Result<std::string> selected = SelectMtaStsRecord(records);
  if (selected.ok()) {
    FUZZ_CHECK(versioned == 1);
    const std::string_view record = RecordsWithVersion(records, "v=STSv1")[0];
    FUZZ_CHECK(ParseMtaStsRecord(record).ok());
    FUZZ_CHECK(ParseMtaStsRecord(record).value() == selected.value());
  } else {
    FUZZ_CHECK(selected.error().message.find('\n') == std::string::npos);
  }
  return 0;
}
