#include "tinyad/aes_ccm.h"

#include <cstring>

namespace tinyad {
namespace {

// FIPS-197 figure 7.
constexpr uint8_t kSbox[256] = {
    0x63, 0x7c, 0x77, 0x7b, 0xf2, 0x6b, 0x6f, 0xc5, 0x30, 0x01, 0x67, 0x2b, 0xfe, 0xd7, 0xab, 0x76,
    0xca, 0x82, 0xc9, 0x7d, 0xfa, 0x59, 0x47, 0xf0, 0xad, 0xd4, 0xa2, 0xaf, 0x9c, 0xa4, 0x72, 0xc0,
    0xb7, 0xfd, 0x93, 0x26, 0x36, 0x3f, 0xf7, 0xcc, 0x34, 0xa5, 0xe5, 0xf1, 0x71, 0xd8, 0x31, 0x15,
    0x04, 0xc7, 0x23, 0xc3, 0x18, 0x96, 0x05, 0x9a, 0x07, 0x12, 0x80, 0xe2, 0xeb, 0x27, 0xb2, 0x75,
    0x09, 0x83, 0x2c, 0x1a, 0x1b, 0x6e, 0x5a, 0xa0, 0x52, 0x3b, 0xd6, 0xb3, 0x29, 0xe3, 0x2f, 0x84,
    0x53, 0xd1, 0x00, 0xed, 0x20, 0xfc, 0xb1, 0x5b, 0x6a, 0xcb, 0xbe, 0x39, 0x4a, 0x4c, 0x58, 0xcf,
    0xd0, 0xef, 0xaa, 0xfb, 0x43, 0x4d, 0x33, 0x85, 0x45, 0xf9, 0x02, 0x7f, 0x50, 0x3c, 0x9f, 0xa8,
    0x51, 0xa3, 0x40, 0x8f, 0x92, 0x9d, 0x38, 0xf5, 0xbc, 0xb6, 0xda, 0x21, 0x10, 0xff, 0xf3, 0xd2,
    0xcd, 0x0c, 0x13, 0xec, 0x5f, 0x97, 0x44, 0x17, 0xc4, 0xa7, 0x7e, 0x3d, 0x64, 0x5d, 0x19, 0x73,
    0x60, 0x81, 0x4f, 0xdc, 0x22, 0x2a, 0x90, 0x88, 0x46, 0xee, 0xb8, 0x14, 0xde, 0x5e, 0x0b, 0xdb,
    0xe0, 0x32, 0x3a, 0x0a, 0x49, 0x06, 0x24, 0x5c, 0xc2, 0xd3, 0xac, 0x62, 0x91, 0x95, 0xe4, 0x79,
    0xe7, 0xc8, 0x37, 0x6d, 0x8d, 0xd5, 0x4e, 0xa9, 0x6c, 0x56, 0xf4, 0xea, 0x65, 0x7a, 0xae, 0x08,
    0xba, 0x78, 0x25, 0x2e, 0x1c, 0xa6, 0xb4, 0xc6, 0xe8, 0xdd, 0x74, 0x1f, 0x4b, 0xbd, 0x8b, 0x8a,
    0x70, 0x3e, 0xb5, 0x66, 0x48, 0x03, 0xf6, 0x0e, 0x61, 0x35, 0x57, 0xb9, 0x86, 0xc1, 0x1d, 0x9e,
    0xe1, 0xf8, 0x98, 0x11, 0x69, 0xd9, 0x8e, 0x94, 0x9b, 0x1e, 0x87, 0xe9, 0xce, 0x55, 0x28, 0xdf,
    0x8c, 0xa1, 0x89, 0x0d, 0xbf, 0xe6, 0x42, 0x68, 0x41, 0x99, 0x2d, 0x0f, 0xb0, 0x54, 0xbb, 0x16,
};

inline uint8_t xtime(uint8_t x) { return static_cast<uint8_t>((x << 1) ^ ((x & 0x80) ? 0x1b : 0x00)); }

void xor_block(uint8_t* dst, const uint8_t* src, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] ^= src[i];
}

bool valid_params(size_t nonce_len, size_t tag_len, size_t msg_len) {
  if (nonce_len < 7 || nonce_len > 13) return false;
  if (tag_len < 4 || tag_len > 16 || (tag_len % 2) != 0) return false;
  const size_t length_bytes = 15 - nonce_len;  // L
  if (length_bytes < sizeof(size_t) && (static_cast<uint64_t>(msg_len) >> (8 * length_bytes)) != 0) {
    return false;
  }
  return true;
}

// Block with flags, nonce and a big-endian trailing value in the last L bytes (B0 and the counter A_i).
void format_block(uint8_t flags, const uint8_t* nonce, size_t nonce_len, size_t value, uint8_t out[16]) {
  out[0] = flags;
  std::memcpy(out + 1, nonce, nonce_len);
  for (size_t i = 15; i > nonce_len; --i) {
    out[i] = static_cast<uint8_t>(value & 0xff);
    value >>= 8;
  }
}

// CBC-MAC over B0, the encoded AAD and the message (RFC 3610 section 2.2); writes the full 16-byte X.
void cbc_mac(const Aes128& aes, const uint8_t* nonce, size_t nonce_len, const uint8_t* aad, size_t aad_len,
             const uint8_t* msg, size_t msg_len, size_t tag_len, uint8_t x[16]) {
  const size_t length_bytes = 15 - nonce_len;
  const uint8_t flags = static_cast<uint8_t>((aad_len > 0 ? 0x40 : 0x00) | (((tag_len - 2) / 2) << 3) |
                                             (length_bytes - 1));
  format_block(flags, nonce, nonce_len, msg_len, x);
  aes.encrypt_block(x, x);

  if (aad_len > 0) {
    // AAD is prefixed by its length: 2 bytes below 0xFF00, else 0xFFFE + 4 bytes (we never need 2^32).
    uint8_t block[16] = {};
    size_t used = 0;
    if (aad_len < 0xFF00) {
      block[0] = static_cast<uint8_t>(aad_len >> 8);
      block[1] = static_cast<uint8_t>(aad_len);
      used = 2;
    } else {
      block[0] = 0xFF;
      block[1] = 0xFE;
      for (int i = 0; i < 4; ++i) block[2 + i] = static_cast<uint8_t>(aad_len >> (24 - 8 * i));
      used = 6;
    }
    size_t taken = 0;
    while (taken < aad_len || used > 0) {
      const size_t n = (aad_len - taken < 16 - used) ? aad_len - taken : 16 - used;
      std::memcpy(block + used, aad + taken, n);
      taken += n;
      used += n;
      if (used < 16) std::memset(block + used, 0, 16 - used);
      xor_block(x, block, 16);
      aes.encrypt_block(x, x);
      used = 0;
    }
  }

  for (size_t off = 0; off < msg_len; off += 16) {
    const size_t n = (msg_len - off < 16) ? msg_len - off : 16;
    xor_block(x, msg + off, n);  // zero padding of the last block = xor with nothing
    aes.encrypt_block(x, x);
  }
}

// CTR mode with A_i, i = 1, 2, ...; in and out may alias.
void ctr_crypt(const Aes128& aes, const uint8_t* nonce, size_t nonce_len, const uint8_t* in, size_t len,
               uint8_t* out) {
  const uint8_t flags = static_cast<uint8_t>(15 - nonce_len - 1);
  uint8_t counter_block[16];
  uint8_t keystream[16];
  size_t index = 1;
  for (size_t off = 0; off < len; off += 16, ++index) {
    format_block(flags, nonce, nonce_len, index, counter_block);
    aes.encrypt_block(counter_block, keystream);
    const size_t n = (len - off < 16) ? len - off : 16;
    for (size_t i = 0; i < n; ++i) out[off + i] = static_cast<uint8_t>(in[off + i] ^ keystream[i]);
  }
}

// S_0 = E(K, A_0): encrypts the tag.
void tag_keystream(const Aes128& aes, const uint8_t* nonce, size_t nonce_len, uint8_t s0[16]) {
  format_block(static_cast<uint8_t>(15 - nonce_len - 1), nonce, nonce_len, 0, s0);
  aes.encrypt_block(s0, s0);
}

}  // namespace

