#include "tinyad/preprocess.h"

#include "tinyad/protocol.h"

namespace tinyad {

namespace {
// 1.5 * 2^23: adding it moves the binary point so that float32 addition rounds to an integer, half to even
// (the default IEEE rounding mode); subtracting it again is exact.
constexpr float kRoundMagic = 12582912.0f;
constexpr float kClampLimit = 512.0f;  // |r| > 256 saturates anyway; keeps the magic trick in its exact range
}  // namespace

int32_t round_half_even_small(float y) {
  volatile float shifted = y + kRoundMagic;  // volatile: forces the rounding to float32 here
  const float rounded = shifted - kRoundMagic;
  return static_cast<int32_t>(rounded);
}

int8_t quantize_value(int16_t raw, float scale, float offset, int32_t zero_point) {
  // The product is stored through a volatile so that no compiler can fuse multiply and add into an FMA
  // (ESP32 and Cortex-M4F both have fused multiply-add instructions).
  volatile float product = static_cast<float>(raw) * scale;
  float y = product + offset;
  if (!(y >= -kClampLimit)) y = -kClampLimit;  // also maps NaN (impossible with finite a, b) to the minimum
  if (y > kClampLimit) y = kClampLimit;
  int32_t q = round_half_even_small(y) + zero_point;
  if (q < -128) q = -128;
  if (q > 127) q = 127;
  return static_cast<int8_t>(q);
}

void preprocess_window(const int16_t* raw, size_t n_samples, const PreprocessParams& params, int8_t* out) {
  const size_t channels = params.channels;
  for (size_t i = 0; i < n_samples; ++i) {
    for (size_t c = 0; c < channels; ++c) {
      out[i * channels + c] =
          quantize_value(raw[i * channels + c], params.scale[c], params.offset[c], params.zero_point);
    }
  }
}

void preprocess_window_le(const uint8_t* raw_le, size_t n_samples, const PreprocessParams& params, int8_t* out) {
  const size_t channels = params.channels;
  for (size_t i = 0; i < n_samples; ++i) {
    for (size_t c = 0; c < channels; ++c) {
      const size_t k = i * channels + c;
      out[k] = quantize_value(read_i16(raw_le + 2 * k), params.scale[c], params.offset[c], params.zero_point);
    }
  }
}

}  // namespace tinyad
