// tinyad firmware: boot, tasks and glue. Everything testable lives in the portable core (firmware/core):
// this file only moves bytes and samples between ESP-IDF drivers and tinyad::Device.
//
// Tasks (no heap after boot: static stacks, queues and buffers):
//   sampler   reads the MPU6050 FIFO every ~20 ms and queues samples / sensor events
//   device    owns tinyad::Device: feeds samples (a window is scored every hop, which runs the model and
//             publishes the BLE advertisement) and serial bytes (protocol requests); writes every frame
//   serial    reads the serial link into a stream buffer and wakes the device task
//   ble_adv   (ble_alerts component) hands each new advertisement to the NimBLE controller
// Every task subscribes to the task watchdog and feeds it at least once a second.
#include <stdlib.h>
#include <string.h>

#include "ble_alerts.h"
#include "esp_log.h"
#include "esp_task_wdt.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/queue.h"
#include "freertos/stream_buffer.h"
#include "freertos/task.h"
#include "imu_mpu6050.h"
#include "mpu6050_regs.h"  // lost_samples(), sample_rate_divider(), dlpf_bandwidth_hz()
#include "inference.h"
#include "model_identity.h"
#include "model_settings.h"
#include "nvs_flash.h"
#include "sdkconfig.h"
#include "serial_link.h"
#include "tinyad/device.h"
#include "tinyad/version.h"

