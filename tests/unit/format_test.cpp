// format_test.cpp: rt::Writer / rt::FixedWriter (runtime/format.h) — text into a fixed buffer,
// truncating (and flagging it) instead of overflowing.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "runtime/format.h"

namespace {

// put() appends strings and characters; size/view/data reflect what was written.
TEST(Writer, PutAndView) {
    rt::FixedWriter<32> w;
    EXPECT_EQ(w.size(), 0u);
    EXPECT_EQ(w.view(), "");
    w.put("abc").put('-').put(std::string_view("de"));
    EXPECT_EQ(w.view(), "abc-de");
    EXPECT_EQ(w.size(), 6u);
    EXPECT_FALSE(w.overflowed());
    EXPECT_EQ(w.data()[0], 'a');
    w.clear();
    EXPECT_EQ(w.view(), "");
    EXPECT_FALSE(w.overflowed());
}

// put_uint: decimal, zero-padded to the width, never truncating the number itself.
TEST(Writer, PutUint) {
    auto fmt = [](std::uint64_t v, int width) {
        rt::FixedWriter<32> w;
        w.put_uint(v, width);
        return std::string(w.view());
    };
    EXPECT_EQ(fmt(0, 0), "0");
    EXPECT_EQ(fmt(0, 2), "00");
    EXPECT_EQ(fmt(7, 2), "07");
    EXPECT_EQ(fmt(42, 2), "42");
    EXPECT_EQ(fmt(12345, 2), "12345");
    EXPECT_EQ(fmt(5, 4), "0005");
    EXPECT_EQ(fmt(1000000, 0), "1000000");
    EXPECT_EQ(fmt(std::numeric_limits<std::uint64_t>::max(), 0), "18446744073709551615");
}

// put_int: sign and magnitude, including the most negative value.
TEST(Writer, PutInt) {
    auto fmt = [](std::int64_t v) {
        rt::FixedWriter<32> w;
        w.put_int(v);
        return std::string(w.view());
    };
    EXPECT_EQ(fmt(0), "0");
    EXPECT_EQ(fmt(-1), "-1");
    EXPECT_EQ(fmt(123), "123");
    EXPECT_EQ(fmt(-9876543210), "-9876543210");
    EXPECT_EQ(fmt(std::numeric_limits<std::int64_t>::max()), "9223372036854775807");
    EXPECT_EQ(fmt(std::numeric_limits<std::int64_t>::min()), "-9223372036854775808");
}

// put_escaped: printable ASCII passes; quote, backslash, controls, DEL and high bytes become \xHH.
TEST(Writer, PutEscaped) {
    rt::FixedWriter<128> w;
    w.put_escaped(std::string_view("a b\"c\\d\r\n\t\x7f\x80\xff\0z", 15));
    EXPECT_EQ(w.view(), "a b\\x22c\\x5Cd\\x0D\\x0A\\x09\\x7F\\x80\\xFF\\x00z");
}

// A full writer drops further bytes and remembers it; it never writes past its capacity.
TEST(Writer, TruncatesAndFlagsOverflow) {
    std::unique_ptr<char[]> buf(new char[5]);
    rt::Writer w(buf.get(), 5);
    w.put("abc");
    EXPECT_FALSE(w.overflowed());
    w.put("de");
    EXPECT_FALSE(w.overflowed());  // exactly full is not overflow
    EXPECT_EQ(w.view(), "abcde");
    w.put('f').put_uint(123).put_escaped("\n");
    EXPECT_TRUE(w.overflowed());
    EXPECT_EQ(w.view(), "abcde");
    w.clear();
    EXPECT_FALSE(w.overflowed());
    w.put_uint(1234567, 0);
    EXPECT_TRUE(w.overflowed());
    EXPECT_EQ(w.view(), "12345");  // the leading digits are kept

    rt::Writer zero(nullptr, 0);
    zero.put('x');
    EXPECT_TRUE(zero.overflowed());
    EXPECT_EQ(zero.size(), 0u);
}

}  // namespace
