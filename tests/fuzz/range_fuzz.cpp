// tests/fuzz/range_fuzz.cpp — libFuzzer target for http/conditional.h: parse_range,
// select_representation, etag_list_matches and accepts_gzip.
//
// Input: bytes 0-7 a representation size, 8-15 a second size, 16-23 the file's mtime (all
// little-endian), byte 24 flags (bit 0: both sizes modulo 4096, so small files are common), then
// text lines: the method, the file's ETag, then header fields "Name: value" (a one-digit name
// stands for one of the headers conditional.h reads, see kNames). Every header value is also
// tried as a Range, an entity-tag list and an Accept-Encoding.
//
// Invariants checked:
//  - parse_range: whole is (0, size); partial has length >= 1 and first + length <= size;
//    unsatisfiable is (0, 0); whether a header is ignored (whole) does not depend on the size;
//  - select_representation: status is 200/206/304/412/416; 200 is the whole file; 206 and 416
//    need a GET with a Range header and agree with parse_range; 304 needs If-None-Match or
//    If-Modified-Since, 412 If-Match or If-Unmodified-Since; no such header means 200;
//  - etag_list_matches: strong implies weak; a weak tag never matches strongly (except "*");
//    appending the tag itself to any list makes it match;
//  - accepts_gzip: true only if "gzip" or "*" is named; ",gzip" appended makes it true,
//    ",gzip;q=0" false; a leading "identity," changes nothing.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/conditional.h"
#include "http/request_parser.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr std::string_view kNames[] = {"Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since",
                                       "If-Unmodified-Since", "Accept-Encoding", "Host", "ETag", "X"};

void check_range(std::string_view value, std::uint64_t size, std::uint64_t size2) {
    const http::ByteRange r = http::parse_range(value, size);
    switch (r.kind) {
    case http::ByteRange::whole:
        FUZZ_CHECK(r.first == 0 && r.length == size);
        break;
    case http::ByteRange::partial:
        FUZZ_CHECK(r.length >= 1 && r.first < size && r.length <= size - r.first);
        break;
    case http::ByteRange::unsatisfiable:
        FUZZ_CHECK(r.first == 0 && r.length == 0);
        break;
    default:
        FUZZ_CHECK(false);
    }
    // Ignoring a header is a matter of its syntax alone.
    const http::ByteRange r2 = http::parse_range(value, size2);
    FUZZ_CHECK((r.kind == http::ByteRange::whole) == (r2.kind == http::ByteRange::whole));
}

bool has_ows_edge(std::string_view s) {
    return !s.empty() && (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' || s.back() == '\t');
}
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

void check_etags(std::string_view list, std::string_view etag) {
    const bool strong = http::etag_list_matches(list, etag, false);
    const bool weak = http::etag_list_matches(list, etag, true);
    if (strong) FUZZ_CHECK(weak);
    if (etag.starts_with("W/") && trim(list) != "*") FUZZ_CHECK(!strong);
    if (!etag.empty() && etag.find(',') == std::string_view::npos && !has_ows_edge(etag)) {
        const std::string with_tag = std::string(list) + "," + std::string(etag);
        FUZZ_CHECK(http::etag_list_matches(with_tag, etag, true));
        if (!etag.starts_with("W/")) FUZZ_CHECK(http::etag_list_matches(with_tag, etag, false));
    }
}

void check_gzip(std::string_view ae) {
    const bool yes = http::accepts_gzip(ae);
    if (yes) {
        std::string lower(ae);
        for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
        FUZZ_CHECK(lower.find("gzip") != std::string::npos || lower.find('*') != std::string::npos);
    }
    FUZZ_CHECK(http::accepts_gzip(std::string(ae) + ",gzip"));
    FUZZ_CHECK(!http::accepts_gzip(std::string(ae) + ",gzip;q=0"));
    FUZZ_CHECK(http::accepts_gzip("identity," + std::string(ae)) == yes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 25) return 0;
    std::uint64_t size1 = fuzz::load_le(data, 8), size2 = fuzz::load_le(data + 8, 8);
    const auto mtime = static_cast<std::int64_t>(fuzz::load_le(data + 16, 8));
    if (data[24] & 1) size1 %= 4096, size2 %= 4096;
    const fuzz::Bytes text(std::string_view(reinterpret_cast<const char*>(data) + 25, size - 25));

    // Split into lines (views into `text`, an exactly-sized copy).
    auto req = std::make_unique<http::Request>();
    std::string_view rest = text.view(), etag;
    for (int line = 0; !rest.empty() || line < 2; ++line) {
        const std::size_t nl = rest.find('\n');
        const std::string_view l = rest.substr(0, nl);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        if (line == 0) {
            req->method = l;
        } else if (line == 1) {
            etag = l;
        } else if (req->header_count < http::kMaxHeaders) {
            const std::size_t colon = l.find(':');
            std::string_view name = l.substr(0, colon);
            // A line without a colon is a field with an empty value (present: non-null data()).
            const std::string_view value = colon == std::string_view::npos ? l.substr(l.size()) : trim(l.substr(colon + 1));
            if (name.size() == 1 && name[0] >= '0' && name[0] <= '9') name = kNames[name[0] - '0'];
            req->headers[req->header_count++] = {name, value};
        }
        if (rest.empty() && line >= 1) break;
    }

    for (int i = 0; i < req->header_count; ++i) {
        const std::string_view v = req->headers[i].value;
        check_range(v, size1, size2);
        check_etags(v, etag);
        check_gzip(v);
    }

    // The clock: a second after the mtime (an If-Range date can match), or at it (it cannot).
    const std::int64_t now = (size2 & 1) && mtime < INT64_MAX ? mtime + 1 : mtime;
    const http::Selection s = http::select_representation(*req, etag, mtime, size1, now);
    const std::string_view range = req->header("Range");
    const bool get_with_range = req->method == "GET" && range.data();
    switch (s.status) {
    case 200:
        FUZZ_CHECK(s.first == 0 && s.length == size1);
        break;
    case 206: {
        FUZZ_CHECK(get_with_range);
        FUZZ_CHECK(s.length >= 1 && s.first < size1 && s.length <= size1 - s.first);
        const http::ByteRange r = http::parse_range(range, size1);
        FUZZ_CHECK(r.kind == http::ByteRange::partial && r.first == s.first && r.length == s.length);
        break;
    }
    case 416:
        FUZZ_CHECK(get_with_range && size1 > 0 && s.first == 0 && s.length == 0);
        FUZZ_CHECK(http::parse_range(range, size1).kind == http::ByteRange::unsatisfiable);
        break;
    case 304:
        FUZZ_CHECK(req->header("If-None-Match").data() || req->header("If-Modified-Since").data());
        FUZZ_CHECK(s.first == 0 && s.length == 0);
        break;
    case 412:
        FUZZ_CHECK(req->header("If-Match").data() || req->header("If-Unmodified-Since").data());
        FUZZ_CHECK(s.first == 0 && s.length == 0);
        break;
    default:
        FUZZ_CHECK(false);
    }
    // Without a range, the status is a precondition's or 200, never 206/416.
    if (!get_with_range) FUZZ_CHECK(s.status != 206 && s.status != 416);
    return 0;
}
