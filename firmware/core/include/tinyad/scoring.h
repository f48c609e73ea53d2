// Scoring of the model's int8 logits (class 0 = normal) and EWMA smoothing (docs/protocol.md, "Scoring").
#pragma once
#include <cstddef>
#include <cstdint>

namespace tinyad {

enum class ScoreKind : uint8_t { kLogitMargin = 0, kProbability = 1 };

// max_{k>=1} q[k] - q[0], an exact integer in [-255, 255]. n_classes must be >= 2 (returns 0 otherwise).
int32_t logit_margin_q(const int8_t* logits, size_t n_classes);

// The alert score: float32(logit_margin_q) * output_scale. No libm: bit-identical everywhere.
float logit_margin(const int8_t* logits, size_t n_classes, float output_scale);

// 1 - softmax(dequantized logits)[0] in float32, with exp_nonpositive: no libm, bit-identical everywhere (an
// alert input with SCORE_KIND 1, so the board, the SIL and the host must agree to the bit).
float anomaly_probability(const int8_t* logits, size_t n_classes, float output_scale);

// e^x for x <= 0 in float32 operations only (no libm, no FMA): within 2 ulp of the true value; 0 below -86,
// x > 0 is taken as 0. Libms' expf differ by an ulp from one another (newlib vs glibc), this does not.
float exp_nonpositive(float x);

// EWMA: the first update returns x; then s += alpha * (x - s), three separately rounded float32 operations.
class Ewma {
 public:
  explicit Ewma(float alpha = 0.5f) : alpha_(alpha) {}
  float update(float x);
  void reset() { primed_ = false; value_ = 0.0f; }
  void set_alpha(float alpha) { alpha_ = alpha; }
  float alpha() const { return alpha_; }
  float value() const { return value_; }
  bool primed() const { return primed_; }

 private:
  float alpha_;
  float value_ = 0.0f;
  bool primed_ = false;
};

}  // namespace tinyad
