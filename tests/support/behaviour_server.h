// A scripted SMTP server as a behaviour rather than a script (scripted_transport.h fixes the
// order of lines; pipelined, lock-step and shared sessions send different ones): it answers
// each command as it arrives, keeps the transaction state a real server keeps (the sender of
// the open MAIL), and once it closes or falls silent it stays so, as a real server's input
// loop would. By default it accepts recipients at example.org and its subdomains and refuses
// every other one as a relay. Behaviours() lists deterministic server behaviours that the
// pipelining and shared-session tests run every probe mode against.
// Thread safety: a BehaviourTransport is used by one thread; BehaviourFactory is thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "probes/transport.h"

namespace smtp_exporter::testing {

// What the server does with one command.
struct Answer {
  std::string bytes;   // sent back (may be empty)
  bool close = false;  // then it closes the connection
  bool hang = false;   // then it falls silent for good (reads time out)
};

inline Answer Line(std::string line) { return Answer{line + "\r\n"}; }

// Overrides the default answer to `command`, given the sender of the open transaction ("" for
// the null sender; nullopt when no MAIL is open). nullopt: the default.
using Behaviour = std::function<std::optional<Answer>(const std::string& command,
                                                      const std::optional<std::string>& sender)>;

struct SentLine {
  std::string text;
  int write = 0;         // which Write() call carried it
  int reads_before = 0;  // Read() calls made before it was written
};

class BehaviourFactory;

class BehaviourTransport final : public Transport {
 public:
  BehaviourTransport(Behaviour behaviour, bool pipelining, BehaviourFactory* factory)
      : behaviour_(std::move(behaviour)), pipelining_(pipelining), factory_(factory) {
    out_ = "220 mx.example.org ESMTP\r\n";
  }

  Result<std::string> Read(std::size_t max_bytes, Deadline /*deadline*/) override {
    ++reads_;
    if (!out_.empty()) {
      std::string chunk = out_.substr(0, max_bytes);
      out_.erase(0, chunk.size());
      return chunk;
    }
    if (closed_) {
      return Error{ErrorCode::kConnectionClosed, "server closed the connection"};
    }
    return Error{ErrorCode::kTimeout, "deadline passed while waiting for the server"};
  }

  Status Write(std::string_view data, Deadline /*deadline*/) override {
    ++writes_;
    pending_.append(data);
    for (std::size_t end; (end = pending_.find("\r\n")) != std::string::npos;) {
      const std::string line = pending_.substr(0, end);
      pending_.erase(0, end + 2);
      Record({line, writes_, reads_});
      if (!closed_ && !hung_) {
        Serve(line);
      }
    }
    return Status::Ok();  // as TCP: writes to a peer that closed still succeed at first
  }

  Result<TlsDetails> StartTls(const std::string& /*server_name*/, Deadline /*deadline*/) override {
    return TlsDetails{"TLSv1.3",
                      "TLS_AES_256_GCM_SHA384",
                      "CN=mx.example.org",
                      {"mx.example.org"},
                      1'900'000'000};
  }

  void Close(Deadline /*deadline*/) override {}

 private:
  void Record(SentLine line);
  void Serve(const std::string& command) {
    const std::string verb = command.substr(0, 4);
    if (std::optional<Answer> answer = behaviour_(command, sender_)) {
      out_ += answer->bytes;
      closed_ = answer->close;
      hung_ = answer->hang;
      if (verb == "MAIL" && answer->bytes.starts_with("2")) {
        sender_ = SenderOf(command);
      }
      return;
    }
    if (verb == "EHLO") {
      out_ += pipelining_ ? "250-mx.example.org\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
                          : "250-mx.example.org\r\n250 STARTTLS\r\n";
    } else if (verb == "STAR") {
      out_ += "220 2.0.0 Ready to start TLS\r\n";
    } else if (verb == "MAIL") {
      if (sender_) {
        out_ += "503 5.5.1 Error: nested MAIL command\r\n";
      } else {
        sender_ = SenderOf(command);
        out_ += "250 2.1.0 Ok\r\n";
      }
    } else if (verb == "RCPT") {
      if (!sender_) {
        out_ += "503 5.5.1 Error: need MAIL command\r\n";
      } else if (command.ends_with("example.org>")) {  // example.org and its subdomains
        out_ += "250 2.1.5 Ok\r\n";
      } else {
        out_ += "554 5.7.1 Relay access denied\r\n";
      }
    } else if (verb == "RSET") {
      sender_.reset();
      out_ += "250 2.0.0 Ok\r\n";
    } else if (verb == "QUIT") {
      out_ += "221 2.0.0 Bye\r\n";
      closed_ = true;
    } else {
      out_ += "502 5.5.2 Error: command not recognized\r\n";
    }
  }

  static std::string SenderOf(const std::string& mail) {
    const std::size_t open = mail.find('<');
    const std::size_t close = mail.find('>');
    return open == std::string::npos || close == std::string::npos
               ? ""
               : mail.substr(open + 1, close - open - 1);
  }

  Behaviour behaviour_;
  bool pipelining_;
  BehaviourFactory* factory_;
  std::string out_;
  std::string pending_;
  std::optional<std::string> sender_;
  bool closed_ = false;
  bool hung_ = false;
  int reads_ = 0;
  int writes_ = 0;
};

// Thread-safe: sessions on several threads record into one list of sent lines.
class BehaviourFactory final : public TransportFactory {
 public:
  BehaviourFactory(Behaviour behaviour, bool pipelining)
      : behaviour_(std::move(behaviour)), pipelining_(pipelining) {}
  Result<std::unique_ptr<Transport>> Connect(const IpAddress& /*ip*/, std::uint16_t /*port*/,
                                             Deadline /*deadline*/) override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++connects_;
    changed_.notify_all();
    // A held gate keeps connections from completing (a slow network), so probes can queue.
    changed_.wait(lock, [this] { return !gate_closed_; });
    return std::unique_ptr<Transport>(
        std::make_unique<BehaviourTransport>(behaviour_, pipelining_, this));
  }
  std::vector<SentLine> sent() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return sent_;
  }
  int connects() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return connects_;
  }
  // Connect() blocks from HoldConnections() until ReleaseConnections().
  void HoldConnections() {
    std::lock_guard<std::mutex> lock(mutex_);
    gate_closed_ = true;
  }
  void ReleaseConnections() {
    std::lock_guard<std::mutex> lock(mutex_);
    gate_closed_ = false;
    changed_.notify_all();
  }
  // Waits (up to `limit`) until Connect() has been called `count` times; true if it was.
  bool WaitForConnects(int count, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, limit, [this, count] { return connects_ >= count; });
  }
  void Record(SentLine line) {
    std::lock_guard<std::mutex> lock(mutex_);
    sent_.push_back(std::move(line));
  }

 private:
  Behaviour behaviour_;
  bool pipelining_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool gate_closed_ = false;
  std::vector<SentLine> sent_;
  int connects_ = 0;
};

