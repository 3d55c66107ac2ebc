#include "probes/smtp_client.h"

#include <algorithm>

namespace smtp_exporter {
namespace {

// Read size per system call; the session byte bound still applies on top.
constexpr std::size_t kReadChunk = 4096;

}  // namespace

SmtpClient::SmtpClient(Transport& transport, const Clock& clock, SteadyTime origin,
                       SmtpLimits limits, std::vector<TranscriptEntry>* transcript)
    : transport_(transport),
      clock_(clock),
      origin_(origin),
      limits_(limits),
      transcript_(transcript),
      splitter_(limits.max_line_bytes) {}

void SmtpClient::Record(TranscriptEntry::Direction direction, std::string text) {
  if (transcript_ != nullptr) {
    transcript_->push_back({SecondsBetween(origin_, clock_.Now()), direction, std::move(text)});
  }
}

void SmtpClient::Note(std::string text) { Record(TranscriptEntry::Direction::kNote, std::move(text)); }

void SmtpClient::AddViolation(std::string violation) {
  if (std::find(violations_.begin(), violations_.end(), violation) == violations_.end()) {
    violations_.push_back(std::move(violation));
  }
}

Result<Reply> SmtpClient::ReadReply(Deadline deadline) {
  ReplyAssembler assembler(limits_.max_reply_lines);
  RawLine line;
  while (true) {
    switch (splitter_.Next(&line)) {
      case LineSplitter::Status::kLine: {
        Record(TranscriptEntry::Direction::kServer, line.text);
        if (line.bare_lf) {
          AddViolation("reply line ended in a bare LF instead of CRLF (RFC 5321 §2.3.8)");
        }
        Result<bool> added = assembler.Add(std::move(line.text));
        if (!added.ok()) {
          return added.error();
        }
        if (added.value()) {
          for (const auto& violation : assembler.violations()) {
            AddViolation(violation);
          }
          return assembler.Take();
        }
        continue;
      }
      case LineSplitter::Status::kTooLong:
        return Error{ErrorCode::kLimitExceeded,
                     "reply line longer than " + std::to_string(limits_.max_line_bytes) +
                         " bytes"};
      case LineSplitter::Status::kNeedMore:
        break;
    }
    if (bytes_read_ >= limits_.max_session_bytes) {
      return Error{ErrorCode::kLimitExceeded, "server sent more than " +
                                                  std::to_string(limits_.max_session_bytes) +
                                                  " bytes in one session"};
    }
    const std::size_t budget = std::min(kReadChunk, limits_.max_session_bytes - bytes_read_);
    Result<std::string> chunk = transport_.Read(budget, deadline);
    if (!chunk.ok()) {
      if (splitter_.buffered() > 0 && chunk.error().code == ErrorCode::kConnectionClosed) {
        return Error{ErrorCode::kConnectionClosed, "server closed the connection mid-reply"};
      }
      return chunk.error();
    }
    bytes_read_ += chunk.value().size();
    splitter_.Append(chunk.value());
  }
}

Result<Reply> SmtpClient::ReadGreeting(Deadline deadline) { return ReadReply(deadline); }

Status SmtpClient::SendGroup(const std::vector<std::string>& lines, Deadline deadline) {
  for (const std::string& line : lines) {
    if (line.find_first_of("\r\n") != std::string::npos) {
      return Error{ErrorCode::kInvalidArgument, "command contains CR or LF"};
    }
  }
  if (splitter_.buffered() > 0) {
    // The server spoke before we did (unsolicited or pipelined text): RFC 5321 §4.3.1 has the
    // server wait for a command. Keep the bytes out of the next reply so verdicts stay honest.
    AddViolation("server sent data before the client's command");
    Note("discarded " + std::to_string(splitter_.buffered()) + " unsolicited bytes");
    splitter_.Clear();
  }
  std::string wire;
  for (const std::string& line : lines) {
    Record(TranscriptEntry::Direction::kClient, line);
    wire += line;
    wire += "\r\n";
  }
  return transport_.Write(wire, deadline);
}

Result<Reply> SmtpClient::Command(std::string_view line, Deadline deadline) {
  if (Status sent = SendGroup({std::string(line)}, deadline); !sent.ok()) {
    return sent.error();
  }
  return ReadReply(deadline);
}

Result<TlsDetails> SmtpClient::UpgradeToTls(const std::string& server_name, Deadline deadline,
                                            std::size_t* discarded) {
  *discarded = splitter_.buffered();
  if (*discarded > 0) {
    AddViolation("server sent plaintext after its STARTTLS reply (RFC 3207 §5)");
    Note("discarded " + std::to_string(*discarded) + " plaintext bytes sent after the 220");
    splitter_.Clear();
  }
  Result<TlsDetails> tls = transport_.StartTls(server_name, deadline);
  if (tls.ok()) {
    Note("TLS established: " + tls.value().version + " " + tls.value().cipher);
  } else {
    Note(tls.error().ToString());
  }
  return tls;
}

}  // namespace smtp_exporter
