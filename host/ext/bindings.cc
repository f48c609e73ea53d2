#include "bindings.h"

void bind_all(nanobind::module_& m) {
  (void)m;  // Parts of the core register here: bind_protocol(m); bind_preprocess(m); ...
}
