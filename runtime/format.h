// runtime/format.h — building text into a caller's fixed buffer, truncating instead of
// overflowing. Pure; the log, HTTP responses and error messages all use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rt {

// The value of a hexadecimal digit, or -1 if `c` is not one.
constexpr int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

class Writer {
public:
    Writer(char* buf, std::size_t capacity) : buf_(buf), cap_(capacity) {}

    Writer& put(std::string_view s) {
        std::size_t n = s.size();
        if (n > cap_ - len_) n = cap_ - len_, overflow_ = true;
        __builtin_memcpy(buf_ + len_, s.data(), n);
        len_ += n;
        return *this;
    }
    // A literal: its length is known here, so no strlen at run time.
    template <std::size_t N>
    Writer& put(const char (&s)[N]) {
        return put(std::string_view(s, N - 1));
    }
    Writer& put(char c) {
        if (len_ < cap_) buf_[len_++] = c;
        else overflow_ = true;
        return *this;
    }
    // Decimal, left-padded with zeros to `width` digits.
    Writer& put_uint(std::uint64_t v, int width = 0) {
        char digits[20];
        int n = sizeof digits;  // filled from the end
        do digits[--n] = static_cast<char>('0' + v % 10);
        while ((v /= 10) != 0);
        while (n > 0 && static_cast<int>(sizeof digits) - n < width) digits[--n] = '0';
        return put(std::string_view(digits + n, sizeof digits - n));
    }
    Writer& put_int(std::int64_t v) {
        if (v < 0) {
            put('-');
            return put_uint(~static_cast<std::uint64_t>(v) + 1);
        }
        return put_uint(static_cast<std::uint64_t>(v));
    }

    // Appends `s` as the log's quoted strings need it: '"', '\' and bytes outside printable
    // ASCII become \xHH, so a hostile header cannot forge a log line or a field.
    Writer& put_escaped(std::string_view s) {
        constexpr char kHex[] = "0123456789ABCDEF";
        for (char ch : s) {
            const auto c = static_cast<unsigned char>(ch);
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') put(ch);
            else put("\\x").put(kHex[c >> 4]).put(kHex[c & 15]);
        }
        return *this;
    }

    std::size_t size() const { return len_; }
    std::string_view view() const { return {buf_, len_}; }
    bool overflowed() const { return overflow_; }
    char* data() { return buf_; }
    void clear() { len_ = 0, overflow_ = false; }

private:
    char* buf_;
    std::size_t cap_;
    std::size_t len_ = 0;
    bool overflow_ = false;
};

// A Writer with its own storage.
template <std::size_t N>
class FixedWriter : public Writer {
public:
    FixedWriter() : Writer(storage_, N) {}
    FixedWriter(const FixedWriter&) = delete;

private:
    char storage_[N];
};

}  // namespace rt
