#include "imu_mpu6050.h"

#include <string.h>

#include "driver/i2c_master.h"
#include "esp_log.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "mpu6050_regs.h"

namespace {

constexpr const char* kTag = "mpu6050";
constexpr size_t kChunkSamples = 16;  // per I2C burst read: 192 bytes

struct Sensor {
  imu_mpu6050_config_t config{};
  i2c_master_bus_handle_t bus = nullptr;
  i2c_master_dev_handle_t dev = nullptr;
  imu_mpu6050_stats_t stats{};
  int i2c_timeout_ms = 20;  // set from the bus clock in imu_mpu6050_new
  // Sample clock: sample `index` was taken at anchor_us + (index - anchor_index) / rate. It follows the sensor's
  // oscillator, so it is re-anchored to esp_timer after every overflow rather than drifting for hours.
  uint64_t anchor_us = 0;
  uint64_t anchor_index = 0;
  uint64_t next_index = 0;  // 64 bits: 32 would wrap after 49.7 days at 1 kHz
  uint64_t last_drain_us = 0;  // esp_timer time of the last read that emptied the FIFO
  uint64_t delivered_since_drain = 0;  // samples handed out by partial reads since then (not lost on overflow)
  bool started = false;
};

Sensor g_sensor;  // one sensor per firmware: no heap

esp_err_t write_reg(Sensor& s, uint8_t reg, uint8_t value) {
  const uint8_t bytes[2] = {reg, value};
  const esp_err_t err = i2c_master_transmit(s.dev, bytes, sizeof(bytes), s.i2c_timeout_ms);
  if (err != ESP_OK) ++s.stats.i2c_errors;
  return err;
}

esp_err_t read_regs(Sensor& s, uint8_t reg, uint8_t* out, size_t n) {
  // Register read = write the register address, repeated START, read n bytes (i2c_master.h).
  const esp_err_t err = i2c_master_transmit_receive(s.dev, &reg, 1, out, n, s.i2c_timeout_ms);
  if (err != ESP_OK) ++s.stats.i2c_errors;
  return err;
}

esp_err_t reset_fifo(Sensor& s) {
  esp_err_t err = write_reg(s, mpu6050::kRegUserCtrl, mpu6050::kUserCtrlFifoReset);
  if (err == ESP_OK) err = write_reg(s, mpu6050::kRegUserCtrl, mpu6050::kUserCtrlFifoEn);
  return err;
}

uint64_t timestamp_of(const Sensor& s, uint64_t index) {
  return s.anchor_us + (index - s.anchor_index) * 1000000u / s.config.sample_rate_hz;
}

}  // namespace

extern "C" esp_err_t imu_mpu6050_new(const imu_mpu6050_config_t* config, imu_mpu6050_handle_t* out_handle) {
  if (config == nullptr || out_handle == nullptr) return ESP_ERR_INVALID_ARG;
  Sensor& s = g_sensor;
  if (s.bus != nullptr) return ESP_ERR_INVALID_STATE;  // one sensor per firmware
  s.config = *config;
  s.i2c_timeout_ms = static_cast<int>(
      mpu6050::i2c_timeout_ms(config->i2c_freq_hz, kChunkSamples * mpu6050::kBytesPerSample));

  // Fields are assigned one by one (not designated initializers) so this stays valid C++17 whatever
  // the field order of the ESP-IDF version at hand.
  i2c_master_bus_config_t bus_config;
  memset(&bus_config, 0, sizeof(bus_config));
  bus_config.i2c_port = static_cast<i2c_port_num_t>(config->i2c_port);
  bus_config.sda_io_num = static_cast<gpio_num_t>(config->sda_gpio);
  bus_config.scl_io_num = static_cast<gpio_num_t>(config->scl_gpio);
  bus_config.clk_source = I2C_CLK_SRC_DEFAULT;
  bus_config.glitch_ignore_cnt = 7;  // the value i2c_master.h documents as typical
  bus_config.flags.enable_internal_pullup = config->internal_pullups ? 1 : 0;
  esp_err_t err = i2c_new_master_bus(&bus_config, &s.bus);
  if (err != ESP_OK) return err;

  i2c_device_config_t dev_config;
  memset(&dev_config, 0, sizeof(dev_config));
  dev_config.dev_addr_length = I2C_ADDR_BIT_LEN_7;
  dev_config.device_address = config->address;
  dev_config.scl_speed_hz = config->i2c_freq_hz;
  err = i2c_master_bus_add_device(s.bus, &dev_config, &s.dev);
  if (err != ESP_OK) return err;
  *out_handle = reinterpret_cast<imu_mpu6050_handle_t>(&s);
  return ESP_OK;
}

