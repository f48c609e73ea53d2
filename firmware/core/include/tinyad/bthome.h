// BTHome v2 advertisement encoder (https://bthome.io/format/, https://bthome.io/encryption/).
//
// Builds the complete legacy advertising payload (AD structures, at most 31 bytes) that the board
// broadcasts and the SIL device reports for ADV_GET:
//
//   02 01 06                       flags: LE general discoverable, BR/EDR not supported (BlueZ needs it
//                                  for passive scans)
//   LL 16 D2 FC II <objects...>    service data, UUID 0xFCD2 little-endian, device-info byte II
//         [counter(4 LE) MIC(4)]   when encrypted; <objects> is then the AES-CCM ciphertext
//   LL 09|08 <name>                complete (09) or shortened (08) local name, only as much as fits
//
// Objects, in ascending id order as BTHome requires:
//   0x00 packet id (uint8)     changes with every new reading; receivers drop repeats
//   0x26 problem  (binary)     the alert state (or 0x2C vibration, chosen by EncoderConfig)
//   0x27 running  (binary)     0 while the device is in an error state (e.g. IMU absent)
//   0x5A count    (sint16 LE)  the smoothed alert score (the value compared with THRESHOLD_ON) in
//                              hundredths, clamped to +-327.67 (the logit-margin score can be negative)
//
// Encryption: AES-128-CCM, 4-byte MIC, no associated data, nonce = MAC(6, as printed, most significant
// byte first) + UUID (D2 FC) + device-info byte + counter (4, LE). Mirrors bthome-ble's parser.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tinyad {
namespace bthome {

constexpr uint16_t kServiceUuid = 0xFCD2;
constexpr size_t kLegacyAdvBytes = 31;  // a legacy ADV_IND payload
constexpr size_t kBindKeyBytes = 16;
constexpr size_t kMacBytes = 6;
constexpr size_t kCounterBytes = 4;
constexpr size_t kMicBytes = 4;

// Device-info byte: bit 0 encrypted, bit 2 trigger based, bits 5..7 version (2).
constexpr uint8_t kDeviceInfoPlain = 0x40;
constexpr uint8_t kDeviceInfoEncrypted = 0x41;

// BTHome object ids this encoder emits.
constexpr uint8_t kObjPacketId = 0x00;
constexpr uint8_t kObjProblem = 0x26;
constexpr uint8_t kObjRunning = 0x27;
constexpr uint8_t kObjVibration = 0x2C;
constexpr uint8_t kObjCountS16 = 0x5A;

// AD types.
constexpr uint8_t kAdFlags = 0x01;
constexpr uint8_t kAdShortName = 0x08;
constexpr uint8_t kAdCompleteName = 0x09;
constexpr uint8_t kAdServiceData16 = 0x16;
constexpr uint8_t kFlagsGeneralNoBredr = 0x06;

constexpr int32_t kScoreScale = 100;  // score object = round(score * 100)
constexpr int16_t kScoreMax = 32767;

// Which binary object carries the alert.
enum class AlertObject : uint8_t { kProblem = kObjProblem, kVibration = kObjVibration };

// One reading to broadcast.
struct Reading {
  uint8_t packet_id = 0;
  bool alert = false;
  bool running = true;          // false: error state (sensor absent, FIFO stuck, model init failed)
  int16_t score_centi = 0;      // alert score * 100 (see score_to_centi)
};

struct EncoderConfig {
  AlertObject alert_object = AlertObject::kProblem;
  bool encrypt = false;
  uint8_t bind_key[kBindKeyBytes] = {};
  // Public device address as printed ("AA:BB:CC:DD:EE:FF" -> {0xAA, ..., 0xFF}); NimBLE stores it
  // the other way round (val[0] is the least significant byte), see ble_alerts.
  uint8_t mac[kMacBytes] = {};
  const char* name = nullptr;   // NUL-terminated; nullptr or "" for no name AD
};

// Score to the int16 hundredths the encoder sends: floor(score * 100 + 0.5) in float32, clamped to
// [-32767, 32767]; NaN -> 0.
int16_t score_to_centi(float score);

// Bytes of the BTHome object list (before encryption) for a reading: 9.
constexpr size_t kObjectBytes = 2 + 2 + 2 + 3;
// Service-data AD length including its own length byte: 1 + 1 + 2 + 1 + objects [+ 8].
constexpr size_t service_data_ad_bytes(bool encrypted) {
  return 1 + 1 + 2 + 1 + kObjectBytes + (encrypted ? kCounterBytes + kMicBytes : 0);
}
// Flags + service data, without a name: 17 plain, 25 encrypted; both fit 31.
constexpr size_t min_advertisement_bytes(bool encrypted) { return 3 + service_data_ad_bytes(encrypted); }
static_assert(min_advertisement_bytes(true) <= kLegacyAdvBytes, "encrypted BTHome must fit a legacy ADV");

// Writes the BTHome object list for `reading` (unencrypted) into out[kObjectBytes].
void encode_objects(const EncoderConfig& config, const Reading& reading, uint8_t out[kObjectBytes]);

// Writes the whole advertising payload into out (capacity `capacity`, >= kLegacyAdvBytes advised) and
// returns its length, or 0 when it cannot fit or AES-CCM failed. `counter` is the encryption counter;
// it must never repeat for one key (see Beacon). The name AD is added only if at least one character
// fits, complete if possible, else shortened (AD type 0x08).
size_t encode_advertisement(const EncoderConfig& config, const Reading& reading, uint32_t counter,
                            uint8_t* out, size_t capacity);

// A key check value that identifies a bind key without revealing it: the first 4 bytes of
// AES-128(key, zero block), big-endian (the usual KCV). The device reports this, never the key.
uint32_t bind_key_check_value(const uint8_t key[kBindKeyBytes]);

// Stateful broadcaster used by the firmware and the SIL device: owns the config, the packet id and the
// encryption counter, and keeps the latest advertisement. Packet id and counter advance only when a
// new reading is published, so re-broadcasting the same bytes is a duplicate receivers drop.
class Beacon {
 public:
  Beacon() = default;
  // Copies the config (including the name, truncated to what a legacy ADV can carry).
  void configure(const EncoderConfig& config);
  // Replaces the bind key and switches encryption on; clears it and switches off with nullptr.
  void set_bind_key(const uint8_t* key);
  // Restores the encryption counter (persisted by the firmware in NVS so a reboot never reuses a nonce).
  void set_counter(uint32_t counter) { counter_ = counter; }
  uint32_t counter() const { return counter_; }
  const EncoderConfig& config() const { return config_; }

  // Encodes a new reading (next packet id, next counter) and returns the advertisement length (0 on
  // failure, the previous advertisement stays). score is the smoothed alert score.
  size_t publish(bool alert, bool running, float score);

  const uint8_t* advertisement() const { return adv_; }
  size_t advertisement_len() const { return adv_len_; }
  uint8_t packet_id() const { return packet_id_; }

 private:
  EncoderConfig config_{};
  char name_[kLegacyAdvBytes] = {};  // own copy: config_.name points here
  uint8_t packet_id_ = 0;
  uint32_t counter_ = 0;
  uint8_t adv_[kLegacyAdvBytes] = {};
  size_t adv_len_ = 0;
};

}  // namespace bthome
}  // namespace tinyad
