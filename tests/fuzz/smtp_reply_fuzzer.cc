// Fuzz target: SMTP reply splitting and assembly (probes/smtp_reply.h) as SmtpClient reads a
// server: the bytes arrive in chunks of any size, LineSplitter cuts lines, ReplyAssembler builds
// replies, and the greeting helpers read them.
//
// Input: byte 0 picks the chunk size (1-16 bytes, so a server trickling bytes is covered); the
// rest is what the server sends.
// Invariants: the lines returned, with their terminators, are exactly the bytes received, in
// order, and none exceeds the bound; an assembled reply keeps the code of its final line, every
// line but the last is a continuation, and sent again as CRLF lines it reassembles to the same
// reply; Text(), EnhancedStatus() and AnnouncedHostname() stay within the reply's own text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "probes/smtp_reply.h"
#include "tests/fuzz/fuzz_check.h"

namespace smtp_exporter::fuzz {
namespace {

// Small bounds so that fuzzed inputs (a few KiB) reach the limits.
constexpr std::size_t kMaxLineBytes = 256;
constexpr std::size_t kMaxReplyLines = 16;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "d.d.d" with 1-3 digits per field and class 2, 4 or 5 (RFC 3463 §2).
bool LooksEnhanced(std::string_view text) {
  int fields = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t start = pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    if (pos == start || pos - start > 3) {
      return false;
    }
    ++fields;
    if (pos == text.size()) {
      break;
    }
    if (text[pos] != '.') {
      return false;
    }
    ++pos;
  }
  return fields == 3 && (text[0] == '2' || text[0] == '4' || text[0] == '5');
}

void CheckReply(const Reply& reply) {
  FUZZ_CHECK(!reply.lines.empty());
  FUZZ_CHECK(reply.lines.size() <= kMaxReplyLines);
  FUZZ_CHECK(reply.code >= 100 && reply.code <= 599);
  for (std::size_t i = 0; i < reply.lines.size(); ++i) {
    const auto parsed = ParseReplyLine(reply.lines[i]);
    FUZZ_CHECK(parsed.has_value());
    FUZZ_CHECK(parsed->is_last == (i + 1 == reply.lines.size()));
    FUZZ_CHECK(reply.lines[i].find('\n') == std::string::npos);
  }
  // The reply's code is its final line's (RFC 5321 §4.2.1).
  FUZZ_CHECK(ParseReplyLine(reply.lines.back())->code == reply.code);

  // Text(): one line of text per reply line.
  const std::string text = reply.Text();
  std::size_t newlines = 0;
  for (const char c : text) newlines += c == '\n' ? 1 : 0;
  FUZZ_CHECK(newlines == reply.lines.size() - 1);

  const std::string first_text(ParseReplyLine(reply.lines.front())->text);
  const std::string enhanced = reply.EnhancedStatus();
  if (!enhanced.empty()) {
    FUZZ_CHECK(first_text.starts_with(enhanced));
    FUZZ_CHECK(LooksEnhanced(enhanced));
  }
  const std::string host = AnnouncedHostname(reply);
  FUZZ_CHECK(host.find_first_of(" \t") == std::string::npos);
  FUZZ_CHECK(first_text.find(host) != std::string::npos);
  (void)GreetingMentionsEsmtp(reply);

  // Sent again, as a well-behaved server would (CRLF), it reassembles to the same reply. One
  // byte more of bound: the bound counts the bytes before LF, and a line that came with a bare
  // LF gains a CR.
  LineSplitter splitter(kMaxLineBytes + 1);
  for (const std::string& line : reply.lines) {
    splitter.Append(line);
    splitter.Append("\r\n");
  }
  ReplyAssembler assembler(kMaxReplyLines);
  RawLine raw;
  bool done = false;
  while (!done && splitter.Next(&raw) == LineSplitter::Status::kLine) {
    FUZZ_CHECK(!raw.bare_lf);
    Result<bool> added = assembler.Add(raw.text);
    FUZZ_CHECK(added.ok());
    done = added.value();
  }
  FUZZ_CHECK(done);
  FUZZ_CHECK(splitter.buffered() == 0);
  const Reply again = assembler.Take();
  FUZZ_CHECK(again.code == reply.code);
  FUZZ_CHECK(again.lines == reply.lines);
}

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  if (size == 0) {
    return 0;
  }
  const std::size_t chunk = data[0] % 16 + 1;
  const std::string_view input = AsText(data + 1, size - 1);

  LineSplitter splitter(kMaxLineBytes);
  ReplyAssembler assembler(kMaxReplyLines);
  std::size_t fed = 0;       // bytes of `input` appended so far
  std::size_t returned = 0;  // bytes of `input` returned as lines (with terminators)
  while (fed < input.size()) {
    const std::string_view piece = input.substr(fed, chunk);
    splitter.Append(piece);
    fed += piece.size();
    for (;;) {
      RawLine line;
      const LineSplitter::Status status = splitter.Next(&line);
      if (status == LineSplitter::Status::kNeedMore) {
        FUZZ_CHECK(splitter.buffered() == fed - returned);
        FUZZ_CHECK(input.substr(returned, fed - returned).find('\n') == std::string_view::npos);
        break;
      }
      if (status == LineSplitter::Status::kTooLong) {
        // The client abandons the session here: the pending line is over the bound.
        FUZZ_CHECK(splitter.buffered() > kMaxLineBytes ||
                   input.substr(returned, fed - returned).find('\n') > kMaxLineBytes);
        return 0;
      }
      // The line and its terminator are exactly the next bytes received.
      FUZZ_CHECK(line.text.size() <= kMaxLineBytes);
      FUZZ_CHECK(line.text.find('\n') == std::string::npos);
      const std::string wire = line.text + (line.bare_lf ? "\n" : "\r\n");
      FUZZ_CHECK(input.substr(returned, wire.size()) == wire);
      returned += wire.size();
      FUZZ_CHECK(splitter.buffered() == fed - returned);

      Result<bool> added = assembler.Add(std::move(line.text));
      if (!added.ok()) {
        // A malformed line or one too many: the client reports the session as broken.
        FUZZ_CHECK(added.error().code == ErrorCode::kProtocol ||
                   added.error().code == ErrorCode::kLimitExceeded);
        assembler = ReplyAssembler(kMaxReplyLines);
        continue;
      }
      if (added.value()) {
        CheckReply(assembler.Take());
      }
    }
  }
  return 0;
}
