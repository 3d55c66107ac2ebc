// SmtpClient: the client side of one SMTP session (RFC 5321) over an already open Transport.
// It never opens sockets itself. Every command goes through Command(), which rejects CR/LF in
// arguments; every reply is read line by line within SmtpLimits and kept verbatim in the
// transcript. Commands go out one at a time (Command) or, when the server advertises
// PIPELINING, as one group whose replies are then read in order (SendGroup, NextReply).
// Not thread-safe: one client per connection, used by one thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/base/clock.h"
#include "probes/observation.h"
#include "config/base/result.h"
#include "probes/smtp_reply.h"
#include "probes/transport.h"

namespace smtp_exporter {

class SmtpClient {
 public:
  // `transcript` receives every line sent and received; `origin` is time zero for its stamps.
  SmtpClient(Transport& transport, const Clock& clock, SteadyTime origin, SmtpLimits limits,
             std::vector<TranscriptEntry>* transcript);

  // Reads the server greeting to its final line (a multiline "220-" greeting, as Postfix
  // postscreen sends, is waited for: nothing is sent before it ends).
  Result<Reply> ReadGreeting(Deadline deadline);

  // Sends one command line (without CRLF) and reads its reply. kInvalidArgument if the line
  // contains CR or LF (RFC 5321 §2.3.8: they would smuggle a second command).
  Result<Reply> Command(std::string_view line, Deadline deadline);

  // Sends `lines` (each without CRLF) as one RFC 2920 group: all in one write, each recorded in
  // the transcript in order; read their replies with NextReply(), one per line, in order.
  // kInvalidArgument (and nothing sent) if a line contains CR or LF. The caller keeps
  // RFC 2920 §3.1: only the last line may be a command whose reply changes what comes next.
  Status SendGroup(const std::vector<std::string>& lines, Deadline deadline);

  // Reads the next reply of a group sent with SendGroup().
  Result<Reply> NextReply(Deadline deadline) { return ReadReply(deadline); }

  // Bytes received but not yet consumed as a reply (after the last reply of a group: replies
  // for commands we never sent, i.e. the server is out of step with us).
  std::size_t buffered() const { return splitter_.buffered(); }

  // After a 220 reply to STARTTLS: discards any bytes the server sent in plaintext after that
  // reply (RFC 3207 §5), then upgrades the transport. `discarded` receives their count.
  Result<TlsDetails> UpgradeToTls(const std::string& server_name, Deadline deadline,
                                  std::size_t* discarded);

  // Records a note in the transcript (not sent).
  void Note(std::string text);

  // Non-fatal RFC deviations seen in this session, deduplicated.
  const std::vector<std::string>& violations() const { return violations_; }

 private:
  Result<Reply> ReadReply(Deadline deadline);
  void AddViolation(std::string violation);
  void Record(TranscriptEntry::Direction direction, std::string text);

  Transport& transport_;
  const Clock& clock_;
  SteadyTime origin_;
  SmtpLimits limits_;
  std::vector<TranscriptEntry>* transcript_;
  LineSplitter splitter_;
  std::size_t bytes_read_ = 0;
  std::vector<std::string> violations_;
};

}  // namespace smtp_exporter