extern "C" esp_err_t imu_mpu6050_start(imu_mpu6050_handle_t handle) {
  if (handle == nullptr) return ESP_ERR_INVALID_ARG;
  Sensor& s = *reinterpret_cast<Sensor*>(handle);
  const int divider = mpu6050::sample_rate_divider(s.config.sample_rate_hz, s.config.dlpf_cfg);
  const int accel_bits = mpu6050::accel_range_bits(s.config.accel_full_scale_g);
  const int gyro_bits = mpu6050::gyro_range_bits(s.config.gyro_full_scale_dps);
  if (divider < 0 || accel_bits < 0 || gyro_bits < 0 || s.config.dlpf_cfg > 6) {
    ESP_LOGE(kTag, "unsupported config: %u Hz, +-%u g, +-%u dps, DLPF %u", (unsigned)s.config.sample_rate_hz,
             (unsigned)s.config.accel_full_scale_g, (unsigned)s.config.gyro_full_scale_dps,
             (unsigned)s.config.dlpf_cfg);
    return ESP_ERR_INVALID_ARG;
  }
  s.started = false;

  // After a failure the sensor may hold SDA low (reset in the middle of a read): every probe would then meet the
  // same stuck bus and the retries never recover. i2c_master_bus_reset clocks the bus free (i2c_master.h).
  if (s.stats.i2c_errors > 0) {
    const esp_err_t reset = i2c_master_bus_reset(s.bus);
    if (reset != ESP_OK) ESP_LOGW(kTag, "I2C bus reset failed (%s)", esp_err_to_name(reset));
  }
  // Absent sensor: i2c_master_probe answers ESP_ERR_NOT_FOUND on a NACK (i2c_master.h).
  esp_err_t err = i2c_master_probe(s.bus, s.config.address, s.i2c_timeout_ms);
  if (err != ESP_OK) {
    ++s.stats.i2c_errors;
    ESP_LOGE(kTag, "no MPU6050 at 0x%02x (%s): check wiring and pull-ups", s.config.address, esp_err_to_name(err));
    return err == ESP_ERR_TIMEOUT ? ESP_ERR_TIMEOUT : ESP_ERR_NOT_FOUND;
  }
  uint8_t who = 0;
  err = read_regs(s, mpu6050::kRegWhoAmI, &who, 1);
  if (err != ESP_OK) return err;
  s.stats.who_am_i = who;
  if (who != mpu6050::kWhoAmIMpu6050) {
    // 0x70 = MPU6500, 0x71 = MPU9250, 0x72/0x98 = clones: register maps differ (e.g. DLPF, FIFO).
    ESP_LOGE(kTag, "WHO_AM_I = 0x%02x, expected 0x68: not an MPU6050", who);
    return ESP_ERR_NOT_SUPPORTED;
  }

  err = write_reg(s, mpu6050::kRegPwrMgmt1, mpu6050::kPwrMgmt1Reset);
  if (err != ESP_OK) return err;
  vTaskDelay(pdMS_TO_TICKS(100));  // reset time (register map, PWR_MGMT_1)
  const uint8_t setup[][2] = {
      {mpu6050::kRegPwrMgmt1, mpu6050::kPwrMgmt1ClockPllGyroX},  // wake up, PLL clock
      {mpu6050::kRegSmplrtDiv, static_cast<uint8_t>(divider)},
      {mpu6050::kRegConfig, s.config.dlpf_cfg},
      {mpu6050::kRegGyroConfig, static_cast<uint8_t>(gyro_bits)},
      {mpu6050::kRegAccelConfig, static_cast<uint8_t>(accel_bits)},
      {mpu6050::kRegIntEnable, mpu6050::kIntStatusFifoOverflow},  // latch FIFO_OFLOW in INT_STATUS
      {mpu6050::kRegFifoEn, 0},
  };
  for (const auto& reg_value : setup) {
    err = write_reg(s, reg_value[0], reg_value[1]);
    if (err != ESP_OK) return err;
  }
  vTaskDelay(pdMS_TO_TICKS(50));  // gyro PLL and filters settle before the first sample we keep
  uint8_t status = 0;
  err = read_regs(s, mpu6050::kRegIntStatus, &status, 1);  // clears a stale overflow flag
  if (err == ESP_OK) err = reset_fifo(s);
  if (err == ESP_OK) err = write_reg(s, mpu6050::kRegFifoEn, mpu6050::kFifoEnAccelGyro);
  if (err != ESP_OK) return err;
  s.anchor_us = static_cast<uint64_t>(esp_timer_get_time());
  s.anchor_index = 0;
  s.next_index = 0;
  s.last_drain_us = s.anchor_us;
  s.delivered_since_drain = 0;
  s.started = true;
  ESP_LOGI(kTag, "MPU6050 at 0x%02x: %u Hz (SMPLRT_DIV %d), DLPF %u, +-%u g, +-%u dps", s.config.address,
           (unsigned)s.config.sample_rate_hz, divider, (unsigned)s.config.dlpf_cfg,
           (unsigned)s.config.accel_full_scale_g, (unsigned)s.config.gyro_full_scale_dps);
  return ESP_OK;
}

