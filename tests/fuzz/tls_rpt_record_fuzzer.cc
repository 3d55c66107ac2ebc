// Fuzz target: the TLS-RPT TXT record (ParseTlsRptRecord / SelectTlsRptRecord,
// probes/mta_sts.h), read from DNS answers: untrusted text.
//
// Input: TXT records separated by NUL bytes (the first alone is also parsed as one record).
// Invariants: an accepted record starts with "v=TLSRPTv1" and yields 1 to 16 URIs, each mailto:
// or https: (any case), printable ASCII without spaces or commas; selection succeeds only with
// exactly one v=TLSRPTv1 record; every error has a one-line message.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "probes/mta_sts.h"
#include "tests/fuzz/fuzz_check.h"

namespace smtp_exporter::fuzz {
namespace {

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

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return text;
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
  const Result<std::vector<std::string>> one = ParseTlsRptRecord(records[0]);
  if (one.ok()) {
    FUZZ_CHECK(records[0].starts_with("v=TLSRPTv1"));
    FUZZ_CHECK(!one.value().empty() && one.value().size() <= 16);
    for (const std::string& uri : one.value()) {
      const std::string lower = Lower(uri);
      FUZZ_CHECK(lower.starts_with("mailto:") || lower.starts_with("https://"));
      FUZZ_CHECK(std::all_of(uri.begin(), uri.end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f &&
               c != ',';
      }));
    }
  } else {
    FUZZ_CHECK(!one.error().message.empty());
    FUZZ_CHECK(one.error().message.find('\n') == std::string::npos);
  }
  const Result<std::vector<std::string>> selected = SelectTlsRptRecord(records);
  if (selected.ok()) {
    FUZZ_CHECK(RecordsWithVersion(records, "v=TLSRPTv1").size() == 1);
  } else {
    FUZZ_CHECK(selected.error().message.find('\n') == std::string::npos);
  }
  return 0;
}
