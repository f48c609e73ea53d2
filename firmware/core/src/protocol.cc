#include "tinyad/protocol.h"

#include <cstring>

namespace tinyad {

bool message_type_known(uint8_t type, bool* is_request) {
  switch (type) {
#define TINYAD_MESSAGE(name, id, req) \
  case id:                            \
    if (is_request) *is_request = (req) != 0; \
    return true;
#include "tinyad/protocol_messages.def"
    default:
      return false;
  }
}

const char* message_name(uint8_t type) {
  switch (type) {
#define TINYAD_MESSAGE(name, id, req) \
  case id:                            \
    return #name;
#include "tinyad/protocol_messages.def"
    default:
      return "UNKNOWN";
  }
}

const char* error_name(uint16_t code) {
  switch (code) {
    case 0:
      return "OK";
#define TINYAD_ERROR_CODE(name, value) \
  case value:                          \
    return #name;
#include "tinyad/protocol_messages.def"
    default:
      return "UNKNOWN";
  }
}

bool config_key_lookup(uint16_t key, ConfigKeyInfo* info, uint8_t* index) {
  static const ConfigKeyInfo kKeys[] = {
#define TINYAD_CONFIG_KEY(name, id, kind, count, min, max, writable) \
  {#name, id, kind, count, static_cast<float>(min), static_cast<float>(max), (writable) != 0},
#include "tinyad/protocol_messages.def"
  };
  for (const ConfigKeyInfo& entry : kKeys) {
    if (key >= entry.base && key < entry.base + entry.count) {
      if (info) *info = entry;
      if (index) *index = static_cast<uint8_t>(key - entry.base);
      return true;
    }
  }
  return false;
}

uint32_t crc32(const uint8_t* data, size_t n, uint32_t previous) {
  // Nibble table: 64 bytes of flash instead of 1 KB; fast enough for 1 KB frames at serial speeds.
  static const uint32_t kTable[16] = {
      0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
      0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};
  uint32_t crc = ~previous;
  for (size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    crc = (crc >> 4) ^ kTable[crc & 0x0Fu];
    crc = (crc >> 4) ^ kTable[crc & 0x0Fu];
  }
  return ~crc;
}

size_t cobs_encode(const uint8_t* in, size_t n, uint8_t* out, size_t cap) {
  if (cap == 0) return 0;
  size_t pos = 1, code_pos = 0;
  uint8_t code = 1;
  for (size_t i = 0; i < n; ++i) {
    if (in[i] == 0) {
      out[code_pos] = code;
      if (pos >= cap) return 0;
      code_pos = pos++;
      code = 1;
    } else {
      if (pos >= cap) return 0;
      out[pos++] = in[i];
      ++code;
      // A full block: close it; open the next only if more data follows (canonical form).
      if (code == 0xFF && i + 1 < n) {
        out[code_pos] = code;
        if (pos >= cap) return 0;
        code_pos = pos++;
        code = 1;
      }
    }
  }
  out[code_pos] = code;
  return pos;
}

long cobs_decode(const uint8_t* in, size_t n, uint8_t* out, size_t cap) {
  size_t len = 0, i = 0;
  while (i < n) {
    uint8_t code = in[i++];
    if (code == 0 || i + code - 1 > n) return -1;
    for (uint8_t k = 1; k < code; ++k) {
      if (in[i] == 0 || len >= cap) return -1;
      out[len++] = in[i++];
    }
    if (code < 0xFF && i < n) {
      if (len >= cap) return -1;
      out[len++] = 0;
    }
  }
  return static_cast<long>(len);
}

float read_f32(const uint8_t* p) {
  uint32_t bits = read_u32(p);
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

// ---------------------------------------------------------------- FrameWriter

FrameWriter::FrameWriter(uint8_t* out, size_t cap) : out_(out), cap_(cap) {}

void FrameWriter::emit(uint8_t byte) {
  if (pos_ >= cap_) {
    ok_ = false;
    return;
  }
  out_[pos_++] = byte;
}

void FrameWriter::raw(uint8_t byte) {
  if (!ok_) return;
  if (byte == 0) {
    out_[code_pos_] = code_;
    code_pos_ = pos_;
    emit(0);  // placeholder for the next code byte
    code_ = 1;
    after_full_block_ = false;
    return;
  }
  emit(byte);
  ++code_;
  after_full_block_ = false;
  if (code_ == 0xFF) {
    after_full_block_ = true;
    // Close the full block now; finish() drops the empty block if nothing follows (canonical form).
    out_[code_pos_] = code_;
    code_pos_ = pos_;
    emit(0);
    code_ = 1;
  }
}

void FrameWriter::begin(uint8_t type, uint16_t seq, uint16_t payload_len) {
  pos_ = 0;
  ok_ = payload_len <= kMaxPayload;
  code_ = 1;
  code_pos_ = 0;
  after_full_block_ = false;
  emit(0);  // first code byte placeholder
  crc_ = 0;
  payload_written_ = 0;
  payload_len_ = payload_len;
  const uint8_t header[kHeaderSize] = {kProtocolVersion,
                                       type,
                                       static_cast<uint8_t>(seq),
                                       static_cast<uint8_t>(seq >> 8),
                                       static_cast<uint8_t>(payload_len),
                                       static_cast<uint8_t>(payload_len >> 8)};
  crc_ = crc32(header, kHeaderSize, 0);
  for (uint8_t b : header) raw(b);
}

void FrameWriter::put_u8(uint8_t v) {
  crc_ = crc32(&v, 1, crc_);
  ++payload_written_;
  raw(v);
}
void FrameWriter::put_u16(uint16_t v) {
  put_u8(static_cast<uint8_t>(v));
  put_u8(static_cast<uint8_t>(v >> 8));
}
void FrameWriter::put_u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) put_u8(static_cast<uint8_t>(v >> (8 * i)));
}
void FrameWriter::put_u64(uint64_t v) {
  for (int i = 0; i < 8; ++i) put_u8(static_cast<uint8_t>(v >> (8 * i)));
}
void FrameWriter::put_f32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_u32(bits);
}
void FrameWriter::put_bytes(const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n; ++i) put_u8(data[i]);
}
void FrameWriter::put_padded_string(const char* s, size_t width) {
  size_t i = 0;
  for (; s && s[i] && i < width; ++i) put_u8(static_cast<uint8_t>(s[i]));
  for (; i < width; ++i) put_u8(0);
}

