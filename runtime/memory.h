// runtime/memory.h — the process's allocator: one shared arena, one Heap per thread.
//
// mem_alloc/mem_free are what operator new/delete and coroutine frames use. Blocks up to
// rt::kMaxBlock come from the calling thread's heap; larger ones are mmap'ed and munmap'ed.
#pragma once

#include <cstddef>

namespace rt {

class Heap;

inline constexpr std::size_t kDefaultArenaBytes = std::size_t{16} << 30;  // 16 GiB reserved

// Reserves the arena (MAP_NORESERVE: only pages touched cost memory). Returns 0 or -errno.
int memory_init(std::size_t arena_bytes);
// Gives the calling thread heap `id` (set up in the arena), stored in its TLS.
void memory_attach_thread(int heap_id);

// nullptr when memory is exhausted.
void* mem_alloc(std::size_t bytes);
void mem_free(void* p);  // null is ignored

// While the arena is full, gives it back the calling thread's free runs (see Heap::reclaim).
// Call it once per loop turn.
void memory_maintain();

// Bytes the arena has handed out so far (a high-water mark, not the live total).
std::size_t arena_used_bytes();

}  // namespace rt
