// The byte pipe of the tinyad protocol: UART0 (the dev kit's USB-UART bridge) or the native
// USB-Serial-JTAG, chosen in Kconfig (CONFIG_TINYAD_LINK_*). Framing and dispatch are the portable core's.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

// Installs the driver (buffers allocated once here).
esp_err_t serial_link_start(void);

// Reads up to `capacity` bytes, waiting at most timeout_ms for the first. Returns the count (0 on timeout).
size_t serial_link_read(uint8_t* buffer, size_t capacity, uint32_t timeout_ms);

// Queues bytes for sending; stdio text on a shared UART0 goes between two calls, never inside one.
// USB: waits at most timeout_ms for room (a host that does not read must not stall the device), and not at all
// after a write that timed out, until one goes through again or the host sends; returns ESP_ERR_TIMEOUT if not
// everything was queued (up to 64 bytes may already be on the wire: the driver fills the idle FIFO first; the 0x00
// written before every frame lets the host drop such a fragment). Call from one task only.
esp_err_t serial_link_write(const uint8_t* data, size_t n, uint32_t timeout_ms);

// When the protocol shares UART0 with the console, ESP_LOG output would corrupt frames: from now on log
// lines are kept in a small buffer (serial_link_last_log) instead of being printed. No-op on USB.
void serial_link_silence_console(void);

// The last log line captured after serial_link_silence_console() (empty if none).
const char* serial_link_last_log(void);

#ifdef __cplusplus
}
#endif