namespace {

constexpr const char* kTag = "tinyad";
namespace model = tinyad::model;

// ---------------------------------------------------------------------------------------------- config
#if CONFIG_TINYAD_ACCEL_2G
constexpr uint32_t kAccelFullScaleG = 2;
#elif CONFIG_TINYAD_ACCEL_8G
constexpr uint32_t kAccelFullScaleG = 8;
#elif CONFIG_TINYAD_ACCEL_16G
constexpr uint32_t kAccelFullScaleG = 16;
#else
constexpr uint32_t kAccelFullScaleG = 4;
#endif
#if CONFIG_TINYAD_GYRO_250DPS
constexpr uint32_t kGyroFullScaleDps = 250;
#elif CONFIG_TINYAD_GYRO_1000DPS
constexpr uint32_t kGyroFullScaleDps = 1000;
#elif CONFIG_TINYAD_GYRO_2000DPS
constexpr uint32_t kGyroFullScaleDps = 2000;
#else
constexpr uint32_t kGyroFullScaleDps = 500;
#endif

// The model was trained at one rate with one channel order: refuse to build something that cannot work.
static_assert(static_cast<float>(CONFIG_TINYAD_SAMPLE_RATE_HZ) == static_cast<float>(model::kSampleRateHz),
              "CONFIG_TINYAD_SAMPLE_RATE_HZ (menuconfig) differs from the model's kSampleRateHz");
// The MPU6050 divides its gyro output rate (1 kHz, 8 kHz with DLPF_CFG 0) by an integer 1..256; another rate
// would only fail at run time, as "sensor not responding" with a sensor that answers.
static_assert(mpu6050::sample_rate_divider(CONFIG_TINYAD_SAMPLE_RATE_HZ, CONFIG_TINYAD_DLPF_CFG) >= 0,
              "CONFIG_TINYAD_SAMPLE_RATE_HZ must divide 1000 (4..1000 Hz; with CONFIG_TINYAD_DLPF_CFG 0, 8000 and "
              "32..1000 Hz): the MPU6050 divides its gyro output rate by 1..256");
// Raw counts mean nothing without the range: the model's units_per_count assume the range it was trained with.
static_assert(model::kAccelFullScaleG == 0.0f || static_cast<float>(kAccelFullScaleG) == model::kAccelFullScaleG,
              "the MPU6050 accel range (menuconfig) differs from the one the model was trained with");
static_assert(model::kGyroFullScaleDps == 0.0f ||
                  static_cast<float>(kGyroFullScaleDps) == model::kGyroFullScaleDps,
              "the MPU6050 gyro range (menuconfig) differs from the one the model was trained with");
// The DLPF shapes the spectrum the model learned: keep the one its training recordings were made with.
static_assert(model::kDlpfCfg == -1 || model::kDlpfCfg == CONFIG_TINYAD_DLPF_CFG,
              "CONFIG_TINYAD_DLPF_CFG (menuconfig) differs from the model's kDlpfCfg (its training recordings' DLPF)");
static_assert(model::kChannels == 6 || model::kChannels == 3,
              "the MPU6050 provides ax, ay, az (3 channels) or ax..gz (6 channels)");
// device_task hands the core the FIFO's channels in this order (the first three for 3): a model trained on
// other channels, or in another order, would read the wrong ones without any error.
constexpr const char* kImuChannelNames[6] = {"ax", "ay", "az", "gx", "gy", "gz"};
constexpr bool same_text(const char* a, const char* b) { return *a == *b && (*a == '\0' || same_text(a + 1, b + 1)); }
constexpr bool model_channels_in_imu_order() {
  for (int c = 0; c < model::kChannels; ++c) {
    if (!same_text(model::kChannelNames[c], kImuChannelNames[c])) return false;
  }
  return true;
}
static_assert(model_channels_in_imu_order(), "the model's kChannelNames must be ax ay az [gx gy gz] in this order");
static_assert(static_cast<size_t>(model::kWindow) * model::kChannels <= tinyad::kMaxWindowValues,
              "window x channels exceeds the core's TINYAD_MAX_WINDOW_VALUES");
static_assert(model::kNumClasses >= 2 && model::kNumClasses <= tinyad::kMaxClasses, "2..16 classes");

constexpr uint32_t kSamplerPeriodMs = 20;     // FIFO holds 850 ms at 100 Hz: a 20 ms poll is far from overflow
constexpr uint32_t kSensorRetryMs = 2000;     // retry interval while the sensor is absent
constexpr size_t kQueueItems = 128;           // > 1 s of samples at 100 Hz: covers a slow INFER request
constexpr size_t kRxStreamBytes = 4096;

// ------------------------------------------------------------------------------------------ queue item
enum class ItemKind : uint8_t { kSample, kLost, kSensorError, kSensorOk, kRxReady };

struct Item {
  ItemKind kind;
  uint8_t sensor_flags;  // kSensorError: tinyad::kSensor* flags
  int16_t raw[6];
  uint32_t lost;         // kLost: samples lost in a FIFO overflow
  uint64_t timestamp_us;
};

// ------------------------------------------------------------------------------------------------ state
tinyad::Device g_device;  // about 5.2 KB (32-bit): static, owned by the device task after boot
StaticQueue_t g_queue_storage;
uint8_t g_queue_buffer[kQueueItems * sizeof(Item)];
QueueHandle_t g_queue = nullptr;
StaticStreamBuffer_t g_rx_storage;
uint8_t g_rx_buffer[kRxStreamBytes + 1];
StreamBufferHandle_t g_rx = nullptr;
imu_mpu6050_handle_t g_imu = nullptr;
bool g_model_ok = false;
bool g_ble_on = false;
float g_last_smoothed = 0.0f;

StaticTask_t g_sampler_tcb, g_device_tcb, g_serial_tcb;
StackType_t g_sampler_stack[4096], g_device_stack[8192], g_serial_stack[3072];

// ---------------------------------------------------------------------------------------- core hooks
// Each frame goes out with a 0x00 in front (empty frames are ignored, docs/protocol.md): bytes before it that are
// not a frame (console text on a shared UART0, a frame cut short) then end there and cost the host only
// themselves, not this frame too. One write call, so console text cannot fall between the two.
uint8_t g_tx_wire[1 + tinyad::kMaxWireFrame];  // device task only

void hook_write(void*, const uint8_t* data, size_t n) {
  if (n == 0 || n > tinyad::kMaxWireFrame) return;  // the core never sends more
  g_tx_wire[0] = 0x00;
  memcpy(g_tx_wire + 1, data, n);
  // A host that stopped reading must not stall the device task (inference, BLE): frames are dropped after
  // 50 ms, and without waiting after such a drop until a write goes through again (serial_link.h).
  serial_link_write(g_tx_wire, n + 1, 50);
}

bool hook_invoke(void*, const int8_t* input, size_t n_input, int8_t* output, size_t n_output, uint32_t* invoke_us) {
  if (!g_model_ok) return false;
  return inference_invoke(input, n_input, output, n_output, invoke_us) == ESP_OK;
}

uint64_t hook_now_us(void*) { return static_cast<uint64_t>(esp_timer_get_time()); }

size_t hook_advertisement(void*, uint8_t* out, size_t cap) { return ble_alerts_advertisement(out, cap); }

bool hook_stream_control(void*, bool) {
  // The sampler runs all the time (windows are scored whether or not the host streams); streaming is
  // refused only while the sensor is absent or wrong (a past FIFO overflow is not a reason).
  constexpr uint8_t kFatal = tinyad::kSensorNotResponding | tinyad::kSensorBadWhoAmI;
  return (g_device.counters().sensor_error_flags & kFatal) == 0;
}

void hook_window_scored(void*, tinyad::AlertState state, float smoothed, uint32_t) {
  g_last_smoothed = smoothed;
  // The advertisement changes within this call: the alert reaches the air on the hop that raised it.
  if (g_ble_on) ble_alerts_publish(state == tinyad::AlertState::kAlert, true, smoothed);
}

// BIND_KEY_SET: the ble_alerts component stores the key in NVS and re-keys the beacon. Only the check value is
// logged and returned; the key stays in the component.
bool hook_set_bind_key(void*, const uint8_t* key, size_t n, uint8_t check[tinyad::kBindKeyCheckSize]) {
  const esp_err_t err = ble_alerts_set_bind_key(n == tinyad::kBindKeySize ? key : nullptr);
  if (err != ESP_OK) {
    ESP_LOGE(kTag, "bind key not stored: %s", esp_err_to_name(err));
    return false;
  }
  uint32_t kcv = 0;
  if (ble_alerts_key_check_value(&kcv)) {
    ESP_LOGI(kTag, "BTHome bind key set over serial, key check value %08x", static_cast<unsigned>(kcv));
  } else {
    ESP_LOGI(kTag, "BTHome encryption switched off over serial");
  }
  for (size_t i = 0; i < tinyad::kBindKeyCheckSize; ++i) check[i] = static_cast<uint8_t>(kcv >> (24 - 8 * i));
  return true;
}

// -------------------------------------------------------------------------------------------- helpers
uint8_t sensor_flags_for(esp_err_t err) {
  if (err == ESP_ERR_NOT_SUPPORTED) return tinyad::kSensorBadWhoAmI;
  return tinyad::kSensorNotResponding;
}

// Samples the queue could not take (the device task fell behind by more than a second). They are reported
// as one kLost item, like a FIFO overflow, before the next sample gets through, so the core never joins a
// window across the gap. Touched by the sampler task only.
uint32_t g_dropped_samples = 0;

void post(const Item& item, TickType_t wait) {
  if (g_dropped_samples != 0) {
    Item gap{};
    gap.kind = ItemKind::kLost;
    gap.lost = g_dropped_samples;
    if (xQueueSend(g_queue, &gap, wait) == pdTRUE) {
      g_dropped_samples = 0;
    } else if (item.kind == ItemKind::kSample) {
      ++g_dropped_samples;  // a sample may not overtake the gap it follows
      return;
    }
  }
  if (xQueueSend(g_queue, &item, wait) != pdTRUE && item.kind == ItemKind::kSample) ++g_dropped_samples;
}

void sensor_error(uint8_t flags) {
  Item item{};
  item.kind = ItemKind::kSensorError;
  item.sensor_flags = flags;
  post(item, pdMS_TO_TICKS(100));
}

// --------------------------------------------------------------------------------------------- tasks
void sampler_task(void*) {
  esp_task_wdt_add(nullptr);
  bool running = false;
  // esp_timer time of the last read that delivered samples (0: none yet). Gaps are measured on this clock on
  // both sides: the sample timestamps follow the sensor's oscillator, which drifts against it.
  uint64_t last_delivery_us = 0;
  // Static, not on the task's stack: 1 KB of samples would leave little of its 4 KB for the I2C driver and logging.
  static imu_sample_t samples[32];
  for (;;) {
    esp_task_wdt_reset();
    if (!running) {
      const esp_err_t err = imu_mpu6050_start(g_imu);
      if (err != ESP_OK) {
        sensor_error(sensor_flags_for(err));  // reported over serial (STATUS) and BLE (running = 0)
        vTaskDelay(pdMS_TO_TICKS(kSensorRetryMs));
        continue;
      }
      running = true;
      if (last_delivery_us != 0) {
        // The sensor came back after an outage: report the gap so the core does not stitch a window
        // across it (it restarts the pending window, as after a FIFO overflow).
        Item gap{};
        gap.kind = ItemKind::kLost;
        const uint64_t now = static_cast<uint64_t>(esp_timer_get_time());
        gap.lost = mpu6050::lost_samples(now > last_delivery_us ? now - last_delivery_us : 0,
                                         CONFIG_TINYAD_SAMPLE_RATE_HZ, 0);
        if (gap.lost == 0) gap.lost = 1;
        post(gap, pdMS_TO_TICKS(100));
      }
      Item ok{};
      ok.kind = ItemKind::kSensorOk;
      post(ok, pdMS_TO_TICKS(100));
    }
    vTaskDelay(pdMS_TO_TICKS(kSamplerPeriodMs));
    size_t count = 0;
    uint32_t lost = 0;
    const uint64_t read_at = static_cast<uint64_t>(esp_timer_get_time());  // before posting, which may block
    const esp_err_t err = imu_mpu6050_read(g_imu, samples, sizeof(samples) / sizeof(samples[0]), &count, &lost);
    if (err != ESP_OK) {
      ESP_LOGE(kTag, "sensor read failed: %s", esp_err_to_name(err));
      running = false;
      sensor_error(tinyad::kSensorNotResponding);
      continue;
    }
    if (lost != 0) {
      Item item{};
      item.kind = ItemKind::kLost;
      item.lost = lost;
      post(item, pdMS_TO_TICKS(100));
    }
    for (size_t i = 0; i < count; ++i) {
      Item item{};
      item.kind = ItemKind::kSample;
      memcpy(item.raw, samples[i].raw, sizeof(item.raw));
      item.timestamp_us = samples[i].timestamp_us;
      post(item, pdMS_TO_TICKS(10));
    }
    if (count != 0) last_delivery_us = read_at;
  }
}

void device_task(void*) {
  esp_task_wdt_add(nullptr);
  uint8_t rx[256];
  int16_t channels[6];
  for (;;) {
    Item item;
    const bool got = xQueueReceive(g_queue, &item, pdMS_TO_TICKS(500)) == pdTRUE;
    esp_task_wdt_reset();
    // Serial bytes first: a request waits at most one sample's worth of work.
    size_t n;
    while ((n = xStreamBufferReceive(g_rx, rx, sizeof(rx), 0)) > 0) g_device.on_rx(rx, n);
    if (!got) continue;
    switch (item.kind) {
      case ItemKind::kSample:
        if (model::kChannels == 6) {
          g_device.on_sample(item.raw, item.timestamp_us);
        } else {
          memcpy(channels, item.raw, 3 * sizeof(int16_t));  // accelerometer-only model
          g_device.on_sample(channels, item.timestamp_us);
        }
        break;
      case ItemKind::kLost:
        g_device.note_fifo_overflow(item.lost);
        break;
      case ItemKind::kSensorError:
        if (g_device.counters().sensor_error_flags != item.sensor_flags) {
          g_device.set_sensor_error(item.sensor_flags);
          if (g_ble_on) ble_alerts_publish(false, false, g_last_smoothed);
        }
        break;
      case ItemKind::kSensorOk:
        g_device.set_sensor_error(0);
        // The alert state the core is in: an alert raised before the outage still stands (it clears by the
        // thresholds, as scored windows come again), not by the sensor coming back.
        if (g_ble_on) {
          ble_alerts_publish(g_device.alert_state() == tinyad::AlertState::kAlert, g_model_ok, g_last_smoothed);
        }
        break;
      case ItemKind::kRxReady:
        break;  // bytes were drained above
    }
  }
}

void serial_task(void*) {
  esp_task_wdt_add(nullptr);
  uint8_t buffer[256];
  for (;;) {
    const size_t n = serial_link_read(buffer, sizeof(buffer), 100);
    esp_task_wdt_reset();
    if (n == 0) continue;
    size_t sent = 0;
    while (sent < n) {  // the device task drains continuously; wait in slices to keep feeding the watchdog
      sent += xStreamBufferSend(g_rx, buffer + sent, n - sent, pdMS_TO_TICKS(200));
      esp_task_wdt_reset();
    }
    Item wake{};
    wake.kind = ItemKind::kRxReady;
    xQueueSend(g_queue, &wake, 0);  // if the queue is full the device task is awake anyway
  }
}

// An empty menuconfig string means "the model's default" (model_settings.h).
float kconfig_float(const char* text, float fallback) {
  if (text[0] == '\0') return fallback;
  char* end = nullptr;
  const float value = strtof(text, &end);
  if (end == text || value != value) {
    ESP_LOGE(kTag, "menuconfig value '%s' is not a number, using %.3f", text, static_cast<double>(fallback));
    return fallback;
  }
  return value;
}

tinyad::DeviceIdentity make_identity(const inference_info_t& info) {
  tinyad::DeviceIdentity id;
  id.board = CONFIG_IDF_TARGET;
  id.sensor = "MPU6050";
  id.accel_full_scale_g = static_cast<float>(kAccelFullScaleG);
  id.gyro_full_scale_dps = static_cast<float>(kGyroFullScaleDps);
  id.sample_rate_hz = static_cast<float>(CONFIG_TINYAD_SAMPLE_RATE_HZ);
  id.dlpf_bandwidth_hz = mpu6050::dlpf_bandwidth_hz(CONFIG_TINYAD_DLPF_CFG);
  model_identity::fill_from_model(id);
  id.arena_bytes = static_cast<uint32_t>(info.arena_used_bytes);
  id.alert.threshold_on = kconfig_float(CONFIG_TINYAD_THRESHOLD_ON, model::kAlertThresholdOn);
  id.alert.threshold_off = kconfig_float(CONFIG_TINYAD_THRESHOLD_OFF, model::kAlertThresholdOff);
  if (id.alert.threshold_off > id.alert.threshold_on) {
    ESP_LOGE(kTag, "THRESHOLD_OFF > THRESHOLD_ON in menuconfig: using OFF = ON");
    id.alert.threshold_off = id.alert.threshold_on;
  }
  // 0 / -1 in menuconfig: the model's defaults.
  id.alert.min_windows = CONFIG_TINYAD_MIN_WINDOWS > 0 ? CONFIG_TINYAD_MIN_WINDOWS : model::kAlertMinWindows;
  id.alert.cooldown_windows =
      CONFIG_TINYAD_COOLDOWN_WINDOWS >= 0 ? CONFIG_TINYAD_COOLDOWN_WINDOWS : model::kAlertCooldownWindows;
  id.ewma_alpha = kconfig_float(CONFIG_TINYAD_EWMA_ALPHA, model::kEwmaAlpha);
  id.flags = g_ble_on ? tinyad::kInfoFlagBle : 0;
  return id;
}

void init_nvs() {
  esp_err_t err = nvs_flash_init();
  if (err == ESP_ERR_NVS_NO_FREE_PAGES || err == ESP_ERR_NVS_NEW_VERSION_FOUND) {
    ESP_ERROR_CHECK(nvs_flash_erase());  // layout changed: start clean (the bind key must be set again)
    err = nvs_flash_init();
  }
  ESP_ERROR_CHECK(err);
}

}  // namespace

