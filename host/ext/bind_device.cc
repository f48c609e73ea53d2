// Python binding of tinyad::Device (tinyad/device.h): the same request handling as the firmware, with Python
// callables for the serial write, the model invoke (host TFLM in the SIL) and the optional hooks.
//
// The core is compiled without exceptions, so a Python exception must never unwind through it: every trampoline
// catches, stores the first error, makes later callbacks no-ops, and the binding re-raises it once the core call
// has returned.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bindings.h"
#include "tinyad/device.h"

namespace nb = nanobind;

namespace {

struct PyDevice {
  std::unique_ptr<tinyad::Device> device = std::make_unique<tinyad::Device>();
  std::string board, sensor;  // DeviceIdentity keeps pointers to these
  nb::object write, invoke, now_us, advertisement, stream_control, window_scored, set_bind_key;
  std::optional<nb::python_error> pending_error;

  template <typename F>
  bool guarded(F&& body) {
    if (pending_error) return false;
    try {
      body();
      return true;
    } catch (nb::python_error& e) {
      pending_error.emplace(std::move(e));
    } catch (const std::exception& e) {
      // A conversion error of a callback's return value: report it as a Python TypeError later.
      PyErr_SetString(PyExc_TypeError, e.what());
      pending_error.emplace();
    }
    return false;
  }

  void raise_pending() {
    if (pending_error) {
      nb::python_error e = std::move(*pending_error);
      pending_error.reset();
      throw e;
    }
  }
};

void hook_write(void* ctx, const uint8_t* data, size_t n) {
  auto* self = static_cast<PyDevice*>(ctx);
  self->guarded([&] {
    if (!self->write.is_none()) self->write(nb::bytes(reinterpret_cast<const char*>(data), n));
  });
}

bool hook_invoke(void* ctx, const int8_t* input, size_t n_input, int8_t* output, size_t n_output,
                 uint32_t* invoke_us) {
  auto* self = static_cast<PyDevice*>(ctx);
  bool ok = false;
  self->guarded([&] {
    if (self->invoke.is_none()) return;
    nb::object result = self->invoke(nb::bytes(reinterpret_cast<const char*>(input), n_input));
    if (result.is_none()) return;  // the model failed: ERROR INFER_FAILED
    auto [out, us] = nb::cast<std::tuple<nb::bytes, uint32_t>>(result);
    if (out.size() != n_output) throw std::runtime_error("invoke must return n_classes output bytes");
    std::memcpy(output, out.c_str(), n_output);
    *invoke_us = us;
    ok = true;
  });
  return ok;
}

uint64_t hook_now_us(void* ctx) {
  auto* self = static_cast<PyDevice*>(ctx);
  uint64_t t = 0;
  self->guarded([&] {
    if (!self->now_us.is_none()) t = nb::cast<uint64_t>(self->now_us());
  });
  return t;
}

size_t hook_advertisement(void* ctx, uint8_t* out, size_t cap) {
  auto* self = static_cast<PyDevice*>(ctx);
  size_t n = 0;
  self->guarded([&] {
    if (self->advertisement.is_none()) return;
    nb::bytes adv = nb::cast<nb::bytes>(self->advertisement());
    n = adv.size() < cap ? adv.size() : cap;
    std::memcpy(out, adv.c_str(), n);
  });
  return n;
}

bool hook_stream_control(void* ctx, bool start) {
  auto* self = static_cast<PyDevice*>(ctx);
  bool ok = false;
  self->guarded([&] {
    ok = self->stream_control.is_none() || nb::cast<bool>(self->stream_control(start));
  });
  return ok;
}

void hook_window_scored(void* ctx, tinyad::AlertState state, float smoothed, uint32_t alerts) {
  auto* self = static_cast<PyDevice*>(ctx);
  self->guarded([&] {
    if (!self->window_scored.is_none()) self->window_scored(static_cast<int>(state), smoothed, alerts);
  });
}

// set_bind_key(key: bytes) -> the 4-byte check value (ignored when key is b"": encryption off), or None/False
// when the key could not be stored. The key reaches Python only here, never through a reply.
bool hook_set_bind_key(void* ctx, const uint8_t* key, size_t n, uint8_t check[tinyad::kBindKeyCheckSize]) {
  auto* self = static_cast<PyDevice*>(ctx);
  bool ok = false;
  self->guarded([&] {
    if (self->set_bind_key.is_none()) return;
    nb::object result = self->set_bind_key(nb::bytes(reinterpret_cast<const char*>(key), n));
    if (result.is_none() || (nb::isinstance<nb::bool_>(result) && !nb::cast<bool>(result))) return;
    if (n == 0) {
      ok = true;
      return;
    }
    nb::bytes value = nb::cast<nb::bytes>(result);
    if (value.size() != tinyad::kBindKeyCheckSize) throw std::runtime_error("set_bind_key must return 4 bytes");
    std::memcpy(check, value.c_str(), tinyad::kBindKeyCheckSize);
    ok = true;
  });
  return ok;
}

// The Device holds Python callables that usually refer back to the object owning the Device (a reference
// cycle): expose them to Python's garbage collector, or such cycles would never be freed.
int pydevice_traverse(PyObject* self, visitproc visit, void* arg) {
#if PY_VERSION_HEX >= 0x03090000
  Py_VISIT(Py_TYPE(self));
#endif
  if (!nb::inst_ready(self)) return 0;
  PyDevice* device = nb::inst_ptr<PyDevice>(self);
  for (nb::object* hook : {&device->write, &device->invoke, &device->now_us, &device->advertisement,
                           &device->stream_control, &device->window_scored, &device->set_bind_key}) {
    Py_VISIT(hook->ptr());
  }
  return 0;
}

int pydevice_clear(PyObject* self) {
  PyDevice* device = nb::inst_ptr<PyDevice>(self);
  for (nb::object* hook : {&device->write, &device->invoke, &device->now_us, &device->advertisement,
                           &device->stream_control, &device->window_scored, &device->set_bind_key}) {
    *hook = nb::none();
  }
  return 0;
}

PyType_Slot pydevice_slots[] = {{Py_tp_traverse, reinterpret_cast<void*>(pydevice_traverse)},
                                {Py_tp_clear, reinterpret_cast<void*>(pydevice_clear)},
                                {0, nullptr}};

}  // namespace

