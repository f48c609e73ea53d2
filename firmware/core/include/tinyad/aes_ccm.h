// AES-128 (encryption direction only) and AES-CCM authenticated encryption (RFC 3610 / NIST SP 800-38C).
//
// Small and portable on purpose: BTHome v2 encrypts ~10 bytes per advertisement, so a byte-oriented AES
// (one 256-byte S-box, no T-tables) is fast enough on an ESP32 and keeps the core free of mbedtls and
// ESP-IDF. No heap, no exceptions. Not hardened against timing side channels (the S-box lookup is data dependent); the
// bind key protects alert broadcasts, not long-term secrets.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tinyad {

constexpr size_t kAesBlockBytes = 16;
constexpr size_t kAes128KeyBytes = 16;

// An expanded AES-128 key (11 round keys). Construct once per key; encrypt_block is const.
class Aes128 {
 public:
  explicit Aes128(const uint8_t key[kAes128KeyBytes]);
  // out may alias in.
  void encrypt_block(const uint8_t in[kAesBlockBytes], uint8_t out[kAesBlockBytes]) const;

 private:
  uint8_t round_keys_[11 * kAesBlockBytes];
};

// AES-CCM encryption. nonce_len in 7..13 (L = 15 - nonce_len length bytes), tag_len in {4,6,...,16}.
// Writes plain_len bytes of ciphertext to `cipher` (may alias `plain`) and tag_len bytes to `tag`.
// aad may be nullptr when aad_len == 0. Returns false (and writes nothing) on invalid parameters or a
// message too long for L.
bool aes_ccm_encrypt(const Aes128& aes, const uint8_t* nonce, size_t nonce_len, const uint8_t* aad,
                     size_t aad_len, const uint8_t* plain, size_t plain_len, uint8_t* cipher, uint8_t* tag,
                     size_t tag_len);

// AES-CCM decryption and verification (constant-time tag compare). Returns false on a wrong tag or
// invalid parameters; `plain` is zeroed in that case so callers never act on unauthenticated data.
bool aes_ccm_decrypt(const Aes128& aes, const uint8_t* nonce, size_t nonce_len, const uint8_t* aad,
                     size_t aad_len, const uint8_t* cipher, size_t cipher_len, const uint8_t* tag,
                     size_t tag_len, uint8_t* plain);

}  // namespace tinyad
