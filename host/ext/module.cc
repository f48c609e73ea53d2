// Entry point of the Python extension tinyad._core. Each part of the core binds itself in its own
// bind_*.cc file; this file only calls them.
#include <nanobind/nanobind.h>

#include "bindings.h"
#include "tinyad/version.h"

namespace nb = nanobind;

NB_MODULE(_core, m) {
  m.doc() = "tinyad portable firmware core (the same C++ that runs on the ESP32)";
  // A command that exits on an error may still hold core objects (a SIL Device); nanobind's leak report at
  // interpreter exit would bury the error under lines that mean nothing to a user.
  nb::set_leak_warnings(false);
  m.def("firmware_version", &tinyad::firmware_version_string);
  bind_all(m);
}