void bind_device(nb::module_& m) {
  // The limits Device::begin() checks, for the host's early checks (tinyad.export.core_limit_problems).
  m.attr("MAX_WINDOW_VALUES") = tinyad::kMaxWindowValues;
  m.attr("MAX_CLASSES") = tinyad::kMaxClasses;
  nb::class_<PyDevice>(m, "Device", nb::type_slots(pydevice_slots),
                       "The firmware's request handler (tinyad::Device) with Python hooks.\n\n"
                       "write(frame: bytes); invoke(input: bytes) -> (output: bytes, invoke_us: int) or None;\n"
                       "optional: now_us() -> int, advertisement() -> bytes, stream_control(start: bool) -> bool,\n"
                       "window_scored(state: int, smoothed: float, alerts_raised: int),\n"
                       "set_bind_key(key: bytes) -> 4-byte check value, or None if it could not be stored.\n"
                       "Hooks must not call back into the Device.")
      .def(
          "__init__",
          [](PyDevice* self, nb::object write, nb::object invoke, uint16_t window, uint16_t hop, uint8_t channels,
             uint8_t n_classes, std::vector<float> affine_scale, std::vector<float> affine_offset,
             int8_t input_zero_point, float input_scale, float output_scale, int8_t output_zero_point,
             float threshold_on, float threshold_off, uint32_t min_windows, uint32_t cooldown_windows,
             float ewma_alpha, std::string board, std::string sensor, float accel_full_scale_g,
             float gyro_full_scale_dps, float sample_rate_hz, float dlpf_bandwidth_hz, nb::bytes model_sha256,
             uint32_t arena_bytes, uint16_t flags, nb::object now_us, nb::object advertisement,
             nb::object stream_control, nb::object window_scored, nb::object set_bind_key) {
            new (self) PyDevice();
            self->board = std::move(board);
            self->sensor = std::move(sensor);
            self->write = write;
            self->invoke = invoke;
            self->now_us = now_us;
            self->advertisement = advertisement;
            self->stream_control = stream_control;
            self->window_scored = window_scored;
            self->set_bind_key = set_bind_key;
            tinyad::DeviceIdentity id;
            id.board = self->board.c_str();
            id.sensor = self->sensor.c_str();
            id.accel_full_scale_g = accel_full_scale_g;
            id.gyro_full_scale_dps = gyro_full_scale_dps;
            id.sample_rate_hz = sample_rate_hz;
            id.dlpf_bandwidth_hz = dlpf_bandwidth_hz;
            if (model_sha256.size() != 0 && model_sha256.size() != 32) {
              throw nb::value_error("model_sha256 must be 32 bytes");
            }
            std::memcpy(id.model_sha256, model_sha256.c_str(), model_sha256.size());
            id.window = window;
            id.hop = hop;
            id.channels = channels;
            id.n_classes = n_classes;
            if (affine_scale.size() != channels || affine_offset.size() != channels) {
              throw nb::value_error("affine_scale and affine_offset need one value per channel");
            }
            for (size_t c = 0; c < channels && c < tinyad::kMaxChannels; ++c) {
              id.affine_scale[c] = affine_scale[c];
              id.affine_offset[c] = affine_offset[c];
            }
            id.input_zero_point = input_zero_point;
            id.input_scale = input_scale;
            id.output_scale = output_scale;
            id.output_zero_point = output_zero_point;
            id.arena_bytes = arena_bytes;
            id.alert.threshold_on = threshold_on;
            id.alert.threshold_off = threshold_off;
            id.alert.min_windows = min_windows;
            id.alert.cooldown_windows = cooldown_windows;
            id.ewma_alpha = ewma_alpha;
            id.flags = flags;
            tinyad::DeviceHooks hooks;
            hooks.ctx = self;
            hooks.write = hook_write;
            hooks.invoke = hook_invoke;
            if (!now_us.is_none()) hooks.now_us = hook_now_us;
            if (!advertisement.is_none()) hooks.advertisement = hook_advertisement;
            if (!stream_control.is_none()) hooks.stream_control = hook_stream_control;
            if (!window_scored.is_none()) hooks.window_scored = hook_window_scored;
            if (!set_bind_key.is_none()) hooks.set_bind_key = hook_set_bind_key;
            if (!self->device->begin(id, hooks)) {
              throw nb::value_error(
                  "device identity does not fit the core's limits (channels <= MAX_CHANNELS, 2 <= n_classes <= 16, "
                  "window <= RING_SAMPLES, window * channels <= MAX_WINDOW_VALUES, threshold_off <= threshold_on)");
            }
          },
          nb::arg("write"), nb::arg("invoke"), nb::kw_only(), nb::arg("window"), nb::arg("hop"),
          nb::arg("channels"), nb::arg("n_classes"), nb::arg("affine_scale"), nb::arg("affine_offset"),
          nb::arg("input_zero_point"), nb::arg("input_scale"), nb::arg("output_scale"),
          nb::arg("output_zero_point"), nb::arg("threshold_on") = 1.0f, nb::arg("threshold_off") = 0.5f,
          nb::arg("min_windows") = 3u, nb::arg("cooldown_windows") = 10u, nb::arg("ewma_alpha") = 0.5f,
          nb::arg("board") = "sil", nb::arg("sensor") = "MPU6050", nb::arg("accel_full_scale_g") = 4.0f,
          nb::arg("gyro_full_scale_dps") = 500.0f, nb::arg("sample_rate_hz") = 100.0f,
          nb::arg("dlpf_bandwidth_hz") = 0.0f,
          nb::arg("model_sha256") = nb::bytes("", 0), nb::arg("arena_bytes") = 0u, nb::arg("flags") = 0,
          nb::arg("now_us") = nb::none(), nb::arg("advertisement") = nb::none(),
          nb::arg("stream_control") = nb::none(), nb::arg("window_scored") = nb::none(),
          nb::arg("set_bind_key") = nb::none())
      .def(
          "on_rx",
          [](PyDevice& self, nb::bytes data) {
            self.device->on_rx(reinterpret_cast<const uint8_t*>(data.c_str()), data.size());
            self.raise_pending();
          },
          nb::arg("data"), "Bytes from the serial link; replies go out through write().")
      .def(
          "on_sample",
          [](PyDevice& self, const std::vector<int16_t>& sample, uint64_t timestamp_us) {
            if (sample.size() != self.device->identity().channels) {
              throw nb::value_error("sample has the wrong channel count");
            }
            self.device->on_sample(sample.data(), timestamp_us);
            self.raise_pending();
          },
          nb::arg("sample"), nb::arg("timestamp_us"), "One raw sensor sample (channels int16 counts).")
      .def(
          "note_fifo_overflow", [](PyDevice& self, uint32_t n) { self.device->note_fifo_overflow(n); },
          nb::arg("lost_samples"))
      .def(
          "set_sensor_error", [](PyDevice& self, uint8_t flags) { self.device->set_sensor_error(flags); },
          nb::arg("flags"))
      .def(
          "config_get",
          [](PyDevice& self, uint16_t key) -> nb::object {
            uint8_t kind = 0;
            uint32_t bits = 0;
            if (self.device->config_get(key, &kind, &bits) != tinyad::ErrorCode::OK) return nb::none();
            if (kind == 1) {
              float f;
              std::memcpy(&f, &bits, sizeof f);
              return nb::float_(f);
            }
            return nb::int_(static_cast<int32_t>(bits));
          },
          nb::arg("key"), "The value of a config key, or None if unknown.")
      .def(
          "config_set",
          [](PyDevice& self, uint16_t key, nb::object value) {
            tinyad::ConfigKeyInfo info;
            uint8_t index;
            uint32_t bits = 0;
            if (tinyad::config_key_lookup(key, &info, &index) && info.kind == 1) {
              const float f = nb::cast<float>(value);
              std::memcpy(&bits, &f, sizeof bits);
            } else {
              bits = static_cast<uint32_t>(nb::cast<int32_t>(value));
            }
            return static_cast<int>(self.device->config_set(key, bits));
          },
          nb::arg("key"), nb::arg("value"), "Sets a config key; returns the error code (0 = OK).")
      .def(
          "set_bind_key_state",
          [](PyDevice& self, bool encrypted, const nb::bytes& check) {
            if (encrypted && check.size() != tinyad::kBindKeyCheckSize) {
              throw nb::value_error("check must be 4 bytes when encrypted");
            }
            self.device->set_bind_key_state(encrypted, encrypted ? reinterpret_cast<const uint8_t*>(check.c_str())
                                                                 : nullptr);
          },
          nb::arg("encrypted"), nb::arg("check") = nb::bytes("", 0),
          "The bind key state at boot (a key the platform loaded itself), as the firmware reports it.")
      .def_prop_ro("encrypted", [](PyDevice& self) { return self.device->encrypted(); })
      .def_prop_ro("bind_key_check",
                   [](PyDevice& self) {
                     return nb::bytes(reinterpret_cast<const char*>(self.device->bind_key_check()),
                                      tinyad::kBindKeyCheckSize);
                   })
      .def_prop_ro("streaming", [](PyDevice& self) { return self.device->streaming(); })
      .def_prop_ro("alert_state", [](PyDevice& self) { return static_cast<int>(self.device->alert_state()); })
      .def_prop_ro("alerts_raised", [](PyDevice& self) { return self.device->alerts_raised(); })
      .def_prop_ro("counters",
                   [](PyDevice& self) {
                     const tinyad::DeviceCounters& c = self.device->counters();
                     nb::dict d = decoder_counters_to_dict(self.device->decoder_counters());
                     d["windows"] = c.windows;
                     d["requests_rejected"] = c.requests_rejected;
                     d["dropped_samples"] = c.dropped_samples;
                     d["fifo_overflows"] = c.fifo_overflows;
                     d["invoke_failures"] = c.invoke_failures;
                     d["sensor_error_flags"] = c.sensor_error_flags;
                     return d;
                   })
      .def_prop_ro("last_window", [](PyDevice& self) {
        const tinyad::WindowResult& r = self.device->last_window();
        nb::dict d;
        const size_t n = self.device->identity().n_classes;
        d["output"] = nb::bytes(reinterpret_cast<const char*>(r.output), n);
        d["score"] = r.score;
        d["probability"] = r.probability;
        d["smoothed"] = r.smoothed;
        d["invoke_us"] = r.invoke_us;
        d["state"] = static_cast<int>(r.state);
        return d;
      });
}
