// http/file_cache.cpp — see file_cache.h.
#include "http/file_cache.h"

#include "runtime/memory.h"
#include "sys/syscall.h"

namespace http {
namespace {

struct FileCache {
    OpenFile* entries[kFileCacheEntries];
    int count = 0;
};
thread_local FileCache cache;

void unref(OpenFile* f) {
    if (--f->refs > 0) return;
    if (f->fd >= 0) sys::close(f->fd);
    rt::mem_free(f->bytes);
    rt::mem_free(f->reply);
    rt::mem_free(f);
}

}  // namespace

OpenFile* open_file(int dir, std::string_view path) {
    for (int i = 0; i < cache.count; ++i) {
        OpenFile* f = cache.entries[i];
        if (f->key_len == path.size() && __builtin_memcmp(f->key, path.data(), path.size()) == 0) {
            ++f->refs;
            return f;
        }
    }
    auto* f = static_cast<OpenFile*>(rt::mem_alloc(sizeof(OpenFile) + path.size()));
    if (!f) return nullptr;
    // O_NONBLOCK: opening a FIFO someone left under the root must not block the worker.
    // RESOLVE_BENEATH: no "..", absolute symlink or symlink leading out of the root is followed.
    const sys::open_how how{sys::O_RDONLY | sys::O_CLOEXEC | sys::O_NONBLOCK, 0,
                            sys::RESOLVE_BENEATH | sys::RESOLVE_NO_MAGICLINKS};
    f->fd = sys::openat2(dir, path.data(), &how);
    if (f->fd >= 0) {
        if (const int r = sys::fstat(f->fd, &f->st); r < 0) {
            sys::close(f->fd);
            f->fd = r;
        }
    }
    f->refs = 1;
    f->bytes = f->reply = nullptr;
    f->key_len = path.size();
    __builtin_memcpy(f->key, path.data(), path.size() + 1);
    if (cache.count < kFileCacheEntries) {
        cache.entries[cache.count++] = f;
        ++f->refs;  // the table's own reference
    }
    return f;
}

void release(OpenFile* file) {
    if (file) unref(file);
}

const char* file_bytes(OpenFile* f) {
    const auto size = static_cast<std::size_t>(f->st.st_size);
    if (!f->bytes && size <= kSmallFileBytes) {
        char* bytes = static_cast<char*>(rt::mem_alloc(size + 1));
        // One read is enough for a regular file this small; anything short means it changed.
        if (bytes && sys::pread(f->fd, bytes, size + 1, 0) == static_cast<long>(size)) f->bytes = bytes;
        else rt::mem_free(bytes);
    }
    return f->bytes;
}

void file_cache_end_turn() {
    for (int i = 0; i < cache.count; ++i) unref(cache.entries[i]);
    cache.count = 0;
}

}  // namespace http
