// Validation of the names and addresses operators put in the config, on the command line and
// in /probe?domain=, and the quoting their error messages use: host names (LDH labels, RFC 1035
// §2.3.1 / RFC 1123 §2.1) and the open-relay probe address. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "config/base/quote.h"  // Printable, Quote: the error messages' quoting
#include "config/base/result.h"

namespace smtp_exporter {

// OK if `name` is a host name made of LDH labels, else kInvalidArgument saying why ("label
// \"-a\" starts or ends with a hyphen"). One trailing dot is allowed; a name whose last label is
// all digits (an IP address) is not a host name.
Status ValidateHostName(std::string_view name);

// `text` with A-Z lowered; other bytes (UTF-8 included) unchanged.
std::string LowerAscii(std::string_view text);

// Lower case, without trailing dots: the form DNS names are compared and stored in
// (RFC 4343: case-insensitive; the root dot carries no meaning here).
std::string NormaliseHostName(std::string_view name);

// `name` without trailing dots, case kept (for text sent on the wire, e.g. SNI, RCPT TO).
std::string StripTrailingDots(std::string_view name);

// OK if `address` can be the open-relay probe's RCPT TO (local@domain, no spaces, "<", ">",
// control or non-ASCII characters), else kInvalidArgument saying why.
Status ValidateProbeAddress(std::string_view address);

}  // namespace smtp_exporter
