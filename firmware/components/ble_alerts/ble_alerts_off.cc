// The BLE alerts API when Bluetooth (NimBLE) is off in menuconfig: the NimBLE headers do not exist then, so
// CMakeLists.txt compiles this file instead of ble_alerts.cc. The board still samples, scores and answers
// the serial protocol; BLE requests fail with ESP_ERR_NOT_SUPPORTED.
#include "ble_alerts.h"

extern "C" esp_err_t ble_alerts_start(const ble_alerts_config_t*) { return ESP_ERR_NOT_SUPPORTED; }

extern "C" esp_err_t ble_alerts_publish(bool, bool, float) { return ESP_ERR_NOT_SUPPORTED; }

extern "C" size_t ble_alerts_advertisement(uint8_t*, size_t) { return 0; }

extern "C" esp_err_t ble_alerts_set_bind_key(const uint8_t*) { return ESP_ERR_NOT_SUPPORTED; }

extern "C" bool ble_alerts_key_check_value(uint32_t*) { return false; }
