// Preprocessing: raw sensor counts -> int8 model input, bit-exact with tinyad.preprocess (docs/protocol.md).
// The host folds units, normalization and input quantization into a per-channel affine (a, b) in float32;
// the device computes q = clamp(round_half_even(float32(raw) * a + b) + zero_point, -128, 127) with the multiply
// and the add as two separately rounded float32 operations (never an FMA) and a libm-free rounding.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tinyad {

#ifndef TINYAD_MAX_CHANNELS
#define TINYAD_MAX_CHANNELS 8
#endif
constexpr size_t kMaxChannels = TINYAD_MAX_CHANNELS;

struct PreprocessParams {
  float scale[kMaxChannels] = {};   // a[c]
  float offset[kMaxChannels] = {};  // b[c]
  int32_t zero_point = 0;           // input tensor zero point
  uint8_t channels = 0;
};

// Round half to even of a float32 with |y| <= 2^22, without libm and independent of the compiler's
// contraction settings (the intermediate goes through a volatile).
int32_t round_half_even_small(float y);

// One value: float32(raw) * a + b -> rounded -> + zero point -> saturated to int8.
int8_t quantize_value(int16_t raw, float scale, float offset, int32_t zero_point);

// A window of n_samples x channels raw counts (sample-major) -> int8 (same layout).
void preprocess_window(const int16_t* raw, size_t n_samples, const PreprocessParams& params, int8_t* out);

// Same, reading little-endian int16 from a byte buffer (e.g. an INFER_REQ payload; no alignment needed).
void preprocess_window_le(const uint8_t* raw_le, size_t n_samples, const PreprocessParams& params, int8_t* out);

}  // namespace tinyad
