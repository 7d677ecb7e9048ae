// runtime/seccomp_filter.h — builds the classic-BPF program of a seccomp allow-list filter
// (Documentation/userspace-api/seccomp_filter.rst). Pure: it only writes instructions, so the
// hosted tests can install what it builds in a child process and watch the kernel apply it.
// Header-only: see build_seccomp_filter.
#pragma once

#include <cstdint>

namespace rt {

// struct sock_filter: one BPF instruction.
struct BpfInsn {
    std::uint16_t code;
    std::uint8_t jt, jf;
    std::uint32_t k;
};

// A system call the filter lets through. With `arg` >= 0, only while the low 32 bits of that
// argument have none of the `forbidden` bits (e.g. mmap without PROT_EXEC).
struct AllowedCall {
    int nr;
    int arg = -1;
    std::uint32_t forbidden = 0;
};

inline constexpr std::uint32_t kAuditArchX86_64 = 0xc000003e;  // AUDIT_ARCH_X86_64
inline constexpr std::uint32_t kSeccompKillProcess = 0x80000000, kSeccompAllow = 0x7fff0000;

namespace bpf {
// BPF opcodes (linux/bpf_common.h).
constexpr std::uint16_t kLoadWord = 0x20;  // BPF_LD | BPF_W | BPF_ABS: A = data[k]
constexpr std::uint16_t kJumpEq = 0x15;    // BPF_JMP | BPF_JEQ | BPF_K
constexpr std::uint16_t kJumpSet = 0x45;   // BPF_JMP | BPF_JSET | BPF_K: A & k
constexpr std::uint16_t kReturn = 0x06;    // BPF_RET | BPF_K

// struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6].
constexpr std::uint32_t kNrOffset = 0, kArchOffset = 4, kArgsOffset = 16;
constexpr std::uint32_t kX32Bit = 0x40000000;  // __X32_SYSCALL_BIT
}  // namespace bpf

// Writes the program into `out` (room for `capacity` instructions): a call from another
// architecture or ABI (x32), or one not in `allowed`, kills the whole process. Returns the
// number of instructions, or 0 if they would not fit (or a jump would be too long for BPF's
// 8-bit offsets, past about 250 instructions). constexpr, so the server's program is built by
// the compiler and only its instructions are in the binary.
// The instructions the program for `allowed` takes.
constexpr int seccomp_filter_size(const AllowedCall* allowed, int count) {
    int size = 4 + 2;
    for (int i = 0; i < count; ++i) size += allowed[i].arg >= 0 ? 3 : 1;
    return size;
}

constexpr int build_seccomp_filter(const AllowedCall* allowed, int count, BpfInsn* out, int capacity) {
    using namespace bpf;
    // The layout: the checks, then "kill" and "allow" as the last two instructions, which
    // every check jumps forward to.
    const int size = seccomp_filter_size(allowed, count);
    if (size > capacity || size > 250) return 0;
    const int kill = size - 2, allow = size - 1;
    int pc = 0;
    auto emit = [&](std::uint16_t code, std::uint32_t k, int jt = -1, int jf = -1) {
        // jt/jf are targets (instruction indexes); -1 means the next instruction.
        const auto offset = [&](int target) { return static_cast<std::uint8_t>(target < 0 ? 0 : target - pc - 1); };
        out[pc] = {code, offset(jt), offset(jf), k};
        ++pc;
    };
    emit(kLoadWord, kArchOffset);
    emit(kJumpEq, kAuditArchX86_64, -1, kill);
    emit(kLoadWord, kNrOffset);
    emit(kJumpSet, kX32Bit, kill, -1);
    for (int i = 0; i < count; ++i) {
        const AllowedCall& c = allowed[i];
        if (c.arg < 0) {
            emit(kJumpEq, static_cast<std::uint32_t>(c.nr), allow, -1);
            continue;
        }
        // Not this call: on to the next check, past the argument test (which leaves A holding
        // the argument, but both of its outcomes end the program).
        emit(kJumpEq, static_cast<std::uint32_t>(c.nr), -1, pc + 3);
        emit(kLoadWord, kArgsOffset + 8 * static_cast<std::uint32_t>(c.arg));
        emit(kJumpSet, c.forbidden, kill, allow);
    }
    emit(kReturn, kSeccompKillProcess);
    emit(kReturn, kSeccompAllow);
    return pc;
}


}  // namespace rt
