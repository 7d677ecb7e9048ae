// net/address.h — IP address text, both ways. Pure.
#pragma once

#include <cstdint>
#include <string_view>

#include "runtime/format.h"

namespace net {

// Strict dotted-quad IPv4 ("127.0.0.1"): four decimal fields 0-255, no leading zeros (so "010"
// cannot mean octal to one reader and decimal to another), nothing else. Returns false if not.
bool parse_ipv4(std::string_view text, std::uint8_t out[4]);

// "a.b.c.d"
void put_ipv4(rt::Writer& w, const std::uint8_t addr[4]);

// Parses a decimal port 1-65535.
bool parse_port(std::string_view text, std::uint16_t& port);

}  // namespace net
