// runtime/sandbox.h — the seccomp filter the server runs under once it is serving: only the
// system calls it makes from then on are allowed; any other kills the process.
#pragma once

namespace rt {

// Installs the filter on every thread of the process (SECCOMP_FILTER_FLAG_TSYNC), after
// PR_SET_NO_NEW_PRIVS. Call it once start-up is done: opening the listener, starting threads
// and changing credentials are all refused afterwards. Returns 0 or -errno.
int sandbox_install();

}  // namespace rt
