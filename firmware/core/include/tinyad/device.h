// The device side of the serial protocol, shared by the ESP-IDF firmware and the SIL device (through the Python
// binding tinyad._core.Device). It owns the frame decoder, the sample ring, preprocessing, scoring, the alert
// state machine and the config; the platform supplies I/O and the model invoke through DeviceHooks.
//
// Usage (firmware main loop or SIL):
//   tinyad::Device device;                 // ~5 KB, static storage; no heap
//   device.begin(identity, hooks);         // false if the identity does not fit the compile-time limits
//   device.on_rx(bytes, n);                // bytes from the serial port; replies go out through hooks.write
//   device.on_sample(raw, timestamp_us);   // one raw IMU sample (channels int16); runs a window when one is due
// Nothing here blocks except hooks.write; nothing allocates.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tinyad/alert.h"
#include "tinyad/preprocess.h"
#include "tinyad/protocol.h"
#include "tinyad/ring.h"
#include "tinyad/scoring.h"
#include "tinyad/version.h"

namespace tinyad {

#ifndef TINYAD_MAX_WINDOW_VALUES
#define TINYAD_MAX_WINDOW_VALUES 512  // window * channels; INFER_REQ needs 4 + 2 * this <= kMaxPayload
#endif
constexpr size_t kMaxWindowValues = TINYAD_MAX_WINDOW_VALUES;
constexpr size_t kMaxClasses = 16;
constexpr size_t kSamplesPerFrame = 8;  // samples per SAMPLES frame while streaming
constexpr size_t kMaxAdvertisement = 31;
constexpr size_t kBoardNameSize = 16;
constexpr size_t kErrorTextMax = 48;
constexpr size_t kBindKeySize = 16;       // BIND_KEY_SET: an AES-128 BTHome bind key
constexpr size_t kBindKeyCheckSize = 4;   // its check value: AES-128(key, 0^16)[0..3]
static_assert(4 + 2 * kMaxWindowValues <= kMaxPayload, "INFER_REQ of the largest window must fit a frame");
static_assert(16 + kMaxWindowValues + kMaxClasses <= kMaxPayload, "INFER_RESP must fit a frame");
static_assert(kRingSamples * kMaxChannels >= kMaxWindowValues || kRingSamples >= 64, "ring too small");

// INFO flags (docs/protocol.md).
constexpr uint16_t kInfoFlagStreaming = 1u << 0;
constexpr uint16_t kInfoFlagBle = 1u << 1;
constexpr uint16_t kInfoFlagSil = 1u << 2;
constexpr uint16_t kInfoFlagEncrypted = 1u << 3;  // BLE advertisements are encrypted with a bind key

// Sensor error flags (STATUS).
constexpr uint8_t kSensorNotResponding = 1u << 0;
constexpr uint8_t kSensorFifoOverflow = 1u << 1;
constexpr uint8_t kSensorBadWhoAmI = 1u << 2;

// What the device is: reported in INFO; the model part comes from the generated model_settings.h.
struct DeviceIdentity {
  const char* board = "unknown";
  const char* sensor = "unknown";
  float accel_full_scale_g = 0.0f;
  float gyro_full_scale_dps = 0.0f;
  float sample_rate_hz = 0.0f;
  float dlpf_bandwidth_hz = 0.0f;          // the sensor's low-pass (accelerometer), 0 when unknown
  uint8_t model_sha256[32] = {};
  uint16_t window = 0;
  uint16_t hop = 0;
  uint8_t channels = 0;
  uint8_t n_classes = 0;
  float input_scale = 1.0f;
  int8_t input_zero_point = 0;
  float output_scale = 1.0f;
  int8_t output_zero_point = 0;
  uint32_t arena_bytes = 0;
  float affine_scale[kMaxChannels] = {};   // a[c] = kInputAffineScale[c]
  float affine_offset[kMaxChannels] = {};  // b[c] = kInputAffineOffset[c]
  AlertConfig alert;                       // thresholds from model_settings.h
  float ewma_alpha = 0.5f;
  uint16_t flags = 0;                      // kInfoFlagBle, kInfoFlagSil
};

// Platform callbacks. `ctx` is passed back unchanged. Only write and invoke are required.
struct DeviceHooks {
  void* ctx = nullptr;
  // Sends bytes on the serial link (a whole wire frame at a time).
  void (*write)(void* ctx, const uint8_t* data, size_t n) = nullptr;
  // Runs the model on input[n_input] (int8, window * channels) into output[n_output] (int8 logits) and reports the
  // invoke time in microseconds. Returns false on failure (-> ERROR INFER_FAILED, or a window skipped).
  bool (*invoke)(void* ctx, const int8_t* input, size_t n_input, int8_t* output, size_t n_output,
                 uint32_t* invoke_us) = nullptr;
  // Microseconds since boot (STATUS uptime). Optional: 0 without it.
  uint64_t (*now_us)(void* ctx) = nullptr;
  // The BLE advertisement being broadcast now: writes at most cap bytes, returns the length. Optional:
  // without it ADV_GET answers ERROR UNSUPPORTED.
  size_t (*advertisement)(void* ctx, uint8_t* out, size_t cap) = nullptr;
  // Starts or stops the sensor; false if the sensor does not respond (-> ERROR SENSOR_ERROR). Optional.
  bool (*stream_control)(void* ctx, bool start) = nullptr;
  // Called after each scored window (the BLE encoder updates its advertisement here). Optional.
  void (*window_scored)(void* ctx, AlertState state, float smoothed_score, uint32_t alerts_raised) = nullptr;
  // BIND_KEY_SET: stores the BTHome bind key (n = 16) or clears it and switches encryption off (key = nullptr,
  // n = 0), and writes that key's check value (AES-128(key, 0^16)[0..3]) to check. False if the key could
  // not be stored (-> ERROR STORAGE_ERROR). Optional: without it BIND_KEY_SET answers ERROR UNSUPPORTED.
  // The key must never be logged or sent anywhere.
  bool (*set_bind_key)(void* ctx, const uint8_t* key, size_t n, uint8_t check[kBindKeyCheckSize]) = nullptr;
};

struct DeviceCounters {
  uint32_t windows = 0;
  uint32_t requests_rejected = 0;
  uint32_t dropped_samples = 0;   // overwritten in the ring before a window used them
  uint32_t fifo_overflows = 0;    // reported by the sensor driver
  uint32_t invoke_failures = 0;
  uint8_t sensor_error_flags = 0;
};

// Result of the last scored window (streaming) or INFER.
struct WindowResult {
  int8_t output[kMaxClasses] = {};
  float score = 0.0f;
  float probability = 0.0f;
  float smoothed = 0.0f;
  uint32_t invoke_us = 0;
  AlertState state = AlertState::kOk;
};

class Device {
 public:
  // Validates the identity against the compile-time limits and resets all state. False if it does not fit.
  bool begin(const DeviceIdentity& identity, const DeviceHooks& hooks);
  // Bytes received on the serial link; every complete frame is handled and answered before returning.
  void on_rx(const uint8_t* data, size_t n);
  // One sensor sample (channels raw counts). Streams it if streaming, and scores a window when one is due.
  void on_sample(const int16_t* sample, uint64_t timestamp_us);
  // The sensor driver lost n samples (FIFO overflow): counted, and the pending window restarts after the gap.
  void note_fifo_overflow(uint32_t lost_samples);
  void set_sensor_error(uint8_t flags) { counters_.sensor_error_flags = flags; }
  // The bind key state at boot (the platform loaded a key from NVS or Kconfig): INFO flag kInfoFlagEncrypted and
  // config key BIND_KEY_CHECK report it; BIND_KEY_SET updates it. check may be null when not encrypted.
  void set_bind_key_state(bool encrypted, const uint8_t* check);
  bool encrypted() const { return encrypted_; }
  const uint8_t* bind_key_check() const { return bind_key_check_; }

