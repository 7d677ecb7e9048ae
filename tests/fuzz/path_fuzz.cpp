// tests/fuzz/path_fuzz.cpp — libFuzzer target for http::normalize_path (http/path.h), the
// function that keeps every served path under the document root.
//
// Input: the request target, as received.
//
// Invariants checked (the output buffer is exactly target.size() + 1 bytes, so ASan catches a
// write past what the header promises):
//  - status is 0 or 400; with 0 the output is NUL-terminated at `length`, holds no NUL before,
//    does not start with '/', has no empty, "." or ".." segment, is no longer than the target,
//    and `hidden` is set exactly when a segment starts with '.';
//  - it agrees, status and bytes, with a slow reference written from the header's contract
//    (strip absolute-form authority and query, percent-decode, split at '/', resolve dot
//    segments, refuse climbing above the root);
//  - normalising "/" + output again gives the output back, when the output has no byte that
//    would be read differently the second time ('%' decodes again; '?' and '#' start a query).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/path.h"
#include "runtime/format.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// The contract of http/path.h, written for clarity, not speed. nullopt: 400.
std::optional<std::string> reference(std::string_view t) {
    if (!t.empty() && t[0] != '/') {
        const std::size_t scheme_end = t.find("://");
        if (scheme_end == std::string_view::npos || scheme_end == 0) return std::nullopt;
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1)
        const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
        if (!alpha(t[0])) return std::nullopt;
        for (const char c : t.substr(1, scheme_end - 1))
            if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return std::nullopt;
        const std::size_t end = t.find_first_of("/?#", scheme_end + 3);
        const std::string_view authority = t.substr(scheme_end + 3, end == std::string_view::npos ? end : end - scheme_end - 3);
        if (authority.find('@') != std::string_view::npos) return std::nullopt;  // userinfo
        if (end == std::string_view::npos || t[end] != '/') t = "/";
        else t = t.substr(end);
    }
    if (t.empty()) return std::nullopt;
    t = t.substr(0, t.find_first_of("?#"));
    // Percent-decode first; a decoded '/' separates segments like a literal one.
    std::string decoded;
    for (std::size_t i = 1; i < t.size(); ++i) {
        if (t[i] == 0) return std::nullopt;  // a literal NUL, like %00, is refused
        if (t[i] != '%') {
            decoded += t[i];
            continue;
        }
        if (i + 2 >= t.size()) return std::nullopt;  // "%" or "%x" at the end
        const int hi = rt::hex_value(t[i + 1]), lo = rt::hex_value(t[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
        decoded += static_cast<char>(hi << 4 | lo);
        i += 2;
    }
    std::vector<std::string> segments;
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = decoded.find('/', start);
        const std::string seg = decoded.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (seg == "..") {
            if (segments.empty()) return std::nullopt;
            segments.pop_back();
        } else if (!seg.empty() && seg != ".") {
            segments.push_back(seg);
        }
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    std::string out;
    for (const std::string& s : segments) out += (out.empty() ? "" : "/") + s;
    return out;
}

std::string_view check_output(std::string_view target, const http::PathResult& r, const char* out) {
    FUZZ_CHECK(r.status == 0 || r.status == 400);
    if (r.status != 0) return {};
    FUZZ_CHECK(r.length <= target.size());
    FUZZ_CHECK(out[r.length] == 0);
    const std::string_view path(out, r.length);
    FUZZ_CHECK(path.find('\0') == std::string_view::npos);
    FUZZ_CHECK(path.empty() || path.front() != '/');
    FUZZ_CHECK(path.find("//") == std::string_view::npos);
    bool hidden = false;
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = path.find('/', start);
        const std::string_view seg = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
        // Only the root itself is an empty path; no segment is empty, "." or "..".
        FUZZ_CHECK(!seg.empty() || path.empty());
        FUZZ_CHECK(seg != "." && seg != "..");
        hidden |= !seg.empty() && seg[0] == '.';
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    FUZZ_CHECK(r.hidden == hidden);
    return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fuzz::Bytes target(std::string_view(reinterpret_cast<const char*>(data), size));
    const std::unique_ptr<char[]> out(new char[size + 1]);
    const http::PathResult r = http::normalize_path(target.view(), out.get());
    const std::string_view path = check_output(target.view(), r, out.get());

    const std::optional<std::string> ref = reference(target.view());
    FUZZ_CHECK(ref.has_value() == (r.status == 0));
    if (r.status != 0) return 0;
    FUZZ_CHECK(*ref == path);

    // A redirect's relative Location "./LAST/" must name the same directory when resolved
    // against the target: then the target, normalised with LAST's segment dropped and LAST
    // put back, is `path` again.
    const std::string_view last = path.substr(path.rfind('/') + 1);
    if (http::last_segment_is(target.view(), last) && !r.trailing_slash) {
        const std::string_view raw = http::path_of(target.view());
        std::string escaped(3 * last.size(), '\0');
        rt::Writer w(escaped.data(), escaped.size());
        http::put_uri_escaped(w, last);  // as the Location carries it
        const fuzz::Bytes resolved(std::string(raw.substr(0, raw.rfind('/') + 1)) + std::string(w.view()));
        const std::unique_ptr<char[]> out3(new char[resolved.size + 1]);
        const http::PathResult r3 = http::normalize_path(resolved.view(), out3.get());
        FUZZ_CHECK(r3.status == 0 && check_output(resolved.view(), r3, out3.get()) == path);
    }

    if (path.find_first_of("%?#") == std::string_view::npos) {
        const fuzz::Bytes again("/" + std::string(path));
        const std::unique_ptr<char[]> out2(new char[again.size + 1]);
        const http::PathResult r2 = http::normalize_path(again.view(), out2.get());
        FUZZ_CHECK(check_output(again.view(), r2, out2.get()) == path);
        FUZZ_CHECK(r2.hidden == r.hidden);
    }
    return 0;
}
