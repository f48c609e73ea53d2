#pragma once
#include "freertos/FreeRTOS.h"
typedef struct tskTaskControlBlock* TaskHandle_t;
typedef void (*TaskFunction_t)(void*);
#ifdef __cplusplus
extern "C" {
#endif
TaskHandle_t xTaskCreateStaticPinnedToCore(TaskFunction_t pxTaskCode, const char* const pcName,
                                           const uint32_t ulStackDepth, void* const pvParameters,
                                           UBaseType_t uxPriority, StackType_t* const pxStackBuffer,
                                           StaticTask_t* const pxTaskBuffer, const BaseType_t xCoreID);
void vTaskDelay(const TickType_t xTicksToDelay);
void vTaskDelete(TaskHandle_t xTaskToDelete);
uint32_t ulTaskNotifyTake(BaseType_t xClearCountOnExit, TickType_t xTicksToWait);
BaseType_t xTaskGenericNotify(TaskHandle_t xTaskToNotify, UBaseType_t uxIndexToNotify, uint32_t ulValue, int eAction,
                              uint32_t* pulPreviousNotificationValue);
#ifdef __cplusplus
}
#endif
#define xTaskNotifyGive(xTaskToNotify) xTaskGenericNotify((xTaskToNotify), 0, 0, 2, NULL)
