// net/address.cpp — see address.h.
#include "net/address.h"

namespace net {

bool parse_ipv4(std::string_view text, std::uint8_t out[4]) {
    std::size_t i = 0;
    for (int field = 0; field < 4; ++field) {
        if (field > 0) {
            if (i >= text.size() || text[i] != '.') return false;
            ++i;
        }
        const std::size_t start = i;
        unsigned value = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3)
            value = value * 10 + static_cast<unsigned>(text[i++] - '0');
        const std::size_t digits = i - start;
        if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) return false;
        out[field] = static_cast<std::uint8_t>(value);
    }
    return i == text.size();
}

void put_ipv4(rt::Writer& w, const std::uint8_t addr[4]) {
    for (int i = 0; i < 4; ++i) {
        if (i) w.put('.');
        w.put_uint(addr[i]);
    }
}

bool parse_ipv6(std::string_view text, std::uint8_t out[16]) {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
    // Groups before the "::" go to the front, groups after it to the back; the gap is zeros.
    std::uint8_t front[16], back[16];
    int nfront = 0, nback = 0;  // bytes
    bool gap = false;
    std::size_t i = 0;
    if (text.starts_with("::")) gap = true, i = 2;
    while (i < text.size()) {
        std::size_t end = i;
        while (end < text.size() && text[end] != ':') ++end;
        const std::string_view piece = text.substr(i, end - i);
        std::uint8_t* dst = gap ? back + nback : front + nfront;
        int& n = gap ? nback : nfront;
        if (piece.find('.') != std::string_view::npos) {
            // A dotted-quad tail: the last piece, in place of two groups.
            if (end != text.size() || nfront + nback > 12 || !parse_ipv4(piece, dst)) return false;
            n += 4;
            break;
        }
        if (piece.empty() || piece.size() > 4 || nfront + nback > 14) return false;
        unsigned group = 0;
        for (char c : piece) {
            const int v = rt::hex_value(c);
            if (v < 0) return false;
            group = group << 4 | static_cast<unsigned>(v);
        }
        dst[0] = static_cast<std::uint8_t>(group >> 8);
        dst[1] = static_cast<std::uint8_t>(group);
        n += 2;
        if (end == text.size()) break;
        if (end + 1 < text.size() && text[end + 1] == ':') {
            if (gap) return false;
            gap = true;
            i = end + 2;
        } else {
            i = end + 1;
            if (i == text.size()) return false;  // a single trailing ':'
        }
    }
    if (text.empty() || (gap ? nfront + nback > 14 : nfront != 16)) return false;
    for (int k = 0; k < 16; ++k) out[k] = 0;
    for (int k = 0; k < nfront; ++k) out[k] = front[k];
    for (int k = 0; k < nback; ++k) out[16 - nback + k] = back[k];
    return true;
}

bool is_ipv4_mapped(const std::uint8_t addr[16]) {
    for (int i = 0; i < 10; ++i)
        if (addr[i]) return false;
    return addr[10] == 0xff && addr[11] == 0xff;
}

void put_ipv6(rt::Writer& w, const std::uint8_t addr[16]) {
    unsigned groups[8];
    for (int g = 0; g < 8; ++g) groups[g] = static_cast<unsigned>(addr[2 * g] << 8 | addr[2 * g + 1]);
    if (is_ipv4_mapped(addr)) {
        put_ipv4(w, addr + 12);
        return;
    }
    int best = -1, best_len = 1;  // a lone zero group is written as "0", not "::"
    for (int g = 0; g < 8;) {
        int run = 0;
        while (g + run < 8 && groups[g + run] == 0) ++run;
        if (run > best_len) best = g, best_len = run;
        g += run ? run : 1;
    }
    constexpr char kHex[] = "0123456789abcdef";
    for (int g = 0; g < 8; ++g) {
        if (g == best) {
            w.put("::");
            g += best_len - 1;
            continue;
        }
        if (g > 0 && g != best + best_len) w.put(':');
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            const unsigned digit = groups[g] >> shift & 15;
            if (digit || started || shift == 0) w.put(kHex[digit]), started = true;
        }
    }
}

bool parse_port(std::string_view text, std::uint16_t& port) {
    if (text.empty() || text.size() > 5) return false;
    unsigned value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return false;
    port = static_cast<std::uint16_t>(value);
    return true;
}

}  // namespace net
