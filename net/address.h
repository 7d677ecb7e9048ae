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

// IPv6 text (RFC 4291 §2.2): eight groups of 1-4 hex digits, one "::" for a run of zero groups,
// an optional dotted-quad tail ("::ffff:10.0.0.1"), optionally in brackets ("[::1]"). Zone
// suffixes ("fe80::1%eth0") are refused. Returns false if not.
bool parse_ipv6(std::string_view text, std::uint8_t out[16]);

// The canonical form of RFC 5952: lower case, no leading zeros, the longest run of two or more
// zero groups (the first of equals) as "::". An IPv4-mapped address (::ffff:a.b.c.d, how a
// dual-stack socket sees an IPv4 client) is written as plain "a.b.c.d", so the log names one
// client one way whichever socket it reached.
void put_ipv6(rt::Writer& w, const std::uint8_t addr[16]);

// ::ffff:a.b.c.d
bool is_ipv4_mapped(const std::uint8_t addr[16]);

// Parses a decimal port 1-65535.
bool parse_port(std::string_view text, std::uint16_t& port);

}  // namespace net
