// Test helpers for HTTP basic authentication against bcrypt hashes (the web config's
// basic_auth_users): a hash as `htpasswd -nBC COST` makes one, and the Authorization header a
// client sends. Pure functions over libxcrypt and OpenSSL; thread-safe.
#pragma once

#include <string>

namespace smtp_exporter::testing {

// A bcrypt ($2y$) hash of `password` at `cost` (4 is the fastest, 10 is htpasswd's default);
// empty if libcrypt failed.
std::string BcryptHash(const std::string& password, int cost);

// "Basic " + base64(credentials), credentials being "user:password" (RFC 7617 §2).
std::string BasicAuthorization(const std::string& credentials);

}  // namespace smtp_exporter::testing
