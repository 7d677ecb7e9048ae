// http/file_cache.h — the files one worker opened during its current loop turn, so that the
// many requests for the same file that a busy turn answers share one openat2 + fstat + close
// (h2o's file cache, kept for one turn only). Because every entry is dropped at the end of the
// turn, a file changed on disk is seen by the very next turn: the cache never serves stale data.
//
// Failed opens are kept too: the "FILE.gz beside FILE?" probe of gzip_static costs nothing on
// a hit. An entry a response still needs (a send waiting for the socket) outlives the turn: it
// is counted by references and closed when the last one goes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sys/kernel.h"

namespace http {

inline constexpr int kFileCacheEntries = 32;  // per worker; more files in one turn: not cached
// Files up to this size are read into memory once per turn and sent with their head in one
// sendmsg; larger ones go out with sendfile.
inline constexpr std::size_t kSmallFileBytes = 16 * 1024;

struct OpenFile {
    int fd;         // or -errno when the open failed
    sys::stat st;   // valid when fd >= 0
    int refs;
    char* bytes;    // the whole file once file_bytes() has read it, or null
    // The server's plain 200 answer for this file in this turn (see server.cpp), built the first
    // time a request needs it: the head, then `bytes`. Null until then; freed with the entry.
    char* reply;
    std::uint32_t reply_len, reply_head_len;
    bool reply_gzip;  // built as FILE.gz answering for FILE
    std::size_t key_len;
    char key[1];    // the path, NUL-terminated; allocated to its length
};

// Opens `path` (relative, NUL-terminated at path.size()) beneath `dir`, or finds it opened
// earlier in this turn. Never null (a failure is an OpenFile with fd < 0), except when out of
// memory. Each call must be paired with release().
OpenFile* open_file(int dir, std::string_view path);
void release(OpenFile* file);

// The contents of a regular file of at most kSmallFileBytes, read at most once per turn; null
// when the file is larger, cannot be read, or changed size since it was opened.
const char* file_bytes(OpenFile* file);

// The worker's loop calls this at the end of each turn: forget every entry.
void file_cache_end_turn();

}  // namespace http
