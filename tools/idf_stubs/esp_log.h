#pragma once
#include <stdarg.h>
#ifdef __cplusplus
extern "C" {
#endif
typedef int (*vprintf_like_t)(const char*, va_list);
vprintf_like_t esp_log_set_vprintf(vprintf_like_t func);
void esp_log_stub(const char* tag, const char* format, ...) __attribute__((format(printf, 2, 3)));
#ifdef __cplusplus
}
#endif
#define ESP_LOGE(tag, format, ...) esp_log_stub(tag, format, ##__VA_ARGS__)
#define ESP_LOGW(tag, format, ...) esp_log_stub(tag, format, ##__VA_ARGS__)
#define ESP_LOGI(tag, format, ...) esp_log_stub(tag, format, ##__VA_ARGS__)
#define ESP_LOGD(tag, format, ...) esp_log_stub(tag, format, ##__VA_ARGS__)
