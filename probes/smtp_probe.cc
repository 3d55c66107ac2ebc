#include "probes/smtp_probe.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include "config/domain_name.h"
#include "probes/smtp_client.h"

namespace smtp_exporter {
namespace {

// How long the close after QUIT may wait for the server's close_notify and FIN.
constexpr std::chrono::seconds kCloseBudget{2};

ProbeOutcome Classify(const Reply& reply) {
  if (reply.IsPositive()) {
    return ProbeOutcome::kAccepted;
  }
  if (reply.IsTransient()) {
    return ProbeOutcome::kTemporary;
  }
  if (reply.IsPermanent()) {
    return ProbeOutcome::kRejected;
  }
  return ProbeOutcome::kError;
}

// How a negative reply is worded in probe details: RFC 5321 §4.2.1 makes 4yz a temporary
// refusal (greylisting, rate limits) and only 5yz a permanent one, so a 450 is never "refused".
std::string Refusal(const Reply& reply) {
  if (reply.IsTransient()) {
    return "deferred";
  }
  return reply.IsPermanent() ? "refused" : "answered";
}

// "refused (550)", "deferred (450)".
std::string Answer(const Reply& reply) {
  return Refusal(reply) + " (" + std::to_string(reply.code) + ")";
}

// The failure a refusal stands for: RFC 5321 §4.2.1, 4yz transient and 5yz permanent.
FailureReason ReplyFailure(const Reply& reply) {
  if (reply.IsTransient()) {
    return FailureReason::kReply4xx;
  }
  return reply.IsPermanent() ? FailureReason::kReply5xx : FailureReason::kProtocol;
}

// The transaction commands by role. Lock-step sends each one when the verdict logic reaches it;
// a pipelined session has sent them all up front (PipelinedGroup) and the same verdict logic
// reads their replies, so both modes reach their verdicts by one code path.
enum class TxStep {
  kNullMail,    // MAIL FROM:<>
  kNullRcpt,    // RCPT TO:<postmaster@domain>, from the null sender
  kNullRset,    // RSET
  kSenderMail,  // MAIL FROM:<checker@helo>: the "who refused?" re-ask, or postmaster alone
  kSenderRcpt,  // RCPT TO:<postmaster@domain>, from our sender
  kSenderRset,  // RSET
  kRelayMail,   // MAIL FROM:<checker@helo>, for the open-relay probe
  kRelayRcpt,   // RCPT TO:<relay recipient>
  kRelayRset,   // RSET
};
constexpr std::size_t kTxSteps = static_cast<std::size_t>(TxStep::kRelayRset) + 1;

// The transaction probes sent as one RFC 2920 group, and the replies read for it. Its layout,
// with N, P and R the null-sender, postmaster and open-relay options:
//   MAIL FROM:<>, RCPT TO:<postmaster@d> (if P), RSET                              (if N)
//   MAIL FROM:<checker@h>, RCPT TO:<postmaster@d> (if P), RCPT TO:<relay> (if R), RSET (P or R)
//   QUIT
// The second transaction goes out whatever the first one's replies: it is the "who refused?"
// re-ask that lock-step sends only after the null sender's RCPT is refused, and it carries the
// open-relay probe too (its MAIL is the relay probe's MAIL; the relay RCPT follows the
// postmaster one in the same transaction, where lock-step puts an RSET and a second MAIL).
// Speculation costs the server one MAIL/RCPT pair it may not have needed and keeps the whole
// probe one round trip; a second group sent after the first one's replies would cost a second
// round trip on every server that refuses the null sender's RCPT (Postfix's delayed reject).
// QUIT ends the group: RFC 2920 §3.1 lets only the last command of a group be one (EHLO, DATA,
// VRFY, EXPN, TURN, QUIT, NOOP) whose reply changes what the client does next; MAIL, RCPT and
// RSET are not. DATA is never sent.
// A server that breaks mid-group (closes, falls silent, sends garbage, says 421) is judged as
// lock-step judges one that breaks at that command: the replies before it count, the probes
// that needed the missing ones end as errors, with the same session error. No second,
// lock-step connection retries them: a server that advertises PIPELINING and then cannot take
// a group has a fault the report should show (the transcript has the group and where it
// broke), and a retry would add a connection to a host that is already failing, against the
// per-IP connection budget. More replies than commands (a server out of step) shows after
// QUIT's reply and is reported as a protocol violation.
// A shared session (several domains) puts each domain's RCPT TO:<postmaster@…> side by side
// in both transactions; MAIL, RSET and the open-relay RCPT are asked once for all of them:
//   MAIL FROM:<>, RCPT TO:<postmaster@d1>, …, RCPT TO:<postmaster@dn>, RSET
//   MAIL FROM:<checker@h>, RCPT TO:<postmaster@d1>, …, RCPT TO:<postmaster@dn>, RCPT TO:<relay>,
//   RSET, QUIT
struct PipelinedGroup {
  struct Entry {
    std::string command;
    // The reply, or why none came; unset until read (QUIT's reply is read last, by Quit()).
    std::optional<Result<Reply>> answer;
    int owner = -1;  // the member (domain) whose command it is; -1: every member's
  };
  std::vector<Entry> entries;  // in the order sent; QUIT last
  // Per member, the entry of each step, or -1: kSenderRset when the relay probe shares the
  // second transaction (no RSET between its RCPTs), and the steps of probes that are off.
  std::vector<std::array<int, kTxSteps>> index;
};

// A domain whose postmaster a session asks for: its own transaction probes. The session's
// other facts, and the open-relay probe, belong to every member alike.
struct Member {
  std::string domain;
  TransactionProbe null_sender;
  TransactionProbe postmaster;
  bool own_reply_deferred = false;  // a 4yz or 552 to one of its own RCPTs
};

// One endpoint probe: owns the connection(s) and fills the observation as it goes.
class EndpointProber {
 public:
  EndpointProber(TransportFactory& transports, const Clock& clock, const EndpointTarget& target,
                 const CheckOptions& options, const SmtpLimits& limits,
                 const SessionJoin* join = nullptr)
      : transports_(transports),
        clock_(clock),
        target_(target),
        options_(options),
        limits_(limits),
        join_(join),
        helo_name_(options.helo_name.empty() ? DefaultHeloName() : options.helo_name),
        origin_(clock.Now()),
        deadline_(origin_ + options.timeout) {}

