#include "tests/support/basic_auth.h"

#include <crypt.h>
#include <openssl/evp.h>

#include <array>

namespace smtp_exporter::testing {

std::string BcryptHash(const std::string& password, int cost) {
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
  crypt_data data{};
  if (crypt_gensalt_rn("$2y$", static_cast<unsigned long>(cost), nullptr, 0, salt.data(),
                       static_cast<int>(salt.size())) == nullptr ||
      crypt_rn(password.c_str(), salt.data(), &data, sizeof(data)) == nullptr ||
      data.output[0] == '*') {
    return "";
  }
  return data.output;
}

std::string BasicAuthorization(const std::string& credentials) {
  std::string encoded(4 * ((credentials.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                     reinterpret_cast<const unsigned char*>(credentials.data()),
                                     static_cast<int>(credentials.size()));
  encoded.resize(static_cast<std::size_t>(length));
  return "Basic " + encoded;
}

}  // namespace smtp_exporter::testing
