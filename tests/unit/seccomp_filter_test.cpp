// seccomp_filter_test.cpp: rt::build_seccomp_filter (runtime/seccomp_filter.h). The programs it
// builds are installed in a forked child, and the kernel's verdict is what is checked: allowed
// calls run, anything else (another call, a forbidden argument bit, the x32 ABI) kills the child
// with SIGSYS.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "runtime/seccomp_filter.h"

namespace {

const rt::AllowedCall kAllowed[] = {
    {SYS_getpid}, {SYS_write}, {SYS_exit_group}, {SYS_munmap},
    {SYS_mmap, 2, PROT_EXEC},
};
constexpr int kCount = sizeof kAllowed / sizeof kAllowed[0];

// Runs `body` in a child under the filter; returns its wait status. The child ends with
// exit_group(0) if body returns.
int run_filtered(const std::function<void()>& body) {
    rt::BpfInsn program[64];
    const int size = rt::build_seccomp_filter(kAllowed, kCount, program, 64);
    EXPECT_EQ(size, rt::seccomp_filter_size(kAllowed, kCount));
    const pid_t pid = fork();
    if (pid == 0) {
        sock_fprog prog{static_cast<unsigned short>(size), reinterpret_cast<sock_filter*>(program)};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) syscall(SYS_exit_group, 90);
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) syscall(SYS_exit_group, 91);
        body();
        syscall(SYS_exit_group, 0);
    }
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    return status;
}

bool killed_by_sigsys(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS; }
bool exited_ok(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

TEST(SeccompFilter, LayoutMatchesTheKernelsStructs) {
    static_assert(sizeof(rt::BpfInsn) == sizeof(sock_filter));
    static_assert(rt::kSeccompAllow == SECCOMP_RET_ALLOW && rt::kSeccompKillProcess == SECCOMP_RET_KILL_PROCESS);
    static_assert(rt::kAuditArchX86_64 == AUDIT_ARCH_X86_64);
}

TEST(SeccompFilter, AllowedCallsRun) {
    const int status = run_filtered([] {
        if (syscall(SYS_getpid) <= 0) syscall(SYS_exit_group, 3);
        if (syscall(SYS_write, -1, "", 0) != -1) syscall(SYS_exit_group, 4);  // EBADF, but it ran
        void* p = reinterpret_cast<void*>(syscall(SYS_mmap, nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        if (p == MAP_FAILED) syscall(SYS_exit_group, 5);
        if (syscall(SYS_munmap, p, 4096) != 0) syscall(SYS_exit_group, 6);
    });
    EXPECT_TRUE(exited_ok(status)) << status;
}

TEST(SeccompFilter, AnyOtherCallKillsTheProcess) {
    for (long nr : {long{SYS_getuid}, long{SYS_socket}, long{SYS_execve}, long{SYS_openat}, long{SYS_clone}, long{SYS_ptrace}}) {
        const int status = run_filtered([nr] { syscall(nr, 0, 0, 0); });
        EXPECT_TRUE(killed_by_sigsys(status)) << "syscall " << nr << " status " << status;
    }
}

TEST(SeccompFilter, ForbiddenArgumentBitKills) {
    const int status = run_filtered([] {
        syscall(SYS_mmap, nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    });
    EXPECT_TRUE(killed_by_sigsys(status)) << status;
}

TEST(SeccompFilter, X32AbiKills) {
    // getpid is allowed, but not through the x32 entry (nr | __X32_SYSCALL_BIT).
    const int status = run_filtered([] { syscall(SYS_getpid | 0x40000000); });
    EXPECT_TRUE(killed_by_sigsys(status)) << status;
}

TEST(SeccompFilter, RefusesWhatDoesNotFit) {
    rt::BpfInsn program[8];
    EXPECT_EQ(rt::build_seccomp_filter(kAllowed, kCount, program, 8), 0);
    rt::AllowedCall many[300];
    for (int i = 0; i < 300; ++i) many[i] = {i};
    static rt::BpfInsn big[400];
    EXPECT_EQ(rt::build_seccomp_filter(many, 300, big, 400), 0);  // jumps would not reach
    EXPECT_EQ(rt::build_seccomp_filter(many, 200, big, 400), 206);
}

}  // namespace
