// Pure SMTP reply handling: splitting a byte stream into bounded lines, assembling multiline
// replies (RFC 5321 §4.2), and reading EHLO extension keywords (RFC 5321 §4.1.1.1).
// No I/O. All types are plain values; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/base/result.h"

namespace smtp_exporter {

// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF. Longer lines are
// recorded as a protocol violation but still accepted up to SmtpLimits::max_line_bytes.
inline constexpr std::size_t kRfc5321MaxReplyLineOctets = 512;

// Hard bounds that keep a hostile or broken server from exhausting our memory or time.
struct SmtpLimits {
  // Longest reply line we buffer before abandoning the session. Default: 4096 octets.
  std::size_t max_line_bytes = 4096;
  // Most lines in one multiline reply. Default: 100 (a long EHLO reply has ~15).
  std::size_t max_reply_lines = 100;
  // Most bytes read from the server in one session. Default: 128 KiB.
  std::size_t max_session_bytes = 128 * 1024;
};

// One line as received, without its terminator.
struct RawLine {
  std::string text;
  bool bare_lf = false;  // ended in LF without CR (RFC 5321 §2.3.8 requires CRLF)
};

// Splits received bytes into lines. Not thread-safe.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  enum class Status { kLine, kNeedMore, kTooLong };

  void Append(std::string_view bytes) { buffer_.append(bytes); }
  // Extracts the next complete line into *line. kTooLong once the pending line exceeds the bound
  // (the caller should give up on the session: we never buffer without limit).
  Status Next(RawLine* line);
  // Bytes received but not yet returned as lines.
  std::size_t buffered() const { return buffer_.size(); }
  void Clear() {
    buffer_.clear();
    scanned_ = 0;
  }

 private:
  std::size_t max_line_bytes_;
  std::string buffer_;
  // Bytes of buffer_ already known to hold no '\n': a server trickling one byte at a time costs
  // linear, not quadratic, work.
  std::size_t scanned_ = 0;
};

// One parsed reply line: "250-PIPELINING" gives {250, false, "PIPELINING"}.
struct ReplyLine {
  int code = 0;
  bool is_last = true;   // separator was SP or absent (final line), not "-"
  std::string_view text;  // after the separator
};

// Parses a reply line. nullopt if it does not start with a three-digit code followed by SP,
// "-" or the end of the line (RFC 5321 §4.2).
std::optional<ReplyLine> ParseReplyLine(std::string_view line);

// A complete reply: code and every line verbatim.
struct Reply {
  int code = 0;
  std::vector<std::string> lines;  // verbatim, without line terminators

  bool IsPositive() const { return code >= 200 && code <= 299; }
  bool IsIntermediate() const { return code >= 300 && code <= 399; }
  bool IsTransient() const { return code >= 400 && code <= 499; }
  bool IsPermanent() const { return code >= 500 && code <= 599; }
  // The text of every line (without codes), joined with '\n'.
  std::string Text() const;
  // RFC 3463 enhanced status code at the start of the first line's text ("5.7.1"), or "".
  std::string EnhancedStatus() const;
};

// Builds a Reply from successive lines. Not thread-safe.
class ReplyAssembler {
 public:
  explicit ReplyAssembler(std::size_t max_lines) : max_lines_(max_lines) {}

  // Adds one line. Returns true once the final line has been added (then call Take()).
  // kProtocol for a malformed line, kLimitExceeded past max_lines.
  Result<bool> Add(std::string line);
  // The assembled reply; resets the assembler.
  Reply Take();
  // Non-fatal deviations seen so far (e.g. differing codes across lines, RFC 5321 §4.2.1).
  const std::vector<std::string>& violations() const { return violations_; }

 private:
  std::size_t max_lines_;
  Reply current_;
  std::vector<std::string> violations_;
};

// One EHLO keyword with its parameters, e.g. {"SIZE", "10240000"}, {"AUTH", "PLAIN LOGIN"}.
struct Extension {
  std::string keyword;  // upper case
  std::string params;   // verbatim, may be empty
  friend bool operator==(const Extension&, const Extension&) = default;
};

// The extensions advertised in one EHLO reply, in the server's order.
class ExtensionSet {
 public:
  ExtensionSet() = default;
  // Reads the keyword lines of an EHLO reply; the first line (the server's greeting) is skipped.
  // The legacy "AUTH=LOGIN PLAIN" form is read as AUTH with those mechanisms.
  static ExtensionSet FromEhloReply(const Reply& reply);

  bool Has(std::string_view keyword) const { return Find(keyword) != nullptr; }
  const Extension* Find(std::string_view keyword) const;
  const std::vector<Extension>& items() const { return items_; }
  bool empty() const { return items_.empty(); }

  // Adds the keywords of `other` not present here (parameters of existing keywords are kept).
  void Merge(const ExtensionSet& other);
  // Adds or replaces one keyword (used by tests and the JSON reader).
  void Add(Extension extension);

  // RFC 1870 SIZE value, if advertised with one.
  std::optional<std::uint64_t> SizeLimit() const;
  // RFC 4954 AUTH mechanisms, upper case.
  std::vector<std::string> AuthMechanisms() const;

 private:
  std::vector<Extension> items_;
};

// The host name a greeting announces: the first word after "220 " (RFC 5321 §4.3.1), or "".
std::string AnnouncedHostname(const Reply& greeting);

// True if the greeting contains the word "ESMTP" (informational: RFC 5321 §3.1 allows servers
// to omit it).
bool GreetingMentionsEsmtp(const Reply& greeting);

}  // namespace smtp_exporter