  // Runs preprocessing + model + scoring on a host window (raw little-endian int16, window x channels) without
  // touching EWMA or alert state. Returns the error code (OK on success). input_out may be null.
  ErrorCode infer_raw_le(const uint8_t* raw_le, int8_t* input_out, WindowResult* result);

  // Config by protocol key (docs/protocol.md). value_bits holds an int32 or the bits of a float32.
  ErrorCode config_get(uint16_t key, uint8_t* kind, uint32_t* value_bits) const;
  ErrorCode config_set(uint16_t key, uint32_t value_bits);

  bool streaming() const { return streaming_; }
  AlertState alert_state() const { return alert_.state(); }
  const WindowResult& last_window() const { return last_; }
  const DeviceCounters& counters() const { return counters_; }
  const DecoderCounters& decoder_counters() const { return decoder_.counters(); }
  uint32_t alerts_raised() const { return alert_.alerts_raised(); }
  const PreprocessParams& preprocess_params() const { return preprocess_; }
  const DeviceIdentity& identity() const { return identity_; }

 private:
  void handle_frame(const FrameView& frame);
  void reply_error(uint16_t seq, uint8_t offending_type, ErrorCode code, const char* text);
  void reply_info(uint16_t seq);
  void reply_status(uint16_t seq);
  void reply_config(uint16_t seq, uint16_t key);
  void reply_ack(uint16_t seq, uint8_t type);
  void handle_infer(const FrameView& frame);
  void handle_stream_start(const FrameView& frame);
  void handle_bind_key_set(const FrameView& frame);
  void send(size_t n);
  void score_window();
  void flush_samples();
  uint64_t now_us() const;

  DeviceIdentity identity_;
  DeviceHooks hooks_;
  FrameDecoder decoder_;
  SampleRing ring_;
  PreprocessParams preprocess_;
  AlertMachine alert_;
  Ewma ewma_;
  ScoreKind score_kind_ = ScoreKind::kLogitMargin;
  DeviceCounters counters_;
  WindowResult last_;
  uint8_t tx_[kMaxWireFrame] = {};
  int8_t input_[kMaxWindowValues] = {};
  int16_t stream_batch_[kSamplesPerFrame * kMaxChannels] = {};
  uint64_t stream_batch_t0_ = 0;
  uint32_t stream_batch_seq0_ = 0;
  uint8_t stream_batch_n_ = 0;
  uint32_t next_window_start_ = 0;
  uint32_t window_index_ = 0;
  uint16_t hop_ = 1;
  uint16_t decimation_ = 1;
  uint16_t stream_default_decimation_ = 1;
  uint16_t unsolicited_seq_ = 0;
  uint16_t stream_phase_ = 0;       // samples until the next streamed one (decimation)
  uint32_t lost_samples_ = 0;       // samples the sensor lost: sample seq = ring seq + lost
  uint8_t bind_key_check_[kBindKeyCheckSize] = {};  // never the key itself: the core does not keep it
  bool encrypted_ = false;
  bool streaming_ = false;
  bool ready_ = false;
};

}  // namespace tinyad
