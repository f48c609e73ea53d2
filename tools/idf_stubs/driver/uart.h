#pragma once
// ESP-IDF 5.4 components/esp_driver_uart/include/driver/uart.h (subset).
#include <stddef.h>
#include <stdint.h>
#include "esp_err.h"
#include "freertos/queue.h"
typedef enum { UART_NUM_0, UART_NUM_1, UART_NUM_2 } uart_port_t;
typedef enum { UART_DATA_5_BITS, UART_DATA_6_BITS, UART_DATA_7_BITS, UART_DATA_8_BITS } uart_word_length_t;
typedef enum { UART_PARITY_DISABLE = 0, UART_PARITY_EVEN = 2, UART_PARITY_ODD = 3 } uart_parity_t;
typedef enum { UART_STOP_BITS_1 = 1, UART_STOP_BITS_1_5 = 2, UART_STOP_BITS_2 = 3 } uart_stop_bits_t;
typedef enum { UART_HW_FLOWCTRL_DISABLE = 0 } uart_hw_flowcontrol_t;
typedef enum { UART_SCLK_APB = 0, UART_SCLK_DEFAULT = 0 } uart_sclk_t;
typedef enum { LP_UART_SCLK_DEFAULT = 0 } lp_uart_sclk_t;
typedef struct {
  int baud_rate;
  uart_word_length_t data_bits;
  uart_parity_t parity;
  uart_stop_bits_t stop_bits;
  uart_hw_flowcontrol_t flow_ctrl;
  uint8_t rx_flow_ctrl_thresh;
  union {
    uart_sclk_t source_clk;
    lp_uart_sclk_t lp_source_clk;
  };
} uart_config_t;
#ifdef __cplusplus
extern "C" {
#endif
esp_err_t uart_driver_install(uart_port_t uart_num, int rx_buffer_size, int tx_buffer_size, int queue_size,
                              QueueHandle_t* uart_queue, int intr_alloc_flags);
esp_err_t uart_param_config(uart_port_t uart_num, const uart_config_t* uart_config);
int uart_read_bytes(uart_port_t uart_num, void* buf, uint32_t length, TickType_t ticks_to_wait);
esp_err_t uart_get_buffered_data_len(uart_port_t uart_num, size_t* size);
int uart_write_bytes(uart_port_t uart_num, const void* src, size_t size);
#ifdef __cplusplus
}
#endif
