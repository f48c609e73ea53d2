// TFLM inference on the exported model: one static MicroInterpreter over a static alignas(16) arena.
// Everything else (preprocessing, scoring, alerts) is the portable core's job (tinyad::Device), which
// calls inference_invoke() through DeviceHooks::invoke.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  size_t arena_bytes;       // the static arena (model_settings.h kArenaBytes)
  size_t arena_used_bytes;  // MicroInterpreter::arena_used_bytes() after AllocateTensors()
  size_t input_bytes;       // int8 elements of input(0)
  size_t output_bytes;      // int8 elements of output(0)
} inference_info_t;

// Builds the interpreter. Fails loudly (logged reason, error code) on: schema version mismatch, op
// registration failure, AllocateTensors() failure (arena too small), tensors that are not int8 or whose
// shape/quantization differ from model_settings.h. After a failure inference_invoke() always fails.
esp_err_t inference_init(inference_info_t* info);

// Copies input (n_input int8), runs Invoke() and copies output (n_output int8). invoke_us may be null.
// ESP_ERR_INVALID_STATE before a successful init, ESP_ERR_INVALID_SIZE on a size mismatch, ESP_FAIL when
// Invoke() fails.
esp_err_t inference_invoke(const int8_t* input, size_t n_input, int8_t* output, size_t n_output,
                           uint32_t* invoke_us);

#ifdef __cplusplus
}
#endif
