#pragma once
// ESP-IDF 5.4 components/esp_driver_uart/include/driver/uart_vfs.h (subset).
#ifdef __cplusplus
extern "C" {
#endif
void uart_vfs_dev_use_driver(int uart_num);
#ifdef __cplusplus
}
#endif
