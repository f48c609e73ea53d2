#include "serial_link.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <atomic>

#include "esp_log.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "sdkconfig.h"

// The protocol shares UART0 with the console (a console UART set to UART0, default or custom).
#if !CONFIG_TINYAD_LINK_USB_SERIAL_JTAG && CONFIG_ESP_CONSOLE_UART && CONFIG_ESP_CONSOLE_UART_NUM == 0
#define TINYAD_SHARED_CONSOLE 1
#else
#define TINYAD_SHARED_CONSOLE 0
#endif

// The protocol on USB-Serial-JTAG needs the port to itself: a console there, as primary or secondary output (the
// ESP32-S3's default secondary), would put log lines among the frames. sdkconfig.defaults.esp32s3 sets none.
#if CONFIG_TINYAD_LINK_USB_SERIAL_JTAG && (CONFIG_ESP_CONSOLE_USB_SERIAL_JTAG || CONFIG_ESP_CONSOLE_SECONDARY_USB_SERIAL_JTAG)
#error "the protocol link is USB-Serial-JTAG: move the console off it (ESP_CONSOLE_UART_DEFAULT, ESP_CONSOLE_SECONDARY_NONE)"
#endif

#if CONFIG_TINYAD_LINK_USB_SERIAL_JTAG
#include "driver/usb_serial_jtag.h"
#else
#include "driver/uart.h"
#endif
#if TINYAD_SHARED_CONSOLE
#include "driver/uart_vfs.h"
#endif

namespace {

constexpr const char* kTag = "serial_link";
constexpr size_t kRxBufferBytes = 4096;  // holds a whole INFER_REQ (at most 1048 bytes on the wire) several times
constexpr size_t kTxBufferBytes = 8192;  // SAMPLES/SCORE bursts while streaming

char g_last_log[160] = "";

// A shared UART0: ESP_LOG has to stop once frames flow, or log lines would land among them.
#if TINYAD_SHARED_CONSOLE
StaticSemaphore_t g_log_lock_storage;
SemaphoreHandle_t g_log_lock = nullptr;

// esp_log_set_vprintf() hook: keep the line, print nothing (never blocks: a busy lock drops the line).
int capture_log(const char* format, va_list args) {
  if (g_log_lock == nullptr || xSemaphoreTake(g_log_lock, 0) != pdTRUE) return 0;
  const int n = vsnprintf(g_last_log, sizeof(g_last_log), format, args);
  xSemaphoreGive(g_log_lock);
  return n;
}
#endif

#if CONFIG_TINYAD_LINK_USB_SERIAL_JTAG
// Set when a write found no room in time: nobody drains the port (no USB host, or a PC whose port is closed,
// which usb_serial_jtag_is_connected() still reports as connected). Later writes do not wait until one goes
// through, or until the host sends, so a vanished host costs one timeout, not one per frame, and a host that is
// back gets its reply. The device task writes frames; the serial task counts reads (g_rx_reads) and clears it.
std::atomic<bool> g_tx_stalled{false};
std::atomic<uint32_t> g_rx_reads{0};
#endif

TickType_t ticks(uint32_t ms) { return ms == 0 ? 0 : (pdMS_TO_TICKS(ms) == 0 ? 1 : pdMS_TO_TICKS(ms)); }

}  // namespace

