// sys/signal.cpp — the return path from a signal handler, in assembly.
//
// The kernel enters a handler with the address in sa_restorer (SA_RESTORER) as its return
// address; that code must make rt_sigreturn, which restores the interrupted registers from the
// frame the kernel left on the stack. libc supplies it; here it is two instructions.
asm(R"(
    .text
    .globl signal_return
    .type signal_return, @function
signal_return:
    mov  $15, %eax            # __NR_rt_sigreturn
    syscall
    .size signal_return, .-signal_return
)");
