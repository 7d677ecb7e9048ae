// conditional_test.cpp: http/conditional.h — entity-tag lists (RFC 9110 §13.1.1-2), one byte
// range (§14), the order of preconditions for a GET or HEAD (§13.2.2) with If-Range (§13.1.5), and
// Accept-Encoding for gzip (§12.5.3).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/conditional.h"
#include "http/request_parser.h"

namespace http {
// Lets gtest print a Kind by name (it is a uint8_t enum, which would print as a raw char).
void PrintTo(ByteRange::Kind k, std::ostream* os) {
    *os << (k == ByteRange::whole ? "whole" : k == ByteRange::partial ? "partial" : "unsatisfiable");
}
}  // namespace http

namespace {

using http::ByteRange;
using http::Request;
using http::Selection;

// An exactly-sized heap copy of `text`, so ASan catches any read past its end.
struct HeapCopy {
    std::unique_ptr<char[]> bytes;
    std::size_t size;
    explicit HeapCopy(std::string_view text) : bytes(new char[text.size() ? text.size() : 1]), size(text.size()) {
        std::copy(text.begin(), text.end(), bytes.get());
    }
    std::string_view view() const { return {bytes.get(), size}; }
};

bool etag_matches(std::string_view list, std::string_view etag, bool weak) {
    const HeapCopy l(list), e(etag);
    return http::etag_list_matches(l.view(), e.view(), weak);
}

ByteRange range(std::string_view text, std::uint64_t size) { return http::parse_range(HeapCopy(text).view(), size); }

bool gzip(std::string_view accept_encoding) { return http::accepts_gzip(HeapCopy(accept_encoding).view()); }

// ---------------------------------------------------------------------------------------------
// etag_list_matches

TEST(ConditionalEtag, Table) {
    struct Case {
        std::string_view list, etag;
        bool strong, weak;  // the result with strong and with weak comparison
    };
    const Case cases[] = {
        // "*" matches any current representation, weak or not, with either comparison.
        {"*", R"("a")", true, true},
        {"*", R"(W/"a")", true, true},
        {" \t* ", R"("a")", true, true},
        {R"("*")", R"("a")", false, false},  // a quoted star is an ordinary tag
        // One tag.
        {R"("a")", R"("a")", true, true},
        {R"("b")", R"("a")", false, false},
        {R"("A")", R"("a")", false, false},  // opaque-tags compare octet by octet
        {R"("ab")", R"("a")", false, false},
        {R"("a")", R"("ab")", false, false},
        {R"("")", R"("")", true, true},
        {R"("a)", R"("a")", false, false},
        {"a", R"("a")", false, false},
        // Lists, with and without optional whitespace, and empty members.
        {R"("b", "a")", R"("a")", true, true},
        {R"("b","a")", R"("a")", true, true},
        {"\"b\" ,\t\"a\"  ", R"("a")", true, true},
        {R"("a", "b", "c")", R"("a")", true, true},
        {R"("x", "y", "z")", R"("a")", false, false},
        {R"(, ,"a",)", R"("a")", true, true},
        {R"("a", "a")", R"("a")", true, true},
        // W/ on either side: weak comparison ignores it, strong comparison fails.
        {R"(W/"a")", R"("a")", false, true},
        {R"("a")", R"(W/"a")", false, true},
        {R"(W/"a")", R"(W/"a")", false, true},
        {R"( W/"a" )", R"("a")", false, true},
        {R"(W/"b")", R"("a")", false, false},
        {R"(W/"a", "a")", R"("a")", true, true},  // strong skips the weak member, finds the strong one
        {R"("b", W/"a")", R"("a")", false, true},
        {R"(w/"a")", R"("a")", false, false},  // the prefix is case-sensitive
        // Empty and blank lists name nothing.
        {"", R"("a")", false, false},
        {" ", R"("a")", false, false},
        {",,", R"("a")", false, false},
    };
    for (const Case& c : cases) {
        EXPECT_EQ(etag_matches(c.list, c.etag, false), c.strong) << "strong: [" << c.list << "] vs " << c.etag;
        EXPECT_EQ(etag_matches(c.list, c.etag, true), c.weak) << "weak: [" << c.list << "] vs " << c.etag;
    }
}

// ---------------------------------------------------------------------------------------------
// parse_range

TEST(ConditionalRange, Table) {
    constexpr std::uint64_t kMax = UINT64_MAX;
    struct Case {
        std::string_view range;
        std::uint64_t size;
        ByteRange::Kind kind;
        std::uint64_t first, length;  // checked for partial; whole is always {0, size}
    };
    const Case cases[] = {
        // A 1000-byte file: first-last, first-, -suffix.
        {"bytes=0-0", 1000, ByteRange::partial, 0, 1},
        {"bytes=10-19", 1000, ByteRange::partial, 10, 10},
        {"bytes=0-999", 1000, ByteRange::partial, 0, 1000},
        {"bytes=999-999", 1000, ByteRange::partial, 999, 1},
        {"bytes=0-", 1000, ByteRange::partial, 0, 1000},
        {"bytes=990-", 1000, ByteRange::partial, 990, 10},
        {"bytes=999-", 1000, ByteRange::partial, 999, 1},
        {"bytes=-5", 1000, ByteRange::partial, 995, 5},
        {"bytes=-1", 1000, ByteRange::partial, 999, 1},
        {"bytes=-1000", 1000, ByteRange::partial, 0, 1000},
        {"bytes=-2000", 1000, ByteRange::partial, 0, 1000},  // a suffix longer than the file: all of it
        {"bytes=500-2000", 1000, ByteRange::partial, 500, 500},  // last clamped to the end
        {"bytes=0-1000", 1000, ByteRange::partial, 0, 1000},
        // The unit is case-insensitive.
        {"BYTES=1-2", 1000, ByteRange::partial, 1, 2},
        {"Bytes=1-2", 1000, ByteRange::partial, 1, 2},
        // Optional whitespace around the range-set is tolerated.
        {"bytes= 1-2", 1000, ByteRange::partial, 1, 2},
        {"bytes=1-2 ", 1000, ByteRange::partial, 1, 2},
        {"bytes=\t-5\t", 1000, ByteRange::partial, 995, 5},
        // Unsatisfiable: starts at or past the end, or an empty suffix.
        {"bytes=1000-", 1000, ByteRange::unsatisfiable, 0, 0},
        {"bytes=1000-1000", 1000, ByteRange::unsatisfiable, 0, 0},
        {"bytes=1001-2000", 1000, ByteRange::unsatisfiable, 0, 0},
        {"bytes=-0", 1000, ByteRange::unsatisfiable, 0, 0},
        {"bytes=-00", 1000, ByteRange::unsatisfiable, 0, 0},
        // Ignored (the whole file): last before first, several ranges, other units, bad syntax.
        {"bytes=5-4", 1000, ByteRange::whole, 0, 0},
        {"bytes=1-2,4-5", 1000, ByteRange::whole, 0, 0},
        {"bytes=1-2, 4-5", 1000, ByteRange::whole, 0, 0},
        {"bytes=-5,1-2", 1000, ByteRange::whole, 0, 0},
        {"bytes=1-,4-5", 1000, ByteRange::whole, 0, 0},
        {"bytes=1-2,", 1000, ByteRange::whole, 0, 0},
        {"bytes=,1-2", 1000, ByteRange::whole, 0, 0},
        {"items=1-2", 1000, ByteRange::whole, 0, 0},
        {"byte=1-2", 1000, ByteRange::whole, 0, 0},
        {"bytesx1-2", 1000, ByteRange::whole, 0, 0},
        {"bytes 1-2", 1000, ByteRange::whole, 0, 0},
        {"bytes==1-2", 1000, ByteRange::whole, 0, 0},
        {"bytes", 1000, ByteRange::whole, 0, 0},
        {"", 1000, ByteRange::whole, 0, 0},
        {"bytes=", 1000, ByteRange::whole, 0, 0},
        {"bytes=-", 1000, ByteRange::whole, 0, 0},
        {"bytes=1", 1000, ByteRange::whole, 0, 0},
        {"bytes=a-b", 1000, ByteRange::whole, 0, 0},
        {"bytes=1-b", 1000, ByteRange::whole, 0, 0},
        {"bytes=a-2", 1000, ByteRange::whole, 0, 0},
        {"bytes=1 - 2", 1000, ByteRange::whole, 0, 0},
        {"bytes=+1-2", 1000, ByteRange::whole, 0, 0},
        {"bytes=0x1-2", 1000, ByteRange::whole, 0, 0},
        {"bytes=1-2-3", 1000, ByteRange::whole, 0, 0},
        {"bytes=--5", 1000, ByteRange::whole, 0, 0},
        {"bytes=-+5", 1000, ByteRange::whole, 0, 0},
        // Numbers past 2^64 saturate: no overflow, and the answer is still right.
        {"bytes=99999999999999999999999-", 1000, ByteRange::unsatisfiable, 0, 0},
        {"bytes=18446744073709551615-", 1000, ByteRange::unsatisfiable, 0, 0},
        {"bytes=18446744073709551616-18446744073709551617", 1000, ByteRange::unsatisfiable, 0, 0},
        {"bytes=0-99999999999999999999999", 1000, ByteRange::partial, 0, 1000},
        {"bytes=5-18446744073709551616", 1000, ByteRange::partial, 5, 995},
        {"bytes=-99999999999999999999999", 1000, ByteRange::partial, 0, 1000},
        {"bytes=99999999999999999999999-5", 1000, ByteRange::whole, 0, 0},  // last < first
        // An empty file satisfies no range.
        {"bytes=0-", 0, ByteRange::unsatisfiable, 0, 0},
        {"bytes=0-0", 0, ByteRange::unsatisfiable, 0, 0},
        {"bytes=-5", 0, ByteRange::unsatisfiable, 0, 0},
        {"bytes=-0", 0, ByteRange::unsatisfiable, 0, 0},
        {"bytes=5-4", 0, ByteRange::whole, 0, 0},
        {"items=0-", 0, ByteRange::whole, 0, 0},
        // A one-byte file.
        {"bytes=0-0", 1, ByteRange::partial, 0, 1},
        {"bytes=0-", 1, ByteRange::partial, 0, 1},
        {"bytes=-1", 1, ByteRange::partial, 0, 1},
        {"bytes=-9", 1, ByteRange::partial, 0, 1},
        {"bytes=1-", 1, ByteRange::unsatisfiable, 0, 0},
        // The largest size: lengths up to 2^64-1 without wrapping.
        {"bytes=0-", kMax, ByteRange::partial, 0, kMax},
        {"bytes=1-", kMax, ByteRange::partial, 1, kMax - 1},
        {"bytes=-18446744073709551615", kMax, ByteRange::partial, 0, kMax},
        {"bytes=-99999999999999999999999", kMax, ByteRange::partial, 0, kMax},
        {"bytes=18446744073709551614-", kMax, ByteRange::partial, kMax - 1, 1},
        {"bytes=18446744073709551615-", kMax, ByteRange::unsatisfiable, 0, 0},
        {"bytes=99999999999999999999999-", kMax, ByteRange::unsatisfiable, 0, 0},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(::testing::Message() << "[" << c.range << "] size " << c.size);
        const ByteRange r = range(c.range, c.size);
        ASSERT_EQ(r.kind, c.kind);
        if (c.kind == ByteRange::partial) {
            EXPECT_EQ(r.first, c.first);
            EXPECT_EQ(r.length, c.length);
        } else if (c.kind == ByteRange::whole) {
            EXPECT_EQ(r.first, 0u);
            EXPECT_EQ(r.length, c.size);
        }
    }
}

// Every "bytes=a-b" over a small file agrees with a direct computation.
TEST(ConditionalRange, ExhaustiveSmall) {
    for (std::uint64_t size = 0; size <= 12; ++size) {
        for (std::uint64_t a = 0; a <= 14; ++a) {
            for (std::uint64_t b = 0; b <= 14; ++b) {
                const std::string text = "bytes=" + std::to_string(a) + "-" + std::to_string(b);
                SCOPED_TRACE(::testing::Message() << text << " size " << size);
                const ByteRange r = range(text, size);
                if (b < a) {
                    EXPECT_EQ(r.kind, ByteRange::whole);
                } else if (a >= size) {
                    EXPECT_EQ(r.kind, ByteRange::unsatisfiable);
                } else {
                    ASSERT_EQ(r.kind, ByteRange::partial);
                    EXPECT_EQ(r.first, a);
                    EXPECT_EQ(r.length, std::min(b, size - 1) - a + 1);
                }
            }
            const ByteRange open = range("bytes=" + std::to_string(a) + "-", size);
            if (a >= size) {
                EXPECT_EQ(open.kind, ByteRange::unsatisfiable) << a << " size " << size;
            } else {
                EXPECT_EQ(open.kind, ByteRange::partial);
                EXPECT_EQ(open.first, a);
                EXPECT_EQ(open.length, size - a);
            }
            const ByteRange suffix = range("bytes=-" + std::to_string(a), size);
            if (a == 0 || size == 0) {
                EXPECT_EQ(suffix.kind, ByteRange::unsatisfiable) << a << " size " << size;
            } else {
                EXPECT_EQ(suffix.kind, ByteRange::partial);
                EXPECT_EQ(suffix.first, size - std::min(a, size));
                EXPECT_EQ(suffix.length, std::min(a, size));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// select_representation

constexpr std::string_view kEtag = R"("784111777-1000")";
constexpr std::int64_t kMtime = 784111777;
constexpr std::uint64_t kSize = 1000;
constexpr std::int64_t kNow = kMtime + 3600;  // the file was written an hour before
// Last-Modified in the three forms, and a second either side of it.
constexpr std::string_view kAtMtime = "Sun, 06 Nov 1994 08:49:37 GMT";
constexpr std::string_view kAtMtime850 = "Sunday, 06-Nov-94 08:49:37 GMT";
constexpr std::string_view kAtMtimeAsc = "Sun Nov  6 08:49:37 1994";
constexpr std::string_view kBefore = "Sun, 06 Nov 1994 08:49:36 GMT";
constexpr std::string_view kAfter = "Sun, 06 Nov 1994 08:49:38 GMT";
constexpr std::string_view kBefore850 = "Sunday, 06-Nov-94 08:49:36 GMT";
constexpr std::string_view kBeforeAsc = "Sun Nov  6 08:49:36 1994";

using Fields = std::vector<std::pair<std::string_view, std::string_view>>;

// A Request built by hand; the views point at the callers' literals.
std::unique_ptr<Request> make_request(std::string_view method, const Fields& fields) {
    auto req = std::make_unique<Request>();
    req->method = method;
    req->target = "/file";
    for (const auto& [name, value] : fields) req->headers[req->header_count++] = {name, value};
    return req;
}

std::string describe(std::string_view method, const Fields& fields) {
    std::string s(method);
    for (const auto& [name, value] : fields) s += "\n  " + std::string(name) + ": " + std::string(value);
    return s;
}

TEST(ConditionalSelect, Table) {
    struct Case {
        std::string_view method;
        Fields fields;
        int status;
        std::uint64_t first = 0, length = 0;  // checked for 200 (0, size) and 206
    };
    const std::string strong_list = R"("x", )" + std::string(kEtag);
    const std::string weak_etag = "W/" + std::string(kEtag);
    const Case cases[] = {
        // No conditions: the whole file.
        {"GET", {}, 200},
        {"HEAD", {}, 200},
        {"GET", {{"Host", "h"}, {"Accept", "*/*"}}, 200},

        // A field sent as several lines is one list (RFC 9110 §5.3): any line's member counts.
        {"GET", {{"If-None-Match", R"("zzz")"}, {"If-None-Match", kEtag}}, 304},
        {"GET", {{"If-None-Match", kEtag}, {"If-None-Match", R"("zzz")"}}, 304},
        {"GET", {{"If-None-Match", R"("zzz")"}, {"If-None-Match", R"("yyy")"}}, 200},
        {"GET", {{"If-Match", R"("zzz")"}, {"If-Match", kEtag}}, 200},
        {"GET", {{"If-Match", R"("zzz")"}, {"If-Match", R"("yyy")"}}, 412},

        // Step 1, If-Match (strong comparison).
        {"GET", {{"If-Match", kEtag}}, 200},
        {"GET", {{"If-Match", "*"}}, 200},
        {"GET", {{"If-Match", strong_list}}, 200},
        {"GET", {{"If-Match", R"("other")"}}, 412},
        {"GET", {{"If-Match", weak_etag}}, 412},
        {"HEAD", {{"If-Match", R"("other")"}}, 412},
        // ... before everything else: 412 even when If-None-Match would match.
        {"GET", {{"If-Match", R"("other")"}, {"If-None-Match", kEtag}}, 412},
        {"GET", {{"If-None-Match", kEtag}, {"If-Match", R"("other")"}}, 412},
        {"GET", {{"If-Match", R"("other")"}, {"Range", "bytes=0-9"}}, 412},
        // ... and when it holds, If-Unmodified-Since is not evaluated.
        {"GET", {{"If-Match", kEtag}, {"If-Unmodified-Since", kBefore}}, 200},

        // Step 2, If-Unmodified-Since: 412 when modified after the date.
        {"GET", {{"If-Unmodified-Since", kBefore}}, 412},
        {"GET", {{"If-Unmodified-Since", kBefore850}}, 412},
        {"GET", {{"If-Unmodified-Since", kBeforeAsc}}, 412},
        {"GET", {{"If-Unmodified-Since", kAtMtime}}, 200},
        {"GET", {{"If-Unmodified-Since", kAfter}}, 200},
        {"GET", {{"If-Unmodified-Since", "yesterday"}}, 200},  // not a date: ignored
        {"GET", {{"If-Unmodified-Since", ""}}, 200},
        {"GET", {{"If-Unmodified-Since", kBefore}, {"If-None-Match", kEtag}}, 412},
        {"GET", {{"If-Unmodified-Since", kAtMtime}, {"If-None-Match", kEtag}}, 304},

        // Step 3, If-None-Match (weak comparison): 304 for GET and HEAD.
        {"GET", {{"If-None-Match", kEtag}}, 304},
        {"HEAD", {{"If-None-Match", kEtag}}, 304},
        {"GET", {{"If-None-Match", weak_etag}}, 304},
        {"GET", {{"If-None-Match", "*"}}, 304},
        {"GET", {{"If-None-Match", strong_list}}, 304},
        {"GET", {{"If-None-Match", R"("other")"}}, 200},
        {"GET", {{"If-None-Match", R"("other", W/"else")"}}, 200},
        // ... which makes If-Modified-Since ignored, whichever way it would go.
        {"GET", {{"If-None-Match", kEtag}, {"If-Modified-Since", kBefore}}, 304},
        {"GET", {{"If-None-Match", R"("other")"}, {"If-Modified-Since", kAtMtime}}, 200},
        {"GET", {{"If-None-Match", R"("other")"}, {"If-Modified-Since", kAfter}}, 200},

        // Step 4, If-Modified-Since: 304 unless modified after the date.
        {"GET", {{"If-Modified-Since", kAtMtime}}, 304},
        {"GET", {{"If-Modified-Since", kAtMtime850}}, 304},
        {"GET", {{"If-Modified-Since", kAtMtimeAsc}}, 304},
        {"GET", {{"If-Modified-Since", kAfter}}, 304},
        {"HEAD", {{"If-Modified-Since", kAtMtime}}, 304},
        {"GET", {{"If-Modified-Since", kBefore}}, 200},
        {"GET", {{"If-Modified-Since", kBefore850}}, 200},
        {"GET", {{"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 UTC"}}, 200},  // invalid: ignored
        {"GET", {{"If-Modified-Since", "0"}}, 200},
        {"GET", {{"If-Modified-Since", ""}}, 200},
        // A 304 wins over a Range.
        {"GET", {{"If-Modified-Since", kAtMtime}, {"Range", "bytes=0-9"}}, 304},
        {"GET", {{"If-None-Match", kEtag}, {"Range", "bytes=0-9"}}, 304},

        // Step 5, Range: GET only.
        {"GET", {{"Range", "bytes=10-19"}}, 206, 10, 10},
        {"GET", {{"Range", "bytes=-5"}}, 206, 995, 5},
        {"GET", {{"Range", "bytes=990-"}}, 206, 990, 10},
        {"GET", {{"Range", "bytes=-2000"}}, 206, 0, 1000},
        {"HEAD", {{"Range", "bytes=10-19"}}, 200},
        {"POST", {{"Range", "bytes=10-19"}}, 200},
        {"get", {{"Range", "bytes=10-19"}}, 200},  // methods are case-sensitive
        {"GET", {{"Range", "bytes=1000-"}}, 416},
        {"GET", {{"Range", "bytes=-0"}}, 416},
        {"HEAD", {{"Range", "bytes=1000-"}}, 200},
        {"GET", {{"Range", "bytes=1-2,4-5"}}, 200},
        {"GET", {{"Range", "items=1-2"}}, 200},
        {"GET", {{"Range", "bytes=5-4"}}, 200},
        // Preconditions that hold let the range through.
        {"GET", {{"If-Match", kEtag}, {"Range", "bytes=10-19"}}, 206, 10, 10},
        {"GET", {{"If-None-Match", R"("other")"}, {"Range", "bytes=10-19"}}, 206, 10, 10},
        {"GET", {{"If-Modified-Since", kBefore}, {"Range", "bytes=10-19"}}, 206, 10, 10},
        {"GET", {{"If-Unmodified-Since", kAtMtime}, {"Range", "bytes=10-19"}}, 206, 10, 10},

        // If-Range: the range only if it names exactly this representation.
        {"GET", {{"If-Range", kEtag}, {"Range", "bytes=10-19"}}, 206, 10, 10},
        {"GET", {{"Range", "bytes=10-19"}, {"If-Range", kEtag}}, 206, 10, 10},
        {"GET", {{"If-Range", R"("other")"}, {"Range", "bytes=10-19"}}, 200},
        {"GET", {{"If-Range", weak_etag}, {"Range", "bytes=10-19"}}, 200},   // weak: never
        {"GET", {{"If-Range", strong_list}, {"Range", "bytes=10-19"}}, 200}, // one tag, not a list
        {"GET", {{"If-Range", "*"}, {"Range", "bytes=10-19"}}, 200},
        {"GET", {{"If-Range", kAtMtime}, {"Range", "bytes=10-19"}}, 206, 10, 10},
        {"GET", {{"If-Range", kAtMtime850}, {"Range", "bytes=10-19"}}, 206, 10, 10},
        {"GET", {{"If-Range", kAtMtimeAsc}, {"Range", "bytes=10-19"}}, 206, 10, 10},
        {"GET", {{"If-Range", kBefore}, {"Range", "bytes=10-19"}}, 200},
        {"GET", {{"If-Range", kAfter}, {"Range", "bytes=10-19"}}, 200},
        {"GET", {{"If-Range", "not a date"}, {"Range", "bytes=10-19"}}, 200},
        {"GET", {{"If-Range", ""}, {"Range", "bytes=10-19"}}, 200},
        // A failed If-Range sends the whole file even for an unsatisfiable range; a passed one 416.
        {"GET", {{"If-Range", R"("other")"}, {"Range", "bytes=1000-"}}, 200},
        {"GET", {{"If-Range", kEtag}, {"Range", "bytes=1000-"}}, 416},
        // If-Range without Range does nothing.
        {"GET", {{"If-Range", R"("other")"}}, 200},
        {"GET", {{"If-Range", kEtag}}, 200},

        // Field names are case-insensitive; the first of a repeated field is the one read.
        {"GET", {{"if-none-match", kEtag}}, 304},
        {"GET", {{"IF-MATCH", R"("other")"}}, 412},
        {"GET", {{"range", "bytes=0-0"}, {"if-range", kEtag}}, 206, 0, 1},
        {"GET", {{"Range", "bytes=0-0"}, {"Range", "bytes=1-1"}}, 206, 0, 1},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(describe(c.method, c.fields));
        const std::unique_ptr<Request> req = make_request(c.method, c.fields);
        const Selection s = http::select_representation(*req, kEtag, kMtime, kSize, kNow);
        ASSERT_EQ(s.status, c.status);
        if (s.status == 200) {
            EXPECT_EQ(s.first, 0u);
            EXPECT_EQ(s.length, kSize);
        } else if (s.status == 206) {
            EXPECT_EQ(s.first, c.first);
            EXPECT_EQ(s.length, c.length);
        }
    }
}

// A server's weak ETag never satisfies If-Match or If-Range (strong comparison), but does
// If-None-Match (weak comparison).
TEST(ConditionalSelect, WeakServerEtag) {
    constexpr std::string_view weak = R"(W/"v1")";
    auto status = [&](std::string_view method, const Fields& fields) {
        const std::unique_ptr<Request> req = make_request(method, fields);
        return http::select_representation(*req, weak, kMtime, kSize, kNow).status;
    };
    EXPECT_EQ(status("GET", {{"If-Match", weak}}), 412);
    EXPECT_EQ(status("GET", {{"If-Match", R"("v1")"}}), 412);
    EXPECT_EQ(status("GET", {{"If-Match", "*"}}), 200);
    EXPECT_EQ(status("GET", {{"If-None-Match", R"("v1")"}}), 304);
    EXPECT_EQ(status("GET", {{"If-None-Match", weak}}), 304);
    EXPECT_EQ(status("GET", {{"If-Range", weak}, {"Range", "bytes=0-0"}}), 200);
    EXPECT_EQ(status("GET", {{"If-Range", R"("v1")"}, {"Range", "bytes=0-0"}}), 200);
}

// An empty file: no 206 can describe a part of it, so a range is ignored (200, as for a
// malformed one; the suffix form is even satisfiable, RFC 9110 §14.1.2), and 304 still wins.
TEST(ConditionalSelect, EmptyFile) {
    auto select = [](const Fields& fields) {
        const std::unique_ptr<Request> req = make_request("GET", fields);
        return http::select_representation(*req, kEtag, kMtime, 0, kNow);
    };
    EXPECT_EQ(select({}).status, 200);
    EXPECT_EQ(select({}).length, 0u);
    EXPECT_EQ(select({{"Range", "bytes=0-"}}).status, 200);
    EXPECT_EQ(select({{"Range", "bytes=-1"}}).status, 200);
    EXPECT_EQ(select({{"Range", "bytes=5-9"}}).status, 200);
    EXPECT_EQ(select({{"Range", "bytes=-1"}}).length, 0u);
    EXPECT_EQ(select({{"Range", "bytes=0-"}, {"If-Range", R"("other")"}}).status, 200);
    EXPECT_EQ(select({{"Range", "bytes=0-"}, {"If-None-Match", kEtag}}).status, 304);
}

// The same through parse_request, as the server sees it: values trimmed, names in any case.
TEST(ConditionalSelect, FromParsedRequest) {
    struct Case {
        std::string_view head;
        int status;
        std::uint64_t first, length;
    };
    const Case cases[] = {
        {"GET /f HTTP/1.1\r\nHost: h\r\n\r\n", 200, 0, kSize},
        {"GET /f HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"x\", \"784111777-1000\"\r\n\r\n", 304, 0, 0},
        {"HEAD /f HTTP/1.1\r\nif-modified-since:   Sun, 06 Nov 1994 08:49:37 GMT  \r\n\r\n", 304, 0, 0},
        {"GET /f HTTP/1.1\r\nIf-Match: \"nope\"\r\nIf-None-Match: *\r\n\r\n", 412, 0, 0},
        {"GET /f HTTP/1.1\r\nRange: bytes=100-199\r\nIf-Range: \"784111777-1000\"\r\n\r\n", 206, 100, 100},
        {"GET /f HTTP/1.1\r\nRange: bytes=100-199\r\nIf-Range: Sun, 06 Nov 1994 08:49:36 GMT\r\n\r\n", 200, 0, kSize},
        {"GET /f HTTP/1.1\r\nRange:\tbytes=-10\t\r\n\r\n", 206, 990, 10},
        {"GET /f HTTP/1.1\r\nRange: bytes=5000-\r\n\r\n", 416, 0, 0},
        {"HEAD /f HTTP/1.1\r\nRange: bytes=0-9\r\n\r\n", 200, 0, kSize},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.head);
        const HeapCopy copy(c.head);
        auto req = std::make_unique<Request>();
        ASSERT_EQ(http::parse_request(copy.view(), *req).kind, http::ParseResult::complete);
        const Selection s = http::select_representation(*req, kEtag, kMtime, kSize, kNow);
        ASSERT_EQ(s.status, c.status);
        if (s.status == 200 || s.status == 206) {
            EXPECT_EQ(s.first, c.first);
            EXPECT_EQ(s.length, c.length);
        }
    }
}

// An If-Range date is a strong validator only once the second it names has passed (RFC 9110
// §8.8.2.2, §13.1.5): a file written in the second it is served could change again within it.
TEST(ConditionalSelect, IfRangeDateOfTheCurrentSecondIsWeak) {
    const std::unique_ptr<Request> req = make_request("GET", {{"Range", "bytes=10-19"}, {"If-Range", kAtMtime}});
    EXPECT_EQ(http::select_representation(*req, kEtag, kMtime, kSize, kMtime).status, 200);
    EXPECT_EQ(http::select_representation(*req, kEtag, kMtime, kSize, kMtime - 5).status, 200);  // clock behind
    EXPECT_EQ(http::select_representation(*req, kEtag, kMtime, kSize, kMtime + 1).status, 206);
}

// ---------------------------------------------------------------------------------------------
// accepts_gzip

// Several Accept-Encoding lines are one list (RFC 9110 §5.3): a later member overrides an earlier
// one, in whichever line it stands; without any line, nothing is accepted.
TEST(ConditionalGzip, LinesFormOneList) {
    auto gzip_of = [](const Fields& fields) { return http::accepts_gzip(*make_request("GET", fields)); };
    EXPECT_TRUE(gzip_of({{"Accept-Encoding", "br"}, {"Accept-Encoding", "gzip"}}));
    EXPECT_TRUE(gzip_of({{"accept-encoding", "br"}, {"ACCEPT-ENCODING", "gzip"}}));
    EXPECT_FALSE(gzip_of({{"Accept-Encoding", "gzip;q=0"}, {"Accept-Encoding", "*"}}));
    EXPECT_TRUE(gzip_of({{"Accept-Encoding", "gzip;q=0"}, {"Accept-Encoding", "gzip"}}));
    EXPECT_TRUE(gzip_of({{"Accept-Encoding", "*"}, {"Accept-Encoding", "br"}}));
    EXPECT_FALSE(gzip_of({{"Accept-Encoding", "br"}, {"Accept-Language", "gzip"}}));
    EXPECT_FALSE(gzip_of({}));
}

TEST(ConditionalGzip, Table) {
    struct Case {
        std::string_view accept_encoding;
        bool gzip;
    };
    const Case cases[] = {
        {"gzip", true},
        {"GZIP", true},
        {"Gzip", true},
        {"x-gzip", true},
        {"X-GZIP", true},
        {"deflate, gzip;q=1.0", true},
        {"gzip, deflate, br", true},  // a browser's usual value
        {"gzip, deflate, br, zstd", true},
        {"br;q=1, gzip;q=0.5", true},
        {"gzip;q=1", true},
        {"gzip;q=0.001", true},
        {"gzip;q=0.5", true},
        {"gzip;level=0", true},  // not a q parameter
        {" gzip ", true},
        {"\tgzip\t", true},
        {", ,gzip,", true},
        {"gzip ;q=0.1", true},
        // q=0 refuses, however it is spelled.
        {"gzip;q=0", false},
        {"gzip; q=0.000", false},
        {"gzip;q=0.", false},
        {"gzip;q=0.0", false},
        {"gzip;Q=0", false},
        {"gzip ; q=0", false},
        {"gzip;q=0 ", false},
        {"gzip;foo=bar;q=0", false},
        {"gzip;q=0;foo=bar", false},
        {"x-gzip;q=0", false},
        {"deflate, gzip;q=0, br", false},
        // "*" stands for anything not listed.
        {"*", true},
        {"*;q=0.1", true},
        {"*;q=0", false},
        {"*, gzip;q=0", false},
        {"gzip;q=0, *", false},
        {"*;q=0, gzip", true},
        {"identity;q=0, *", true},
        {"compress, *;q=0.5", true},
        {"identity, *;q=0", false},
        // gzip neither listed nor covered by "*".
        {"identity", false},
        {"", false},
        {" ", false},
        {",", false},
        {"deflate", false},
        {"br", false},
        {"gzipx", false},
        {"gzi", false},
        {"gzip-x", false},
        {"x-gzipp", false},
        {"**", false},
    };
    for (const Case& c : cases) EXPECT_EQ(gzip(c.accept_encoding), c.gzip) << "[" << c.accept_encoding << "]";
}

}  // namespace
