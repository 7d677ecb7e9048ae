// civil_time_test.cpp: rt::civil_from_unix and the three time formatters (runtime/civil_time.h):
// known dates on both sides of the epoch, a day-by-day walk over ±2,000 years against a simple
// calendar, and the exact strings written.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "runtime/civil_time.h"

namespace {

using rt::CivilTime;

std::string ymd_hms(const CivilTime& t) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d w%d", t.year, t.month, t.day, t.hour,
                  t.minute, t.second, t.weekday);
    return buf;
}

template <class F>
std::string format(F f, std::int64_t seconds) {
    rt::FixedWriter<64> w;
    f(w, seconds);
    EXPECT_FALSE(w.overflowed());
    return std::string(w.view());
}

// Known instants (checked against Python's datetime), weekday 0 = Sunday.
TEST(CivilTime, KnownDates) {
    struct Case {
        std::int64_t seconds;
        const char* expected;
    };
    const Case cases[] = {
        {0, "1970-01-01 00:00:00 w4"},              // Thursday
        {86399, "1970-01-01 23:59:59 w4"},
        {86400, "1970-01-02 00:00:00 w5"},
        {951782400, "2000-02-29 00:00:00 w2"},      // leap day of a /400 year
        {951868800, "2000-03-01 00:00:00 w3"},
        {1795262753, "2026-11-21 12:05:53 w6"},
        {1000000000, "2001-09-09 01:46:40 w0"},
        {1709164800, "2024-02-29 00:00:00 w4"},
        {1609459199, "2020-12-31 23:59:59 w4"},     // last second of a leap year
        {2147483647, "2038-01-19 03:14:07 w2"},     // 32-bit time_t limit
        {2147483648, "2038-01-19 03:14:08 w2"},
        {4107542400, "2100-03-01 00:00:00 w1"},     // 2100 is not a leap year
        {4107456000, "2100-02-28 00:00:00 w0"},
        {253402300799, "9999-12-31 23:59:59 w5"},
        // Before 1970: negative seconds round down to the previous day.
        {-1, "1969-12-31 23:59:59 w3"},
        {-86400, "1969-12-31 00:00:00 w3"},
        {-86401, "1969-12-30 23:59:59 w2"},
        {-2147483648, "1901-12-13 20:45:52 w5"},
        {-2208988800, "1900-01-01 00:00:00 w1"},   // 1900 is not a leap year
        {-2203891200, "1900-03-01 00:00:00 w4"},
        {-62135596800, "0001-01-01 00:00:00 w1"},
    };
    for (const Case& c : cases) EXPECT_EQ(ymd_hms(rt::civil_from_unix(c.seconds)), c.expected) << c.seconds;
}

