#pragma once
#include <stddef.h>
#include <stdint.h>
#include "sdkconfig.h"
typedef uint32_t TickType_t;
typedef int BaseType_t;
typedef unsigned int UBaseType_t;
typedef uint8_t StackType_t;  // ESP-IDF's port counts stack depth in bytes
#define pdTRUE 1
#define pdFALSE 0
#define pdPASS 1
#define portMAX_DELAY ((TickType_t)0xffffffffUL)
#define configTICK_RATE_HZ 1000
#define pdMS_TO_TICKS(ms) ((TickType_t)(((TickType_t)(ms) * (TickType_t)configTICK_RATE_HZ) / (TickType_t)1000U))
#define tskNO_AFFINITY ((BaseType_t)0x7FFFFFFF)
typedef struct { uint8_t opaque[96]; } StaticTask_t;
typedef struct { uint8_t opaque[80]; } StaticQueue_t;
typedef StaticQueue_t StaticSemaphore_t;
typedef struct { uint8_t opaque[40]; } StaticStreamBuffer_t;
