// A deterministic session through the firmware core, printed as a transcript: every frame the device writes,
// every scored window (state, smoothed score bits, BTHome advertisement) and sweeps of the float code paths.
// tests/core/test_cross_arch.py builds it for the host (x86-64) and for a Cortex-M4 (soft-float and FPU), runs
// the Cortex-M4 builds on QEMU, and requires identical transcripts: the core computes the same bytes on a
// 32-bit MCU as in the SIL. The model is a stand-in (an integer function of the input tensor): TFLM is not part
// of the core; the input tensor it is given is in every INFER_RESP and feeds every logit.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "model_identity.h"  // firmware/main: the identity fields the firmware takes from the model
#include "model_settings.h"  // the committed default model's constants (firmware/main/model)
#include "tinyad/bthome.h"
#include "tinyad/device.h"
#include "tinyad/protocol.h"

namespace {

namespace model = tinyad::model;

uint32_t g_rng = 12345u;
uint32_t next_random() {  // LCG (Numerical Recipes): the same sequence on every architecture
  g_rng = g_rng * 1664525u + 1013904223u;
  return g_rng;
}

uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof(u));
  return u;
}

void print_hex(const char* tag, const uint8_t* data, size_t n) {
  printf("%s %u ", tag, static_cast<unsigned>(n));
  for (size_t i = 0; i < n; ++i) printf("%02x", data[i]);
  printf("\n");
}

tinyad::Device g_device;
tinyad::bthome::Beacon g_beacon;
uint64_t g_now_us = 0;

void on_write(void*, const uint8_t* data, size_t n) { print_hex("TX", data, n); }

// Stand-in model: logit k = clamp((sum_i input[i] * w(i, k)) >> 6), w in [-8, 8]; every input byte counts.
bool on_invoke(void*, const int8_t* input, size_t n_input, int8_t* output, size_t n_output, uint32_t* invoke_us) {
  for (size_t k = 0; k < n_output; ++k) {
    int32_t acc = 0;
    for (size_t i = 0; i < n_input; ++i) {
      acc += static_cast<int32_t>(input[i]) * (static_cast<int32_t>((i * 7 + k * 13) % 17) - 8);
    }
    acc >>= 6;  // arithmetic shift of a negative int32: defined since C++20, implementation-defined before
    if (acc < -128) acc = -128;
    if (acc > 127) acc = 127;
    output[k] = static_cast<int8_t>(acc);
  }
  *invoke_us = static_cast<uint32_t>(1000 + n_input);
  return true;
}

uint64_t on_now(void*) { return g_now_us; }

size_t on_advertisement(void*, uint8_t* out, size_t cap) {
  const size_t n = g_beacon.advertisement_len() < cap ? g_beacon.advertisement_len() : cap;
  memcpy(out, g_beacon.advertisement(), n);
  return n;
}

bool on_stream_control(void*, bool) { return true; }

void on_window_scored(void*, tinyad::AlertState state, float smoothed, uint32_t alerts_raised) {
  g_beacon.publish(state == tinyad::AlertState::kAlert, true, smoothed);
  printf("WIN %u %08lx %lu ", static_cast<unsigned>(state), static_cast<unsigned long>(float_bits(smoothed)),
         static_cast<unsigned long>(alerts_raised));
  print_hex("ADV", g_beacon.advertisement(), g_beacon.advertisement_len());
}

bool on_set_bind_key(void*, const uint8_t* key, size_t n, uint8_t check[tinyad::kBindKeyCheckSize]) {
  g_beacon.set_bind_key(n ? key : nullptr);
  const uint32_t value = n ? tinyad::bthome::bind_key_check_value(key) : 0;
  for (size_t i = 0; i < tinyad::kBindKeyCheckSize; ++i) check[i] = static_cast<uint8_t>(value >> (24 - 8 * i));
  return true;
}

void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

void put_u32(uint8_t* p, uint32_t v) {
  put_u16(p, static_cast<uint16_t>(v));
  put_u16(p + 2, static_cast<uint16_t>(v >> 16));
}

uint16_t g_seq = 0;
uint8_t g_wire[tinyad::kMaxWireFrame];

void request(tinyad::MsgType type, const uint8_t* payload, size_t n) {
  static const uint8_t kNothing[1] = {0};
  if (payload == nullptr) payload = kNothing;
  const size_t wire = tinyad::encode_frame(static_cast<uint8_t>(type), ++g_seq, payload, n, g_wire, sizeof(g_wire));
  print_hex("RX", g_wire, wire);
  g_device.on_rx(g_wire, wire);
}

void config_set(uint16_t key, uint32_t value_bits) {
  uint8_t payload[6];
  put_u16(payload, key);
  put_u32(payload + 2, value_bits);
  request(tinyad::MsgType::CONFIG_SET, payload, sizeof(payload));
}

