// Each bind_*.cc defines one bind_<part>(nb::module_&); bind_all() in bindings.cc calls them all.
#pragma once
#include <nanobind/nanobind.h>

#include "tinyad/protocol.h"

void bind_all(nanobind::module_& m);

// The frame decoder's counters as a dict (bind_protocol.cc); the device binding reports them too.
nanobind::dict decoder_counters_to_dict(const tinyad::DecoderCounters& c);
