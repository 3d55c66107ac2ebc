// Fuzz target: EHLO extension parsing (ExtensionSet::FromEhloReply, probes/smtp_reply.h) and
// the readers over it (SIZE, AUTH mechanisms, Merge, Add).
//
// Input: the lines of an EHLO reply separated by LF (a CR before it is dropped), as the
// assembler hands them over: the first is the server's greeting line, which is skipped.
// Invariants: a keyword is never empty, upper case, and free of blanks and "="; keywords are
// unique and each is found by Find() in any case; a SIZE limit is read only from digits; AUTH
// mechanisms are non-empty, upper case, blank-free and unique; merging a set into itself or
// re-adding its own items changes nothing.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/domain_name.h"
#include "probes/smtp_reply.h"
#include "tests/fuzz/fuzz_check.h"

namespace smtp_exporter::fuzz {
namespace {

constexpr std::size_t kMaxLines = 64;

bool HasLowerOrBlank(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || c == ' ' || c == '\t';
  });
}

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  std::string_view input = AsText(data, size);
  Reply reply;
  reply.code = 250;
  while (!input.empty() && reply.lines.size() < kMaxLines) {
    const std::size_t end = input.find('\n');
    std::string_view line = input.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    reply.lines.emplace_back(line);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
  }

  const ExtensionSet set = ExtensionSet::FromEhloReply(reply);
  for (std::size_t i = 0; i < set.items().size(); ++i) {
    const Extension& item = set.items()[i];
    FUZZ_CHECK(!item.keyword.empty());
    FUZZ_CHECK(!HasLowerOrBlank(item.keyword));
    FUZZ_CHECK(item.keyword.find('=') == std::string::npos);
    FUZZ_CHECK(item.keyword.find('\n') == std::string::npos);
    FUZZ_CHECK(set.Find(item.keyword) == &item);
    FUZZ_CHECK(set.Has(LowerAscii(item.keyword)));
    for (std::size_t j = 0; j < i; ++j) {
      FUZZ_CHECK(set.items()[j].keyword != item.keyword);
    }
  }
  FUZZ_CHECK(set.items().size() <= reply.lines.size());

  if (const auto limit = set.SizeLimit()) {
    const std::string& params = set.Find("SIZE")->params;
    FUZZ_CHECK(!params.empty());
    FUZZ_CHECK(std::all_of(params.begin(), params.end(),
                           [](char c) { return c >= '0' && c <= '9'; }));
  }
  const std::vector<std::string> mechanisms = set.AuthMechanisms();
  for (std::size_t i = 0; i < mechanisms.size(); ++i) {
    FUZZ_CHECK(!mechanisms[i].empty());
    FUZZ_CHECK(!HasLowerOrBlank(mechanisms[i]));
    for (std::size_t j = 0; j < i; ++j) {
      FUZZ_CHECK(mechanisms[j] != mechanisms[i]);
    }
  }

  ExtensionSet merged = set;
  merged.Merge(set);
  FUZZ_CHECK(merged.items() == set.items());
  ExtensionSet readded = set;
  for (const Extension& item : set.items()) {
    readded.Add(item);
  }
  FUZZ_CHECK(readded.items() == set.items());
  return 0;
}
