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