inline void BehaviourTransport::Record(SentLine line) { factory_->Record(std::move(line)); }

struct BehaviourCase {
  const char* name;
  Behaviour behaviour;
};

// Failure messages name the behaviour, not its bytes.
inline void PrintTo(const BehaviourCase& behaviour, std::ostream* os) { *os << behaviour.name; }

// Which open transactions an answer applies to.
enum class While { kAny, kNullSender, kOurSender };

// The server answers `command` (exactly, or every RCPT when `command` is "RCPT") with `answer`
// while a transaction of the given kind is open (kAny: also outside one); the rest as usual.
inline Behaviour On(std::string command, Answer answer, While when = While::kAny) {
  return
      [command, answer, when](const std::string& c,
                              const std::optional<std::string>& sender) -> std::optional<Answer> {
        const bool matches = command == "RCPT" ? c.starts_with("RCPT ") : c == command;
        const bool in_time =
            when == While::kAny || (sender && (when == While::kNullSender) == sender->empty());
        return matches && in_time ? std::optional<Answer>(answer) : std::nullopt;
      };
}

// The server as it is, answering everything the usual way.
inline Behaviour AsUsual() {
  return
      [](const std::string&, const std::optional<std::string>&) { return std::optional<Answer>(); };
}

// Server behaviours, each deterministic per command, so both modes meet the same server.
inline std::vector<BehaviourCase> Behaviours() {
  const std::string null_rcpt = "RCPT";  // the first RCPT of the null sender: any RCPT then
  const std::string postmaster = "RCPT TO:<postmaster@example.org>";
  const std::string relay = "RCPT TO:<postmaster@example.com>";
  const std::string our_mail = "MAIL FROM:<checker@probe.test>";
  const Answer drop{"", true};
  return {
      {"WellBehaved", AsUsual()},
      {"AcceptsEverything", On("RCPT", Line("250 2.1.5 Ok"))},
      {"NullSender5xxAtMail", On("MAIL FROM:<>", Line("550 5.7.1 No bounces here"))},
      {"NullSender4xxAtMail", On("MAIL FROM:<>", Line("451 4.3.0 Try again later"))},
      {"Every5xxAtRcpt", On("RCPT", Line("550 5.1.1 No such user"), While::kAny)},
      {"Every4xxAtRcpt", On("RCPT", Line("450 4.2.0 Greylisted, try later"), While::kAny)},
      // Postfix smtpd_delay_reject = yes: the sender's refusal comes at RCPT.
      {"DelayedRejectOfTheNullSender",
       On(null_rcpt, Line("550 5.7.1 <>: Sender address rejected"), While::kNullSender)},
      {"DelayedReject4xxOfTheNullSender",
       On(null_rcpt, Line("450 4.7.1 <>: Sender address deferred"), While::kNullSender)},
      {"OurSenderRefusedAtMail", On(our_mail, Line("553 5.7.1 Sender rejected"))},
      {"PostmasterRefusedFromOurSenderOnly",
       On(postmaster, Line("550 5.7.1 Not you"), While::kOurSender)},
      {"Closing421AtNullSenderRcpt",
       On(postmaster, Answer{"421 4.7.0 mx.example.org closing\r\n", true}, While::kNullSender)},
      {"Closing421AtOurSender", On(our_mail, Answer{"421 4.7.0 Too many commands\r\n", true})},
      {"Closing421AtRelayRcpt", On(relay, Answer{"421 4.7.0 closing\r\n", true})},
      {"DropsTheConnectionAtNullSenderMail", On("MAIL FROM:<>", drop)},
      {"DropsTheConnectionAtRelayRcpt", On(relay, drop)},
      {"DropsTheConnectionAtTheFirstRset", On("RSET", drop, While::kNullSender)},
      {"FallsSilentAtPostmasterRcpt", On(postmaster, Answer{"", false, true})},
      {"GarbageAtNullSenderRcpt",
       On(null_rcpt, Line("hello, this is not SMTP"), While::kNullSender)},
      {"GarbageAtRelayRcpt", On(relay, Line("9xx what"))},
      // 354 to RCPT: out of protocol, never a verdict.
      {"IntermediateReplyToRcpt", On("RCPT", Line("354 go ahead"), While::kAny)},
  };
}

}  // namespace smtp_exporter::testing
