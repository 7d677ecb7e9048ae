// runtime/civil_time.cpp — see civil_time.h.
#include "runtime/civil_time.h"

namespace rt {
namespace {
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

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

void put_clf_time(Writer& w, std::int64_t seconds) {
    const CivilTime t = civil_from_unix(seconds);
    w.put_uint(t.day, 2).put('/').put(kMonths[t.month - 1]).put('/').put_uint(t.year).put(':');
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
    w.put(kDays[t.weekday]).put(", ").put_uint(t.day, 2).put(' ').put(kMonths[t.month - 1]);
    w.put(' ').put_uint(t.year, 4).put(' ');
    put_clock(w, t);
    w.put(" GMT");
}

}  // namespace rt
