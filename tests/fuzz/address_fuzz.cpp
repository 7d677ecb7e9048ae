// tests/fuzz/address_fuzz.cpp — libFuzzer target for the IP parsers and printers of
// net/address.h, with the C library's inet_pton/inet_ntop as the reference.
//
// Input: the text (any bytes).
//
// Invariants:
//  - parse_ipv4 accepts exactly what inet_pton(AF_INET) accepts, with the same bytes;
//  - parse_ipv6 accepts exactly what inet_pton(AF_INET6) accepts, with the same bytes (the text
//    is first stripped of one pair of enclosing brackets, which parse_ipv6 allows);
//  - for an accepted IPv6 address, put_ipv6 writes what inet_ntop writes (RFC 5952; an
//    IPv4-mapped address as its IPv4 part, an IPv4-compatible one in hex), and parsing that text
//    gives the same 16 bytes back.
#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "net/address.h"
#include "runtime/format.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fuzz::Bytes text(std::string_view(reinterpret_cast<const char*>(data), size));
    const std::string_view view = text.view();
    const std::string c_text(view);  // inet_pton needs a NUL; an embedded NUL must fail ours
    const bool has_nul = c_text.find('\0') != std::string::npos;

    std::uint8_t ours4[4], ref4[4];
    const bool ok4 = net::parse_ipv4(view, ours4);
    FUZZ_CHECK(ok4 == (!has_nul && inet_pton(AF_INET, c_text.c_str(), ref4) == 1));
    if (ok4) FUZZ_CHECK(std::memcmp(ours4, ref4, 4) == 0);

    std::string plain = c_text;
    if (plain.size() >= 2 && plain.front() == '[' && plain.back() == ']') plain = plain.substr(1, plain.size() - 2);
    std::uint8_t ours6[16], ref6[16];
    const bool ok6 = net::parse_ipv6(view, ours6);
    FUZZ_CHECK(ok6 == (!has_nul && inet_pton(AF_INET6, plain.c_str(), ref6) == 1));
    if (!ok6) return 0;
    FUZZ_CHECK(std::memcmp(ours6, ref6, 16) == 0);

    rt::FixedWriter<64> w;
    net::put_ipv6(w, ours6);
    FUZZ_CHECK(!w.overflowed());
    char ref_text[INET6_ADDRSTRLEN];
    FUZZ_CHECK(inet_ntop(AF_INET6, ours6, ref_text, sizeof ref_text));
    std::string expect = ref_text;
    const bool dotted = expect.find('.') != std::string::npos;
    if (net::is_ipv4_mapped(ours6)) {
        FUZZ_CHECK(dotted && expect.rfind("::ffff:", 0) == 0);
        FUZZ_CHECK(w.view() == expect.substr(7));
        return 0;
    }
    if (!dotted) FUZZ_CHECK(w.view() == expect);  // inet_ntop writes ::a.b.c.d, RFC 5952 hex
    std::uint8_t back[16];
    FUZZ_CHECK(net::parse_ipv6(w.view(), back) && std::memcmp(back, ours6, 16) == 0);
    return 0;
}
