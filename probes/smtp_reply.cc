#include "probes/smtp_reply.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "config/domain_name.h"

namespace smtp_exporter {
namespace {

std::string ToUpper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

LineSplitter::Status LineSplitter::Next(RawLine* line) {
  const auto newline = buffer_.find('\n', scanned_);
  if (newline == std::string::npos) {
    scanned_ = buffer_.size();
    return buffer_.size() > max_line_bytes_ ? Status::kTooLong : Status::kNeedMore;
  }
  scanned_ = 0;
  if (newline > max_line_bytes_) {
    return Status::kTooLong;
  }
  const bool has_cr = newline > 0 && buffer_[newline - 1] == '\r';
  line->text.assign(buffer_, 0, has_cr ? newline - 1 : newline);
  line->bare_lf = !has_cr;
  buffer_.erase(0, newline + 1);
  return Status::kLine;
}

std::optional<ReplyLine> ParseReplyLine(std::string_view line) {
  if (line.size() < 3 || !IsDigit(line[0]) || !IsDigit(line[1]) || !IsDigit(line[2]) ||
      line[0] < '1' || line[0] > '5') {
    return std::nullopt;
  }
  ReplyLine parsed;
  parsed.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (line.size() == 3) {
    return parsed;
  }
  if (line[3] != ' ' && line[3] != '-') {
    return std::nullopt;
  }
  parsed.is_last = line[3] == ' ';
  parsed.text = line.substr(4);
  return parsed;
}

std::string Reply::Text() const {
  std::string out;
  for (const auto& line : lines) {
    const auto parsed = ParseReplyLine(line);
    // One '\n' between lines, also after a line with no text ("250-"), so lines stay apart.
    if (&line != &lines.front()) {
      out += '\n';
    }
    out += parsed ? std::string(parsed->text) : line;
  }
  return out;
}

std::string Reply::EnhancedStatus() const {
  if (lines.empty()) {
    return "";
  }
  const auto parsed = ParseReplyLine(lines.front());
  if (!parsed) {
    return "";
  }
  // RFC 3463 §2: class "." subject "." detail, class in {2,4,5}, up to 3 digits per field.
  const std::string_view text = parsed->text;
  std::size_t pos = 0;
  int fields = 0;
  while (fields < 3) {
    const std::size_t start = pos;
    while (pos < text.size() && IsDigit(text[pos]) && pos - start < 3) ++pos;
    if (pos == start) {
      return "";
    }
    ++fields;
    if (fields < 3) {
      if (pos >= text.size() || text[pos] != '.') {
        return "";
      }
      ++pos;
    }
  }
  if (pos < text.size() && text[pos] != ' ') {
    return "";
  }
  if (text[0] != '2' && text[0] != '4' && text[0] != '5') {
    return "";
  }
  return std::string(text.substr(0, pos));
}

Result<bool> ReplyAssembler::Add(std::string line) {
  const auto parsed = ParseReplyLine(line);
  if (!parsed) {
    return Error{ErrorCode::kProtocol, "malformed reply line"};
  }
  if (current_.lines.size() >= max_lines_) {
    return Error{ErrorCode::kLimitExceeded,
                 "reply has more than " + std::to_string(max_lines_) + " lines"};
  }
  if (!current_.lines.empty() && parsed->code != current_.code) {
    // RFC 5321 §4.2.1: every line of a multiline reply carries the same code.
    violations_.push_back("multiline reply changes code from " + std::to_string(current_.code) +
                          " to " + std::to_string(parsed->code) + " (RFC 5321 §4.2.1)");
  }
  if (line.size() + 2 > kRfc5321MaxReplyLineOctets) {
    violations_.push_back("reply line of " + std::to_string(line.size() + 2) +
                          " octets exceeds 512 (RFC 5321 §4.5.3.1.5)");
  }
  // The final line's code is the reply's code.
  current_.code = parsed->code;
  const bool last = parsed->is_last;
  current_.lines.push_back(std::move(line));
  return last;
}

Reply ReplyAssembler::Take() {
  Reply out = std::move(current_);
  current_ = Reply{};
  return out;
}

ExtensionSet ExtensionSet::FromEhloReply(const Reply& reply) {
  ExtensionSet set;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    const auto parsed = ParseReplyLine(reply.lines[i]);
    if (!parsed) {
      continue;
    }
    const std::string_view text = TrimSpaces(parsed->text);
    if (text.empty()) {
      continue;
    }
    auto split = text.find_first_of(" \t");
    std::string_view keyword = text.substr(0, split);
    std::string_view params =
        split == std::string_view::npos ? std::string_view() : TrimSpaces(text.substr(split));
    // Legacy "AUTH=LOGIN PLAIN" (pre-RFC 4954 Microsoft clients) means AUTH with those mechanisms.
    if (const auto eq = keyword.find('='); eq != std::string_view::npos) {
      const std::string_view first = keyword.substr(eq + 1);
      keyword = keyword.substr(0, eq);
      if (keyword.empty()) {
        continue;  // "=PLAIN" names no extension (RFC 5321 §4.1.1.1: ehlo-keyword is 1*)
      }
      std::string joined(first);
      if (!params.empty()) {
        joined += ' ';
        joined += params;
      }
      Extension legacy{ToUpper(keyword), std::move(joined)};
      if (const auto* existing = set.Find(legacy.keyword); existing == nullptr) {
        set.items_.push_back(std::move(legacy));
      }
      continue;
    }
    Extension extension{ToUpper(keyword), std::string(params)};
    if (set.Find(extension.keyword) == nullptr) {
      set.items_.push_back(std::move(extension));
    }
  }
  return set;
}

const Extension* ExtensionSet::Find(std::string_view keyword) const {
  const std::string wanted = ToUpper(keyword);
  for (const auto& item : items_) {
    if (item.keyword == wanted) {
      return &item;
    }
  }
  return nullptr;
}

void ExtensionSet::Merge(const ExtensionSet& other) {
  for (const auto& item : other.items_) {
    if (Find(item.keyword) == nullptr) {
      items_.push_back(item);
    }
  }
}

void ExtensionSet::Add(Extension extension) {
  extension.keyword = ToUpper(extension.keyword);
  for (auto& item : items_) {
    if (item.keyword == extension.keyword) {
      item = std::move(extension);
      return;
    }
  }
  items_.push_back(std::move(extension));
}

std::optional<std::uint64_t> ExtensionSet::SizeLimit() const {
  const Extension* size = Find("SIZE");
  if (size == nullptr || size->params.empty()) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  const char* begin = size->params.data();
  const char* end = begin + size->params.size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return value;
}

std::vector<std::string> ExtensionSet::AuthMechanisms() const {
  std::vector<std::string> mechanisms;
  const Extension* auth = Find("AUTH");
  if (auth == nullptr) {
    return mechanisms;
  }
  std::string_view rest = auth->params;
  while (!rest.empty()) {
    rest = TrimSpaces(rest);
    const auto split = rest.find_first_of(" \t");
    const std::string_view word = rest.substr(0, split);
    if (!word.empty()) {
      std::string upper = ToUpper(word);
      if (std::find(mechanisms.begin(), mechanisms.end(), upper) == mechanisms.end()) {
        mechanisms.push_back(std::move(upper));
      }
    }
    if (split == std::string_view::npos) {
      break;
    }
    rest = rest.substr(split);
  }
  return mechanisms;
}

std::string AnnouncedHostname(const Reply& greeting) {
  if (greeting.lines.empty()) {
    return "";
  }
  const auto parsed = ParseReplyLine(greeting.lines.front());
  if (!parsed) {
    return "";
  }
  std::string_view text = TrimSpaces(parsed->text);
  // RFC 3463 §2 / RFC 2034 §3: an enhanced status code ("554 5.7.1 ...") precedes the text; it
  // is not the server's name.
  const std::string enhanced = greeting.EnhancedStatus();
  if (!enhanced.empty()) {
    text = TrimSpaces(text.substr(enhanced.size()));
  }
  std::string_view word = text.substr(0, text.find_first_of(" \t"));
  if (greeting.code == 220) {
    return std::string(word);  // RFC 5321 §4.3.1: "220 " Domain / address-literal
  }
  // Other greetings (554, 421) carry free text ("554 5.7.1 Your address is blocked"): a word is
  // a name only when it looks like one, a dotted host name or an address literal, perhaps
  // followed by a colon ("554 5.7.1 mx.example.org: no SMTP service here").
  if (!word.empty() && word.back() == ':') {
    word.remove_suffix(1);
  }
  const bool literal = word.size() > 2 && word.front() == '[' && word.back() == ']';
  const bool dotted_name =
      word.find('.') != std::string_view::npos && ValidateHostName(word).ok();
  return literal || dotted_name ? std::string(word) : std::string();
}

bool GreetingMentionsEsmtp(const Reply& greeting) {
  for (const auto& line : greeting.lines) {
    const std::string upper = ToUpper(line);
    std::size_t pos = 0;
    while ((pos = upper.find("ESMTP", pos)) != std::string::npos) {
      const bool start_ok = pos == 0 || !std::isalnum(static_cast<unsigned char>(upper[pos - 1]));
      const std::size_t end = pos + 5;
      const bool end_ok =
          end >= upper.size() || !std::isalnum(static_cast<unsigned char>(upper[end]));
      if (start_ok && end_ok) {
        return true;
      }
      pos = end;
    }
  }
  return false;
}

}  // namespace smtp_exporter
