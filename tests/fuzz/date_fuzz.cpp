// tests/fuzz/date_fuzz.cpp — libFuzzer target for rt::parse_http_date (runtime/civil_time.h)
// against rt::put_http_date and the civil-time conversions.
//
// Input: the whole input is a candidate HTTP-date; its first 8 bytes (little-endian) also pick
// a time in [0, 2^33] seconds (1970 to 2242).
//
// Invariants checked:
//  - a date that parses is one of the three forms' lengths, not before 1970, and formatting its
//    seconds as an IMF-fixdate and parsing that again gives the same seconds;
//  - for the chosen time, the IMF-fixdate put_http_date writes, and the RFC 850 (when the year
//    is 1970-2069) and asctime forms of the same instant, all parse back to it;
//  - civil_from_unix gives fields in range and unix_from_civil inverts it.
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/civil_time.h"
#include "runtime/format.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr const char* kDaysShort[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kDaysLong[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

constexpr std::int64_t kNow = 1795262753;  // 2026-11-21: two-digit years are 1977-2076

bool parse(std::string_view text, std::int64_t& seconds) {
    const fuzz::Bytes copy(text);  // exactly sized: a read past the end is caught
    return rt::parse_http_date(copy.view(), kNow, seconds);
}

void put_clock(rt::Writer& w, const rt::CivilTime& t) {
    w.put_uint(t.hour, 2).put(':').put_uint(t.minute, 2).put(':').put_uint(t.second, 2);
}

void check_instant(std::int64_t s) {
    const rt::CivilTime t = rt::civil_from_unix(s);
    FUZZ_CHECK(t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= 31 && t.weekday >= 0 && t.weekday <= 6);
    FUZZ_CHECK(t.hour >= 0 && t.hour <= 23 && t.minute >= 0 && t.minute <= 59 && t.second >= 0 && t.second <= 59);
    FUZZ_CHECK(rt::unix_from_civil(t) == s);
    if (s < 0) return;
    std::int64_t back = -1;

    rt::FixedWriter<64> imf;
    rt::put_http_date(imf, s);
    FUZZ_CHECK(imf.size() == 29 && !imf.overflowed());
    FUZZ_CHECK(parse(imf.view(), back) && back == s);

    if (t.year >= 1977 && t.year <= 2076) {  // what RFC 850's two-digit year means at kNow
        rt::FixedWriter<64> w;
        w.put(kDaysLong[t.weekday]).put(", ").put_uint(t.day, 2).put('-').put(kMonths[t.month - 1]).put('-');
        w.put_uint(t.year % 100, 2).put(' ');
        put_clock(w, t);
        w.put(" GMT");
        back = -1;
        FUZZ_CHECK(parse(w.view(), back) && back == s);
    }

    rt::FixedWriter<64> asc;  // "Sun Nov  6 08:49:37 1994"
    asc.put(kDaysShort[t.weekday]).put(' ').put(kMonths[t.month - 1]).put(' ');
    if (t.day < 10) asc.put(' ');
    asc.put_uint(t.day).put(' ');
    put_clock(asc, t);
    asc.put(' ').put_uint(t.year, 4);
    back = -1;
    FUZZ_CHECK(parse(asc.view(), back) && back == s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::int64_t seconds = -1;
    if (parse(text, seconds)) {
        // 29: IMF-fixdate; 24: asctime; 30-33: RFC 850 with a 6- to 9-letter weekday.
        FUZZ_CHECK(size == 29 || size == 24 || (size >= 30 && size <= 33));
        FUZZ_CHECK(seconds >= 0);
        rt::FixedWriter<64> w;
        rt::put_http_date(w, seconds);
        std::int64_t again = -1;
        FUZZ_CHECK(parse(w.view(), again));
        FUZZ_CHECK(again == seconds);
    }

    const std::uint64_t raw = fuzz::load_le(data, size < 8 ? size : 8);
    check_instant(static_cast<std::int64_t>(raw % ((std::uint64_t{1} << 33) + 1)));
    // Far from the epoch, both ways: only the conversions (the year may not fit four digits).
    const auto wide = static_cast<std::int64_t>(raw % (std::uint64_t{1} << 44)) - (std::int64_t{1} << 43);
    const rt::CivilTime t = rt::civil_from_unix(wide);
    FUZZ_CHECK(t.month >= 1 && t.month <= 12 && t.day >= 1 && t.day <= 31);
    FUZZ_CHECK(rt::unix_from_civil(t) == wide);
    return 0;
}