size_t FrameWriter::finish() {
  if (payload_written_ != payload_len_) ok_ = false;
  const uint32_t crc = crc_;
  for (int i = 0; i < 4; ++i) raw(static_cast<uint8_t>(crc >> (8 * i)));
  if (!ok_) return 0;
  if (code_ == 1 && after_full_block_) {
    --pos_;  // canonical COBS: no empty block after a final full block
  } else {
    out_[code_pos_] = code_;
  }
  emit(0);  // delimiter
  return ok_ ? pos_ : 0;
}

size_t encode_frame(uint8_t type, uint16_t seq, const uint8_t* payload, size_t payload_len, uint8_t* out,
                    size_t cap) {
  if (payload_len > kMaxPayload) return 0;
  FrameWriter writer(out, cap);
  writer.begin(type, seq, static_cast<uint16_t>(payload_len));
  writer.put_bytes(payload, payload_len);
  return writer.finish();
}

// ---------------------------------------------------------------- FrameDecoder

void FrameDecoder::restart() {
  len_ = 0;
  block_left_ = 0;
  block_code_ = 0;
  overflow_ = false;
}

bool FrameDecoder::push(uint8_t byte) {
  if (byte == 0) return finish_frame();
  if (overflow_) return false;  // skip the rest of an oversize frame
  if (block_left_ == 0) {
    // A code byte. The previous block (if any, and not a full one) ended with an implicit zero.
    if (block_code_ != 0 && block_code_ != 0xFF) {
      if (len_ >= kMaxFrame) {
        overflow_ = true;
        return false;
      }
      buf_[len_++] = 0;
    }
    block_code_ = byte;
    block_left_ = static_cast<uint8_t>(byte - 1);
    return false;
  }
  if (len_ >= kMaxFrame) {
    overflow_ = true;
    return false;
  }
  buf_[len_++] = byte;
  --block_left_;
  return false;
}

bool FrameDecoder::finish_frame() {
  const bool empty = block_code_ == 0 && !overflow_;
  const bool overflow = overflow_;
  const bool truncated_block = block_left_ != 0;
  const size_t len = len_;
  restart();
  if (empty) return false;  // back-to-back delimiters: not a frame
  if (overflow) {
    ++counters_.oversize;
    return false;
  }
  if (truncated_block) {
    ++counters_.bad_cobs;
    return false;
  }
  if (len < kMinFrame) {
    ++counters_.bad_length;
    return false;
  }
  const uint16_t payload_len = read_u16(buf_ + 4);
  if (static_cast<size_t>(payload_len) + kMinFrame != len) {
    ++counters_.bad_length;
    return false;
  }
  if (crc32(buf_, len - kCrcSize) != read_u32(buf_ + len - kCrcSize)) {
    ++counters_.bad_crc;
    return false;
  }
  frame_.version = buf_[0];
  frame_.type = buf_[1];
  frame_.seq = read_u16(buf_ + 2);
  frame_.payload_len = payload_len;
  frame_.payload = buf_ + kHeaderSize;
  ++counters_.frames_ok;
  return true;
}

}  // namespace tinyad
