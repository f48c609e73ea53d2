// Sample ring buffer: the last kRingSamples raw sensor samples (int16 x channels), sized at compile time.
// Every sample gets a sequence number (samples pushed since reset); windows are addressed by their first one.
// Sequence numbers are uint32: they wrap after 2^32 samples (497 days at 100 Hz); begin() again before that.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tinyad/preprocess.h"

namespace tinyad {

#ifndef TINYAD_RING_SAMPLES
#define TINYAD_RING_SAMPLES 128
#endif
constexpr size_t kRingSamples = TINYAD_RING_SAMPLES;  // must be >= the model window

class SampleRing {
 public:
  void reset(uint8_t channels);
  // Appends one sample (channels values); the oldest sample is overwritten when full.
  void push(const int16_t* sample);
  uint8_t channels() const { return channels_; }
  uint32_t total() const { return total_; }  // = sequence number of the next sample
  uint32_t oldest() const { return total_ > kRingSamples ? total_ - static_cast<uint32_t>(kRingSamples) : 0; }
  // All samples first_seq .. first_seq + n - 1 are still (and already) in the ring.
  bool contains(uint32_t first_seq, size_t n) const;
  // Pointer to sample `seq` (channels values), or nullptr if it is gone or not yet pushed.
  const int16_t* sample(uint32_t seq) const;
  // Copies n samples starting at first_seq (sample-major); false if any is missing.
  bool copy(uint32_t first_seq, size_t n, int16_t* out) const;
  // Preprocesses n samples starting at first_seq straight into an int8 tensor; false if any is missing.
  bool preprocess(uint32_t first_seq, size_t n, const PreprocessParams& params, int8_t* out) const;

 private:
  int16_t data_[kRingSamples * kMaxChannels] = {};
  uint32_t total_ = 0;
  uint8_t channels_ = 0;
};

}  // namespace tinyad
