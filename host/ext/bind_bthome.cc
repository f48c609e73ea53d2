// Python view of the portable BTHome v2 encoder and AES-CCM (tinyad._core.bthome): the host tests decode
// what the firmware would broadcast with the independent bthome-ble package.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <cstring>
#include <string>

#include "bindings.h"
#include "tinyad/aes_ccm.h"
#include "tinyad/bthome.h"

namespace nb = nanobind;
using namespace tinyad;

namespace {

nb::bytes to_bytes(const uint8_t* data, size_t len) { return nb::bytes(reinterpret_cast<const char*>(data), len); }

void copy_exact(const nb::bytes& src, uint8_t* dst, size_t len, const char* what) {
  if (src.size() != len) {
    throw nb::value_error((std::string(what) + " must be " + std::to_string(len) + " bytes").c_str());
  }
  std::memcpy(dst, src.c_str(), len);
}

bthome::AlertObject parse_alert_object(const std::string& name) {
  if (name == "problem") return bthome::AlertObject::kProblem;
  if (name == "vibration") return bthome::AlertObject::kVibration;
  throw nb::value_error("alert_object must be 'problem' or 'vibration'");
}

// Config from Python arguments; `name` must outlive the config (the caller keeps the std::string).
bthome::EncoderConfig make_config(const nb::object& bind_key, const nb::bytes& mac, const std::string& name,
                                  const std::string& alert_object) {
  bthome::EncoderConfig config;
  config.alert_object = parse_alert_object(alert_object);
  copy_exact(mac, config.mac, bthome::kMacBytes, "mac");
  if (!bind_key.is_none()) {
    copy_exact(nb::cast<nb::bytes>(bind_key), config.bind_key, bthome::kBindKeyBytes, "bind_key");
    config.encrypt = true;
  }
  config.name = name.c_str();
  return config;
}

}  // namespace

