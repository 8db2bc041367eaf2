/* crc32c.h - CRC32C (Castagnoli), the optional DATA payload checksum. */
#ifndef MPS_CRC32C_H
#define MPS_CRC32C_H
#include <stddef.h>
#include <stdint.h>
/* crc32c(0, "123456789", 9) == 0xe3069283 */
uint32_t mps_crc32c(uint32_t crc, const void *buf, size_t len);
#endif
