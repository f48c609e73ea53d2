// Python binding of the protocol codec (tinyad/protocol.h) and of the wire-format tables in
// protocol_messages.def, which host/tinyad/protocol.py reads as its single source of numbers.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

#include "bindings.h"
#include "tinyad/protocol.h"

namespace nb = nanobind;

namespace {

nb::bytes to_bytes(const uint8_t* data, size_t n) { return nb::bytes(reinterpret_cast<const char*>(data), n); }
const uint8_t* data_of(const nb::bytes& b) { return reinterpret_cast<const uint8_t*>(b.c_str()); }

}  // namespace

nb::dict decoder_counters_to_dict(const tinyad::DecoderCounters& c) {
  nb::dict d;
  d["frames_ok"] = c.frames_ok;
  d["bad_crc"] = c.bad_crc;
  d["bad_cobs"] = c.bad_cobs;
  d["bad_length"] = c.bad_length;
  d["oversize"] = c.oversize;
  return d;
}

void bind_protocol(nb::module_& m) {
  m.attr("PROTOCOL_VERSION") = tinyad::kProtocolVersion;
  m.attr("MAX_PAYLOAD") = tinyad::kMaxPayload;
  m.attr("MAX_FRAME") = tinyad::kMaxFrame;
  m.attr("MAX_WIRE_FRAME") = tinyad::kMaxWireFrame;

  nb::dict messages;  // name -> (id, is_request)
#define TINYAD_MESSAGE(name, id, req) messages[#name] = nb::make_tuple(id, (req) != 0);
#include "tinyad/protocol_messages.def"
  m.attr("MESSAGES") = messages;

  nb::dict keys;  // name -> (id, kind, count, min, max, writable); kind 0 = int32, 1 = float32
#define TINYAD_CONFIG_KEY(name, id, kind, count, min, max, writable) \
  keys[#name] = nb::make_tuple(id, kind, count, static_cast<double>(static_cast<float>(min)), \
                               static_cast<double>(static_cast<float>(max)), (writable) != 0);
#include "tinyad/protocol_messages.def"
  m.attr("CONFIG_KEYS") = keys;

  nb::dict errors;  // name -> code
#define TINYAD_ERROR_CODE(name, code) errors[#name] = code;
#include "tinyad/protocol_messages.def"
  m.attr("ERROR_CODES") = errors;

  m.def(
      "crc32", [](nb::bytes data, uint32_t previous) { return tinyad::crc32(data_of(data), data.size(), previous); },
      nb::arg("data"), nb::arg("previous") = 0, "CRC-32/IEEE as in the core (equals zlib.crc32).");
  m.def(
      "cobs_encode",
      [](nb::bytes data) {
        std::vector<uint8_t> out(tinyad::cobs_max_encoded(data.size()));
        const size_t n = tinyad::cobs_encode(data_of(data), data.size(), out.data(), out.size());
        return to_bytes(out.data(), n);
      },
      nb::arg("data"), "COBS encoding (no delimiter) as in the core.");
  m.def(
      "cobs_decode",
      [](nb::bytes data) -> nb::object {
        std::vector<uint8_t> out(data.size() + 1);
        const long n = tinyad::cobs_decode(data_of(data), data.size(), out.data(), out.size());
        if (n < 0) return nb::none();
        return to_bytes(out.data(), static_cast<size_t>(n));
      },
      nb::arg("data"), "COBS decoding (no delimiter); None on a COBS error.");
  m.def(
      "encode_frame",
      [](uint8_t type, uint16_t seq, nb::bytes payload) {
        if (payload.size() > tinyad::kMaxPayload) throw nb::value_error("payload larger than MAX_PAYLOAD");
        std::vector<uint8_t> out(tinyad::kMaxWireFrame);
        const size_t n = tinyad::encode_frame(type, seq, data_of(payload), payload.size(), out.data(), out.size());
        return to_bytes(out.data(), n);
      },
      nb::arg("msg_type"), nb::arg("seq"), nb::arg("payload") = nb::bytes("", 0),
      "One wire frame (COBS + 0x00 delimiter), built by the core's FrameWriter.");
  m.def("message_name", &tinyad::message_name, nb::arg("msg_type"));
  m.def("error_name", &tinyad::error_name, nb::arg("code"));

  nb::class_<tinyad::FrameDecoder>(m, "FrameDecoder",
                                   "The core's streaming byte-at-a-time frame decoder (bounded buffer).")
      .def(nb::init<>())
      .def(
          "feed",
          [](tinyad::FrameDecoder& d, nb::bytes data) {
            std::vector<std::tuple<int, int, int, nb::bytes>> frames;
            const uint8_t* p = data_of(data);
            for (size_t i = 0; i < data.size(); ++i) {
              if (d.push(p[i])) {
                const tinyad::FrameView& f = d.frame();
                frames.emplace_back(f.version, f.type, f.seq, to_bytes(f.payload, f.payload_len));
              }
            }
            return frames;
          },
          nb::arg("data"), "Feeds bytes; returns the complete valid frames as (version, type, seq, payload).")
      .def_prop_ro("counters", [](const tinyad::FrameDecoder& d) { return decoder_counters_to_dict(d.counters()); })
      .def_prop_ro("bad_frames", &tinyad::FrameDecoder::bad_frames);
}
