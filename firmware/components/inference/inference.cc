#include "inference.h"

#include <string.h>

#include <new>

#include "esp_log.h"
#include "esp_timer.h"
#include "sdkconfig.h"
#include "model_data.h"      // generated: alignas(16) const unsigned char g_model_data[]; g_model_data_len
#include "model_settings.h"  // generated: tinyad::model constants and template RegisterOps(resolver)
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

// esp-nn's fast requantization differs from TFLM's reference arithmetic by +-1 LSB: the board would no longer
// compute what the host TFLM computes, which `tinyad parity` proves bit for bit.
#if CONFIG_NN_SKIP_NUDGE
#error "CONFIG_NN_SKIP_NUDGE breaks bit-exactness with the host TFLM: turn it off (menuconfig: ESP-NN)"
#endif

namespace {

constexpr const char* kTag = "inference";
namespace model = tinyad::model;
using OpResolver = tflite::MicroMutableOpResolver<model::kNumOps>;  // exactly the model's ops

// The arena: static, 16-byte aligned (TFLM requires aligned tensor memory; tflite-micro issue 418 for the
// model array). Its size is measured on the host by `tinyad export` plus a margin (kArenaBytes).
alignas(16) uint8_t g_arena[model::kArenaBytes];

// Interpreter and resolver are constructed in place once (placement new into static storage): no heap,
// and no static constructor that runs before app_main logs anything.
alignas(tflite::MicroInterpreter) uint8_t g_interpreter_storage[sizeof(tflite::MicroInterpreter)];
alignas(OpResolver) uint8_t g_resolver_storage[sizeof(OpResolver)];
tflite::MicroInterpreter* g_interpreter = nullptr;  // non-null only after a fully successful init
TfLiteTensor* g_input = nullptr;
TfLiteTensor* g_output = nullptr;

esp_err_t fail(const char* what) {
  ESP_LOGE(kTag, "model init failed: %s", what);
  g_interpreter = nullptr;
  g_input = nullptr;
  g_output = nullptr;
  return ESP_FAIL;
}

bool same_quantization(const TfLiteTensor* tensor, float scale, int zero_point) {
  // Exact float compare on purpose: model_settings.h is generated from the same .tflite.
  return tensor->params.scale == scale && tensor->params.zero_point == zero_point;
}

}  // namespace

extern "C" esp_err_t inference_init(inference_info_t* info) {
  if (g_interpreter != nullptr) return ESP_ERR_INVALID_STATE;
  const tflite::Model* tfl_model = tflite::GetModel(g_model_data);
  if (tfl_model == nullptr || tfl_model->version() != TFLITE_SCHEMA_VERSION) {
    return fail("flatbuffer schema version does not match this TFLM");
  }
  auto* resolver = new (g_resolver_storage) OpResolver();
  if (!model::RegisterOps(*resolver)) return fail("RegisterOps() failed (op table full or op missing in TFLM)");

  auto* interpreter = new (g_interpreter_storage) tflite::MicroInterpreter(tfl_model, *resolver, g_arena,
                                                                           sizeof(g_arena));
  if (interpreter->AllocateTensors() != kTfLiteOk) {
    ESP_LOGE(kTag, "arena of %u bytes too small? re-export the model with a larger margin",
             static_cast<unsigned>(sizeof(g_arena)));
    return fail("AllocateTensors() failed");
  }
  if (interpreter->inputs_size() != 1 || interpreter->outputs_size() != 1) {
    return fail("the model must have exactly one input and one output");
  }
  TfLiteTensor* input = interpreter->input(0);
  TfLiteTensor* output = interpreter->output(0);
  if (input == nullptr || output == nullptr) return fail("input(0) or output(0) is null");
  if (input->type != kTfLiteInt8 || output->type != kTfLiteInt8) return fail("tensors are not int8");
  if (input->bytes != static_cast<size_t>(model::kWindow) * model::kChannels) {
    return fail("input size differs from kWindow * kChannels");
  }
  if (output->bytes != static_cast<size_t>(model::kNumClasses)) return fail("output size differs from kNumClasses");
  if (!same_quantization(input, model::kInputScale, model::kInputZeroPoint) ||
      !same_quantization(output, model::kOutputScale, model::kOutputZeroPoint)) {
    return fail("tensor quantization differs from model_settings.h");
  }

  g_input = input;
  g_output = output;
  g_interpreter = interpreter;
  ESP_LOGI(kTag, "model %u bytes, arena_used_bytes() = %u of %u, input %u, output %u",
           static_cast<unsigned>(g_model_data_len), static_cast<unsigned>(interpreter->arena_used_bytes()),
           static_cast<unsigned>(sizeof(g_arena)), static_cast<unsigned>(input->bytes),
           static_cast<unsigned>(output->bytes));
  if (info != nullptr) {
    info->arena_bytes = sizeof(g_arena);
    info->arena_used_bytes = interpreter->arena_used_bytes();
    info->input_bytes = input->bytes;
    info->output_bytes = output->bytes;
  }
  return ESP_OK;
}

extern "C" esp_err_t inference_invoke(const int8_t* input, size_t n_input, int8_t* output, size_t n_output,
                                      uint32_t* invoke_us) {
  if (g_interpreter == nullptr) return ESP_ERR_INVALID_STATE;
  if (input == nullptr || output == nullptr || n_input != g_input->bytes || n_output != g_output->bytes) {
    return ESP_ERR_INVALID_SIZE;
  }
  memcpy(g_input->data.int8, input, n_input);
  const int64_t start = esp_timer_get_time();
  const TfLiteStatus status = g_interpreter->Invoke();
  const int64_t elapsed = esp_timer_get_time() - start;
  if (invoke_us != nullptr) *invoke_us = static_cast<uint32_t>(elapsed);
  if (status != kTfLiteOk) return ESP_FAIL;
  memcpy(output, g_output->data.int8, n_output);
  return ESP_OK;
}
