#include "tinyad/ring.h"

namespace tinyad {

void SampleRing::reset(uint8_t channels) {
  channels_ = channels > kMaxChannels ? static_cast<uint8_t>(kMaxChannels) : channels;
  total_ = 0;
}

void SampleRing::push(const int16_t* sample) {
  int16_t* slot = data_ + (total_ % kRingSamples) * kMaxChannels;
  for (size_t c = 0; c < channels_; ++c) slot[c] = sample[c];
  ++total_;
}

bool SampleRing::contains(uint32_t first_seq, size_t n) const {
  if (n > kRingSamples || first_seq < oldest()) return false;
  return static_cast<uint64_t>(first_seq) + n <= total_;
}

const int16_t* SampleRing::sample(uint32_t seq) const {
  if (!contains(seq, 1)) return nullptr;
  return data_ + (seq % kRingSamples) * kMaxChannels;
}

bool SampleRing::copy(uint32_t first_seq, size_t n, int16_t* out) const {
  if (!contains(first_seq, n)) return false;
  for (size_t i = 0; i < n; ++i) {
    const int16_t* s = data_ + ((first_seq + i) % kRingSamples) * kMaxChannels;
    for (size_t c = 0; c < channels_; ++c) out[i * channels_ + c] = s[c];
  }
  return true;
}

bool SampleRing::preprocess(uint32_t first_seq, size_t n, const PreprocessParams& params, int8_t* out) const {
  if (!contains(first_seq, n) || params.channels != channels_) return false;
  for (size_t i = 0; i < n; ++i) {
    const int16_t* s = data_ + ((first_seq + i) % kRingSamples) * kMaxChannels;
    for (size_t c = 0; c < channels_; ++c) {
      out[i * channels_ + c] = quantize_value(s[c], params.scale[c], params.offset[c], params.zero_point);
    }
  }
  return true;
}

}  // namespace tinyad
