// sys/clone.cpp — thread creation in assembly.
//
// After clone() the child runs on the new stack with the parent's registers, so it must not
// return into any C++ frame. The parent pushes fn and arg onto the child's stack first; the child
// pops them, calls fn(arg) and ends itself with exit() (the thread only, not exit_group).
//
// long clone_thread(flags=rdi, stack_top=rsi, parent_tid=rdx, child_tid=rcx, tls=r8, fn=r9,
//                   arg=[rsp+8])
asm(R"(
    .text
    .globl clone_thread
    .type clone_thread, @function
clone_thread:
    mov  8(%rsp), %rax        # arg, the 7th parameter, is on our stack
    and  $-16, %rsi           # child stack top: 16-byte aligned
    sub  $16, %rsi
    mov  %r9, 0(%rsi)         # child pops fn ...
    mov  %rax, 8(%rsi)        # ... then arg
    mov  %rcx, %r10           # 4th syscall argument travels in r10
    mov  $56, %eax            # __NR_clone(flags, stack, parent_tid, child_tid, tls)
    syscall
    test %rax, %rax
    jnz  1f                   # parent (tid > 0) or error (< 0): return it
    xor  %ebp, %ebp           # child: outermost frame
    pop  %rax                 # fn
    pop  %rdi                 # arg; rsp is back at the aligned top
    call *%rax                # fn(arg)
    mov  %eax, %edi
    mov  $60, %eax            # __NR_exit: this thread only
    syscall
    hlt
1:  ret
    .size clone_thread, .-clone_thread
)");