void bind_bthome(nb::module_& parent) {
  nb::module_ m = parent.def_submodule("bthome", "BTHome v2 encoder of the firmware core");
  m.attr("SERVICE_UUID") = bthome::kServiceUuid;
  m.attr("LEGACY_ADV_BYTES") = bthome::kLegacyAdvBytes;
  m.attr("OBJECT_BYTES") = bthome::kObjectBytes;
  m.attr("SCORE_SCALE") = bthome::kScoreScale;

  m.def("score_to_centi", &bthome::score_to_centi, nb::arg("score"),
        "Alert score to the hundredths sent in the sint16 count object (NaN -> 0, clamped to +-32767).");

  m.def(
      "encode_advertisement",
      [](uint8_t packet_id, bool alert, bool running, int16_t score_centi, uint32_t counter,
         const nb::bytes& mac, const nb::object& bind_key, const std::string& name,
         const std::string& alert_object) {
        const bthome::EncoderConfig config = make_config(bind_key, mac, name, alert_object);
        bthome::Reading reading;
        reading.packet_id = packet_id;
        reading.alert = alert;
        reading.running = running;
        reading.score_centi = score_centi;
        uint8_t out[bthome::kLegacyAdvBytes];
        const size_t len = bthome::encode_advertisement(config, reading, counter, out, sizeof(out));
        if (len == 0) throw nb::value_error("advertisement does not fit or encryption failed");
        return to_bytes(out, len);
      },
      nb::arg("packet_id"), nb::arg("alert"), nb::arg("running") = true, nb::arg("score_centi") = 0,
      nb::arg("counter") = 0, nb::arg("mac") = nb::bytes("\0\0\0\0\0\0", 6), nb::arg("bind_key") = nb::none(),
      nb::arg("name") = "", nb::arg("alert_object") = "problem",
      "The full legacy advertising payload (AD structures) for one reading.");

  m.def(
      "bind_key_check_value",
      [](const nb::bytes& key) {
        uint8_t k[bthome::kBindKeyBytes];
        copy_exact(key, k, sizeof(k), "bind_key");
        return bthome::bind_key_check_value(k);
      },
      nb::arg("bind_key"), "First 4 bytes of AES-128(key, 0^16) as an int: identifies a key, reveals nothing.");

  m.def(
      "aes_ccm_encrypt",
      [](const nb::bytes& key, const nb::bytes& nonce, const nb::bytes& plain, const nb::bytes& aad,
         size_t tag_len) {
        uint8_t k[kAes128KeyBytes];
        copy_exact(key, k, sizeof(k), "key");
        const Aes128 aes(k);
        std::string cipher(plain.size() + 16, '\0');
        uint8_t* out = reinterpret_cast<uint8_t*>(cipher.data());
        if (!aes_ccm_encrypt(aes, reinterpret_cast<const uint8_t*>(nonce.c_str()), nonce.size(),
                             reinterpret_cast<const uint8_t*>(aad.c_str()), aad.size(),
                             reinterpret_cast<const uint8_t*>(plain.c_str()), plain.size(), out,
                             out + plain.size(), tag_len)) {
          throw nb::value_error("invalid AES-CCM parameters");
        }
        return nb::bytes(cipher.data(), plain.size() + tag_len);
      },
      nb::arg("key"), nb::arg("nonce"), nb::arg("plain"), nb::arg("aad") = nb::bytes("", 0),
      nb::arg("tag_len") = 4, "AES-CCM of the core: ciphertext followed by the tag.");

  m.def(
      "aes_ccm_decrypt",
      [](const nb::bytes& key, const nb::bytes& nonce, const nb::bytes& cipher_and_tag, const nb::bytes& aad,
         size_t tag_len) -> nb::object {
        uint8_t k[kAes128KeyBytes];
        copy_exact(key, k, sizeof(k), "key");
        if (cipher_and_tag.size() < tag_len) throw nb::value_error("shorter than the tag");
        const Aes128 aes(k);
        const size_t n = cipher_and_tag.size() - tag_len;
        const auto* in = reinterpret_cast<const uint8_t*>(cipher_and_tag.c_str());
        std::string plain(n, '\0');
        if (!aes_ccm_decrypt(aes, reinterpret_cast<const uint8_t*>(nonce.c_str()), nonce.size(),
                             reinterpret_cast<const uint8_t*>(aad.c_str()), aad.size(), in, n, in + n, tag_len,
                             reinterpret_cast<uint8_t*>(plain.data()))) {
          return nb::none();
        }
        return nb::bytes(plain.data(), n);
      },
      nb::arg("key"), nb::arg("nonce"), nb::arg("cipher_and_tag"), nb::arg("aad") = nb::bytes("", 0),
      nb::arg("tag_len") = 4, "AES-CCM decrypt of the core: plaintext, or None when the tag is wrong.");

  m.def(
      "aes128_encrypt_block",
      [](const nb::bytes& key, const nb::bytes& block) {
        uint8_t k[kAes128KeyBytes];
        uint8_t b[kAesBlockBytes];
        copy_exact(key, k, sizeof(k), "key");
        copy_exact(block, b, sizeof(b), "block");
        Aes128(k).encrypt_block(b, b);
        return to_bytes(b, sizeof(b));
      },
      nb::arg("key"), nb::arg("block"));

  nb::class_<bthome::Beacon>(m, "Beacon", "Packet id, counter and latest advertisement, as on the board.")
      .def(
          "__init__",
          [](bthome::Beacon* self, const nb::bytes& mac, const nb::object& bind_key, const std::string& name,
             const std::string& alert_object) {
            new (self) bthome::Beacon();
            self->configure(make_config(bind_key, mac, name, alert_object));  // configure copies the name
          },
          nb::arg("mac") = nb::bytes("\0\0\0\0\0\0", 6), nb::arg("bind_key") = nb::none(), nb::arg("name") = "",
          nb::arg("alert_object") = "problem")
      .def(
          "publish",
          [](bthome::Beacon& self, bool alert, bool running, float score) {
            if (self.publish(alert, running, score) == 0) throw nb::value_error("encoding failed");
            return to_bytes(self.advertisement(), self.advertisement_len());
          },
          nb::arg("alert"), nb::arg("running") = true, nb::arg("score") = 0.0f)
      .def(
          "set_bind_key",
          [](bthome::Beacon& self, const nb::object& key) {
            if (key.is_none()) {
              self.set_bind_key(nullptr);
              return;
            }
            uint8_t k[bthome::kBindKeyBytes];
            copy_exact(nb::cast<nb::bytes>(key), k, sizeof(k), "bind_key");
            self.set_bind_key(k);
          },
          nb::arg("bind_key").none())
      .def_prop_rw("counter", &bthome::Beacon::counter, &bthome::Beacon::set_counter)
      .def_prop_ro("packet_id", &bthome::Beacon::packet_id)
      .def_prop_ro("encrypted", [](const bthome::Beacon& self) { return self.config().encrypt; })
      .def_prop_ro("advertisement",
                   [](const bthome::Beacon& self) { return to_bytes(self.advertisement(), self.advertisement_len()); });
}
