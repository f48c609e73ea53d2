// The device identity fields that come from the exported model (model_settings.h): its hash, shapes,
// quantization and input affine. The firmware's make_identity() and the host's Cortex-M4 session harness
// (tests/core/cross_arch_session.cc) both fill them here, so the harness describes the model as the board does.
// Header-only, no ESP-IDF.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_settings.h"
#include "tinyad/device.h"

namespace model_identity {

// kModelSha256 may be generated as a hex string or as 32 bytes: one overload each.
inline void copy_sha256(const char* hex, uint8_t out[32]) {
  for (size_t i = 0; i < 32 && hex[2 * i] && hex[2 * i + 1]; ++i) {
    const char pair[3] = {hex[2 * i], hex[2 * i + 1], 0};
    out[i] = static_cast<uint8_t>(strtoul(pair, nullptr, 16));
  }
}
inline void copy_sha256(const uint8_t (&bytes)[32], uint8_t out[32]) { memcpy(out, bytes, 32); }

// Sets the model's fields of `id`; the sensor, rate, arena and alert fields are the caller's.
inline void fill_from_model(tinyad::DeviceIdentity& id) {
  copy_sha256(tinyad::model::kModelSha256, id.model_sha256);
  id.window = static_cast<uint16_t>(tinyad::model::kWindow);
  id.hop = static_cast<uint16_t>(tinyad::model::kHop);
  id.channels = static_cast<uint8_t>(tinyad::model::kChannels);
  id.n_classes = static_cast<uint8_t>(tinyad::model::kNumClasses);
  id.input_scale = tinyad::model::kInputScale;
  id.input_zero_point = static_cast<int8_t>(tinyad::model::kInputZeroPoint);
  id.output_scale = tinyad::model::kOutputScale;
  id.output_zero_point = static_cast<int8_t>(tinyad::model::kOutputZeroPoint);
  for (size_t c = 0; c < static_cast<size_t>(tinyad::model::kChannels); ++c) {
    id.affine_scale[c] = tinyad::model::kInputAffineScale[c];
    id.affine_offset[c] = tinyad::model::kInputAffineOffset[c];
  }
}

}  // namespace model_identity
