#include "tinyad/scoring.h"

#include <math.h>

namespace tinyad {

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
  // Softmax relative to the largest logit so expf never overflows: p0 = e0 / sum_k e_k.
  int32_t max_q = logits[0];
  for (size_t k = 1; k < n_classes; ++k) {
    if (logits[k] > max_q) max_q = logits[k];
  }
  float sum = 0.0f;
  float e0 = 0.0f;
  for (size_t k = 0; k < n_classes; ++k) {
    volatile float z = static_cast<float>(static_cast<int32_t>(logits[k]) - max_q) * output_scale;
    const float e = expf(z);
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
