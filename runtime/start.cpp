// runtime/start.cpp — process entry: the naked _start, then the C++ world is built by hand
// (TLS for the main thread, .init_array constructors) before main() runs.
#include "runtime/start.h"

#include <cstdint>

#include "sys/syscall.h"

namespace rt {

TlsTemplate tls_template;
char** environ;

namespace {
constexpr std::size_t kTcbSize = 64;  // self-pointer, padded to a cache line
alignas(64) char main_thread_tls[1024];

std::size_t align_up(std::size_t n, std::size_t a) { return (n + a - 1) & ~(a - 1); }
}  // namespace

std::size_t tls_area_size() {
    return align_up(tls_template.memsz, tls_template.align) + tls_template.align + kTcbSize;
}

std::string_view getenv(std::string_view name) {
    for (char** p = environ; p && *p; ++p) {
        const std::string_view entry = *p;
        if (entry.size() > name.size() && entry.starts_with(name) && entry[name.size()] == '=')
            return entry.substr(name.size() + 1);
    }
    return {};
}

void* tls_setup(void* area) {
    const std::size_t block = align_up(tls_template.memsz, tls_template.align);
    auto tp = align_up(reinterpret_cast<std::uintptr_t>(area) + block, tls_template.align);
    auto* data = reinterpret_cast<char*>(tp - block);
    const auto* init = static_cast<const char*>(tls_template.init);
    for (std::size_t i = 0; i < block; ++i) data[i] = i < tls_template.filesz ? init[i] : 0;
    // %fs:0 must hold the thread pointer itself (the ABI's self-pointer).
    *reinterpret_cast<std::uintptr_t*>(tp) = tp;
    return reinterpret_cast<void*>(tp);
}

}  // namespace rt

extern "C" {
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();

// Called from _start with the initial stack pointer: sp[0] = argc, then argv[], NULL, envp[],
// NULL, then the auxiliary vector of (type, value) pairs ending in AT_NULL.
[[noreturn, gnu::used]] void start_c(long* sp) {
    const int argc = static_cast<int>(sp[0]);
    char** argv = reinterpret_cast<char**>(sp + 1);
    char** envp = argv + argc + 1;
    rt::environ = envp;
    char** p = envp;
    while (*p) ++p;
    const auto* auxv = reinterpret_cast<const unsigned long*>(p + 1);

    const sys::Elf64_Phdr* phdr = nullptr;
    unsigned long phnum = 0;
    for (; auxv[0] != sys::AT_NULL; auxv += 2) {
        if (auxv[0] == sys::AT_PHDR) phdr = reinterpret_cast<const sys::Elf64_Phdr*>(auxv[1]);
        if (auxv[0] == sys::AT_PHNUM) phnum = auxv[1];
    }
    for (unsigned long i = 0; phdr && i < phnum; ++i) {
        if (phdr[i].type != sys::PT_TLS) continue;
        rt::tls_template = {reinterpret_cast<const void*>(phdr[i].vaddr), phdr[i].filesz,
                            phdr[i].memsz, phdr[i].align ? phdr[i].align : 1};
    }
    if (rt::tls_area_size() > sizeof(rt::main_thread_tls)) {
        static const char msg[] = "async-nostd: TLS segment too large\n";
        sys::write(2, msg, sizeof msg - 1);
        sys::exit_group(70);
    }
    sys::arch_prctl(sys::ARCH_SET_FS, reinterpret_cast<unsigned long>(rt::tls_setup(rt::main_thread_tls)));

    for (auto** f = __init_array_start; f != __init_array_end; ++f) (*f)();
    sys::exit_group(main(argc, argv));
}

// The entry point. Nothing is set up yet: no stack frame, no TLS, a stack of unknown alignment.
[[gnu::naked, noreturn]] void _start() {
    asm volatile(
        "xor  %ebp, %ebp\n\t"    // mark the outermost frame for debuggers
        "mov  %rsp, %rdi\n\t"    // start_c(sp): argc, argv and envp live at sp
        "and  $-16, %rsp\n\t"    // the ABI wants 16-byte alignment at every call
        "call start_c\n\t"       // never returns
        "hlt\n\t");
}
}  // extern "C"
