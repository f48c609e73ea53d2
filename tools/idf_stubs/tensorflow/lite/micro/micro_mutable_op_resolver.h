#pragma once
// tflite-micro tensorflow/lite/micro/micro_mutable_op_resolver.h (subset: the Add* methods models here use).
#include <stddef.h>
#include <stdint.h>
typedef enum { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;
typedef enum { kTfLiteNoType = 0, kTfLiteFloat32 = 1, kTfLiteInt8 = 9 } TfLiteType;
namespace tflite {
class MicroOpResolver {
 public:
  virtual ~MicroOpResolver() = default;
};
template <unsigned int tOpCount>
class MicroMutableOpResolver : public MicroOpResolver {
 public:
  MicroMutableOpResolver() = default;
#define TINYAD_STUB_OP(name) \
  TfLiteStatus name() { return kTfLiteOk; }
  TINYAD_STUB_OP(AddAdd) TINYAD_STUB_OP(AddAveragePool2D) TINYAD_STUB_OP(AddConcatenation)
  TINYAD_STUB_OP(AddConv2D) TINYAD_STUB_OP(AddDepthwiseConv2D) TINYAD_STUB_OP(AddDequantize)
  TINYAD_STUB_OP(AddExpandDims) TINYAD_STUB_OP(AddFullyConnected) TINYAD_STUB_OP(AddLogistic)
  TINYAD_STUB_OP(AddMaxPool2D) TINYAD_STUB_OP(AddMean) TINYAD_STUB_OP(AddMul) TINYAD_STUB_OP(AddPack)
  TINYAD_STUB_OP(AddQuantize) TINYAD_STUB_OP(AddRelu) TINYAD_STUB_OP(AddReshape) TINYAD_STUB_OP(AddSoftmax)
  TINYAD_STUB_OP(AddSplit) TINYAD_STUB_OP(AddSqueeze) TINYAD_STUB_OP(AddStridedSlice) TINYAD_STUB_OP(AddSub)
  TINYAD_STUB_OP(AddTanh) TINYAD_STUB_OP(AddTranspose) TINYAD_STUB_OP(AddUnpack)
#undef TINYAD_STUB_OP
};
}  // namespace tflite
