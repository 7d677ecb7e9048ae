// runtime/civil_time.h — Unix seconds to calendar dates and the three text forms the server
// writes. Pure. UTC only: a server log is compared across machines, so it carries no zone.
#pragma once

#include <cstdint>
#include <string_view>

#include "runtime/format.h"

namespace rt {

struct CivilTime {
    int year, month, day;       // month 1-12, day 1-31
    int hour, minute, second;
    int weekday;                // 0 = Sunday
};

CivilTime civil_from_unix(std::int64_t seconds);
// The inverse, for a date already checked to be valid; the weekday is not read.
std::int64_t unix_from_civil(const CivilTime& t);

// Parses an HTTP-date in any of the three forms RFC 9110 §5.6.7 obliges a recipient to accept:
// "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994".
// Returns false for anything else (a conditional header with a bad date is then ignored).
// `now` (Unix seconds) places the second form's two-digit year.
bool parse_http_date(std::string_view text, std::int64_t now, std::int64_t& seconds);

// "21/Nov/2026:12:00:00 +0000" — the Common Log Format's time (without the brackets).
void put_clf_time(Writer& w, std::int64_t seconds);
// "2026-11-21T12:00:00Z" — ISO 8601 / RFC 3339, for event lines.
void put_iso_time(Writer& w, std::int64_t seconds);
// "Sat, 21 Nov 2026 12:00:00 GMT" — HTTP's IMF-fixdate (RFC 9110 §5.6.7).
void put_http_date(Writer& w, std::int64_t seconds);

}  // namespace rt
