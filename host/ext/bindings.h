// Each bind_*.cc defines one bind_<part>(nb::module_&); bind_all() in bindings.cc calls them all.
#pragma once
#include <nanobind/nanobind.h>

void bind_all(nanobind::module_& m);