extern "C" esp_err_t imu_mpu6050_read(imu_mpu6050_handle_t handle, imu_sample_t* out, size_t capacity,
                                      size_t* count, uint32_t* lost) {
  if (handle == nullptr || out == nullptr || count == nullptr || lost == nullptr) return ESP_ERR_INVALID_ARG;
  Sensor& s = *reinterpret_cast<Sensor*>(handle);
  *count = 0;
  *lost = 0;
  if (!s.started) return ESP_ERR_INVALID_STATE;

  const uint64_t read_at = static_cast<uint64_t>(esp_timer_get_time());
  uint8_t status = 0;
  esp_err_t err = read_regs(s, mpu6050::kRegIntStatus, &status, 1);
  if (err != ESP_OK) return err;
  uint8_t count_bytes[2];
  err = read_regs(s, mpu6050::kRegFifoCountH, count_bytes, 2);
  if (err != ESP_OK) return err;
  const uint16_t fifo_count = static_cast<uint16_t>((count_bytes[0] << 8) | count_bytes[1]);

  if ((status & mpu6050::kIntStatusFifoOverflow) != 0 || fifo_count >= mpu6050::kFifoBytes) {
    // The oldest bytes were overwritten, so sample boundaries are lost: drop everything, restart the FIFO
    // and move the sample clock over the gap. What arrived since the last drain and was not handed out by a
    // partial read is gone; the gap is measured on esp_timer, and the clock restarts there (never backwards).
    err = reset_fifo(s);
    if (err != ESP_OK) return err;
    const uint64_t now = static_cast<uint64_t>(esp_timer_get_time());
    const uint32_t delivered = s.delivered_since_drain > UINT32_MAX ? UINT32_MAX
                                                                    : static_cast<uint32_t>(s.delivered_since_drain);
    const uint32_t gap = mpu6050::lost_samples(now > s.last_drain_us ? now - s.last_drain_us : 0,
                                               s.config.sample_rate_hz, delivered);
    const uint64_t expected = timestamp_of(s, s.next_index + gap);
    s.next_index += gap;
    s.anchor_us = now > expected ? now : expected;
    s.anchor_index = s.next_index;
    s.last_drain_us = now;
    s.delivered_since_drain = 0;
    s.stats.overflows += 1;
    s.stats.lost_samples += gap;
    *lost = gap;
    return ESP_OK;
  }

  size_t available = mpu6050::whole_samples(fifo_count);
  if (available > capacity) available = capacity;
  uint8_t buffer[kChunkSamples * mpu6050::kBytesPerSample];
  while (*count < available) {
    const size_t n = (available - *count < kChunkSamples) ? available - *count : kChunkSamples;
    err = read_regs(s, mpu6050::kRegFifoRw, buffer, n * mpu6050::kBytesPerSample);
    if (err != ESP_OK) return err;
    for (size_t i = 0; i < n; ++i) {
      imu_sample_t& sample = out[*count + i];
      mpu6050::decode_sample(buffer + i * mpu6050::kBytesPerSample, sample.raw);
      sample.index = static_cast<uint32_t>(s.next_index);  // wraps; timestamps do not
      sample.timestamp_us = timestamp_of(s, s.next_index);
      ++s.next_index;
    }
    *count += n;
  }
  if (available == mpu6050::whole_samples(fifo_count)) {  // nothing older is left in the FIFO
    s.last_drain_us = read_at;
    s.delivered_since_drain = 0;
  } else {
    s.delivered_since_drain += *count;
  }
  s.stats.samples += static_cast<uint32_t>(*count);
  return ESP_OK;
}

extern "C" esp_err_t imu_mpu6050_stop(imu_mpu6050_handle_t handle) {
  if (handle == nullptr) return ESP_ERR_INVALID_ARG;
  Sensor& s = *reinterpret_cast<Sensor*>(handle);
  s.started = false;
  esp_err_t err = write_reg(s, mpu6050::kRegFifoEn, 0);
  if (err == ESP_OK) err = write_reg(s, mpu6050::kRegPwrMgmt1, 0x40);  // SLEEP
  return err;
}

extern "C" imu_mpu6050_stats_t imu_mpu6050_stats(imu_mpu6050_handle_t handle) {
  return handle == nullptr ? imu_mpu6050_stats_t{} : reinterpret_cast<Sensor*>(handle)->stats;
}
