// runtime/civil_time.h — Unix seconds to calendar dates and the three text forms the server
// writes. Pure. UTC only: a server log is compared across machines, so it carries no zone.
#pragma once

#include <cstdint>

#include "runtime/format.h"

namespace rt {

struct CivilTime {
    int year, month, day;       // month 1-12, day 1-31
    int hour, minute, second;
    int weekday;                // 0 = Sunday
};

CivilTime civil_from_unix(std::int64_t seconds);

// "21/Nov/2026:12:00:00 +0000" — the Common Log Format's time (without the brackets).
void put_clf_time(Writer& w, std::int64_t seconds);
// "2026-11-21T12:00:00Z" — ISO 8601 / RFC 3339, for event lines.
void put_iso_time(Writer& w, std::int64_t seconds);
// "Sat, 21 Nov 2026 12:00:00 GMT" — HTTP's IMF-fixdate (RFC 9110 §5.6.7).
void put_http_date(Writer& w, std::int64_t seconds);

}  // namespace rt
