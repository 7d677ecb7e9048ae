// runtime/civil_time.cpp — see civil_time.h.
#include "runtime/civil_time.h"

namespace rt {
namespace {
// Three letters each, packed.
constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
constexpr std::string_view kDays = "SunMonTueWedThuFriSat";

std::string_view month_name(int month) { return kMonths.substr(3 * (month - 1), 3); }
std::string_view day_name(int weekday) { return kDays.substr(3 * weekday, 3); }

void put_clock(Writer& w, const CivilTime& t) {
    w.put_uint(t.hour, 2).put(':').put_uint(t.minute, 2).put(':').put_uint(t.second, 2);
}
}  // namespace

CivilTime civil_from_unix(std::int64_t seconds) {
    std::int64_t days = seconds / 86400, rem = seconds % 86400;
    if (rem < 0) rem += 86400, --days;
    CivilTime t;
    t.hour = static_cast<int>(rem / 3600);
    t.minute = static_cast<int>(rem / 60 % 60);
    t.second = static_cast<int>(rem % 60);
    t.weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
    // Howard Hinnant's civil_from_days: eras of 400 years starting 0000-03-01.
    const std::int64_t z = days + 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    t.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    t.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    t.year = static_cast<int>(yoe + era * 400 + (t.month <= 2));
    return t;
}

std::int64_t unix_from_civil(const CivilTime& t) {
    // Howard Hinnant's days_from_civil, the inverse of the above.
    const std::int64_t y = t.year - (t.month <= 2);
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t doy = (153 * (t.month > 2 ? t.month - 3 : t.month + 9) + 2) / 5 + t.day - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const std::int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + t.hour * 3600 + t.minute * 60 + t.second;
}

namespace {
// Reads `text` against `pattern`, in which 'D', 'Y', 'h', 'm', 's' are digits of the day, year,
// hour, minute and second, '_' a space or a day digit, 'b' a three-letter month, 'w' a letter of
// the weekday (not checked against the date), and anything else itself.
bool match_date(std::string_view text, std::string_view pattern, CivilTime& t) {
    if (text.size() != pattern.size()) return false;
    t = {};
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i], p = pattern[i];
        const int digit = c - '0';
        const bool is_digit = digit >= 0 && digit <= 9;
        int* field = p == 'D' || (p == '_' && c != ' ') ? &t.day : p == 'Y' ? &t.year : p == 'h' ? &t.hour
                   : p == 'm' ? &t.minute : p == 's' ? &t.second : nullptr;
        if (field) {
            if (!is_digit) return false;
            *field = *field * 10 + digit;
        } else if (p == 'b') {
            for (int m = 0; m < 12; ++m)
                if (text.substr(i, 3) == month_name(m + 1)) t.month = m + 1;
            if (t.month == 0) return false;
            i += 2;
        } else if (p == 'w') {
            if ((c | 0x20) < 'a' || (c | 0x20) > 'z') return false;
        } else if (p != c && p != '_') {
            return false;
        }
    }
    return true;
}
}  // namespace

bool parse_http_date(std::string_view text, std::int64_t now, std::int64_t& seconds) {
    CivilTime t;
    const std::size_t comma = text.find(',');
    if (match_date(text, "www, DD bbb YYYY hh:mm:ss GMT", t) || match_date(text, "www bbb _D hh:mm:ss YYYY", t)) {
    } else if (comma >= 6 && comma <= 9 && match_date(text.substr(comma), ", DD-bbb-YY hh:mm:ss GMT", t)) {
        // RFC 850's two-digit year is the one nearest now that is at most 50 years ahead
        // (RFC 9110 §5.6.7): in 2026, "76" is 2076 and "77" is 1977.
        constexpr std::int64_t kLast = 253402300799;  // 9999-12-31T23:59:59Z, the last HTTP-date
        const int this_year = civil_from_unix(now < 0 ? 0 : now > kLast ? kLast : now).year;
        t.year += this_year - this_year % 100;
        if (t.year > this_year + 50) t.year -= 100;
        else if (t.year <= this_year - 50) t.year += 100;
    } else {
        return false;
    }
    // Up to 9999-12-31T23:59:59Z: a leap second on the last day would reach year 10000, which
    // no HTTP-date can express.
    if (t.day < 1 || t.year < 1970 || t.hour > 23 || t.minute > 59 || t.second > 60 ||
        (t.year == 9999 && t.month == 12 && t.day == 31 && t.hour == 23 && t.minute == 59 && t.second == 60))
        return false;
    seconds = unix_from_civil(t);
    // A day past its month's end ("30 Feb") would roll over into the next month: refuse it.
    return civil_from_unix(seconds - t.hour * 3600 - t.minute * 60 - t.second).day == t.day;
}

void put_clf_time(Writer& w, std::int64_t seconds) {
    const CivilTime t = civil_from_unix(seconds);
    w.put_uint(t.day, 2).put('/').put(month_name(t.month)).put('/').put_uint(t.year).put(':');
    put_clock(w, t);
    w.put(" +0000");
}

void put_iso_time(Writer& w, std::int64_t seconds) {
    const CivilTime t = civil_from_unix(seconds);
    w.put_uint(t.year, 4).put('-').put_uint(t.month, 2).put('-').put_uint(t.day, 2).put('T');
    put_clock(w, t);
    w.put('Z');
}

void put_http_date(Writer& w, std::int64_t seconds) {
    const CivilTime t = civil_from_unix(seconds);
    w.put(day_name(t.weekday)).put(", ").put_uint(t.day, 2).put(' ').put(month_name(t.month));
    w.put(' ').put_uint(t.year, 4).put(' ');
    put_clock(w, t);
    w.put(" GMT");
}

}  // namespace rt
