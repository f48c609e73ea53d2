#include "tinyad/bthome.h"

#include <cmath>
#include <cstring>

#include "tinyad/aes_ccm.h"

namespace tinyad {
namespace bthome {

int16_t score_to_centi(float score) {
  if (score != score) return 0;  // NaN
  const float scaled = std::floor(score * static_cast<float>(kScoreScale) + 0.5f);
  if (scaled >= static_cast<float>(kScoreMax)) return kScoreMax;
  if (scaled <= -static_cast<float>(kScoreMax)) return -kScoreMax;
  return static_cast<int16_t>(scaled);
}

void encode_objects(const EncoderConfig& config, const Reading& reading, uint8_t out[kObjectBytes]) {
  const uint16_t score = static_cast<uint16_t>(reading.score_centi);  // two's complement on the wire
  // Ascending object ids: 0x00 < 0x26 (problem) < 0x27 (running) < 0x2C (vibration) < 0x5A. With the
  // vibration object the order becomes 0x00, 0x27, 0x2C, 0x5A.
  size_t i = 0;
  out[i++] = kObjPacketId;
  out[i++] = reading.packet_id;
  const uint8_t alert_id = static_cast<uint8_t>(config.alert_object);
  if (alert_id < kObjRunning) {
    out[i++] = alert_id;
    out[i++] = reading.alert ? 1 : 0;
  }
  out[i++] = kObjRunning;
  out[i++] = reading.running ? 1 : 0;
  if (alert_id > kObjRunning) {
    out[i++] = alert_id;
    out[i++] = reading.alert ? 1 : 0;
  }
  out[i++] = kObjCountS16;
  out[i++] = static_cast<uint8_t>(score & 0xff);
  out[i++] = static_cast<uint8_t>(score >> 8);
}

size_t encode_advertisement(const EncoderConfig& config, const Reading& reading, uint32_t counter,
                            uint8_t* out, size_t capacity) {
  const size_t service_len = service_data_ad_bytes(config.encrypt);
  const size_t needed = 3 + service_len;
  if (out == nullptr || capacity < needed) return 0;

  size_t i = 0;
  out[i++] = 2;
  out[i++] = kAdFlags;
  out[i++] = kFlagsGeneralNoBredr;

  out[i++] = static_cast<uint8_t>(service_len - 1);  // AD length excludes the length byte itself
  out[i++] = kAdServiceData16;
  out[i++] = static_cast<uint8_t>(kServiceUuid & 0xff);
  out[i++] = static_cast<uint8_t>(kServiceUuid >> 8);
  const uint8_t device_info = config.encrypt ? kDeviceInfoEncrypted : kDeviceInfoPlain;
  out[i++] = device_info;

  uint8_t objects[kObjectBytes];
  encode_objects(config, reading, objects);
  if (!config.encrypt) {
    std::memcpy(out + i, objects, kObjectBytes);
    i += kObjectBytes;
  } else {
    // Nonce per bthome.io/encryption: MAC (6) + UUID 0xFCD2 LE (2) + device info (1) + counter LE (4).
    uint8_t nonce[13];
    std::memcpy(nonce, config.mac, kMacBytes);
    nonce[6] = static_cast<uint8_t>(kServiceUuid & 0xff);
    nonce[7] = static_cast<uint8_t>(kServiceUuid >> 8);
    nonce[8] = device_info;
    for (size_t b = 0; b < kCounterBytes; ++b) nonce[9 + b] = static_cast<uint8_t>(counter >> (8 * b));
    const Aes128 aes(config.bind_key);
    uint8_t mic[kMicBytes];
    if (!aes_ccm_encrypt(aes, nonce, sizeof(nonce), nullptr, 0, objects, kObjectBytes, out + i, mic,
                         kMicBytes)) {
      return 0;
    }
    i += kObjectBytes;
    std::memcpy(out + i, nonce + 9, kCounterBytes);
    i += kCounterBytes;
    std::memcpy(out + i, mic, kMicBytes);
    i += kMicBytes;
  }

  // Local name: as much as fits in the legacy payload (2 bytes of AD header + at least one character).
  if (config.name != nullptr && config.name[0] != '\0') {
    const size_t limit = capacity < kLegacyAdvBytes ? capacity : kLegacyAdvBytes;
    const size_t name_len = std::strlen(config.name);
    if (i + 3 <= limit) {
      const size_t room = limit - i - 2;
      const size_t n = name_len <= room ? name_len : room;
      out[i++] = static_cast<uint8_t>(n + 1);
      out[i++] = n == name_len ? kAdCompleteName : kAdShortName;
      std::memcpy(out + i, config.name, n);
      i += n;
    }
  }
  return i;
}

uint32_t bind_key_check_value(const uint8_t key[kBindKeyBytes]) {
  const Aes128 aes(key);
  uint8_t block[kAesBlockBytes] = {};
  aes.encrypt_block(block, block);
  return (static_cast<uint32_t>(block[0]) << 24) | (static_cast<uint32_t>(block[1]) << 16) |
         (static_cast<uint32_t>(block[2]) << 8) | block[3];
}

void Beacon::configure(const EncoderConfig& config) {
  config_ = config;
  name_[0] = '\0';
  if (config.name != nullptr) {
    std::strncpy(name_, config.name, sizeof(name_) - 1);
    name_[sizeof(name_) - 1] = '\0';
  }
  config_.name = name_;
}

void Beacon::set_bind_key(const uint8_t* key) {
  if (key == nullptr) {
    std::memset(config_.bind_key, 0, kBindKeyBytes);
    config_.encrypt = false;
    return;
  }
  std::memcpy(config_.bind_key, key, kBindKeyBytes);
  config_.encrypt = true;
}

size_t Beacon::publish(bool alert, bool running, float score) {
  Reading reading;
  reading.packet_id = static_cast<uint8_t>(packet_id_ + 1);
  reading.alert = alert;
  reading.running = running;
  reading.score_centi = score_to_centi(score);
  uint8_t buffer[kLegacyAdvBytes];
  const size_t len = encode_advertisement(config_, reading, counter_ + 1, buffer, sizeof(buffer));
  if (len == 0) return 0;
  packet_id_ = reading.packet_id;
  if (config_.encrypt) ++counter_;  // one counter value per encryption, never reused
  std::memcpy(adv_, buffer, len);
  adv_len_ = len;
  return len;
}

}  // namespace bthome
}  // namespace tinyad
