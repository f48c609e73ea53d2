// Versions shared by the firmware, the SIL device and the host (via the Python extension).
#pragma once
#include <cstdint>

namespace tinyad {

constexpr uint8_t kFirmwareVersionMajor = 0;
constexpr uint8_t kFirmwareVersionMinor = 1;
constexpr uint8_t kFirmwareVersionPatch = 0;

// "0.1.0": for logs and the HELLO/INFO reply.
const char* firmware_version_string();

}  // namespace tinyad
