// civil_time_test.cpp: rt::civil_from_unix and the three time formatters (runtime/civil_time.h):
// known dates on both sides of the epoch, a day-by-day walk over ±2,000 years against a simple
// calendar, and the exact strings written. Then the inverse, rt::unix_from_civil, and
// rt::parse_http_date: the three RFC 9110 §5.6.7 forms, a round trip through put_http_date, and a
// table of malformed dates.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

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

// ---------------------------------------------------------------------------------------------
// unix_from_civil

// Known instants, from a CivilTime built by hand; the weekday is not read, so it is left wrong.
TEST(CivilTime, UnixFromCivilKnownDates) {
    struct Case {
        CivilTime t;
        std::int64_t seconds;
    };
    const Case cases[] = {
        {{1970, 1, 1, 0, 0, 0, 99}, 0},
        {{1994, 11, 6, 8, 49, 37, 99}, 784111777},
        {{2000, 2, 29, 0, 0, 0, 99}, 951782400},
        {{2000, 3, 1, 0, 0, 0, 99}, 951868800},
        {{2026, 11, 21, 12, 5, 53, 99}, 1795262753},
        {{2038, 1, 19, 3, 14, 8, 99}, 2147483648},
        {{2100, 2, 28, 0, 0, 0, 99}, 4107456000},
        {{2100, 3, 1, 0, 0, 0, 99}, 4107542400},
        {{9999, 12, 31, 23, 59, 59, 99}, 253402300799},
        {{1969, 12, 31, 23, 59, 59, 99}, -1},
        {{1900, 1, 1, 0, 0, 0, 99}, -2208988800},
        {{1900, 3, 1, 0, 0, 0, 99}, -2203891200},
        {{1, 1, 1, 0, 0, 0, 99}, -62135596800},
    };
    for (const Case& c : cases) EXPECT_EQ(rt::unix_from_civil(c.t), c.seconds) << ymd_hms(c.t);
}

// unix_from_civil undoes civil_from_unix for every day of ±2,000 years around 1970, at a
// different time of day each day.
TEST(CivilTime, UnixFromCivilInvertsCivilFromUnix) {
    constexpr std::int64_t kDays = 730500;
    for (std::int64_t n = -kDays; n <= kDays; ++n) {
        const std::int64_t s = n * 86400 + ((n + kDays) * 7919) % 86400;
        ASSERT_EQ(rt::unix_from_civil(rt::civil_from_unix(s)), s) << s;
    }
}

// ---------------------------------------------------------------------------------------------
// parse_http_date

constexpr std::int64_t kNow2026 = 1795262753;  // Sat, 21 Nov 2026 12:05:53 GMT

// Parses `text` from an exactly-sized heap copy (ASan catches a read past its end), at `now`;
// nullopt when it is rejected.
std::optional<std::int64_t> parse_date(std::string_view text, std::int64_t now = kNow2026) {
    std::unique_ptr<char[]> copy(new char[text.size() ? text.size() : 1]);
    std::copy(text.begin(), text.end(), copy.get());
    std::int64_t seconds = -12345;
    if (!rt::parse_http_date({copy.get(), text.size()}, now, seconds)) return std::nullopt;
    return seconds;
}

