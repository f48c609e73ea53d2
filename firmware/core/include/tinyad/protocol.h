// Serial protocol codec (docs/protocol.md): COBS framing with a 0x00 delimiter, a 6-byte header, a payload of at
// most kMaxPayload bytes and a CRC-32/IEEE trailer. No heap, no exceptions; every buffer is sized at compile time.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tinyad {

constexpr uint8_t kProtocolVersion = 2;  // 2: INFO carries the sensor low-pass (DLPF) bandwidth
#ifndef TINYAD_MAX_PAYLOAD
#define TINYAD_MAX_PAYLOAD 1032  // INFER_REQ of 512 int16 values (4 + 1024) fits
#endif
constexpr size_t kMaxPayload = TINYAD_MAX_PAYLOAD;
constexpr size_t kHeaderSize = 6;  // version u8, type u8, seq u16, payload_len u16
constexpr size_t kCrcSize = 4;
constexpr size_t kMinFrame = kHeaderSize + kCrcSize;
constexpr size_t kMaxFrame = kHeaderSize + kMaxPayload + kCrcSize;
// Worst-case COBS size of n bytes (one code byte per 254 data bytes, plus the first), without the delimiter.
constexpr size_t cobs_max_encoded(size_t n) { return n + n / 254 + 1; }
constexpr size_t kMaxWireFrame = cobs_max_encoded(kMaxFrame) + 1;  // + the 0x00 delimiter

enum class MsgType : uint8_t {
#define TINYAD_MESSAGE(name, id, is_request) name = id,
#include "tinyad/protocol_messages.def"
};

enum class ErrorCode : uint16_t {
  OK = 0,
#define TINYAD_ERROR_CODE(name, code) name = code,
#include "tinyad/protocol_messages.def"
};

enum class ConfigKey : uint16_t {
#define TINYAD_CONFIG_KEY(name, id, kind, count, min, max, writable) name = id,
#include "tinyad/protocol_messages.def"
};

// One config key as described in protocol_messages.def. kind: 0 = int32, 1 = float32.
struct ConfigKeyInfo {
  const char* name;
  uint16_t base;   // first id (per-channel keys: base + channel)
  uint8_t kind;
  uint8_t count;   // 1, or the number of per-channel ids
  float min;
  float max;
  bool writable;
};
// Finds the entry of `key` (a per-channel id maps to its base entry and *index = channel). False if unknown.
bool config_key_lookup(uint16_t key, ConfigKeyInfo* info, uint8_t* index);

// True if `type` is a known message id; *is_request tells whether the host may send it.
bool message_type_known(uint8_t type, bool* is_request);
const char* message_name(uint8_t type);  // "UNKNOWN" for unknown ids
const char* error_name(uint16_t code);

// CRC-32/IEEE, zlib-compatible: crc32(data, n) == zlib.crc32(data). Pass the previous value to continue.
uint32_t crc32(const uint8_t* data, size_t n, uint32_t previous = 0);

// COBS-encodes n bytes into out (no delimiter). Returns the encoded size, or 0 if cap is too small.
// Canonical form: a final 254-byte block is not followed by an empty block.
size_t cobs_encode(const uint8_t* in, size_t n, uint8_t* out, size_t cap);
// Decodes a COBS block (without delimiter). Returns the decoded size, or -1 on a COBS error or overflow.
long cobs_decode(const uint8_t* in, size_t n, uint8_t* out, size_t cap);

// Builds one wire frame (COBS + delimiter) directly into `out`, field by field, without a scratch copy:
//   FrameWriter w(out, cap); w.begin(type, seq, payload_len); w.put_u16(...); ...; size_t n = w.finish();
// finish() returns 0 if the buffer was too small or the payload written differs from payload_len.
class FrameWriter {
 public:
  FrameWriter(uint8_t* out, size_t cap);
  void begin(uint8_t type, uint16_t seq, uint16_t payload_len);
  void put_u8(uint8_t v);
  void put_i8(int8_t v) { put_u8(static_cast<uint8_t>(v)); }
  void put_u16(uint16_t v);
  void put_u32(uint32_t v);
  void put_i32(int32_t v) { put_u32(static_cast<uint32_t>(v)); }
  void put_u64(uint64_t v);
  void put_f32(float v);
  void put_bytes(const uint8_t* data, size_t n);
  void put_padded_string(const char* s, size_t width);  // NUL-padded, truncated to width
  size_t finish();

 private:
  void raw(uint8_t byte);      // COBS-stuffs one frame byte
  void emit(uint8_t byte);     // appends one encoded byte
  uint8_t* out_;
  size_t cap_;
  size_t pos_ = 0;
  size_t code_pos_ = 0;
  uint8_t code_ = 1;
  uint32_t crc_ = 0;
  size_t payload_written_ = 0;
  uint16_t payload_len_ = 0;
  bool ok_ = true;
  bool after_full_block_ = false;  // the last raw byte closed a 254-byte block
};

// Convenience: a whole frame from a contiguous payload. Returns the wire size, or 0 on error.
size_t encode_frame(uint8_t type, uint16_t seq, const uint8_t* payload, size_t payload_len, uint8_t* out,
                    size_t cap);

struct FrameView {
  uint8_t version = 0;
  uint8_t type = 0;
  uint16_t seq = 0;
  uint16_t payload_len = 0;
  const uint8_t* payload = nullptr;  // points into the decoder's buffer; valid until the next push()
};

struct DecoderCounters {
  uint32_t frames_ok = 0;
  uint32_t bad_crc = 0;
  uint32_t bad_cobs = 0;
  uint32_t bad_length = 0;
  uint32_t oversize = 0;
};

// Streaming byte-at-a-time decoder. push() returns true when a complete frame with a valid length and CRC has
// arrived; frame() then describes it. Corrupt frames are counted and dropped; garbage is skipped up to the next
// 0x00. Version and type are NOT checked here (the dispatcher answers those with ERROR).
class FrameDecoder {
 public:
  bool push(uint8_t byte);
  const FrameView& frame() const { return frame_; }
  const DecoderCounters& counters() const { return counters_; }
  void reset_counters() { counters_ = DecoderCounters{}; }
  uint32_t bad_frames() const {
    return counters_.bad_crc + counters_.bad_cobs + counters_.bad_length + counters_.oversize;
  }

 private:
  bool finish_frame();
  void restart();
  uint8_t buf_[kMaxFrame];
  size_t len_ = 0;
  uint8_t block_left_ = 0;   // data bytes left in the current COBS block
  uint8_t block_code_ = 0;   // code byte of the current block (0 = none yet)
  bool overflow_ = false;
  FrameView frame_;
  DecoderCounters counters_;
};

// Little-endian readers for payload parsing (no alignment assumptions).
inline uint16_t read_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t read_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
inline int16_t read_i16(const uint8_t* p) { return static_cast<int16_t>(read_u16(p)); }
float read_f32(const uint8_t* p);

}  // namespace tinyad