int16_t raw_sample(uint32_t i, size_t c, bool fault) {
  // A vibrating machine in counts: gravity on z, a 1-in-8 tone per axis, noise; the "fault" adds a strong,
  // faster tone. Now and then an extreme reading (clipping at the sensor's range).
  static const int32_t base[6] = {-800, 500, 8192, -120, 60, 15};
  const int32_t phase = static_cast<int32_t>((i * (3 + c)) % 16);
  const int32_t tone = (phase < 8 ? phase : 16 - phase) * 40 - 160;
  int32_t value = base[c % 6] + tone + static_cast<int32_t>(next_random() % 61) - 30;
  if (fault) value += (static_cast<int32_t>((i * 5) % 6) - 3) * 900;
  if (next_random() % 997 == 0) value = (next_random() & 1) ? 32767 : -32768;
  if (value > 32767) value = 32767;
  if (value < -32768) value = -32768;
  return static_cast<int16_t>(value);
}

void stream(uint32_t first, uint32_t count, bool fault) {
  int16_t sample[tinyad::kMaxChannels];
  for (uint32_t i = first; i < first + count; ++i) {
    for (size_t c = 0; c < static_cast<size_t>(model::kChannels); ++c) sample[c] = raw_sample(i, c, fault);
    g_now_us = static_cast<uint64_t>(i) * 10000u;
    g_device.on_sample(sample, g_now_us);
  }
}

void infer_random_window(bool full_range) {
  static uint8_t payload[4 + 2 * tinyad::kMaxWindowValues];
  const size_t values = static_cast<size_t>(model::kWindow) * static_cast<size_t>(model::kChannels);
  put_u16(payload, static_cast<uint16_t>(model::kWindow));
  payload[2] = static_cast<uint8_t>(model::kChannels);
  payload[3] = 0;
  for (size_t k = 0; k < values; ++k) {
    const int16_t v = full_range ? static_cast<int16_t>(next_random() >> 16)
                                  : raw_sample(static_cast<uint32_t>(k / model::kChannels), k % model::kChannels,
                                               next_random() & 1);
    put_u16(payload + 4 + 2 * k, static_cast<uint16_t>(v));
  }
  request(tinyad::MsgType::INFER_REQ, payload, 4 + 2 * values);
}

// Checksum of a sweep: FNV-1a over the result bits, printed per sweep (the full outputs are too long).
struct Fnv {
  uint32_t h = 2166136261u;
  void add(uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      h ^= (v >> (8 * i)) & 0xffu;
      h *= 16777619u;
    }
  }
};

void sweeps() {
  // Preprocessing of every int16 count on every channel with the model's constants.
  for (size_t c = 0; c < static_cast<size_t>(model::kChannels); ++c) {
    Fnv f;
    for (int32_t raw = -32768; raw <= 32767; ++raw) {
      f.add(static_cast<uint8_t>(tinyad::quantize_value(static_cast<int16_t>(raw), model::kInputAffineScale[c],
                                                        model::kInputAffineOffset[c], model::kInputZeroPoint)));
    }
    printf("SWEEP quantize %u %08lx\n", static_cast<unsigned>(c), static_cast<unsigned long>(f.h));
  }
  // The core's exp over [-90, 1] and the probability/margin of random logits.
  Fnv e;
  for (int32_t i = 0; i <= 91000; ++i) e.add(float_bits(tinyad::exp_nonpositive(-90.0f + 0.001f * i)));
  printf("SWEEP exp %08lx\n", static_cast<unsigned long>(e.h));
  Fnv p, m;
  int8_t logits[model::kNumClasses];
  for (int i = 0; i < 20000; ++i) {
    for (int k = 0; k < model::kNumClasses; ++k) logits[k] = static_cast<int8_t>(next_random() >> 24);
    const float scale = (i % 3 == 0) ? model::kOutputScale : 0.001f * static_cast<float>(1 + i % 997);
    p.add(float_bits(tinyad::anomaly_probability(logits, model::kNumClasses, scale)));
    m.add(float_bits(tinyad::logit_margin(logits, model::kNumClasses, scale)));
  }
  printf("SWEEP probability %08lx margin %08lx\n", static_cast<unsigned long>(p.h), static_cast<unsigned long>(m.h));
  Fnv centi;
  for (int32_t i = -400000; i <= 400000; i += 3) {
    centi.add(static_cast<uint16_t>(tinyad::bthome::score_to_centi(0.001f * i)));
  }
  printf("SWEEP score_to_centi %08lx\n", static_cast<unsigned long>(centi.h));
}

}  // namespace