// Walking day by day from 1970 forward and backward ~2,000 years, each date is the successor
// of the one before in a naive Gregorian calendar, weekday advancing mod 7, with the time of day
// decoded from the same instant.
TEST(CivilTime, DayByDayAgainstSimpleCalendar) {
    auto leap = [](int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; };
    auto days_in = [&](int y, int m) {
        static const int k[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        return m == 2 && leap(y) ? 29 : k[m - 1];
    };
    constexpr std::int64_t kDays = 730500;  // ~2,000 years
    for (int direction : {1, -1}) {
        int y = 1970, m = 1, d = 1, wd = 4;
        for (std::int64_t day = 0; day <= kDays; ++day) {
            const std::int64_t n = direction * day;
            const std::int64_t secs_of_day = (day * 7919) % 86400;
            const CivilTime t = rt::civil_from_unix(n * 86400 + secs_of_day);
            ASSERT_EQ(t.year, y) << n;
            ASSERT_EQ(t.month, m) << n;
            ASSERT_EQ(t.day, d) << n;
            ASSERT_EQ(t.weekday, wd) << n;
            ASSERT_EQ(t.hour * 3600 + t.minute * 60 + t.second, secs_of_day) << n;
            ASSERT_TRUE(t.hour < 24 && t.minute < 60 && t.second < 60);
            if (direction > 0) {
                wd = (wd + 1) % 7;
                if (++d > days_in(y, m)) {
                    d = 1;
                    if (++m > 12) m = 1, ++y;
                }
            } else {
                wd = (wd + 6) % 7;
                if (--d < 1) {
                    if (--m < 1) m = 12, --y;
                    d = days_in(y, m);
                }
            }
        }
    }
}

// The last second of each day and the first of the next straddle the day boundary correctly,
// including on the negative side where division truncates toward zero.
TEST(CivilTime, SecondBoundaries) {
    for (std::int64_t day = -5; day <= 5; ++day) {
        const CivilTime last = rt::civil_from_unix(day * 86400 + 86399);
        const CivilTime first = rt::civil_from_unix(day * 86400 + 86400);
        EXPECT_EQ(last.hour * 3600 + last.minute * 60 + last.second, 86399) << day;
        EXPECT_EQ(first.hour + first.minute + first.second, 0) << day;
        EXPECT_EQ((last.weekday + 1) % 7, first.weekday) << day;
    }
}

// The three formatters' exact strings.
TEST(CivilTime, Formatters) {
    EXPECT_EQ(format(rt::put_clf_time, 1795262753), "21/Nov/2026:12:05:53 +0000");
    EXPECT_EQ(format(rt::put_iso_time, 1795262753), "2026-11-21T12:05:53Z");
    EXPECT_EQ(format(rt::put_http_date, 1795262753), "Sat, 21 Nov 2026 12:05:53 GMT");

    EXPECT_EQ(format(rt::put_clf_time, 0), "01/Jan/1970:00:00:00 +0000");
    EXPECT_EQ(format(rt::put_iso_time, 0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format(rt::put_http_date, 0), "Thu, 01 Jan 1970 00:00:00 GMT");

    // RFC 9110's own example date.
    EXPECT_EQ(format(rt::put_http_date, 784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(format(rt::put_iso_time, 951782400), "2000-02-29T00:00:00Z");
    EXPECT_EQ(format(rt::put_clf_time, -1), "31/Dec/1969:23:59:59 +0000");
    EXPECT_EQ(format(rt::put_http_date, -1), "Wed, 31 Dec 1969 23:59:59 GMT");
    EXPECT_EQ(format(rt::put_iso_time, 253402300799), "9999-12-31T23:59:59Z");
    EXPECT_EQ(format(rt::put_http_date, 253402300799), "Fri, 31 Dec 9999 23:59:59 GMT");
    EXPECT_EQ(format(rt::put_iso_time, -62135596800), "0001-01-01T00:00:00Z");
    EXPECT_EQ(format(rt::put_http_date, -62135596800), "Mon, 01 Jan 0001 00:00:00 GMT");
}

// Every month and weekday name appears where it should.
TEST(CivilTime, MonthAndDayNames) {
    const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    // The 15th of each month of 2023, at noon.
    const std::int64_t jan15 = 1673784000;
    const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    std::int64_t t = jan15;
    for (int m = 0; m < 12; ++m) {
        EXPECT_EQ(format(rt::put_clf_time, t), std::string("15/") + months[m] + "/2023:12:00:00 +0000");
        t += month_days[m] * std::int64_t{86400};
    }
    // 2023-01-15 was a Sunday; the next six days name the rest of the week.
    const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    for (int i = 0; i < 7; ++i)
        EXPECT_EQ(format(rt::put_http_date, jan15 + i * 86400).substr(0, 4), std::string(days[i]) + ",");
}

// A writer too small for the date truncates and flags overflow instead of writing past its end.
TEST(CivilTime, FormatterTruncatesIntoSmallWriter) {
    std::unique_ptr<char[]> buf(new char[10]);
    rt::Writer w(buf.get(), 10);
    rt::put_http_date(w, 1795262753);
    EXPECT_TRUE(w.overflowed());
    EXPECT_EQ(w.view(), "Sat, 21 No");
}

}  // namespace
