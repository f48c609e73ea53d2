// Python binding of scoring (tinyad/scoring.h) and the alert state machine (tinyad/alert.h).
#include <nanobind/nanobind.h>
#include <nanobind/stl/vector.h>

#include <vector>

#include "tinyad/alert.h"
#include "tinyad/scoring.h"

namespace nb = nanobind;

void bind_scoring(nb::module_& m) {
  m.def(
      "logit_margin_q",
      [](const std::vector<int8_t>& q) { return tinyad::logit_margin_q(q.data(), q.size()); }, nb::arg("logits"));
  m.def(
      "logit_margin",
      [](const std::vector<int8_t>& q, float scale) { return tinyad::logit_margin(q.data(), q.size(), scale); },
      nb::arg("logits"), nb::arg("output_scale"));
  m.def(
      "anomaly_probability",
      [](const std::vector<int8_t>& q, float scale) {
        return tinyad::anomaly_probability(q.data(), q.size(), scale);
      },
      nb::arg("logits"), nb::arg("output_scale"));
  m.def("exp_nonpositive", &tinyad::exp_nonpositive, nb::arg("x"));

  nb::class_<tinyad::Ewma>(m, "Ewma")
      .def(nb::init<float>(), nb::arg("alpha") = 0.5f)
      .def("update", &tinyad::Ewma::update, nb::arg("x"))
      .def("reset", &tinyad::Ewma::reset)
      .def_prop_ro("value", &tinyad::Ewma::value)
      .def_prop_ro("alpha", &tinyad::Ewma::alpha);

  nb::class_<tinyad::AlertMachine>(m, "AlertMachine")
      .def(
          "__init__",
          [](tinyad::AlertMachine* self, float on, float off, uint32_t min_windows, uint32_t cooldown_windows) {
            tinyad::AlertConfig c;
            c.threshold_on = on;
            c.threshold_off = off;
            c.min_windows = min_windows;
            c.cooldown_windows = cooldown_windows;
            new (self) tinyad::AlertMachine(c);
          },
          nb::arg("threshold_on"), nb::arg("threshold_off"), nb::arg("min_windows"), nb::arg("cooldown_windows"))
      .def(
          "step", [](tinyad::AlertMachine& a, float s) { return static_cast<int>(a.step(s)); }, nb::arg("score"),
          "Feeds one smoothed score; returns the state (0 OK, 1 PENDING, 2 ALERT, 3 COOLDOWN).")
      .def("reset", &tinyad::AlertMachine::reset)
      .def_prop_ro("state", [](const tinyad::AlertMachine& a) { return static_cast<int>(a.state()); })
      .def_prop_ro("alerts_raised", &tinyad::AlertMachine::alerts_raised)
      .def_prop_ro("pending_count", &tinyad::AlertMachine::pending_count)
      .def_prop_ro("cooldown_left", &tinyad::AlertMachine::cooldown_left);
}
