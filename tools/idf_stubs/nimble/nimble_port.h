#pragma once
#include "esp_err.h"
#ifdef __cplusplus
extern "C" {
#endif
esp_err_t nimble_port_init(void);
void nimble_port_run(void);
#ifdef __cplusplus
}
#endif
