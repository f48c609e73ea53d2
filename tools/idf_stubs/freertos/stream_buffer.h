#pragma once
#include "freertos/FreeRTOS.h"
typedef struct StreamBufferDef_t* StreamBufferHandle_t;
#ifdef __cplusplus
extern "C" {
#endif
StreamBufferHandle_t xStreamBufferCreateStatic(size_t xBufferSizeBytes, size_t xTriggerLevelBytes,
                                               uint8_t* const pucStreamBufferStorageArea,
                                               StaticStreamBuffer_t* const pxStaticStreamBuffer);
size_t xStreamBufferSend(StreamBufferHandle_t xStreamBuffer, const void* pvTxData, size_t xDataLengthBytes,
                         TickType_t xTicksToWait);
size_t xStreamBufferReceive(StreamBufferHandle_t xStreamBuffer, void* pvRxData, size_t xBufferLengthBytes,
                            TickType_t xTicksToWait);
#ifdef __cplusplus
}
#endif
