// Fuzz driver for the protocol decoder and the request dispatcher (tinyad::FrameDecoder, tinyad::Device).
// Built and run by tests/core/test_fuzz.py with -fsanitize=address,undefined; any crash, leak or UB aborts.
//   fuzz_decoder N_FRAMES SEED   -> prints one line of key=value counters; exit code 0 if all invariants hold.
// Every generated unit is preceded by a 0x00, so an intact valid frame must always decode: the driver checks that
// the decoder accepted at least every intact frame, that every reply of the device is itself a valid frame, and
// that each valid request got exactly one reply.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tinyad/device.h"
#include "tinyad/protocol.h"

namespace {

uint64_t rng_state = 88172645463325252ull;
uint32_t rnd() {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return static_cast<uint32_t>(rng_state);
}
uint32_t rnd_below(uint32_t n) { return n ? rnd() % n : 0; }

constexpr uint16_t kWindow = 64;
constexpr uint8_t kChannels = 6;
constexpr uint8_t kClasses = 3;

tinyad::FrameDecoder reply_decoder;
uint64_t reply_bytes = 0, replies = 0, unsolicited = 0;

void on_write(void*, const uint8_t* data, size_t n) {
  reply_bytes += n;
  for (size_t i = 0; i < n; ++i) {
    if (reply_decoder.push(data[i])) {
      const uint8_t type = reply_decoder.frame().type;
      if (type == static_cast<uint8_t>(tinyad::MsgType::SAMPLES) ||
          type == static_cast<uint8_t>(tinyad::MsgType::SCORE)) {
        ++unsolicited;
      } else {
        ++replies;
      }
    }
  }
}

bool on_invoke(void*, const int8_t* input, size_t n_input, int8_t* output, size_t n_output, uint32_t* us) {
  int32_t sum = 0;
  for (size_t i = 0; i < n_input; ++i) sum += input[i];
  for (size_t k = 0; k < n_output; ++k) output[k] = static_cast<int8_t>((sum >> k) & 0x7F);
  *us = 1234;
  return (sum & 0xFF) != 0x55;  // fails now and then: exercises INFER_FAILED
}

uint64_t fake_now(void*) { return 42; }
size_t fake_adv(void*, uint8_t* out, size_t cap) {
  const size_t n = rnd_below(40);  // sometimes more than cap: the device must clamp
  for (size_t i = 0; i < n && i < cap; ++i) out[i] = static_cast<uint8_t>(i);
  return n;
}
bool fake_stream(void*, bool) { return rnd_below(10) != 0; }
bool fake_bind_key(void*, const uint8_t* key, size_t n, uint8_t check[4]) {
  if ((key == nullptr) != (n == 0) || (n != 0 && n != 16)) std::abort();  // the core's contract with the hook
  for (size_t i = 0; i < 4; ++i) check[i] = static_cast<uint8_t>(n ? key[i] ^ 0xA5 : 0);
  return rnd_below(10) != 0;  // fails now and then: exercises STORAGE_ERROR
}

const uint8_t kTypes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,
                          0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x7F, 0x11, 0x00, 0xFF};

