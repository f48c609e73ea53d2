#include "ble_alerts.h"

#include <stdio.h>
#include <string.h>

#include "esp_log.h"
#include "esp_mac.h"
#include "esp_random.h"
#include "esp_timer.h"
#include "esp_task_wdt.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "host/ble_hs.h"
#include "nimble/nimble_port.h"
#include "nimble/nimble_port_freertos.h"
#include "nvs.h"
#include "tinyad/bthome.h"

// BTHome goes out as legacy advertising (31 bytes). With extended advertising on, NimBLE's ble_gap_adv_set_data()
// returns BLE_HS_ENOTSUP (ble_gap.c), and without the broadcaster role the advertising code is not built: either
// would build fine and advertise nothing. sdkconfig.defaults sets both; a menuconfig change is stopped here.
#if CONFIG_BT_NIMBLE_EXT_ADV
#error "tinyad's BTHome alerts use legacy advertising: turn off CONFIG_BT_NIMBLE_EXT_ADV (menuconfig: NimBLE options)"
#endif
#if !CONFIG_BT_NIMBLE_ROLE_BROADCASTER
#error "tinyad's BTHome alerts need the NimBLE broadcaster role: turn on CONFIG_BT_NIMBLE_ROLE_BROADCASTER"
#endif

namespace {

constexpr const char* kTag = "ble_alerts";
constexpr const char* kNvsNamespace = "tinyad_ble";
constexpr const char* kNvsKeyBindKey = "bindkey";
constexpr const char* kNvsKeyCounter = "ctr_next";
// The encryption counter is persisted in blocks: at boot we continue from the stored value and reserve the
// next block, so a reboot never reuses a nonce and NVS sees one write per kCounterBlock advertisements. No
// encrypted packet goes out with a counter beyond the last reservation NVS accepted.
constexpr uint32_t kCounterBlock = 4096;

tinyad::bthome::Beacon g_beacon;                  // guarded by g_lock
uint8_t g_on_air[tinyad::bthome::kLegacyAdvBytes];  // copy handed to the controller, guarded by g_lock
size_t g_on_air_len = 0;
uint32_t g_counter_reserved_until = 0;  // the highest counter NVS holds a reservation for; guarded by g_lock
// After NVS refused a reservation, encrypted advertising pauses (the last packet stays on air) and the write is
// retried at this interval, not on every hop: NVS writes take milliseconds in the device task.
constexpr int64_t kReserveRetryUs = 30LL * 1000 * 1000;
int64_t g_next_reserve_attempt_us = 0;  // guarded by g_lock
StaticSemaphore_t g_lock_storage;
SemaphoreHandle_t g_lock = nullptr;
StaticTask_t g_task_storage;
StackType_t g_task_stack[4096];  // NimBLE's own host task, making the same calls, gets 4096
TaskHandle_t g_task = nullptr;
volatile bool g_synced = false;
uint32_t g_adv_interval_ms = 100;

bool parse_hex_key(const char* hex, uint8_t key[16]) {
  if (hex == nullptr || strlen(hex) != 32) return false;
  for (int i = 0; i < 16; ++i) {
    unsigned value = 0;
    if (sscanf(hex + 2 * i, "%2x", &value) != 1) return false;
    key[i] = static_cast<uint8_t>(value);
  }
  return true;
}

// Stores the reservation; false (and logged) when NVS refused it.
bool persist_counter_reservation(uint32_t until) {
  nvs_handle_t nvs;
  esp_err_t err = nvs_open(kNvsNamespace, NVS_READWRITE, &nvs);
  if (err == ESP_OK) {
    err = nvs_set_u32(nvs, kNvsKeyCounter, until);
    if (err == ESP_OK) err = nvs_commit(nvs);
    nvs_close(nvs);
  }
  if (err != ESP_OK) ESP_LOGE(kTag, "cannot store the encryption counter: %s", esp_err_to_name(err));
  return err == ESP_OK;
}

// Starts (or restarts) non-connectable, non-scannable legacy advertising (ADV_NONCONN_IND) with the current
// bytes. NimBLE picks the PDU from both modes: a "general discoverable" beacon would be ADV_SCAN_IND and
// answer every active scanner's scan request with an empty response.
void start_advertising() {
  ble_gap_adv_params params;
  memset(&params, 0, sizeof(params));
  params.conn_mode = BLE_GAP_CONN_MODE_NON;
  params.disc_mode = BLE_GAP_DISC_MODE_NON;  // the flags AD (LE General Discoverable) is in the payload
  const uint16_t units = static_cast<uint16_t>(g_adv_interval_ms * 8 / 5);  // 0.625 ms units
  params.itvl_min = units;
  params.itvl_max = units;
  const int rc = ble_gap_adv_start(BLE_OWN_ADDR_PUBLIC, nullptr, BLE_HS_FOREVER, &params, nullptr, nullptr);
  if (rc != 0 && rc != BLE_HS_EALREADY) ESP_LOGE(kTag, "ble_gap_adv_start: %d", rc);
}

// Hands the latest bytes to the controller. Legacy ble_gap_adv_set_data updates the data while advertising
// (it sends HCI LE Set Advertising Data); should a host refuse with BLE_HS_EBUSY, stop, set, start again.
// Advertising is (re)started on every path that leaves it stopped, so a failed set never leaves the board silent.
void push_to_controller() {
  uint8_t bytes[tinyad::bthome::kLegacyAdvBytes];
  size_t len = 0;
  xSemaphoreTake(g_lock, portMAX_DELAY);
  len = g_on_air_len;
  memcpy(bytes, g_on_air, len);
  xSemaphoreGive(g_lock);
  if (len == 0) return;
  int rc = ble_gap_adv_set_data(bytes, static_cast<int>(len));
  if (rc == BLE_HS_EBUSY) {
    ble_gap_adv_stop();
    rc = ble_gap_adv_set_data(bytes, static_cast<int>(len));
  }
  if (rc != 0) ESP_LOGE(kTag, "ble_gap_adv_set_data: %d", rc);  // the previous bytes stay on air
  if (!ble_gap_adv_active()) start_advertising();
}

void advertiser_task(void*) {
  esp_task_wdt_add(nullptr);
  for (;;) {
    // Woken by ble_alerts_publish(); the timeout only keeps the watchdog fed while nothing changes.
    const uint32_t woken = ulTaskNotifyTake(pdTRUE, pdMS_TO_TICKS(1000));
    esp_task_wdt_reset();
    if (woken != 0 && g_synced) push_to_controller();
  }
}

void on_sync() {
  // Public address as NimBLE stores it: val[0] is the least significant byte. The BTHome nonce (and
  // bthome-ble's parser) wants it most significant byte first, as printed; compare with esp_read_mac.
  uint8_t le_addr[6] = {};
  if (ble_hs_id_copy_addr(BLE_ADDR_PUBLIC, le_addr, nullptr) == 0) {
    const tinyad::bthome::EncoderConfig& config = g_beacon.config();
    bool same = true;
    for (int i = 0; i < 6; ++i) same = same && (le_addr[5 - i] == config.mac[i]);
    if (!same) ESP_LOGE(kTag, "controller address differs from the eFuse BT MAC: encrypted packets will fail");
  }
  g_synced = true;
  xTaskNotifyGive(g_task);
}

void on_reset(int reason) {
  g_synced = false;
  ESP_LOGW(kTag, "NimBLE host reset (reason %d)", reason);
}

void host_task(void*) {
  nimble_port_run();  // returns only after nimble_port_stop()
  nimble_port_freertos_deinit();
}

}  // namespace