  EndpointObservation Run();
  // Run() for every member: the target's domain first, then the joined ones.
  std::vector<SharedEndpointResult> RunShared();

 private:
  bool OpenSession();
  // Port 465 (RFC 8314 §3.3): the TLS handshake before any SMTP byte. False (and the
  // connection dropped: nothing can be said on it) when it fails.
  bool StartImplicitTls();
  bool ReadGreeting();
  bool SayHello(bool primary);
  void TryStartTls();
  void RunTransactions();
  void ProbeNullSenderAndPostmaster();
  void ProbePostmasterOnly();
  void ProbeOpenRelay();
  void Quit();

  // Sends one command; records it as a step of each probe given. nullopt once the session is
  // over (transport error, limit, or a 421 that closes it).
  std::optional<Reply> Send(const std::string& command, TransactionProbe* first = nullptr,
                            TransactionProbe* second = nullptr);
  // Send()'s bookkeeping for `reply`, the answer to `command`, however it was obtained.
  std::optional<Reply> Judge(const std::string& command, const Result<Reply>& reply,
                             TransactionProbe* first, TransactionProbe* second);
  // One transaction step: its reply from the pipelined group when one was sent, else Send().
  std::optional<Reply> Ask(TxStep step, TransactionProbe* first = nullptr,
                           TransactionProbe* second = nullptr);
  std::string CommandFor(TxStep step, const Member& member) const;
  // The joined domains become members (once: at the transaction probes, or at the end).
  void Join();
  // Transcript entries [begin, end) are member `owner`'s own (hidden from the other members).
  void Own(std::size_t begin, std::size_t end, int owner);
  // Member `index`'s result, built from the session's facts (moved out when `last`).
  EndpointObservation ResultFor(std::size_t index, bool last);
  // Sends the transaction probes and QUIT as one group and reads the replies but QUIT's, in
  // order, stopping at the first that ends the session (an error, or 421).
  void SendGroup();
  // RSET as transaction step `step` (kNullRset, kSenderRset or kRelayRset).
  void Reset(TxStep step);
  // The connection broke (or the server closed it): record why; nothing more can be sent.
  void EndSession(const Error& error);
  // We stop on a refusal while the connection still works: record why; nothing but the QUIT
  // that Run() sends at the end goes out any more (RFC 5321 §4.1.1.10: the session ends with
  // QUIT), so the QUIT round trip is not timed as part of the phase that failed.
  void GiveUp(const Error& error);
  // A phase (its PhaseDuration name) starts now: failures from here on are noted in it.
  // Returns its start, for EndPhase.
  SteadyTime StartPhase(const char* name);
  // Records the duration of the phase running now, started at `since`.
  void EndPhase(SteadyTime since);
  // Records the session's first failure, in the phase running now (phase_).
  void NoteFailure(FailureReason reason);
  void CollectViolations();
  void FailUntested(const std::string& why);

  TransportFactory& transports_;
  const Clock& clock_;
  const EndpointTarget& target_;
  const CheckOptions& options_;
  const SmtpLimits& limits_;
  const SessionJoin* join_;  // nullptr: the target's domain alone
  const std::string helo_name_;
  const SteadyTime origin_;
  // The conversation's deadline: `timeout` after the start, moved later by the time spent
  // waiting for greetings, which have their own wait (greeting_timeout).
  Deadline deadline_;

  EndpointObservation obs_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<SmtpClient> client_;
  bool alive_ = false;
  bool stopping_ = false;  // the session is alive but only QUIT may be sent (GiveUp)
  const char* phase_ = "connect";  // the PhaseDuration name of the phase running now
  // The EHLO reply in force (the post-TLS one after STARTTLS) advertises PIPELINING.
  bool pipelining_offered_ = false;
  std::optional<PipelinedGroup> group_;  // set once the transaction probes went as one group