// A plausible request payload (often exactly right, sometimes a little off).
size_t make_payload(uint8_t type, uint8_t* p) {
  switch (type) {
    case 0x07: {  // INFER_REQ
      uint16_t n = rnd_below(4) ? kWindow : static_cast<uint16_t>(rnd_below(130));
      uint8_t c = rnd_below(4) ? kChannels : static_cast<uint8_t>(rnd_below(9));
      size_t len = 4 + 2u * n * c;
      if (len > tinyad::kMaxPayload) len = tinyad::kMaxPayload;
      p[0] = static_cast<uint8_t>(n);
      p[1] = static_cast<uint8_t>(n >> 8);
      p[2] = c;
      p[3] = 0;
      for (size_t i = 4; i < len; ++i) p[i] = static_cast<uint8_t>(rnd());
      if (rnd_below(8) == 0 && len > 4) --len;
      return len;
    }
    case 0x09:
    case 0x0A: {  // CONFIG_GET / CONFIG_SET: keys near the defined ones
      static const uint16_t kKeys[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x10, 0x11,
                                       0x12, 0x20, 0x25, 0x27, 0x30, 0x36, 0x40, 0x41, 0x42, 0xFFFF};
      const uint16_t key = kKeys[rnd_below(sizeof kKeys / sizeof kKeys[0])];
      p[0] = static_cast<uint8_t>(key);
      p[1] = static_cast<uint8_t>(key >> 8);
      uint32_t v = rnd();
      if (rnd_below(2)) {
        static const float kFloats[] = {0.0f, 0.25f, 1.0f, -1.0f, 1e9f, -1e9f, 1e-12f, 0.5f, 1000.0f};
        float f = kFloats[rnd_below(9)];
        if (rnd_below(10) == 0) {
          v = 0x7FC00000u;  // NaN
        } else {
          std::memcpy(&v, &f, 4);
        }
      } else if (rnd_below(2)) {
        v = rnd_below(20);
      }
      std::memcpy(p + 2, &v, 4);
      return type == 0x09 ? 2 : 6;
    }
    case 0x11: {  // BIND_KEY_SET: mostly a key or empty, sometimes a wrong length
      const size_t len = rnd_below(4) == 0 ? rnd_below(40) : (rnd_below(3) ? 16 : 0);
      for (size_t i = 0; i < len; ++i) p[i] = static_cast<uint8_t>(rnd());
      return len;
    }
    case 0x03:
      if (rnd_below(2)) {
        const uint16_t d = static_cast<uint16_t>(rnd_below(1200));
        p[0] = static_cast<uint8_t>(d);
        p[1] = static_cast<uint8_t>(d >> 8);
        return 2;
      }
      return 0;
    default: {
      size_t len = rnd_below(4) ? 0 : rnd_below(64);
      for (size_t i = 0; i < len; ++i) p[i] = static_cast<uint8_t>(rnd());
      return len;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const long n_frames = argc > 1 ? std::atol(argv[1]) : 100000;
  rng_state ^= argc > 2 ? static_cast<uint64_t>(std::atoll(argv[2])) * 0x9E3779B97F4A7C15ull : 0;

  tinyad::DeviceIdentity id;
  id.board = "fuzz";
  id.sensor = "none";
  id.window = kWindow;
  id.hop = 32;
  id.channels = kChannels;
  id.n_classes = kClasses;
  id.output_scale = 0.1f;
  for (int c = 0; c < kChannels; ++c) {
    id.affine_scale[c] = 0.01f * (c + 1);
    id.affine_offset[c] = -0.5f * c;
  }
  tinyad::DeviceHooks hooks;
  hooks.write = on_write;
  hooks.invoke = on_invoke;
  hooks.now_us = fake_now;
  hooks.advertisement = fake_adv;
  hooks.stream_control = fake_stream;
  hooks.set_bind_key = fake_bind_key;
  static tinyad::Device device;  // static: as on the MCU (and keeps the stack small)
  if (!device.begin(id, hooks)) {
    std::puts("begin failed");
    return 2;
  }
  tinyad::FrameDecoder decoder;  // the plain decoder sees exactly the same bytes

  static uint8_t payload[tinyad::kMaxPayload + 64];
  static uint8_t wire[tinyad::kMaxWireFrame + 512];
  long intact = 0, mutated = 0, garbage = 0, oversize = 0;
  uint64_t bytes_total = 0;
  int16_t sample[kChannels] = {};

  for (long i = 0; i < n_frames; ++i) {
    const uint32_t kind = rnd_below(100);
    size_t n = 0;
    if (kind < 85) {
      const uint8_t type = kTypes[rnd_below(sizeof kTypes)];
      const size_t len = make_payload(type, payload);
      n = tinyad::encode_frame(type, static_cast<uint16_t>(rnd()), payload, len, wire + 1, sizeof wire - 1);
      if (n == 0) return 3;  // the encoder must handle every payload <= kMaxPayload
      ++n;
      wire[0] = 0;
      if (kind < 45) {
        ++intact;
      } else {
        ++mutated;
        const uint32_t how = rnd_below(4);
        if (how == 0) {  // flip bits
          for (uint32_t k = 0, m = 1 + rnd_below(4); k < m; ++k) wire[1 + rnd_below(n - 1)] ^= 1u << rnd_below(8);
        } else if (how == 1) {  // truncate (keep or drop the delimiter)
          n = 1 + rnd_below(n);
        } else if (how == 2) {  // insert random bytes
          const size_t at = 1 + rnd_below(n - 1);
          const size_t k = 1 + rnd_below(8);
          if (n + k < sizeof wire) {
            std::memmove(wire + at + k, wire + at, n - at);
            for (size_t j = 0; j < k; ++j) wire[at + j] = static_cast<uint8_t>(rnd());
            n += k;
          }
        } else {  // delete bytes
          const size_t at = 1 + rnd_below(n - 1);
          const size_t k = 1 + rnd_below(4);
          if (at + k < n) {
            std::memmove(wire + at, wire + at + k, n - at - k);
            n -= k;
          }
        }
      }
    } else if (kind < 97) {
      ++garbage;
      n = rnd_below(300);
      for (size_t k = 0; k < n; ++k) wire[k] = rnd_below(8) ? static_cast<uint8_t>(rnd()) : 0;
    } else {
      ++oversize;
      n = tinyad::kMaxWireFrame + 1 + rnd_below(400);
      wire[0] = 0;
      for (size_t k = 1; k < n; ++k) wire[k] = static_cast<uint8_t>(1 + rnd_below(255));
    }
    bytes_total += n;
    // Deliver in random slices, interleaved with sensor samples (as the firmware main loop would).
    size_t pos = 0;
    while (pos < n) {
      const size_t k = 1 + rnd_below(static_cast<uint32_t>(n - pos));
      for (size_t j = 0; j < k; ++j) decoder.push(wire[pos + j]);
      device.on_rx(wire + pos, k);
      pos += k;
      if (rnd_below(4) == 0) {
        for (int c = 0; c < kChannels; ++c) sample[c] = static_cast<int16_t>(rnd());
        device.on_sample(sample, static_cast<uint64_t>(i) * 1000u);
        if (rnd_below(500) == 0) device.note_fifo_overflow(rnd_below(50));
      }
    }
  }
  const uint8_t end = 0;
  decoder.push(end);
  device.on_rx(&end, 1);

  const tinyad::DecoderCounters& c = decoder.counters();
  const tinyad::DecoderCounters& dc = device.decoder_counters();
  const tinyad::DecoderCounters& rc = reply_decoder.counters();
  std::printf(
      "frames=%ld intact=%ld mutated=%ld garbage=%ld oversize_sent=%ld bytes=%llu frames_ok=%u bad_crc=%u "
      "bad_cobs=%u bad_length=%u oversize=%u device_frames_ok=%u replies=%llu reply_bad=%u windows=%u "
      "rejected=%u unsolicited=%llu\n",
      n_frames, intact, mutated, garbage, oversize, static_cast<unsigned long long>(bytes_total), c.frames_ok,
      c.bad_crc, c.bad_cobs, c.bad_length, c.oversize, dc.frames_ok, static_cast<unsigned long long>(replies),
      reply_decoder.bad_frames(), device.counters().windows, device.counters().requests_rejected,
      static_cast<unsigned long long>(unsolicited));
  // Invariants.
  if (c.frames_ok < static_cast<uint32_t>(intact)) return 10;  // an intact frame was lost
  if (std::memcmp(&c, &dc, sizeof c) != 0) return 11;           // the device's decoder saw something else
  if (rc.bad_crc + rc.bad_cobs + rc.bad_length + rc.oversize != 0) return 12;  // a corrupt reply
  if (replies != dc.frames_ok) return 13;  // exactly one reply (ERROR included) per valid frame
  return 0;
}
