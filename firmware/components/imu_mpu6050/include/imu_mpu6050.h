// MPU-6050 driver on the ESP-IDF 5.x i2c_master API: FIFO sampling at a fixed rate, timestamps from the
// sample clock, overflow detection and a clear error instead of a crash when the sensor is absent.
// One sensor per firmware (static storage); the I2C driver allocates only inside imu_mpu6050_new().
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int i2c_port;                 // 0 or 1
  int sda_gpio;
  int scl_gpio;
  uint32_t i2c_freq_hz;         // 100..400 kHz (I2C deadlines follow it)
  bool internal_pullups;
  uint8_t address;              // 0x68 (AD0 low) or 0x69
  uint32_t sample_rate_hz;      // 1000 / n (8000 / n, at most 1000, with DLPF_CFG 0)
  uint8_t dlpf_cfg;             // 0..6 (0: DLPF off, gyro at 8 kHz)
  uint32_t accel_full_scale_g;  // 2, 4, 8, 16
  uint32_t gyro_full_scale_dps; // 250, 500, 1000, 2000
} imu_mpu6050_config_t;

typedef struct {
  int16_t raw[6];         // ax, ay, az, gx, gy, gz in sensor counts
  uint64_t timestamp_us;  // from the sample clock (index / rate, re-anchored to esp_timer after an overflow),
                          // not from when the FIFO was read
  uint32_t index;         // sample number since start (gaps from overflows included; wraps after 2^32)
} imu_sample_t;

typedef struct {
  uint32_t samples;        // delivered
  uint32_t overflows;      // FIFO overflow events
  uint32_t lost_samples;   // estimated samples lost in overflows
  uint32_t i2c_errors;
  uint8_t who_am_i;        // last value read (0 if the sensor never answered)
} imu_mpu6050_stats_t;

typedef struct imu_mpu6050_t* imu_mpu6050_handle_t;

// Creates the I2C bus and device. Does not talk to the sensor (so a missing sensor is not an error here).
esp_err_t imu_mpu6050_new(const imu_mpu6050_config_t* config, imu_mpu6050_handle_t* out_handle);

// Checks WHO_AM_I, resets and configures the sensor, and starts FIFO sampling.
// ESP_ERR_NOT_FOUND: no ACK at the address (sensor absent or wiring). ESP_ERR_NOT_SUPPORTED: another chip
// answered (WHO_AM_I != 0x68; not ESP_ERR_INVALID_RESPONSE, which the I2C driver of IDF >= 6 returns for a
// NACK). ESP_ERR_INVALID_ARG: unsupported rate/range. ESP_ERR_TIMEOUT: bus stuck. Other codes: I2C errors.
esp_err_t imu_mpu6050_start(imu_mpu6050_handle_t handle);

// Reads the whole samples waiting in the FIFO (at most `capacity`). On overflow the FIFO is reset, the
// estimated number of lost samples is added to *lost (the sample index jumps over them) and the samples
// read are those after the reset. Errors: the I2C error (sensor vanished); the caller restarts later.
esp_err_t imu_mpu6050_read(imu_mpu6050_handle_t handle, imu_sample_t* out, size_t capacity, size_t* count,
                           uint32_t* lost);

esp_err_t imu_mpu6050_stop(imu_mpu6050_handle_t handle);
imu_mpu6050_stats_t imu_mpu6050_stats(imu_mpu6050_handle_t handle);

#ifdef __cplusplus
}
#endif