Aes128::Aes128(const uint8_t key[kAes128KeyBytes]) {
  std::memcpy(round_keys_, key, kAes128KeyBytes);
  uint8_t rcon = 0x01;
  for (size_t i = 4; i < 44; ++i) {  // 44 words of 4 bytes
    uint8_t word[4];
    std::memcpy(word, round_keys_ + 4 * (i - 1), 4);
    if (i % 4 == 0) {
      const uint8_t first = word[0];
      word[0] = static_cast<uint8_t>(kSbox[word[1]] ^ rcon);
      word[1] = kSbox[word[2]];
      word[2] = kSbox[word[3]];
      word[3] = kSbox[first];
      rcon = xtime(rcon);
    }
    for (size_t b = 0; b < 4; ++b) {
      round_keys_[4 * i + b] = static_cast<uint8_t>(round_keys_[4 * (i - 4) + b] ^ word[b]);
    }
  }
}

void Aes128::encrypt_block(const uint8_t in[kAesBlockBytes], uint8_t out[kAesBlockBytes]) const {
  uint8_t s[16];
  for (size_t i = 0; i < 16; ++i) s[i] = static_cast<uint8_t>(in[i] ^ round_keys_[i]);
  for (size_t round = 1; round <= 10; ++round) {
    // SubBytes + ShiftRows (state is column-major: s[row + 4 * col]).
    uint8_t t[16];
    for (size_t col = 0; col < 4; ++col) {
      for (size_t row = 0; row < 4; ++row) t[row + 4 * col] = kSbox[s[row + 4 * ((col + row) % 4)]];
    }
    if (round != 10) {  // MixColumns
      for (size_t col = 0; col < 4; ++col) {
        uint8_t* c = t + 4 * col;
        const uint8_t a0 = c[0], a1 = c[1], a2 = c[2], a3 = c[3];
        const uint8_t all = static_cast<uint8_t>(a0 ^ a1 ^ a2 ^ a3);
        c[0] = static_cast<uint8_t>(a0 ^ all ^ xtime(static_cast<uint8_t>(a0 ^ a1)));
        c[1] = static_cast<uint8_t>(a1 ^ all ^ xtime(static_cast<uint8_t>(a1 ^ a2)));
        c[2] = static_cast<uint8_t>(a2 ^ all ^ xtime(static_cast<uint8_t>(a2 ^ a3)));
        c[3] = static_cast<uint8_t>(a3 ^ all ^ xtime(static_cast<uint8_t>(a3 ^ a0)));
      }
    }
    for (size_t i = 0; i < 16; ++i) s[i] = static_cast<uint8_t>(t[i] ^ round_keys_[16 * round + i]);
  }
  std::memcpy(out, s, 16);
}