extern "C" esp_err_t ble_alerts_start(const ble_alerts_config_t* config) {
  if (config == nullptr) return ESP_ERR_INVALID_ARG;
  if (g_lock != nullptr) return ESP_ERR_INVALID_STATE;
  g_lock = xSemaphoreCreateMutexStatic(&g_lock_storage);
  // Non-connectable advertising may not be faster than 100 ms on Bluetooth 4.2 controllers (classic ESP32).
  g_adv_interval_ms = config->adv_interval_ms < 100 ? 100 : config->adv_interval_ms;

  tinyad::bthome::EncoderConfig encoder;
  encoder.alert_object = config->alert_as_vibration ? tinyad::bthome::AlertObject::kVibration
                                                    : tinyad::bthome::AlertObject::kProblem;
  encoder.name = config->name;
  // ESP_MAC_BT: the public Bluetooth address, bytes in printed order (esp_mac.h).
  esp_err_t err = esp_read_mac(encoder.mac, ESP_MAC_BT);
  if (err != ESP_OK) return err;

  // Bind key: NVS (set over serial) wins over the compiled-in Kconfig key. Only the check value is logged.
  uint8_t key[16];
  bool have_key = false;
  uint32_t counter = 0;
  esp_err_t counter_err = ESP_ERR_NVS_NOT_FOUND;
  nvs_handle_t nvs;
  if (nvs_open(kNvsNamespace, NVS_READWRITE, &nvs) == ESP_OK) {
    size_t len = sizeof(key);
    have_key = nvs_get_blob(nvs, kNvsKeyBindKey, key, &len) == ESP_OK && len == sizeof(key);
    counter_err = nvs_get_u32(nvs, kNvsKeyCounter, &counter);
    nvs_close(nvs);
  }
  if (!have_key) have_key = parse_hex_key(config->bind_key_hex, key);
  else if (config->bind_key_hex != nullptr && config->bind_key_hex[0] != '\0') {
    ESP_LOGI(kTag, "bind key from NVS overrides the compiled-in one");
  }
  if (config->bind_key_hex != nullptr && config->bind_key_hex[0] != '\0' && !have_key) {
    ESP_LOGE(kTag, "CONFIG_TINYAD_BLE_BIND_KEY is not 32 hex characters: advertising UNENCRYPTED");
  }
  ESP_LOGI(kTag, "address %02X:%02X:%02X:%02X:%02X:%02X", encoder.mac[0], encoder.mac[1], encoder.mac[2],
           encoder.mac[3], encoder.mac[4], encoder.mac[5]);

  g_task = xTaskCreateStaticPinnedToCore(advertiser_task, "ble_adv", sizeof(g_task_stack) / sizeof(StackType_t),
                                         nullptr, 5, g_task_stack, &g_task_storage, tskNO_AFFINITY);
  // NimBLE host + controller (ESP-IDF 5.x: nimble_port_init() also initializes the controller).
  err = nimble_port_init();
  if (err != ESP_OK) {
    ESP_LOGE(kTag, "nimble_port_init: %s", esp_err_to_name(err));
    return err;
  }
  // After nimble_port_init(): the controller is on, so esp_random() draws true random numbers (before it, only
  // pseudo-random ones: ESP-IDF's "Random Number Generation"). The host task does not run yet.
  if (counter_err != ESP_OK) {
    // No stored counter (a new board, or NVS erased) or an unreadable one. A compiled-in key survives an NVS
    // erase, so counting from 0 again could repeat nonces under the same key: start at a random point in the
    // upper half instead, above anything a board counting from 0 reaches in years (receivers such as Home
    // Assistant's drop packets whose counter is not above the last one seen), with 2^30 packets of room.
    counter = 0x80000000u | (esp_random() >> 2);
    if (have_key) ESP_LOGW(kTag, "no stored encryption counter (%s): starting at a random one",
                           esp_err_to_name(counter_err));
  }
  g_beacon.configure(encoder);
  g_beacon.set_bind_key(have_key ? key : nullptr);
  memset(key, 0, sizeof(key));
  g_beacon.set_counter(counter);
  g_counter_reserved_until = persist_counter_reservation(counter + kCounterBlock) ? counter + kCounterBlock : counter;
  uint32_t kcv = 0;
  if (ble_alerts_key_check_value(&kcv)) {
    ESP_LOGI(kTag, "BTHome encryption on, key check value %08x, counter from %u", (unsigned)kcv, (unsigned)counter);
  } else {
    ESP_LOGI(kTag, "BTHome unencrypted");
  }
  ble_hs_cfg.sync_cb = on_sync;
  ble_hs_cfg.reset_cb = on_reset;
  nimble_port_freertos_init(host_task);
  const esp_err_t first = ble_alerts_publish(false, true, 0.0f);
  if (first == ESP_ERR_INVALID_STATE) {  // NimBLE runs; only the counter could not be reserved yet
    ESP_LOGE(kTag, "encrypted advertising paused until NVS takes the counter reservation (retried every %d s)",
             static_cast<int>(kReserveRetryUs / 1000000));
    return ESP_OK;
  }
  return first;
}

