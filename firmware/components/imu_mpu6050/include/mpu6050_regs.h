// MPU-6050 registers and the arithmetic of its configuration and FIFO (InvenSense "MPU-6000/MPU-6050
// Register Map and Descriptions" RM-MPU-6000A-00 rev 4.2, and the product specification PS-MPU-6000A-00).
// Portable (no ESP-IDF includes) so it compiles and is checked on the host.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mpu6050 {

constexpr uint8_t kRegSmplrtDiv = 0x19;   // sample rate = gyro output rate / (1 + SMPLRT_DIV)
constexpr uint8_t kRegConfig = 0x1A;      // DLPF_CFG in bits 2:0
constexpr uint8_t kRegGyroConfig = 0x1B;  // FS_SEL in bits 4:3
constexpr uint8_t kRegAccelConfig = 0x1C; // AFS_SEL in bits 4:3
constexpr uint8_t kRegFifoEn = 0x23;
constexpr uint8_t kRegIntEnable = 0x38;
constexpr uint8_t kRegIntStatus = 0x3A;   // bit 4 FIFO_OFLOW_INT (cleared on read)
constexpr uint8_t kRegAccelXoutH = 0x3B;
constexpr uint8_t kRegUserCtrl = 0x6A;    // bit 6 FIFO_EN, bit 2 FIFO_RESET
constexpr uint8_t kRegPwrMgmt1 = 0x6B;    // bit 7 DEVICE_RESET, bit 6 SLEEP, bits 2:0 CLKSEL
constexpr uint8_t kRegFifoCountH = 0x72;
constexpr uint8_t kRegFifoRw = 0x74;
constexpr uint8_t kRegWhoAmI = 0x75;

constexpr uint8_t kWhoAmIMpu6050 = 0x68;  // WHO_AM_I holds the 7-bit address with AD0 ignored
constexpr uint8_t kFifoEnAccelGyro = 0x78;  // XG | YG | ZG | ACCEL (no temperature)
constexpr uint8_t kUserCtrlFifoEn = 0x40;
constexpr uint8_t kUserCtrlFifoReset = 0x04;
constexpr uint8_t kIntStatusFifoOverflow = 0x10;
constexpr uint8_t kPwrMgmt1Reset = 0x80;
constexpr uint8_t kPwrMgmt1ClockPllGyroX = 0x01;  // recommended clock source (more stable than internal 8 MHz)

constexpr size_t kFifoBytes = 1024;
constexpr size_t kBytesPerSample = 12;  // accel x,y,z then gyro x,y,z, big-endian int16 (register order)
constexpr size_t kChannels = 6;
constexpr uint32_t kAccelOutputRateHz = 1000;

// Gyroscope output rate (register SMPLRT_DIV): 8 kHz with the DLPF off (DLPF_CFG 0 or 7), 1 kHz with it on.
constexpr uint32_t gyro_output_rate_hz(uint8_t dlpf_cfg) { return dlpf_cfg == 0 || dlpf_cfg == 7 ? 8000u : 1000u; }

// SMPLRT_DIV for a sample rate with this DLPF_CFG, or -1 if the rate is not the gyro output rate / n for n in
// 1..256, or exceeds the accelerometer's 1 kHz (above it the FIFO repeats accelerometer samples).
constexpr int sample_rate_divider(uint32_t rate_hz, uint8_t dlpf_cfg) {
  const uint32_t gyro_hz = gyro_output_rate_hz(dlpf_cfg);
  if (rate_hz == 0 || rate_hz > kAccelOutputRateHz || gyro_hz % rate_hz != 0) return -1;
  const uint32_t divider = gyro_hz / rate_hz - 1;
  return divider <= 255 ? static_cast<int>(divider) : -1;
}

// AFS_SEL / FS_SEL field values (bits 4:3) for a full scale; -1 if unsupported.
constexpr int accel_range_bits(uint32_t full_scale_g) {
  return full_scale_g == 2    ? 0x00
         : full_scale_g == 4  ? 0x08
         : full_scale_g == 8  ? 0x10
         : full_scale_g == 16 ? 0x18
                              : -1;
}
constexpr int gyro_range_bits(uint32_t full_scale_dps) {
  return full_scale_dps == 250 ? 0x00 : full_scale_dps == 500 ? 0x08 : full_scale_dps == 1000 ? 0x10
       : full_scale_dps == 2000 ? 0x18 : -1;
}

// Accelerometer bandwidth (Hz) of each DLPF_CFG 0..6 (register CONFIG 0x1A; the gyro's is 256, 188, 98, 42, 20,
// 10, 5 Hz). The host's copy is tinyad.synth.MPU6050_DLPF_BANDWIDTHS_HZ; a test checks they agree.
constexpr uint16_t kDlpfAccelBandwidthHz[7] = {260, 184, 94, 44, 21, 10, 5};
constexpr float dlpf_bandwidth_hz(uint8_t dlpf_cfg) {
  return dlpf_cfg < 7 ? static_cast<float>(kDlpfAccelBandwidthHz[dlpf_cfg]) : 0.0f;
}

// Whole samples in a FIFO count; the FIFO holds at most 85 of them (1024 / 12, 4 bytes left over).
constexpr size_t whole_samples(uint16_t fifo_count) { return fifo_count / kBytesPerSample; }
constexpr size_t kFifoMaxSamples = kFifoBytes / kBytesPerSample;

// One sample from 12 FIFO bytes into raw counts [ax, ay, az, gx, gy, gz].
inline void decode_sample(const uint8_t* bytes, int16_t out[kChannels]) {
  for (size_t c = 0; c < kChannels; ++c) {
    out[c] = static_cast<int16_t>(static_cast<uint16_t>(bytes[2 * c] << 8) | bytes[2 * c + 1]);
  }
}

// Samples lost in an overflow, estimated from the sample clock: the samples that should have arrived since
// the last read, minus those still in the (reset) FIFO. Never negative.
constexpr uint32_t lost_samples(uint64_t elapsed_us, uint32_t rate_hz, uint32_t recovered) {
  const uint64_t expected = elapsed_us * rate_hz / 1000000u;
  return expected > recovered ? static_cast<uint32_t>(expected - recovered) : 0u;
}

// Deadline (ms) for one I2C transaction carrying `data_bytes` at `scl_hz`: twice its time on the wire (9 clocks a
// byte, plus the address, register and repeated-start address bytes) plus 10 ms for scheduling, at least 20 ms.
// A fixed 20 ms is too short for a 192-byte FIFO burst below about 100 kHz.
constexpr uint32_t i2c_timeout_ms(uint32_t scl_hz, size_t data_bytes) {
  const uint64_t clocks = (static_cast<uint64_t>(data_bytes) + 3u) * 9u;
  const uint64_t wire_ms = scl_hz == 0 ? 1000u : (clocks * 1000u + scl_hz - 1u) / scl_hz;
  const uint64_t ms = 2u * wire_ms + 10u;
  return ms < 20u ? 20u : static_cast<uint32_t>(ms);
}

static_assert(sample_rate_divider(100, 3) == 9, "100 Hz = 1 kHz / 10");
static_assert(sample_rate_divider(200, 3) == 4, "200 Hz = 1 kHz / 5");
static_assert(sample_rate_divider(300, 3) == -1, "1000 / 300 is not an integer");
static_assert(sample_rate_divider(1000, 0) == 7, "1 kHz = 8 kHz / 8 with the DLPF off");
static_assert(sample_rate_divider(20, 0) == -1, "8 kHz / 20 Hz = 400 > 256");
static_assert(kFifoMaxSamples == 85, "1024-byte FIFO");

}  // namespace mpu6050
