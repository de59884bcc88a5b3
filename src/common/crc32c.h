// CRC-32C (Castagnoli), the checksum of OP_MSG messages and of mongosim's journal and
// checkpoint records: the SSE4.2 instruction where the CPU has it, a table otherwise (both
// give the same value).
#pragma once

#include <cstddef>
#include <cstdint>

namespace common {

uint32_t crc32c(const uint8_t* data, size_t len);

}  // namespace common
