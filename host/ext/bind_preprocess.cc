// Python binding of preprocessing (tinyad/preprocess.h) and the sample ring (tinyad/ring.h).
#include <nanobind/nanobind.h>
#include <nanobind/stl/vector.h>

#include <vector>

#include "tinyad/preprocess.h"
#include "tinyad/ring.h"

namespace nb = nanobind;

namespace {

tinyad::PreprocessParams make_params(const std::vector<float>& scale, const std::vector<float>& offset,
                                     int32_t zero_point) {
  if (scale.size() != offset.size() || scale.empty() || scale.size() > tinyad::kMaxChannels) {
    throw nb::value_error("scale and offset need the same length, 1..MAX_CHANNELS");
  }
  tinyad::PreprocessParams p;
  p.channels = static_cast<uint8_t>(scale.size());
  p.zero_point = zero_point;
  for (size_t c = 0; c < scale.size(); ++c) {
    p.scale[c] = scale[c];
    p.offset[c] = offset[c];
  }
  return p;
}

}  // namespace

void bind_preprocess(nb::module_& m) {
  m.attr("MAX_CHANNELS") = tinyad::kMaxChannels;
  m.attr("RING_SAMPLES") = tinyad::kRingSamples;
  m.def("round_half_even_small", &tinyad::round_half_even_small, nb::arg("y"),
        "Round half to even of a float32 (|y| <= 2^22) without libm.");
  m.def("quantize_value", &tinyad::quantize_value, nb::arg("raw"), nb::arg("scale"), nb::arg("offset"),
        nb::arg("zero_point"), "clamp(round_half_even(float32(raw) * scale + offset) + zero_point, -128, 127).");
  m.def(
      "preprocess_window",
      [](nb::bytes raw_le, const std::vector<float>& scale, const std::vector<float>& offset, int32_t zero_point) {
        const tinyad::PreprocessParams p = make_params(scale, offset, zero_point);
        const size_t channels = p.channels;
        if (raw_le.size() % (2 * channels) != 0) throw nb::value_error("raw bytes are not whole int16 samples");
        const size_t n_samples = raw_le.size() / (2 * channels);
        std::vector<int8_t> out(n_samples * channels);
        tinyad::preprocess_window_le(reinterpret_cast<const uint8_t*>(raw_le.c_str()), n_samples, p, out.data());
        return nb::bytes(reinterpret_cast<const char*>(out.data()), out.size());
      },
      nb::arg("raw_le"), nb::arg("scale"), nb::arg("offset"), nb::arg("zero_point"),
      "Raw int16 little-endian counts (samples x channels) -> int8 input bytes, as on the device.");

  nb::class_<tinyad::SampleRing>(m, "SampleRing", "The core's sample ring buffer (RING_SAMPLES samples).")
      .def(nb::init<>())
      .def("reset", &tinyad::SampleRing::reset, nb::arg("channels"))
      .def(
          "push",
          [](tinyad::SampleRing& r, const std::vector<int16_t>& sample) {
            if (sample.size() != r.channels()) throw nb::value_error("sample has the wrong channel count");
            r.push(sample.data());
          },
          nb::arg("sample"))
      .def_prop_ro("total", &tinyad::SampleRing::total)
      .def_prop_ro("oldest", &tinyad::SampleRing::oldest)
      .def("contains", &tinyad::SampleRing::contains, nb::arg("first_seq"), nb::arg("n"))
      .def(
          "copy",
          [](const tinyad::SampleRing& r, uint32_t first_seq, size_t n) -> nb::object {
            std::vector<int16_t> out(n * r.channels());
            if (!r.copy(first_seq, n, out.data())) return nb::none();
            return nb::cast(out);
          },
          nb::arg("first_seq"), nb::arg("n"), "Flat list of n samples from first_seq, or None if any is missing.");
}
