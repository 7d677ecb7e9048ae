// runtime/start.h — what _start learned about the process, and per-thread TLS set-up.
#pragma once

#include <cstddef>
#include <string_view>

namespace rt {

// The thread-local storage template from the ELF's PT_TLS segment (empty if nothing is
// thread_local). Filled by _start before main runs.
struct TlsTemplate {
    const void* init = nullptr;  // .tdata image
    std::size_t filesz = 0;      // bytes of .tdata to copy
    std::size_t memsz = 0;       // .tdata + .tbss
    std::size_t align = 1;
};
extern TlsTemplate tls_template;
extern char** environ;

// The value of environment variable `name`; a view with a null data() if it is not set.
std::string_view getenv(std::string_view name);

// Bytes a thread needs for its TLS block and thread control block.
std::size_t tls_area_size();

// Lays out a fresh TLS block in `area` (x86-64 variant II: the block ends at the thread pointer,
// which points at a self-pointer) and returns the thread pointer to hand to CLONE_SETTLS or
// arch_prctl(ARCH_SET_FS).
void* tls_setup(void* area);

}  // namespace rt

// The program's entry, called by _start after TLS and .init_array. Its result is the exit code.
int main(int argc, char** argv);