// The three forms RFC 9110 §5.6.7 names, and the instants they denote.
TEST(HttpDate, ValidForms) {
    struct Case {
        std::string_view text;
        std::int64_t seconds;
    };
    const Case cases[] = {
        // IMF-fixdate.
        {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
        {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
        {"Tue, 29 Feb 2000 00:00:00 GMT", 951782400},
        {"Thu, 29 Feb 2024 12:00:00 GMT", 1709208000},
        {"Sat, 21 Nov 2026 12:05:53 GMT", 1795262753},
        {"Tue, 19 Jan 2038 03:14:08 GMT", 2147483648},
        {"Fri, 31 Dec 9999 23:59:59 GMT", 253402300799},
        // RFC 850, with the full weekday name (6 to 9 letters) and a two-digit year.
        {"Sunday, 06-Nov-94 08:49:37 GMT", 784111777},
        {"Wednesday, 16-Nov-94 08:49:37 GMT", 784975777},
        {"Monday, 07-Nov-94 00:00:00 GMT", 784166400},
        // asctime, day padded with a space or two digits.
        {"Sun Nov  6 08:49:37 1994", 784111777},
        {"Wed Nov 16 08:49:37 1994", 784975777},
        {"Thu Jan  1 00:00:00 1970", 0},
        {"Fri Dec 31 23:59:59 9999", 253402300799},
        // A zero in asctime's padding position is read as the day's tens digit.
        {"Sun Nov 06 08:49:37 1994", 784111777},
        // The weekday is not checked against the date (only that it is letters).
        {"Mon, 06 Nov 1994 08:49:37 GMT", 784111777},
        {"Xyz Nov  6 08:49:37 1994", 784111777},
        // Every month name.
        {"Mon, 01 Feb 2021 00:00:00 GMT", 1612137600},
        {"Mon, 01 Mar 2021 00:00:00 GMT", 1614556800},
        {"Thu, 01 Apr 2021 00:00:00 GMT", 1617235200},
        {"Sat, 01 May 2021 00:00:00 GMT", 1619827200},
        {"Tue, 01 Jun 2021 00:00:00 GMT", 1622505600},
        {"Thu, 01 Jul 2021 00:00:00 GMT", 1625097600},
        {"Sun, 01 Aug 2021 00:00:00 GMT", 1627776000},
        {"Wed, 01 Sep 2021 00:00:00 GMT", 1630454400},
        {"Fri, 01 Oct 2021 00:00:00 GMT", 1633046400},
        {"Mon, 01 Nov 2021 00:00:00 GMT", 1635724800},
        {"Wed, 01 Dec 2021 00:00:00 GMT", 1638316800},
        // A leap second is accepted and lands on the next second.
        {"Sat, 31 Dec 2016 23:59:60 GMT", 1483228800},
    };
    for (const Case& c : cases) EXPECT_EQ(parse_date(c.text), std::optional<std::int64_t>(c.seconds)) << c.text;
}

// RFC 850's two-digit year is the year with those digits that is at most 50 years ahead of now
// (RFC 9110 §5.6.7, a MUST): in 2026, 1977 to 2076.
TEST(HttpDate, Rfc850TwoDigitYear) {
    struct Case {
        std::string_view text;
        std::int64_t seconds;
    };
    const Case cases[] = {
        {"Friday, 31-Dec-99 23:59:59 GMT", 946684799},
        {"Saturday, 01-Jan-00 00:00:00 GMT", 946684800},
        {"Thursday, 29-Feb-24 12:00:00 GMT", 1709208000},
        {"Tuesday, 31-Dec-69 23:59:59 GMT", 3155759999},
        {"Wednesday, 01-Jan-70 00:00:00 GMT", 3155760000},   // 2070, not 1970
        {"Thursday, 31-Dec-76 23:59:59 GMT", 3376684799},    // 2076: 50 years ahead
        {"Saturday, 01-Jan-77 00:00:00 GMT", 220924800},     // 1977: 2077 would be 51
    };
    for (const Case& c : cases) EXPECT_EQ(parse_date(c.text), std::optional<std::int64_t>(c.seconds)) << c.text;
    // The window moves with the clock: in 1994, "70" was 1970; in 2090, "40" is 2140.
    EXPECT_EQ(parse_date("Thursday, 01-Jan-70 00:00:00 GMT", 784111777), std::optional<std::int64_t>(0));
    EXPECT_EQ(parse_date("Sunday, 01-Jan-40 00:00:00 GMT", 3786912000), std::optional<std::int64_t>(5364662400));
    EXPECT_EQ(parse_date("Sunday, 01-Jan-41 00:00:00 GMT", 3786912000), std::optional<std::int64_t>(2240611200));
}

// Every ~1e5 seconds from 1970 to 2100, put_http_date's IMF-fixdate reads back as the same
// instant, and so do the asctime and (within its century) RFC 850 forms of that instant.
TEST(HttpDate, RoundTrip) {
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const char* const kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
    int checked = 0;
    for (std::int64_t s = 0; s < 4102444800; s += 99991) {  // 1970-01-01 .. 2100-01-01, a prime step
        const std::string imf = format(rt::put_http_date, s);
        ASSERT_EQ(parse_date(imf), std::optional<std::int64_t>(s)) << imf;

        const CivilTime t = rt::civil_from_unix(s);
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.3s %s %2d %02d:%02d:%02d %04d", kDays[t.weekday], kMonths[t.month - 1],
                      t.day, t.hour, t.minute, t.second, t.year);
        ASSERT_EQ(parse_date(buf), std::optional<std::int64_t>(s)) << buf;

        if (t.year >= 1977 && t.year <= 2076) {  // two digits name these years in 2026
            std::snprintf(buf, sizeof buf, "%s, %02d-%s-%02d %02d:%02d:%02d GMT", kDays[t.weekday], t.day,
                          kMonths[t.month - 1], t.year % 100, t.hour, t.minute, t.second);
            ASSERT_EQ(parse_date(buf), std::optional<std::int64_t>(s)) << buf;
        }
        ++checked;
    }
    EXPECT_GT(checked, 41000);
}

// Anything but the three exact forms is rejected.
TEST(HttpDate, Invalid) {
    const std::string_view cases[] = {
        "",
        " ",
        "GMT",
        "784111777",
        // IMF-fixdate: lengths, spacing, trailing garbage.
        "Sun, 06 Nov 1994 08:49:37 GMT ",
        " Sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMTx",
        "Sun, 06 Nov 1994 08:49:37 GMT\r\n",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sun, 06  Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994  08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37  GMT",
        "Sun, 06\tNov 1994 08:49:37 GMT",
        "Sun 06 Nov 1994 08:49:37 GMT",
        "Sun,06 Nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Nov 1994 08:49 GMT",
        "Sun, 06-Nov-1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08-49-37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Su, 06 Nov 1994 08:49:37 GMT",
        // Month: unknown, wrong case, spelled out.
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 NOV 1994 08:49:37 GMT",
        "Sun, 06 Nox 1994 08:49:37 GMT",
        "Sun, 06 November 1994 08:49:37 GMT",
        "Sun, 06 Jux 1994 08:49:37 GMT",
        "Sun, 06 123 1994 08:49:37 GMT",
        // Fields out of range.
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 99 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 99:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Wed, 31 Dec 1969 23:59:59 GMT",  // before 1970
        "Sat, 01 Jan 0000 00:00:00 GMT",
        // The zone: missing or not GMT.
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "Sun, 06 Nov 1994 08:49:37 Z",
        // Digits replaced by letters or signs, letters by digits.
        "Sun, 0a Nov 1994 08:49:37 GMT",
        "Sun, -6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 19x4 08:49:37 GMT",
        "Sun, 06 Nov 1994 0x:49:37 GMT",
        "Sun, 06 Nov 1994 08:4x:37 GMT",
        "Sun, 06 Nov 1994 08:49:3x GMT",
        "Sun, 06 Nov 1994 08:49:+7 GMT",
        "S1n, 06 Nov 1994 08:49:37 GMT",
        "Su , 06 Nov 1994 08:49:37 GMT",
        // RFC 850.
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 06-nov-94 08:49:37 GMT",
        "Sunday, 06 Nov 94 08:49:37 GMT",
        "Sunday, 6-Nov-94 08:49:37 GMT",
        "Sunday,06-Nov-94 08:49:37 GMT",
        "Sunday,  06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37",
        "Sunday, 06-Nov-94 08:49:37 GMT ",
        "Sunday, 06-Nov-94 08:49:37 UTC",
        "Sunday, 00-Nov-94 08:49:37 GMT",
        "Sunday, 32-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-94 24:49:37 GMT",
        "Sunday, 06-Nov-94 08:60:37 GMT",
        "Sunday, 06-Nov-9x 08:49:37 GMT",
        "Sunday, 06-Nov-x4 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT",          // abbreviated weekday: comma too early
        "Wednesdays, 06-Nov-94 08:49:37 GMT",   // comma too late
        ", 06-Nov-94 08:49:37 GMT",
        // asctime.
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov 6  08:49:37 1994",
        "Sun Nov   6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 ",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun nov  6 08:49:37 1994",
        "Sun,Nov  6 08:49:37 1994",
        "Sun Nov  0 08:49:37 1994",
        "Sun Nov 00 08:49:37 1994",
        "Sun Nov 32 08:49:37 1994",
        "Sun Nov x6 08:49:37 1994",
        "Sun Nov  x 08:49:37 1994",
        "Sun Nov  6 24:00:00 1994",
        "Sun Nov  6 08:49:37 1969",
        "Sun Nov  6 08:49:37 19x4",
        "S1n Nov  6 08:49:37 1994",
    };
    for (std::string_view text : cases) EXPECT_EQ(parse_date(text), std::nullopt) << '"' << text << '"';
}

// Regression: the 'M' of "GMT" was once read as the month placeholder, so only the 'G' of the
// zone was checked.
TEST(HttpDate, ZoneMustBeGmt) {
    for (std::string_view text : {"Sun, 06 Nov 1994 08:49:37 GXX", "Sun, 06 Nov 1994 08:49:37 GMX",
                                  "Sun, 06 Nov 1994 08:49:37 G00", "Sunday, 06-Nov-94 08:49:37 GXX",
                                  "Sunday, 06-Nov-94 08:49:37 GMt"})
        EXPECT_EQ(parse_date(text), std::nullopt) << '"' << text << '"';
}

// Regression: days past the month's end were once rolled into the next month (30 Feb 2022
// became 2 Mar 2022) instead of refused.
TEST(HttpDate, DayMustExistInMonth) {
    for (std::string_view text : {"Wed, 30 Feb 2022 00:00:00 GMT", "Tue, 29 Feb 2022 00:00:00 GMT",
                                  "Thu, 31 Apr 2022 00:00:00 GMT", "Mon, 29 Feb 2100 00:00:00 GMT",
                                  "Sat, 31 Jun 2022 00:00:00 GMT", "Sat, 31 Sep 2022 00:00:00 GMT",
                                  "Thu, 31 Nov 2022 00:00:00 GMT", "Wednesday, 30-Feb-22 00:00:00 GMT",
                                  "Wed Feb 30 00:00:00 2022"})
        EXPECT_EQ(parse_date(text), std::nullopt) << '"' << text << '"';
    // The last day of each month is fine, 29 Feb in a leap year too.
    EXPECT_EQ(parse_date("Tue, 29 Feb 2000 00:00:00 GMT"), std::optional<std::int64_t>(951782400));
    EXPECT_EQ(parse_date("Mon, 28 Feb 2022 00:00:00 GMT"), std::optional<std::int64_t>(1646006400));
    EXPECT_EQ(parse_date("Sat, 30 Apr 2022 00:00:00 GMT"), std::optional<std::int64_t>(1651276800));
}

}  // namespace