extern "C" void app_main(void) {
  ESP_LOGI(kTag, "tinyad firmware %s on %s: window %d, hop %d, %d channels @ %d Hz",
           tinyad::firmware_version_string(), CONFIG_IDF_TARGET, static_cast<int>(model::kWindow),
           static_cast<int>(model::kHop), static_cast<int>(model::kChannels), CONFIG_TINYAD_SAMPLE_RATE_HZ);
  init_nvs();

  inference_info_t info{};
  g_model_ok = inference_init(&info) == ESP_OK;  // logs arena_used_bytes() or the reason it failed
  if (!g_model_ok) ESP_LOGE(kTag, "NO MODEL: windows will not be scored; the board reports the error");

#if CONFIG_TINYAD_BLE_ENABLED
  ble_alerts_config_t ble{};
  ble.name = CONFIG_TINYAD_BLE_NAME;
#if CONFIG_TINYAD_BLE_ALERT_VIBRATION  // bool Kconfig options are undefined (not 0) when off
  ble.alert_as_vibration = true;
#endif
  ble.adv_interval_ms = CONFIG_TINYAD_BLE_ADV_INTERVAL_MS;
  ble.bind_key_hex = CONFIG_TINYAD_BLE_BIND_KEY;
  g_ble_on = ble_alerts_start(&ble) == ESP_OK;
  if (!g_ble_on) ESP_LOGE(kTag, "BLE alerts unavailable");
  if (g_ble_on && !g_model_ok) ble_alerts_publish(false, false, 0.0f);
#endif

  tinyad::DeviceHooks hooks;
  hooks.write = hook_write;
  hooks.invoke = hook_invoke;
  hooks.now_us = hook_now_us;
  hooks.advertisement = g_ble_on ? hook_advertisement : nullptr;
  hooks.stream_control = hook_stream_control;
  hooks.window_scored = hook_window_scored;
  hooks.set_bind_key = g_ble_on ? hook_set_bind_key : nullptr;
  if (!g_device.begin(make_identity(info), hooks)) {
    // Only possible with a model the core cannot hold (checked at compile time above) or bad thresholds.
    ESP_LOGE(kTag, "tinyad::Device::begin() rejected the model identity: not starting");
    if (g_ble_on) ble_alerts_publish(false, false, 0.0f);
    return;
  }
  uint32_t boot_kcv = 0;
  if (g_ble_on && ble_alerts_key_check_value(&boot_kcv)) {  // a key from NVS or Kconfig: INFO and BIND_KEY_CHECK
    uint8_t check[tinyad::kBindKeyCheckSize];
    for (size_t i = 0; i < sizeof(check); ++i) check[i] = static_cast<uint8_t>(boot_kcv >> (24 - 8 * i));
    g_device.set_bind_key_state(true, check);
  }

  imu_mpu6050_config_t imu{};
  imu.i2c_port = CONFIG_TINYAD_I2C_PORT;
  imu.sda_gpio = CONFIG_TINYAD_I2C_SDA_GPIO;
  imu.scl_gpio = CONFIG_TINYAD_I2C_SCL_GPIO;
  imu.i2c_freq_hz = CONFIG_TINYAD_I2C_FREQ_HZ;
#if CONFIG_TINYAD_I2C_INTERNAL_PULLUPS
  imu.internal_pullups = true;
#endif
  imu.address = CONFIG_TINYAD_MPU6050_ADDRESS;
  imu.sample_rate_hz = CONFIG_TINYAD_SAMPLE_RATE_HZ;
  imu.dlpf_cfg = CONFIG_TINYAD_DLPF_CFG;
  imu.accel_full_scale_g = kAccelFullScaleG;
  imu.gyro_full_scale_dps = kGyroFullScaleDps;
  // Bus setup only: an absent sensor is not an error here. Bad pins (menuconfig) are: the board keeps
  // answering the protocol and reports the sensor error (the sampler retries with no handle) instead of
  // rebooting in a loop.
  const esp_err_t imu_err = imu_mpu6050_new(&imu, &g_imu);
  if (imu_err != ESP_OK) {
    ESP_LOGE(kTag, "I2C bus setup failed (%s): check the SDA/SCL pins in menuconfig -> tinyad",
             esp_err_to_name(imu_err));
  }

  g_queue = xQueueCreateStatic(kQueueItems, sizeof(Item), g_queue_buffer, &g_queue_storage);
  g_rx = xStreamBufferCreateStatic(kRxStreamBytes, 1, g_rx_buffer, &g_rx_storage);
  ESP_ERROR_CHECK(serial_link_start());

  // Device first (it must drain the queue), then the producers.
  xTaskCreateStaticPinnedToCore(device_task, "device", sizeof(g_device_stack) / sizeof(StackType_t), nullptr, 8,
                                g_device_stack, &g_device_tcb, tskNO_AFFINITY);
  xTaskCreateStaticPinnedToCore(sampler_task, "sampler", sizeof(g_sampler_stack) / sizeof(StackType_t), nullptr,
                                10, g_sampler_stack, &g_sampler_tcb, tskNO_AFFINITY);
  serial_link_silence_console();  // from here on UART0 (if shared) carries only protocol frames
  xTaskCreateStaticPinnedToCore(serial_task, "serial", sizeof(g_serial_stack) / sizeof(StackType_t), nullptr, 9,
                                g_serial_stack, &g_serial_tcb, tskNO_AFFINITY);
}