bool aes_ccm_encrypt(const Aes128& aes, const uint8_t* nonce, size_t nonce_len, const uint8_t* aad,
                     size_t aad_len, const uint8_t* plain, size_t plain_len, uint8_t* cipher, uint8_t* tag,
                     size_t tag_len) {
  if (!valid_params(nonce_len, tag_len, plain_len) || (aad_len > 0 && aad == nullptr)) return false;
  uint8_t x[16];
  cbc_mac(aes, nonce, nonce_len, aad, aad_len, plain, plain_len, tag_len, x);  // MAC the plaintext first
  uint8_t s0[16];
  tag_keystream(aes, nonce, nonce_len, s0);
  ctr_crypt(aes, nonce, nonce_len, plain, plain_len, cipher);
  for (size_t i = 0; i < tag_len; ++i) tag[i] = static_cast<uint8_t>(x[i] ^ s0[i]);
  return true;
}

bool aes_ccm_decrypt(const Aes128& aes, const uint8_t* nonce, size_t nonce_len, const uint8_t* aad,
                     size_t aad_len, const uint8_t* cipher, size_t cipher_len, const uint8_t* tag,
                     size_t tag_len, uint8_t* plain) {
  if (!valid_params(nonce_len, tag_len, cipher_len) || (aad_len > 0 && aad == nullptr)) return false;
  ctr_crypt(aes, nonce, nonce_len, cipher, cipher_len, plain);
  uint8_t x[16];
  cbc_mac(aes, nonce, nonce_len, aad, aad_len, plain, cipher_len, tag_len, x);
  uint8_t s0[16];
  tag_keystream(aes, nonce, nonce_len, s0);
  uint8_t diff = 0;
  for (size_t i = 0; i < tag_len; ++i) diff |= static_cast<uint8_t>(x[i] ^ s0[i] ^ tag[i]);
  if (diff != 0) {
    std::memset(plain, 0, cipher_len);
    return false;
  }
  return true;
}

}  // namespace tinyad