  std::vector<Member> members_;  // the target's domain first
  bool joined_ = false;
  std::size_t current_ = 0;  // the member whose probes the verdict logic runs now
  // Per transcript entry (as far as it is filled), its member, or -1 for everyone's.
  std::vector<int> owners_;
  // The session broke (an error, or 421) during the transaction probes.
  bool transactions_broke_ = false;
};

SteadyTime EndpointProber::StartPhase(const char* name) {
  phase_ = name;
  return clock_.Now();
}

void EndpointProber::EndPhase(SteadyTime since) {
  obs_.phases.push_back({phase_, SecondsBetween(since, clock_.Now())});
}

void EndpointProber::NoteFailure(FailureReason reason) {
  if (!obs_.failure.has_value()) {
    obs_.failure = ProbeFailure{phase_, reason};
  }
}

void EndpointProber::CollectViolations() {
  if (client_ == nullptr) {
    return;
  }
  for (const auto& violation : client_->violations()) {
    if (std::find(obs_.protocol_violations.begin(), obs_.protocol_violations.end(), violation) ==
        obs_.protocol_violations.end()) {
      obs_.protocol_violations.push_back(violation);
    }
  }
}

void EndpointProber::EndSession(const Error& error) {
  alive_ = false;
  NoteFailure(FailureReasonFor(error.code));
  if (error.code == ErrorCode::kLimitExceeded && obs_.limit_exceeded.empty()) {
    obs_.limit_exceeded = error.message;
  }
  if (obs_.session_error.empty()) {
    obs_.session_error = error.ToString();
    obs_.session_error_code = error.code;
  }
  if (client_ != nullptr) {
    client_->Note("session ended: " + error.ToString());
  }
}

void EndpointProber::GiveUp(const Error& error) {
  if (obs_.session_error.empty()) {
    obs_.session_error = error.ToString();
    obs_.session_error_code = error.code;
  }
  client_->Note("giving up: " + error.ToString());
  stopping_ = true;
}

std::optional<Reply> EndpointProber::Send(const std::string& command, TransactionProbe* first,
                                          TransactionProbe* second) {
  if (!alive_ || stopping_) {
    return std::nullopt;
  }
  return Judge(command, client_->Command(command, deadline_), first, second);
}

std::optional<Reply> EndpointProber::Judge(const std::string& command, const Result<Reply>& reply,
                                           TransactionProbe* first, TransactionProbe* second) {
  SmtpStep step{command, std::nullopt, ""};
  if (reply.ok()) {
    step.reply = reply.value();
  } else {
    step.error = reply.error().ToString();
  }
  for (TransactionProbe* probe : {first, second}) {
    if (probe != nullptr) {
      probe->steps.push_back(step);
    }
  }
  if (!reply.ok()) {
    EndSession(reply.error());
    return std::nullopt;
  }
  if (reply.value().code == 421) {
    // RFC 5321 §3.8: 421 means the server is closing the transmission channel. The reply is
    // kept in the step, but no verdict rests on it: probes in flight end as errors.
    NoteFailure(FailureReason::kReply4xx);
    EndSession(Error{ErrorCode::kConnectionClosed,
                     "server closed the session: " + reply.value().lines.front()});
    return std::nullopt;
  }
  return reply.value();
}

std::string EndpointProber::CommandFor(TxStep step, const Member& member) const {
  switch (step) {
    case TxStep::kNullMail:
      return "MAIL FROM:<>";
    case TxStep::kNullRcpt:
    case TxStep::kSenderRcpt:
      return "RCPT TO:<postmaster@" + member.domain + ">";
    case TxStep::kSenderMail:
    case TxStep::kRelayMail:
      return "MAIL FROM:<" + obs_.probe_sender + ">";
    case TxStep::kRelayRcpt:
      return "RCPT TO:<" + obs_.probe_recipient + ">";
    case TxStep::kNullRset:
    case TxStep::kSenderRset:
    case TxStep::kRelayRset:
      break;
  }
  return "RSET";
}

std::optional<Reply> EndpointProber::Ask(TxStep step, TransactionProbe* first,
                                         TransactionProbe* second) {
  std::optional<Reply> reply;
  if (!group_) {
    reply = Send(CommandFor(step, members_[current_]), first, second);
  } else {
    if (!alive_ || stopping_) {
      return std::nullopt;
    }
    const int index = group_->index[current_][static_cast<std::size_t>(step)];
    if (index < 0) {
      return std::nullopt;  // an RSET the group leaves out: its transaction goes on
    }
    const PipelinedGroup::Entry& entry = group_->entries[static_cast<std::size_t>(index)];
    reply = Judge(entry.command, *entry.answer, first, second);
  }
  // RFC 5321 §4.5.3.1.10: a server over its recipient limit answers 452 (older ones 552); in a
  // shared session that may be the other domains' recipients' doing, not this domain's.
  if (reply && (step == TxStep::kNullRcpt || step == TxStep::kSenderRcpt) &&
      (reply->IsTransient() || reply->code == 552)) {
    members_[current_].own_reply_deferred = true;
  }
  return reply;
}

void EndpointProber::Reset(TxStep step) {
  // RFC 5321 §4.1.1.5: RSET aborts the transaction; the next probe starts clean.
  Ask(step);
}

void EndpointProber::SendGroup() {
  PipelinedGroup group;
  std::array<int, kTxSteps> none;
  none.fill(-1);
  group.index.assign(members_.size(), none);
  // A step asked once for every member.
  auto add = [&group, this](TxStep step) {
    for (auto& index : group.index) {
      index[static_cast<std::size_t>(step)] = static_cast<int>(group.entries.size());
    }
    group.entries.push_back({CommandFor(step, members_.front()), std::nullopt, -1});
  };
  // A step asked for each member in turn.
  auto add_each = [&group, this](TxStep step) {
    for (std::size_t m = 0; m < members_.size(); ++m) {
      group.index[m][static_cast<std::size_t>(step)] = static_cast<int>(group.entries.size());
      group.entries.push_back({CommandFor(step, members_[m]), std::nullopt, static_cast<int>(m)});
    }
  };
  if (options_.test_null_sender) {
    add(TxStep::kNullMail);
    if (options_.test_postmaster) {
      add_each(TxStep::kNullRcpt);
    }
    add(TxStep::kNullRset);
  }
  if (options_.test_postmaster || options_.test_open_relay) {
    add(TxStep::kSenderMail);
    for (auto& index : group.index) {
      index[static_cast<std::size_t>(TxStep::kRelayMail)] =
          index[static_cast<std::size_t>(TxStep::kSenderMail)];
    }
    if (options_.test_postmaster) {
      add_each(TxStep::kSenderRcpt);
    }
    if (options_.test_open_relay) {
      add(TxStep::kRelayRcpt);
      add(TxStep::kRelayRset);
    } else {
      add(TxStep::kSenderRset);
    }
  }
  group.entries.push_back({"QUIT", std::nullopt, -1});

  std::vector<std::string> lines;
  for (const auto& entry : group.entries) {
    lines.push_back(entry.command);
  }
  client_->Note("PIPELINING (RFC 2920): " + std::to_string(lines.size()) +
                " commands in one group, QUIT last");
  if (Status sent = client_->SendGroup(lines, deadline_); !sent.ok()) {
    EndSession(sent.error());  // as lock-step's first write would have
    return;
  }
  // SendGroup recorded the lines last, in order.
  const std::size_t first_line = obs_.transcript.size() - lines.size();
  for (std::size_t i = 0; i < group.entries.size(); ++i) {
    Own(first_line + i, first_line + i + 1, group.entries[i].owner);
  }
  obs_.transactions_pipelined = true;
  // Replies come in the order of the commands (RFC 2920 §3.2). Read them all but QUIT's now;
  // the first that ends the session (an error, or 421: RFC 5321 §3.8) ends the reading, and
  // the commands after it count as unanswered, with the same error, so the verdict logic ends
  // the session exactly where lock-step would have, if it gets that far.
  std::optional<Error> stopped;
  for (std::size_t i = 0; i < group.entries.size(); ++i) {
    PipelinedGroup::Entry& entry = group.entries[i];
    if (stopped) {
      entry.answer = *stopped;
      continue;
    }
    if (i + 1 == group.entries.size()) {
      break;  // QUIT: Quit() reads its reply, after the phase's timing
    }
    const std::size_t reply_from = obs_.transcript.size();
    entry.answer = client_->NextReply(deadline_);
    Own(reply_from, obs_.transcript.size(), entry.owner);
    if (!entry.answer->ok()) {
      stopped = entry.answer->error();
    } else if (entry.answer->value().code == 421) {
      stopped = Error{ErrorCode::kConnectionClosed,
                      "server closed the session: " + entry.answer->value().lines.front()};
    }
  }
  if (stopped) {
    client_->Note("the group's replies stopped after " + std::to_string(group.entries.size()) +
                  " commands were sent: " + stopped->ToString());
  }
  group_ = std::move(group);
}

bool EndpointProber::OpenSession() {
  Result<std::unique_ptr<Transport>> connected =
      transports_.Connect(target_.ip, target_.port, deadline_);
  if (!connected.ok()) {
    const Error& error = connected.error();
    NoteFailure(FailureReasonFor(error.code));
    if (obs_.connect_status == ConnectStatus::kNotAttempted) {
      switch (error.code) {
        case ErrorCode::kConnectionRefused:
          obs_.connect_status = ConnectStatus::kRefused;
          break;
        case ErrorCode::kTimeout:
          obs_.connect_status = ConnectStatus::kTimeout;
          break;
        case ErrorCode::kUnreachable:
          obs_.connect_status = ConnectStatus::kUnreachable;
          break;
        case ErrorCode::kNoRoute:
          obs_.connect_status = ConnectStatus::kNoRoute;
          break;
        default:
          obs_.connect_status = ConnectStatus::kError;
          break;
      }
      obs_.connect_error = error.ToString();
    }
    obs_.transcript.push_back({SecondsBetween(origin_, clock_.Now()),
                               TranscriptEntry::Direction::kNote,
                               "connect to " + obs_.ip.ToString() + " port " +
                                   std::to_string(target_.port) + " failed: " + error.ToString()});
    if (obs_.session_error.empty() && obs_.connect_status == ConnectStatus::kConnected) {
      obs_.session_error = "reconnect failed: " + error.ToString();
      obs_.session_error_code = error.code;
    }
    return false;
  }
  CollectViolations();
  transport_ = std::move(connected).value();
  client_ = std::make_unique<SmtpClient>(*transport_, clock_, origin_, limits_, &obs_.transcript);
  client_->Note("connected to " + obs_.ip.ToString() + " port " + std::to_string(target_.port));
  obs_.connect_status = ConnectStatus::kConnected;
  alive_ = true;
  stopping_ = false;
  return true;
}

bool EndpointProber::StartImplicitTls() {
  obs_.starttls.attempted = true;
  const std::string server_name =
      StripTrailingDots(target_.mx_name.empty() ? obs_.ip.ToString() : target_.mx_name);
  std::size_t discarded = 0;  // nothing can be buffered before the first read
  Result<TlsDetails> tls = client_->UpgradeToTls(server_name, deadline_, &discarded);
  if (!tls.ok()) {
    obs_.starttls.error = tls.error().message;
    NoteFailure(tls.error().code == ErrorCode::kTimeout ? FailureReason::kTimeout
                                                        : FailureReason::kTlsHandshake);
    client_->Note("implicit TLS handshake failed: " + tls.error().ToString());
    if (obs_.session_error.empty()) {
      obs_.session_error = "TLS handshake failed: " + tls.error().message;
      obs_.session_error_code = tls.error().code;
    }
    // Mid-handshake the connection cannot carry a QUIT; it is dropped.
    alive_ = false;
    return false;
  }
  obs_.starttls.ok = true;
  obs_.starttls.tls = std::move(tls).value();
  return true;
}

bool EndpointProber::ReadGreeting() {
  // RFC 5321 §4.5.3.2.1: senders wait 5 minutes for the greeting, and tarpits and pre-greeting
  // pauses (postscreen) rely on it. The greeting gets its own, longer wait, and that wait does
  // not eat into the budget of the commands after it.
  const SteadyTime waiting_since = clock_.Now();
  Result<Reply> greeting = client_->ReadGreeting(waiting_since + options_.greeting_timeout);
  deadline_ += clock_.Now() - waiting_since;
  if (!greeting.ok()) {
    EndSession(greeting.error());
    return false;
  }
  const Reply& reply = greeting.value();
  if (!obs_.greeting.has_value()) {  // on a reconnect, the first greeting stays the record
    obs_.greeting = reply;
    obs_.announced_hostname = AnnouncedHostname(reply);
    obs_.greeting_mentions_esmtp = GreetingMentionsEsmtp(reply);
  }
  if (reply.code == 220) {
    return true;
  }
  NoteFailure(ReplyFailure(reply));
  if (reply.code == 421) {
    EndSession(Error{ErrorCode::kConnectionClosed, "server refused the session with 421"});
    return false;
  }
  // RFC 5321 §3.1: after a 554 greeting the server waits for QUIT before closing.
  if (obs_.session_error.empty()) {
    obs_.session_error = "server greeted with " + std::to_string(reply.code);
  }
  stopping_ = true;  // Run() sends the QUIT
  return false;
}

bool EndpointProber::SayHello(bool primary) {
  pipelining_offered_ = false;
  const std::optional<Reply> ehlo = Send("EHLO " + helo_name_);
  if (!ehlo) {
    return false;
  }
  if (primary) {
    obs_.ehlo = *ehlo;
  }
  if (ehlo->IsPositive()) {
    pipelining_offered_ = ExtensionSet::FromEhloReply(*ehlo).Has("PIPELINING");
    if (primary) {
      obs_.esmtp = true;
      obs_.extensions_plain = ExtensionSet::FromEhloReply(*ehlo);
      obs_.auth_before_tls = obs_.extensions_plain.Has("AUTH");
    }
    return true;
  }
  if (ehlo->IsTransient()) {
    // RFC 5321 §4.2.1: 4yz is "try again later" (typically a check of our HELO name that could
    // not finish), not the "command not recognized" after which §3.2 has clients fall back to
    // HELO. Nothing more is learnt this time: stop, with QUIT.
    NoteFailure(FailureReason::kReply4xx);
    GiveUp(Error{ErrorCode::kProtocol, "EHLO was deferred with " + std::to_string(ehlo->code)});
    return false;
  }
  // RFC 5321 §3.2: a client whose EHLO is refused falls back to HELO. Any 5yz, not only 500:
  // Postfix and Exim fall back on every refusal, so a server that takes HELO gets their mail.
  const std::optional<Reply> helo = Send("HELO " + helo_name_);
  if (!helo) {
    return false;
  }
  if (primary) {
    obs_.helo = *helo;
    obs_.helo_fallback = helo->IsPositive();
  }
  if (!helo->IsPositive()) {
    NoteFailure(ReplyFailure(*helo));
    GiveUp(Error{ErrorCode::kProtocol, "both EHLO and HELO were refused"});
    return false;
  }
  return true;
}

void EndpointProber::TryStartTls() {
  obs_.starttls.offered = obs_.extensions_plain.Has("STARTTLS");
  obs_.transactions_channel = TransactionChannel::kPlain;
  if (!obs_.starttls.offered) {
    return;
  }
  obs_.starttls.attempted = true;
  SteadyTime started = StartPhase("starttls");
  const std::optional<Reply> reply = Send("STARTTLS");
  if (!reply) {
    obs_.starttls.error = obs_.session_error;
    EndPhase(started);
    return;
  }
  obs_.starttls.reply = *reply;
  if (reply->code != 220) {
    // RFC 3207 §4: after a refusal the session stays in plaintext; carry on there.
    obs_.starttls.error = "STARTTLS refused: " + reply->lines.front();
    NoteFailure(ReplyFailure(*reply));
    EndPhase(started);
    return;
  }
  const std::string server_name =
      StripTrailingDots(target_.mx_name.empty() ? obs_.ip.ToString() : target_.mx_name);
  Result<TlsDetails> tls =
      client_->UpgradeToTls(server_name, deadline_, &obs_.starttls.plaintext_bytes_discarded);
  EndPhase(started);
  if (!tls.ok()) {
    // The message alone: the rules and reports say "TLS handshake failed" themselves.
    obs_.starttls.error = tls.error().message;
    NoteFailure(tls.error().code == ErrorCode::kTimeout ? FailureReason::kTimeout
                                                         : FailureReason::kTlsHandshake);
    // The connection is unusable mid-handshake. A real sending MTA would retry in plaintext
    // (opportunistic TLS, RFC 7435 §4), so the transaction probes run on a fresh connection.
    CollectViolations();
    alive_ = false;
    client_.reset();
    transport_.reset();
    if (!options_.test_null_sender && !options_.test_postmaster && !options_.test_open_relay) {
      return;
    }
    started = StartPhase("reconnect");
    const bool reopened = OpenSession() && ReadGreeting() && SayHello(false);
    EndPhase(started);
    obs_.transactions_channel =
        reopened ? TransactionChannel::kPlainReconnect : TransactionChannel::kNone;
    return;
  }
  obs_.starttls.ok = true;
  obs_.starttls.tls = std::move(tls).value();
  obs_.transactions_channel = TransactionChannel::kTls;
  // RFC 3207 §4.2: the client must discard what it knew and issue EHLO again.
  pipelining_offered_ = false;
  started = StartPhase("tls_ehlo");
  const std::optional<Reply> ehlo = Send("EHLO " + helo_name_);
  if (ehlo) {
    obs_.tls_ehlo = *ehlo;
    if (ehlo->IsPositive()) {
      obs_.extensions_tls = ExtensionSet::FromEhloReply(*ehlo);
      pipelining_offered_ = obs_.extensions_tls.Has("PIPELINING");
    } else if (ehlo->IsTransient()) {
      NoteFailure(FailureReason::kReply4xx);  // as in SayHello: no HELO after a 4yz
      GiveUp(Error{ErrorCode::kProtocol, "EHLO deferred after STARTTLS"});
    } else if (const std::optional<Reply> helo = Send("HELO " + helo_name_);
               helo && !helo->IsPositive()) {
      NoteFailure(ReplyFailure(*helo));
      GiveUp(Error{ErrorCode::kProtocol, "EHLO and HELO refused after STARTTLS"});
    }
  }
  EndPhase(started);
}

void EndpointProber::ProbeNullSenderAndPostmaster() {
  TransactionProbe& null_sender = members_[current_].null_sender;
  TransactionProbe& postmaster = members_[current_].postmaster;
  const std::optional<Reply> mail = Ask(TxStep::kNullMail, &null_sender);
  if (!mail) {
    return;
  }
  if (!mail->IsPositive()) {
    null_sender.outcome = Classify(*mail);
    null_sender.detail = "MAIL FROM:<> answered " + std::to_string(mail->code);
    Reset(TxStep::kNullRset);
    if (options_.test_postmaster) {
      ProbePostmasterOnly();
    }
    return;
  }
  if (!options_.test_postmaster) {
    null_sender.outcome = ProbeOutcome::kAccepted;
    null_sender.detail = "MAIL FROM:<> accepted (judged at MAIL: postmaster probe disabled)";
    Reset(TxStep::kNullRset);
    return;
  }
  const std::optional<Reply> to = Ask(TxStep::kNullRcpt, &null_sender, &postmaster);
  if (!to) {
    return;
  }
  if (to->IsPositive()) {
    null_sender.outcome = ProbeOutcome::kAccepted;
    null_sender.detail = "a bounce to postmaster was accepted at RCPT";
    postmaster.outcome = ProbeOutcome::kAccepted;
    postmaster.detail = "accepted from the null sender";
    Reset(TxStep::kNullRset);
    return;
  }
  // Many servers delay a MAIL FROM rejection to RCPT (Postfix smtpd_delay_reject = yes), so a
  // refused RCPT does not yet say which of the two was refused: ask again with a normal sender.
  Reset(TxStep::kNullRset);
  std::optional<Reply> again;
  if (std::optional<Reply> mail2 = Ask(TxStep::kSenderMail, &postmaster);
      mail2 && mail2->IsPositive()) {
    again = Ask(TxStep::kSenderRcpt, &postmaster);
  }
  if (again && again->IsPositive()) {
    null_sender.outcome = Classify(*to);
    null_sender.detail = "MAIL FROM:<> was accepted at MAIL but the bounce was " + Refusal(*to) +
                         " at RCPT (" + std::to_string(to->code) +
                         "), while postmaster accepts mail from a normal sender";
    postmaster.outcome = ProbeOutcome::kAccepted;
    postmaster.detail = "accepted from a normal sender; " + Answer(*to) + " from the null sender";
  } else if (again) {
    null_sender.outcome = ProbeOutcome::kAccepted;
    null_sender.detail = std::string("MAIL FROM:<> accepted at MAIL; postmaster ") +
                         (again->IsTransient() ? "defers" : "refuses") + " every sender";
    postmaster.outcome = Classify(*again);
    postmaster.detail =
        Answer(*to) + " from the null sender and " + Answer(*again) + " from a normal sender";
  } else {
    null_sender.outcome = ProbeOutcome::kAccepted;
    null_sender.detail = "MAIL FROM:<> accepted at MAIL; the RCPT answer (" +
                         std::to_string(to->code) + ") could not be attributed";
    postmaster.outcome = Classify(*to);
    postmaster.detail = Answer(*to) + " from the null sender; a second try could not run";
  }
  Reset(TxStep::kSenderRset);
}

void EndpointProber::ProbePostmasterOnly() {
  TransactionProbe& postmaster = members_[current_].postmaster;
  const std::optional<Reply> mail = Ask(TxStep::kSenderMail, &postmaster);
  if (!mail) {
    return;
  }
  if (!mail->IsPositive()) {
    postmaster.outcome = ProbeOutcome::kError;
    postmaster.detail = "our sender was refused at MAIL (" + std::to_string(mail->code) +
                        "), so RCPT could not be tried";
    Reset(TxStep::kSenderRset);
    return;
  }
  const std::optional<Reply> to = Ask(TxStep::kSenderRcpt, &postmaster);
  if (!to) {
    return;
  }
  postmaster.outcome = Classify(*to);
  postmaster.detail = "RCPT TO postmaster answered " + std::to_string(to->code);
  Reset(TxStep::kSenderRset);
}

void EndpointProber::ProbeOpenRelay() {
  TransactionProbe& relay = obs_.open_relay;
  const std::optional<Reply> mail = Ask(TxStep::kRelayMail, &relay);
  if (!mail) {
    return;
  }
  if (!mail->IsPositive()) {
    // A server that refuses our sender cannot be used as a relay by it either.
    relay.outcome = Classify(*mail);
    relay.detail = "our sender was refused at MAIL (" + std::to_string(mail->code) + ")";
    Reset(TxStep::kRelayRset);
    return;
  }
  const std::optional<Reply> to = Ask(TxStep::kRelayRcpt, &relay);
  if (!to) {
    return;
  }
  relay.outcome = Classify(*to);
  relay.detail =
      to->IsPositive()
          ? "a recipient outside the domain was accepted: OPEN RELAY (DATA not sent)"
          : "relaying to a recipient outside the domain answered " + std::to_string(to->code);
  Reset(TxStep::kRelayRset);
}

void EndpointProber::RunTransactions() {
  if (!options_.test_null_sender && !options_.test_postmaster && !options_.test_open_relay) {
    return;
  }
  Join();
  const SteadyTime started = StartPhase("transactions");
  if (options_.pipelining && pipelining_offered_) {
    SendGroup();
  }
  // Each member's null-sender and postmaster probes: from the group's replies, or in lock-step
  // one domain after another on this connection, each domain's commands its own.
  for (current_ = 0; current_ < members_.size(); ++current_) {
    const std::size_t from = obs_.transcript.size();
    if (options_.test_null_sender) {
      ProbeNullSenderAndPostmaster();
    } else if (options_.test_postmaster) {
      ProbePostmasterOnly();
    }
    if (!group_) {
      Own(from, obs_.transcript.size(), static_cast<int>(current_));
    }
  }
  current_ = 0;  // the open-relay probe's steps are everyone's (the same in every member)
  if (options_.test_open_relay) {
    ProbeOpenRelay();
  }
  transactions_broke_ = !alive_;
  EndPhase(started);
}

void EndpointProber::Join() {
  if (joined_) {
    return;
  }
  joined_ = true;
  if (join_ == nullptr || !*join_) {
    return;
  }
  for (std::string& domain : (*join_)()) {
    if (members_.size() < kMaxDomainsPerSession) {
      members_.push_back({StripTrailingDots(domain), {}, {}, false});
    }
  }
}

void EndpointProber::Own(std::size_t begin, std::size_t end, int owner) {
  if (members_.size() < 2 || begin >= end) {
    return;  // a session of one domain hides nothing
  }
  if (owners_.size() < end) {
    owners_.resize(end, -1);
  }
  std::fill(owners_.begin() + static_cast<std::ptrdiff_t>(begin),
            owners_.begin() + static_cast<std::ptrdiff_t>(end), owner);
}

void EndpointProber::Quit() {
  if (alive_) {
    // Best effort: a server that drops us at QUIT has still answered everything that counts.
    if (group_) {
      // QUIT went out as the group's last command; its reply is the group's last.
      std::optional<Result<Reply>>& bye = group_->entries.back().answer;
      if (!bye) {
        bye = client_->NextReply(deadline_);
      }
      if (!bye->ok()) {
        client_->Note("no reply to QUIT: " + bye->error().ToString());
      } else if (client_->buffered() > 0) {
        // More replies than commands: the server was out of step with the group, so the
        // verdicts rest on replies matched to the wrong commands. Say so; RFC 2920 §3.2 has
        // servers answer each command once, in order.
        client_->Note("the server sent " + std::to_string(client_->buffered()) +
                      " bytes after its reply to QUIT");
        obs_.protocol_violations.push_back(
            "server sent more replies than the pipelined group had commands (RFC 2920 §3.2)");
      }
    } else if (Result<Reply> bye = client_->Command("QUIT", deadline_); !bye.ok()) {
      client_->Note("no reply to QUIT: " + bye.error().ToString());
    }
    alive_ = false;
    // TLS close_notify and a FIN, not a reset (smtp-server logs ECONNRESET as an error). A
    // short budget of its own: the verdicts are in, and a mute server must not stall the check.
    transport_->Close(std::min(deadline_, clock_.Now() + kCloseBudget));
  }
}

void EndpointProber::FailUntested(const std::string& why) {
  std::vector<std::pair<bool, TransactionProbe*>> probes = {
      {options_.test_open_relay, &obs_.open_relay}};
  for (Member& member : members_) {
    probes.emplace_back(options_.test_null_sender, &member.null_sender);
    probes.emplace_back(options_.test_postmaster, &member.postmaster);
  }
  for (const auto& [enabled, probe] : probes) {
    if (enabled && probe->outcome == ProbeOutcome::kNotTested) {
      probe->outcome = ProbeOutcome::kError;
      probe->detail = why;
    }
  }
}

EndpointObservation EndpointProber::ResultFor(std::size_t index, bool last) {
  Member& member = members_[index];
  EndpointObservation result = last ? std::move(obs_) : obs_;
  if (members_.size() > 1) {
    // Each domain sees the session's lines and its own, never another domain's recipients.
    std::vector<TranscriptEntry> own;
    std::size_t hidden = 0;
    std::optional<std::size_t> note;  // where the first hidden line was: the note goes there
    for (std::size_t i = 0; i < result.transcript.size(); ++i) {
      const int owner = i < owners_.size() ? owners_[i] : -1;
      if (owner >= 0 && static_cast<std::size_t>(owner) != index) {
        if (hidden++ == 0) {
          note = own.size();
          own.push_back({result.transcript[i].at_seconds, TranscriptEntry::Direction::kNote, ""});
        }
        continue;
      }
      own.push_back(std::move(result.transcript[i]));
    }
    if (note) {
      own[*note].text = "this session served " + std::to_string(members_.size()) +
                        " domains whose MX hosts share this address; " + std::to_string(hidden) +
                        " lines of the other domains' recipients are not shown";
    }
    result.transcript = std::move(own);
    result.session_domains = members_.size();
    if (index > 0) {
      result.session_opened_for = members_.front().domain;
    }
  }
  result.domain = member.domain;
  result.null_sender = std::move(member.null_sender);
  result.postmaster = std::move(member.postmaster);
  return result;
}

EndpointObservation EndpointProber::Run() {
  obs_.service = target_.service;
  obs_.domain = StripTrailingDots(target_.domain);
  obs_.mx_name = StripTrailingDots(target_.mx_name);
  obs_.ip = target_.ip;
  obs_.port = target_.port;
  obs_.started_at_unix = std::chrono::duration<double>(clock_.WallNow().time_since_epoch()).count();
  obs_.probe_sender = "checker@" + StripTrailingDots(helo_name_);
  obs_.probe_recipient = ProbeAddressFor(options_.test_probe_address, obs_.domain);
  members_.push_back({obs_.domain, {}, {}, false});

  SteadyTime started = StartPhase("connect");
  const bool connected = OpenSession();
  EndPhase(started);
  if (connected) {
    bool usable = true;
    if (target_.service == EndpointService::kSubmissions) {
      // RFC 8314 §3.3: on port 465 the client starts TLS at once; the greeting comes over it.
      started = StartPhase("tls");
      usable = StartImplicitTls();
      EndPhase(started);
    }
    if (usable) {
      started = StartPhase("greeting");
      usable = ReadGreeting();
      EndPhase(started);
    }
    if (usable) {
      started = StartPhase("ehlo");
      usable = SayHello(true);
      EndPhase(started);
    }
    if (target_.service == EndpointService::kSubmissions) {
      // Everything on this connection was said over TLS (whether or not EHLO succeeded): the
      // EHLO reply is the TLS one, and nothing was offered in plaintext.
      obs_.tls_ehlo = std::move(obs_.ehlo);
      obs_.ehlo.reset();
      obs_.extensions_tls = std::move(obs_.extensions_plain);
      obs_.extensions_plain = ExtensionSet();
      obs_.auth_before_tls = false;
    } else if (usable) {
      if (obs_.esmtp) {
        TryStartTls();
      } else {
        obs_.transactions_channel = TransactionChannel::kPlain;
      }
      if (alive_ && !stopping_) {
        RunTransactions();
      }
    }
    // Every session still standing ends with QUIT, after the phases' timings.
    Quit();
    CollectViolations();
  }
  Join();  // a session that never reached the transaction probes serves its waiters as well
  FailUntested(obs_.session_error.empty()
                   ? (connected ? "not reached" : "no connection: " + obs_.connect_error)
                   : "session ended: " + obs_.session_error);
  obs_.phases.push_back({"total", SecondsBetween(origin_, clock_.Now())});
  return ResultFor(0, members_.size() == 1);
}

std::vector<SharedEndpointResult> EndpointProber::RunShared() {
  EndpointObservation first = Run();
  std::vector<SharedEndpointResult> results;
  results.reserve(members_.size());
  // A session of one domain is exactly the unshared probe: nothing to ask again.
  const bool shared = members_.size() > 1;
  auto ask_again = [this, shared](std::size_t i) {
    return shared && (transactions_broke_ || members_[i].own_reply_deferred);
  };
  results.push_back({std::move(first), ask_again(0)});
  for (std::size_t i = 1; i < members_.size(); ++i) {
    results.push_back({ResultFor(i, i + 1 == members_.size()), ask_again(i)});
  }
  return results;
}

}  // namespace

namespace {

// The options a session runs with: a submission session never runs a transaction (nor AUTH,
// which the prober has no code for): its server is for authenticated users, and what it says
// before AUTH is all we ask.
CheckOptions SessionOptions(const EndpointTarget& target, CheckOptions options) {
  if (target.service != EndpointService::kMx) {
    options.test_null_sender = false;
    options.test_postmaster = false;
    options.test_open_relay = false;
  }
  return options;
}

// A submission session's observation says that no transaction ran.
void MarkNoTransactions(EndpointObservation& obs) {
  obs.probe_sender.clear();
  obs.probe_recipient.clear();
  obs.transactions_channel = TransactionChannel::kNone;
}

}  // namespace

std::string SessionShapeKey(const EndpointTarget& target, const CheckOptions& given) {
  const CheckOptions options = SessionOptions(target, given);
  const std::string domain = StripTrailingDots(target.domain);
  // '\n' cannot occur in any part (host names, addresses and numbers), so parts stay apart.
  std::string key;
  for (const std::string& part :
       {target.ip.ToString(), std::to_string(target.port),
        std::to_string(static_cast<int>(target.service)), StripTrailingDots(target.mx_name),
        options.helo_name.empty() ? DefaultHeloName() : options.helo_name,
        std::to_string(options.timeout.count()), std::to_string(options.greeting_timeout.count()),
        std::string{options.test_null_sender ? 'n' : '-', options.test_postmaster ? 'p' : '-',
                    options.test_open_relay ? 'r' : '-', options.pipelining ? 'P' : '-'},
        options.test_open_relay ? ProbeAddressFor(options.test_probe_address, domain)
                                : std::string()}) {
    key += part;
    key += '\n';
  }
  return key;
}

std::vector<SharedEndpointResult> ProbeSharedEndpoint(TransportFactory& transports,
                                                      const Clock& clock,
                                                      const EndpointTarget& target,
                                                      const CheckOptions& options,
                                                      const SessionJoin& join,
                                                      const SmtpLimits& limits) {
  const CheckOptions session = SessionOptions(target, options);
  std::vector<SharedEndpointResult> results =
      EndpointProber(transports, clock, target, session, limits, &join).RunShared();
  if (target.service != EndpointService::kMx) {
    for (SharedEndpointResult& result : results) {
      MarkNoTransactions(result.observation);
    }
  }
  return results;
}

EndpointObservation ProbeEndpoint(TransportFactory& transports, const Clock& clock,
                                  const EndpointTarget& target, const CheckOptions& options,
                                  const SmtpLimits& limits) {
  const CheckOptions session = SessionOptions(target, options);
  EndpointObservation obs = EndpointProber(transports, clock, target, session, limits).Run();
  if (target.service != EndpointService::kMx) {
    MarkNoTransactions(obs);
  }
  return obs;
}

}  // namespace smtp_exporter