extern "C" esp_err_t ble_alerts_publish(bool alert, bool running, float score) {
  if (g_lock == nullptr) return ESP_ERR_INVALID_STATE;
  const int64_t now = esp_timer_get_time();
  xSemaphoreTake(g_lock, portMAX_DELAY);
  const bool encrypted = g_beacon.config().encrypt;
  const uint32_t used = g_beacon.counter();  // the next packet uses used + 1
  const bool reserve = encrypted && used >= g_counter_reserved_until && now >= g_next_reserve_attempt_us;
  xSemaphoreGive(g_lock);
  if (reserve) {
    const bool stored = persist_counter_reservation(used + kCounterBlock);  // outside the lock: NVS takes ms
    xSemaphoreTake(g_lock, portMAX_DELAY);
    if (stored && used + kCounterBlock > g_counter_reserved_until) g_counter_reserved_until = used + kCounterBlock;
    g_next_reserve_attempt_us = stored ? 0 : now + kReserveRetryUs;
    xSemaphoreGive(g_lock);
  }
  size_t len = 0;
  xSemaphoreTake(g_lock, portMAX_DELAY);
  // Not past the stored reservation: the advertisement on air stays the last one (same counter, same bytes).
  const bool allowed = !g_beacon.config().encrypt || g_beacon.counter() < g_counter_reserved_until;
  if (allowed) len = g_beacon.publish(alert, running, score);
  if (len != 0) {
    memcpy(g_on_air, g_beacon.advertisement(), len);
    g_on_air_len = len;
  }
  xSemaphoreGive(g_lock);
  if (!allowed) return ESP_ERR_INVALID_STATE;
  if (len == 0) return ESP_FAIL;
  if (g_task != nullptr) xTaskNotifyGive(g_task);
  return ESP_OK;
}