int main() {
  tinyad::DeviceIdentity id;
  id.board = "cross-arch";
  id.sensor = "synthetic";
  id.accel_full_scale_g = model::kAccelFullScaleG;
  id.gyro_full_scale_dps = model::kGyroFullScaleDps;
  id.sample_rate_hz = model::kSampleRateHz;
  model_identity::fill_from_model(id);  // the firmware's own fill (firmware/main/model_identity.h)
  id.arena_bytes = static_cast<uint32_t>(model::kArenaBytes);
  id.alert.threshold_on = model::kAlertThresholdOn;
  id.alert.threshold_off = model::kAlertThresholdOff;
  id.alert.min_windows = static_cast<uint32_t>(model::kAlertMinWindows);
  id.alert.cooldown_windows = static_cast<uint32_t>(model::kAlertCooldownWindows);
  id.ewma_alpha = model::kEwmaAlpha;
  id.flags = tinyad::kInfoFlagBle;

  tinyad::DeviceHooks hooks;
  hooks.write = on_write;
  hooks.invoke = on_invoke;
  hooks.now_us = on_now;
  hooks.advertisement = on_advertisement;
  hooks.stream_control = on_stream_control;
  hooks.window_scored = on_window_scored;
  hooks.set_bind_key = on_set_bind_key;
  if (!g_device.begin(id, hooks)) {
    printf("BEGIN FAILED\n");
    return 1;
  }
  tinyad::bthome::EncoderConfig beacon;
  const uint8_t mac[6] = {0x54, 0x48, 0xe6, 0x8f, 0x80, 0xa5};
  memcpy(beacon.mac, mac, sizeof(mac));
  beacon.name = "tinyad-xarch";
  g_beacon.configure(beacon);

  request(tinyad::MsgType::HELLO, nullptr, 0);
  config_set(0x0005, float_bits(0.3f));    // EWMA_ALPHA
  config_set(0x0001, float_bits(0.75f));   // THRESHOLD_ON
  config_set(0x0001, 0x7fc00000u);         // THRESHOLD_ON = NaN: ERROR OUT_OF_RANGE
  config_set(0x0040, 128);                 // WINDOW is read-only: ERROR READ_ONLY
  const uint8_t key[16] = {0x23, 0x1d, 0x39, 0xc1, 0xd7, 0xcc, 0x1a, 0xb1,
                           0xae, 0xe2, 0x24, 0xcd, 0x09, 0x6d, 0xb9, 0x32};
  request(tinyad::MsgType::BIND_KEY_SET, key, sizeof(key));  // BTHome advertisements encrypted from here on
  const uint8_t decimation[2] = {1, 0};
  request(tinyad::MsgType::STREAM_START, decimation, sizeof(decimation));
  stream(0, 1200, false);
  request(tinyad::MsgType::STATUS_REQ, nullptr, 0);
  g_device.note_fifo_overflow(5);
  stream(1205, 1500, true);   // the fault: the alert goes up
  config_set(0x0006, 1);      // SCORE_KIND = probability (resets the EWMA)
  stream(2705, 600, true);
  stream(3305, 900, false);   // healthy again: cooldown, then OK
  request(tinyad::MsgType::STREAM_STOP, nullptr, 0);
  request(tinyad::MsgType::ADV_GET, nullptr, 0);
  for (int i = 0; i < 24; ++i) infer_random_window(i % 2 == 0);
  // Corrupt input: a flipped byte (CRC), garbage, a frame of an unknown type, then a valid request.
  const uint8_t empty[1] = {0};
  size_t wire = tinyad::encode_frame(static_cast<uint8_t>(tinyad::MsgType::STATUS_REQ), 900, empty, 0, g_wire,
                                     sizeof(g_wire));
  g_wire[2] ^= 0x40;
  g_device.on_rx(g_wire, wire);
  const uint8_t garbage[] = {0x13, 0x37, 0xff, 0x00, 0x00, 0x55};
  g_device.on_rx(garbage, sizeof(garbage));
  wire = tinyad::encode_frame(0x5a, 901, empty, 0, g_wire, sizeof(g_wire));
  g_device.on_rx(g_wire, wire);
  request(tinyad::MsgType::STATUS_REQ, nullptr, 0);
  sweeps();
  const tinyad::DecoderCounters& d = g_device.decoder_counters();
  const tinyad::DeviceCounters& c = g_device.counters();
  printf("END frames_ok %lu bad_crc %lu bad_cobs %lu windows %lu dropped %lu overflows %lu alerts %lu\n",
         static_cast<unsigned long>(d.frames_ok), static_cast<unsigned long>(d.bad_crc),
         static_cast<unsigned long>(d.bad_cobs), static_cast<unsigned long>(c.windows),
         static_cast<unsigned long>(c.dropped_samples), static_cast<unsigned long>(c.fifo_overflows),
         static_cast<unsigned long>(g_device.alerts_raised()));
  return 0;
}
