// Reads lines "raw a b zero_point" (a, b as C hex floats) and prints tinyad::quantize_value for each.
// tests/core/test_no_fma.py builds it with -O2 -mfma -ffp-contract=fast: the most contraction-happy settings.
#include <cstdio>
#include <cstdlib>

#include "tinyad/preprocess.h"

int main() {
  int raw, zero_point;
  char a_text[64], b_text[64];
  while (std::scanf("%d %63s %63s %d", &raw, a_text, b_text, &zero_point) == 4) {
    const float a = std::strtof(a_text, nullptr);
    const float b = std::strtof(b_text, nullptr);
    std::printf("%d\n", tinyad::quantize_value(static_cast<int16_t>(raw), a, b, zero_point));
  }
  return 0;
}