extern "C" size_t ble_alerts_advertisement(uint8_t* out, size_t capacity) {
  if (g_lock == nullptr || out == nullptr) return 0;
  xSemaphoreTake(g_lock, portMAX_DELAY);
  const size_t len = g_on_air_len <= capacity ? g_on_air_len : 0;
  memcpy(out, g_on_air, len);
  xSemaphoreGive(g_lock);
  return len;
}

extern "C" esp_err_t ble_alerts_set_bind_key(const uint8_t* key) {
  if (g_lock == nullptr) return ESP_ERR_INVALID_STATE;
  nvs_handle_t nvs;
  esp_err_t err = nvs_open(kNvsNamespace, NVS_READWRITE, &nvs);
  if (err != ESP_OK) return err;
  err = key != nullptr ? nvs_set_blob(nvs, kNvsKeyBindKey, key, 16) : nvs_erase_key(nvs, kNvsKeyBindKey);
  if (err == ESP_ERR_NVS_NOT_FOUND) err = ESP_OK;
  if (err == ESP_OK) err = nvs_commit(nvs);
  nvs_close(nvs);
  if (err != ESP_OK) return err;
  xSemaphoreTake(g_lock, portMAX_DELAY);
  g_beacon.set_bind_key(key);
  xSemaphoreGive(g_lock);
  return ESP_OK;
}

extern "C" bool ble_alerts_key_check_value(uint32_t* check_value) {
  if (g_lock == nullptr) return false;
  xSemaphoreTake(g_lock, portMAX_DELAY);
  const tinyad::bthome::EncoderConfig& config = g_beacon.config();
  const bool encrypted = config.encrypt;
  if (encrypted && check_value != nullptr) *check_value = tinyad::bthome::bind_key_check_value(config.bind_key);
  xSemaphoreGive(g_lock);
  return encrypted;
}
