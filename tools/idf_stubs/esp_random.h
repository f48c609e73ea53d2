#pragma once
// ESP-IDF 5.4 components/esp_hw_support/include/esp_random.h (subset).
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
uint32_t esp_random(void);
#ifdef __cplusplus
}
#endif
