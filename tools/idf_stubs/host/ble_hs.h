#pragma once
// Apache mynewt-nimble as shipped in ESP-IDF 5.4 (host/ble_hs.h, host/ble_gap.h, host/ble_hs_id.h), subset.
#include <stdint.h>
#include "esp_err.h"
#define BLE_HS_FOREVER INT32_MAX
#define BLE_HS_EALREADY 2
#define BLE_HS_EBUSY 15
#define BLE_ADDR_PUBLIC 0x00
#define BLE_OWN_ADDR_PUBLIC 0x00
#define BLE_GAP_CONN_MODE_NON 0
#define BLE_GAP_DISC_MODE_NON 0
#define BLE_GAP_DISC_MODE_GEN 2
typedef struct { uint8_t type; uint8_t val[6]; } ble_addr_t;
typedef void ble_hs_sync_fn(void);
typedef void ble_hs_reset_fn(int reason);
struct ble_hs_cfg {
  ble_hs_reset_fn* reset_cb;
  ble_hs_sync_fn* sync_cb;
};
extern struct ble_hs_cfg ble_hs_cfg;
struct ble_gap_adv_params {
  uint8_t conn_mode;
  uint8_t disc_mode;
  uint16_t itvl_min;
  uint16_t itvl_max;
  uint8_t channel_map;
  uint8_t filter_policy;
  uint8_t high_duty_cycle : 1;
};
struct ble_gap_event;
typedef int ble_gap_event_fn(struct ble_gap_event* event, void* arg);
#ifdef __cplusplus
extern "C" {
#endif
int ble_gap_adv_start(uint8_t own_addr_type, const ble_addr_t* direct_addr, int32_t duration_ms,
                      const struct ble_gap_adv_params* adv_params, ble_gap_event_fn* cb, void* cb_arg);
int ble_gap_adv_stop(void);
int ble_gap_adv_active(void);
int ble_gap_adv_set_data(const uint8_t* data, int data_len);
int ble_hs_id_copy_addr(uint8_t id_addr_type, uint8_t* out_id_addr, int* out_is_nrpa);
#ifdef __cplusplus
}
#endif
