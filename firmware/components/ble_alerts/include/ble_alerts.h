// BLE alerts: BTHome v2 advertisements (encoded by the portable core, tinyad/bthome.h) broadcast with
// NimBLE as a non-connectable legacy advertiser. The device task publishes a reading; a small advertiser
// task hands the new bytes to the controller, so a scored window reaches the air within milliseconds.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  const char* name;            // advertised name (shortened to fit)
  bool alert_as_vibration;     // BTHome object 0x2C instead of 0x26 "problem"
  uint32_t adv_interval_ms;    // 100..10240
  const char* bind_key_hex;    // compiled-in key (32 hex chars) or "" / NULL; a key stored in NVS wins
} ble_alerts_config_t;

// Initializes NVS-backed state (bind key, encryption counter), NimBLE and the advertiser task. The first
// advertisement ("running", score 0) goes out once the host has synced with the controller.
esp_err_t ble_alerts_start(const ble_alerts_config_t* config);

// Encodes a new reading (next packet id; next counter when encrypted) and wakes the advertiser.
// Safe to call from any task; never blocks on the radio.
esp_err_t ble_alerts_publish(bool alert, bool running, float score);

// The advertisement being broadcast (the ADV reply to ADV_GET). Returns its length (0 before the first).
size_t ble_alerts_advertisement(uint8_t* out, size_t capacity);

// Replaces the bind key (16 bytes; NULL clears it and switches encryption off) and stores it in NVS.
esp_err_t ble_alerts_set_bind_key(const uint8_t* key);

// Identifies the active key without revealing it (AES-128(key, 0^16)[0..3]); false if unencrypted.
bool ble_alerts_key_check_value(uint32_t* check_value);

#ifdef __cplusplus
}
#endif