extern "C" esp_err_t serial_link_start(void) {
#if CONFIG_TINYAD_LINK_USB_SERIAL_JTAG
  usb_serial_jtag_driver_config_t config = USB_SERIAL_JTAG_DRIVER_CONFIG_DEFAULT();
  config.rx_buffer_size = kRxBufferBytes;
  config.tx_buffer_size = kTxBufferBytes;
  const esp_err_t err = usb_serial_jtag_driver_install(&config);
  if (err == ESP_OK) ESP_LOGI(kTag, "protocol on USB-Serial-JTAG");
  return err;
#else
  uart_config_t config;
  memset(&config, 0, sizeof(config));
  config.baud_rate = CONFIG_TINYAD_UART_BAUD;
  config.data_bits = UART_DATA_8_BITS;
  config.parity = UART_PARITY_DISABLE;
  config.stop_bits = UART_STOP_BITS_1;
  config.flow_ctrl = UART_HW_FLOWCTRL_DISABLE;
  config.source_clk = UART_SCLK_DEFAULT;
  esp_err_t err = uart_driver_install(UART_NUM_0, kRxBufferBytes, kTxBufferBytes, 0, nullptr, 0);
  if (err == ESP_OK) err = uart_param_config(UART_NUM_0, &config);
#if TINYAD_SHARED_CONSOLE
  // stdio (printf; TFLM's MicroPrintf -> DebugLog -> vfprintf(stderr)) writes straight into the TX FIFO by
  // default, where it could land inside a frame; through the driver it goes between two write calls.
  // (stdin would now read through the driver too and take protocol bytes: nothing may read it.)
  if (err == ESP_OK) uart_vfs_dev_use_driver(UART_NUM_0);
#endif
  if (err == ESP_OK) ESP_LOGI(kTag, "protocol on UART0 at %d baud", CONFIG_TINYAD_UART_BAUD);
  return err;
#endif
}

extern "C" size_t serial_link_read(uint8_t* buffer, size_t capacity, uint32_t timeout_ms) {
#if CONFIG_TINYAD_LINK_USB_SERIAL_JTAG
  const int n = usb_serial_jtag_read_bytes(buffer, capacity, ticks(timeout_ms));
  if (n > 0) {  // a host that sends is there: its reply may wait for room again
    g_rx_reads.fetch_add(1);
    g_tx_stalled = false;
  }
#else
  // uart_read_bytes returns only when `length` bytes arrived or the wait ran out (the driver loops over its
  // ring buffer), so a short request would sit for the whole timeout: wait for one byte, then take what is
  // already buffered without waiting.
  int n = capacity == 0 ? 0 : uart_read_bytes(UART_NUM_0, buffer, 1, ticks(timeout_ms));
  size_t buffered = 0;
  if (n == 1 && capacity > 1 && uart_get_buffered_data_len(UART_NUM_0, &buffered) == ESP_OK && buffered > 0) {
    const size_t more = buffered < capacity - 1 ? buffered : capacity - 1;
    const int m = uart_read_bytes(UART_NUM_0, buffer + 1, static_cast<uint32_t>(more), 0);
    if (m > 0) n += m;
  }
#endif
  return n > 0 ? static_cast<size_t>(n) : 0;
}

extern "C" esp_err_t serial_link_write(const uint8_t* data, size_t n, uint32_t timeout_ms) {
#if CONFIG_TINYAD_LINK_USB_SERIAL_JTAG
  if (n == 0) return ESP_OK;  // the driver refuses size 0
  const uint32_t reads_before = g_rx_reads.load();
  const int written = usb_serial_jtag_write_bytes(data, n, g_tx_stalled ? 0 : ticks(timeout_ms));
  const bool stalled = written != static_cast<int>(n);
  // A read during this write cleared the flag: the host is there, so a failed write does not set it again.
  g_tx_stalled = stalled && g_rx_reads.load() == reads_before;
  return stalled ? ESP_ERR_TIMEOUT : ESP_OK;
#else
  (void)timeout_ms;  // uart_write_bytes waits for ring-buffer room; at 921600 baud 8 KB drain in < 90 ms
  const int written = uart_write_bytes(UART_NUM_0, data, n);
  return written == static_cast<int>(n) ? ESP_OK : ESP_FAIL;
#endif
}

// Still reaching a shared UART0 afterwards: stdio text (TFLM errors), only between write calls, so a host that
// gets 0x00 before each frame drops just the text; and esp_rom_printf output (early/ISR logs, panic), which
// bypasses the driver and can break the frame it lands in (after a panic the board reboots anyway).
extern "C" void serial_link_silence_console(void) {
#if TINYAD_SHARED_CONSOLE
  if (g_log_lock == nullptr) g_log_lock = xSemaphoreCreateMutexStatic(&g_log_lock_storage);
  ESP_LOGI(kTag, "console logging stops now: UART0 carries protocol frames");
  esp_log_set_vprintf(capture_log);
#endif
}

extern "C" const char* serial_link_last_log(void) { return g_last_log; }
