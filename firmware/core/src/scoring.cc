#include "tinyad/scoring.h"

#include <string.h>

#include "tinyad/preprocess.h"

namespace tinyad {

namespace {
// Cody-Waite split of ln 2: k * kLn2Hi is exact for |k| < 2^12 (kLn2Hi has 12 significant bits).
constexpr float kLog2E = 1.44269502f;
constexpr float kLn2Hi = 0.693145751953125f;
constexpr float kLn2Lo = 1.42860677e-06f;
constexpr float kExpFloor = -86.0f;  // below: 0, so 2^k stays a normal float (no subnormals, whatever the FPU)
// Taylor coefficients 1/n!, n = 7 .. 2, for |r| <= ln2/2 (truncation error < 6e-9 relative).
constexpr float kExpTaylor[] = {1.98412701e-04f, 1.38888892e-03f, 8.33333377e-03f, 4.16666679e-02f,
                                1.66666672e-01f, 0.5f};

float mul(float a, float b) {
  volatile float product = a * b;  // volatile: a separately rounded product, never fused into an FMA
  return product;
}
}  // namespace

float exp_nonpositive(float x) {
  if (!(x >= kExpFloor)) return 0.0f;  // also NaN
  if (x > 0.0f) x = 0.0f;
  const int32_t k = round_half_even_small(mul(x, kLog2E));
  const float kf = static_cast<float>(k);
  const float r = (x - mul(kf, kLn2Hi)) - mul(kf, kLn2Lo);
  float p = kExpTaylor[0];
  for (size_t i = 1; i < sizeof(kExpTaylor) / sizeof(kExpTaylor[0]); ++i) p = mul(p, r) + kExpTaylor[i];
  p = mul(p, r) + 1.0f;
  p = mul(p, r) + 1.0f;
  const uint32_t bits = static_cast<uint32_t>(k + 127) << 23;  // 2^k, k in [-124, 0]
  float scale;
  memcpy(&scale, &bits, sizeof(scale));
  return mul(p, scale);
}

int32_t logit_margin_q(const int8_t* logits, size_t n_classes) {
  if (n_classes < 2) return 0;
  int32_t best = logits[1];
  for (size_t k = 2; k < n_classes; ++k) {
    if (logits[k] > best) best = logits[k];
  }
  return best - static_cast<int32_t>(logits[0]);
}

float logit_margin(const int8_t* logits, size_t n_classes, float output_scale) {
  return static_cast<float>(logit_margin_q(logits, n_classes)) * output_scale;
}

float anomaly_probability(const int8_t* logits, size_t n_classes, float output_scale) {
  if (n_classes < 2) return 0.0f;
  // Softmax relative to the largest logit, so every exponent is <= 0: p0 = e0 / sum_k e_k.
  int32_t max_q = logits[0];
  for (size_t k = 1; k < n_classes; ++k) {
    if (logits[k] > max_q) max_q = logits[k];
  }
  float sum = 0.0f;
  float e0 = 0.0f;
  for (size_t k = 0; k < n_classes; ++k) {
    const float z = mul(static_cast<float>(static_cast<int32_t>(logits[k]) - max_q), output_scale);
    const float e = exp_nonpositive(z);
    if (k == 0) e0 = e;
    sum = sum + e;
  }
  return 1.0f - e0 / sum;
}

float Ewma::update(float x) {
  if (!primed_) {
    primed_ = true;
    value_ = x;
    return value_;
  }
  const float delta = x - value_;
  volatile float step = alpha_ * delta;  // volatile: no FMA with the add below
  value_ = value_ + step;
  return value_;
}

}  // namespace tinyad
