#include "bindings.h"

void bind_protocol(nanobind::module_& m);    // bind_protocol.cc
void bind_preprocess(nanobind::module_& m);  // bind_preprocess.cc
void bind_scoring(nanobind::module_& m);     // bind_scoring.cc
void bind_device(nanobind::module_& m);      // bind_device.cc
void bind_bthome(nanobind::module_& m);      // bind_bthome.cc

void bind_all(nanobind::module_& m) {
  bind_protocol(m);
  bind_preprocess(m);
  bind_scoring(m);
  bind_device(m);
  bind_bthome(m);
}
