// path_test.cpp: http::normalize_path (http/path.h) — request target to a root-relative file
// path that cannot climb out of the document root. Table tests of normal and hostile targets,
// then randomized targets checked against the invariants and an independent reference model.
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "http/path.h"

namespace {

struct Normalized {
    int status;
    std::string path;
    bool trailing_slash, hidden;
};

// Runs normalize_path into an exactly target.size() + 1 byte heap buffer (the documented
// requirement), so ASan reports any write past it. Checks length against the NUL on the way.
Normalized normalize(std::string_view target) {
    std::unique_ptr<char[]> out(new char[target.size() + 1]);
    const http::PathResult r = http::normalize_path(target, out.get());
    Normalized n{r.status, "", r.trailing_slash, r.hidden};
    if (r.status == 0) {
        EXPECT_EQ(std::strlen(out.get()), r.length) << target;
        n.path.assign(out.get(), r.length);
    }
    return n;
}

constexpr int kOk = 0, kBad = 400;

// A table of ordinary and hostile targets: status, path, and the two flags.
TEST(NormalizePath, Table) {
    struct Case {
        std::string target;
        int status;
        std::string path;
        bool trailing_slash = false;
        bool hidden = false;
    };
    const Case cases[] = {
        // Ordinary.
        {"/", kOk, ""},
        {"/a", kOk, "a"},
        {"/a/b", kOk, "a/b"},
        {"/index.html", kOk, "index.html"},
        {"/a/b/c.txt", kOk, "a/b/c.txt"},
        // Empty and "." segments vanish.
        {"//", kOk, "", true},
        {"/a//b", kOk, "a/b"},
        {"///a///b///", kOk, "a/b", true},
        {"/a/./b", kOk, "a/b"},
        {"/./a", kOk, "a"},
        {"/.", kOk, "", true},
        {"/a/.", kOk, "a", true},
        // ".." removes the previous segment, never more.
        {"/a/../b", kOk, "b"},
        {"/a/b/../c", kOk, "a/c"},
        {"/a/b/../../c", kOk, "c"},
        {"/a/..", kOk, "", true},
        {"/a/b/..", kOk, "a", true},
        {"/aa/bb/../cc/./../dd", kOk, "aa/dd"},
        {"/a/.../b", kOk, "a/.../b", false, true},  // "..." is a name (and hidden)
        {"/a..b/c", kOk, "a..b/c"},
        // Climbing above the root.
        {"/..", kBad, ""},
        {"/../", kBad, ""},
        {"/../a", kBad, ""},
        {"/a/../..", kBad, ""},
        {"/a/../../b", kBad, ""},
        {"/a/b/../../../c", kBad, ""},
        {"/./..", kBad, ""},
        {"//..", kBad, ""},
        // Percent-encoded dots and slashes are seen for what they are.
        {"/%2e%2e/x", kBad, ""},
        {"/%2E%2E/x", kBad, ""},
        {"/.%2e/x", kBad, ""},
        {"/%2e./x", kBad, ""},
        {"/..%2fetc", kBad, ""},
        {"/..%2Fetc/passwd", kBad, ""},
        {"/a/%2e%2e%2f%2e%2e%2fetc", kBad, ""},
        {"/%2e/a", kOk, "a"},
        {"/a%2fb", kOk, "a/b"},
        {"/a%2F%2Fb", kOk, "a/b"},
        {"/a/b%2f..%2f..%2fc", kOk, "c"},
        // NUL and bad escapes.
        {"/%00", kBad, ""},
        {"/a%00.html", kBad, ""},
        {"/%zz", kBad, ""},
        {"/%4", kBad, ""},
        {"/%", kBad, ""},
        {"/a%", kBad, ""},
        {"/%g0", kBad, ""},
        {"/%0g", kBad, ""},
        {"/%%41", kBad, ""},
        // Escapes decode to bytes, including UTF-8 and ones that look special.
        {"/a%20b", kOk, "a b"},
        {"/%41%62c", kOk, "Abc"},
        {"/caf%C3%A9.html", kOk, "caf\xc3\xa9.html"},
        {"/%e6%97%a5%e6%9c%ac/%F0%9F%98%80", kOk, "\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80"},
        {"/100%25", kOk, "100%"},
        {"/%2541", kOk, "%41"},  // decoded once only
        {"/a%3fb", kOk, "a?b"},  // an encoded '?' is part of the name, not a query
        {"/a%23b", kOk, "a#b"},
        // Raw UTF-8 passes through untouched.
        {"/caf\xc3\xa9", kOk, "caf\xc3\xa9"},
        // Directories: trailing slash is reported.
        {"/dir/", kOk, "dir", true},
        {"/a/b/", kOk, "a/b", true},
        {"/a/./", kOk, "a", true},
        {"/a/b/../", kOk, "a", true},
        // Query and fragment are ignored, including what looks like traversal inside them.
        {"/?q=1", kOk, ""},
        {"/a?x=/../../etc", kOk, "a"},
        {"/a/b?", kOk, "a/b"},
        {"/a#frag", kOk, "a"},
        {"/dir/?q", kOk, "dir", true},
        {"/dir%2f", kOk, "dir", true},   // a decoded '/' ends the path as a literal one does
        {"/dir%2F?q", kOk, "dir", true},
        {"/dir/.", kOk, "dir", true},  // RFC 3986 §5.2.4: "/dir/"
        {"/dir/x/..", kOk, "dir", true},
        {"/dir/%2e", kOk, "dir", true},
        {"/file.txt/.", kOk, "file.txt", true},
        {"/..?x", kBad, ""},
        // Absolute-form.
        {"http://host/a/b?x", kOk, "a/b"},
        {"http://host", kOk, ""},
        {"http://host/", kOk, ""},
        {"https://host:8080/x/../y", kOk, "y"},
        {"https://user@host:8080/x/../y", kBad, ""},  // userinfo: refused (RFC 9110 §4.2.4)
        {"http://@host/y", kBad, ""},
        {"?://host/y", kBad, ""}, {"1http://host/y", kBad, ""}, {"ht tp://host/y", kBad, ""},  // no scheme
        {"x?u=http://host/y", kBad, ""}, {"://host/y", kBad, ""},
        {"h\r://host/y", kBad, ""}, {"h\x0e://host/y", kBad, ""},  // not '-' or '.' in any case
        {"http://host/a@b", kOk, "a@b"},             // an '@' in the path is only a character
        {"http://host?x=a@b", kOk, ""},
        {"http://host/../etc/passwd", kBad, ""},
        {"http://host/%2e%2e/x", kBad, ""},
        // Hidden: any kept segment starting with '.'.
        {"/.git/config", kOk, ".git/config", false, true},
        {"/a/.hidden", kOk, "a/.hidden", false, true},
        {"/a/%2ehidden", kOk, "a/.hidden", false, true},
        {"/.well-known/x", kOk, ".well-known/x", false, true},
        {"/a/.b/", kOk, "a/.b", true, true},
        {"/a.b/c.d", kOk, "a.b/c.d"},
        {"/.a/../b", kOk, "b"},  // removed segments do not count
        // Not origin-form or absolute-form.
        {"", kBad, ""},
        {"no-leading-slash", kBad, ""},
        {"a/b", kBad, ""},
        {"*", kBad, ""},
        {"./a", kBad, ""},
        {"../a", kBad, ""},
        {"%2fa", kBad, ""},
        {"\\a", kBad, ""},
        // Backslashes are ordinary bytes: they neither separate nor climb.
        {"/a\\b", kOk, "a\\b"},
        {"/..\\..\\etc", kOk, "..\\..\\etc", false, true},
        {"/a\\..\\..\\b", kOk, "a\\..\\..\\b"},
        {"/%5c..%5c", kOk, "\\..\\", false, false},
    };
    for (const Case& c : cases) {
        const Normalized n = normalize(c.target);
        EXPECT_EQ(n.status, c.status) << testing::PrintToString(c.target);
        if (c.status != kOk || n.status != kOk) continue;
        EXPECT_EQ(n.path, c.path) << testing::PrintToString(c.target);
        EXPECT_EQ(n.trailing_slash, c.trailing_slash) << testing::PrintToString(c.target);
        EXPECT_EQ(n.hidden, c.hidden) << testing::PrintToString(c.target);
    }
}

// In absolute-form the authority ends at the first '/', '?' or '#' (RFC 3986 §3.2): a '/' inside
// the query must not become the path. "http://host?x=/secret" names the root, not "secret".
TEST(NormalizePath, AbsoluteFormAuthorityEndsAtQuery) {
    struct Case {
        std::string target, path;
    };
    const Case cases[] = {
        {"http://host?x=/secret.txt", ""},
        {"http://host#/secret.txt", ""},
        {"http://host?a=/b/c", ""},
        {"http://host?x=/a/../../..", ""},
        {"http://host/a?x=/b", "a"},
        {"http://host/a#/b", "a"},
    };
    for (const Case& c : cases) {
        const Normalized n = normalize(c.target);
        EXPECT_EQ(n.status, kOk) << c.target;
        EXPECT_EQ(n.path, c.path) << c.target;
    }
}

// path_of: the target up to its query or fragment, whichever comes first, and after the scheme and
// authority of an absolute form; the rest untouched.
TEST(PathOf, Table) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"/", "/"}, {"/a/b.html", "/a/b.html"}, {"/a?x=1", "/a"}, {"/a#top", "/a"},
        {"/a?x#y", "/a"}, {"/a#y?x", "/a"}, {"/?", "/"}, {"?x", ""}, {"", ""},
        {"/a%3Fb", "/a%3Fb"}, {"http://h/p?q", "/p"}, {"http://h:8080/ws", "/ws"}, {"HTTP://h/", "/"},
        {"http://h", ""}, {"http://h?q", ""}, {"http://h#f", ""}, {"*", "*"}, {"h:80", "h:80"},
        {"x?u=http://h/health", "x"}, {"?://h/metrics", ""}, {"1h://h/ws", "1h://h/ws"},  // no scheme
        {"http://u@h/ws", "http://u@h/ws"}, {"svn+ssh.v-2://h/p", "/p"},                     // userinfo; a scheme
    };
    for (const auto& [target, path] : cases) EXPECT_EQ(http::path_of(target), path) << target;
}

// query_of: from the '?' up to any fragment; nothing when the target has no query.
// last_segment_is: the target's last segment, decoded, against a name normalize_path kept.
TEST(LastSegmentIs, Table) {
    EXPECT_TRUE(http::last_segment_is("/a/b", "b"));
    EXPECT_TRUE(http::last_segment_is("/b", "b"));
    EXPECT_TRUE(http::last_segment_is("/a/b?x=/c", "b"));
    EXPECT_TRUE(http::last_segment_is("/a/caf%C3%A9", "caf\xc3\xa9"));
    EXPECT_TRUE(http::last_segment_is("/x/%2e%2e/a%20b", "a b"));  // the rest is the client's to resolve
    EXPECT_TRUE(http::last_segment_is("http://h/a/b", "b"));
    EXPECT_FALSE(http::last_segment_is("/a/b/", "b"));      // the last segment is ""
    EXPECT_FALSE(http::last_segment_is("/a/b/.", "b"));
    EXPECT_FALSE(http::last_segment_is("/a/x%2Fb", "b"));   // "x/b" is one segment to a client
    EXPECT_FALSE(http::last_segment_is("/a/bc", "b"));
    EXPECT_FALSE(http::last_segment_is("/a/b", "bc"));
    EXPECT_FALSE(http::last_segment_is("/a/b%", "b%"));     // a broken escape
    EXPECT_FALSE(http::last_segment_is("/a/b%4", "bA"));
    EXPECT_FALSE(http::last_segment_is("", "b"));
    EXPECT_FALSE(http::last_segment_is("/", ""));
}

TEST(QueryOf, Table) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"/", ""}, {"/a?x=1", "?x=1"}, {"/a?", "?"}, {"/a?x#f", "?x"}, {"/a#f?x", ""},
        {"/a?x?y", "?x?y"}, {"?q", "?q"}, {"", ""}, {"http://h/a?x#f", "?x"}, {"http://h?x", "?x"},
        {"http://h/?", "?"}, {"http://h", ""},
    };
    for (const auto& [target, query] : cases) EXPECT_EQ(http::query_of(target), query) << target;
}

// put_uri_escaped: a decoded path comes out as URI text that names the same path, and nothing in
// it can turn into a scheme, an authority, a query or a fragment.
TEST(UriEscaped, Table) {
    struct Case {
        std::string_view in;
        bool query;
        std::string_view out;
    };
    const Case cases[] = {
        {"sub", false, "sub"},
        {"a/b-c_d.e~f", false, "a/b-c_d.e~f"},
        {"with space", false, "with%20space"},
        {"d\xc3\xa9", false, "d%C3%A9"},
        {"a?b#c%d", false, "a%3Fb%23c%25d"},
        {"back\\slash", false, "back%5Cslash"},
        {"q\"<>^`{|}", false, "q%22%3C%3E%5E%60%7B%7C%7D"},
        {"!$&'()*+,;=:@", false, "!$&'()*+,;=:@"},
        {std::string_view("nul\0x", 5), false, "nul%00x"},
        {"\x7f\x01", false, "%7F%01"},
        {"?a=1&b=%20", true, "?a=1&b=%20"},
        {"?q=\xc3\xa9 x", true, "?q=%C3%A9%20x"},
    };
    for (const Case& c : cases) {
        char buf[128];
        rt::Writer w(buf, sizeof buf);
        http::put_uri_escaped(w, c.in, c.query);
        EXPECT_EQ(w.view(), c.out) << c.in;
    }
    // Every byte: kept only if it is one of RFC 3986's path characters.
    const std::string_view path_chars = "-._~!$&'()*+,;=:@/";
    for (int b = 0; b < 256; ++b) {
        const char ch = static_cast<char>(b);
        char buf[8];
        rt::Writer w(buf, sizeof buf);
        http::put_uri_escaped(w, std::string_view(&ch, 1));
        const bool keep = std::isalnum(b) || path_chars.find(ch) != std::string_view::npos;
        EXPECT_EQ(w.size(), keep ? 1u : 3u) << b;
    }
}

// The output buffer needs target.size() + 1 bytes even for worst cases (many short segments).
TEST(NormalizePath, FitsInDocumentedBuffer) {
    std::string t = "/";
    for (int i = 0; i < 1000; ++i) t += "a/";
    const Normalized n = normalize(t);
    ASSERT_EQ(n.status, kOk);
    EXPECT_EQ(n.path.size(), t.size() - 2);
    EXPECT_TRUE(n.trailing_slash);
    EXPECT_EQ(normalize("/a").path, "a");
    EXPECT_EQ(normalize("/ab/c").path, "ab/c");
}

// ---------------------------------------------------------------------------------------------
// Randomized

// An independent model: decode everything, split on '/', resolve dot segments with a stack.
// Only for origin-form targets without '?' or '#' (the random alphabet has neither).
struct Model {
    int status;
    std::string path;
    bool trailing_slash, hidden;
};
int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
Model model(const std::string& target) {
    Model m{kBad, "", false, false};
    if (target.empty() || target[0] != '/') return m;
    std::string decoded;
    for (std::size_t i = 0; i < target.size(); ++i) {
        if (target[i] != '%') {
            decoded += target[i];
            continue;
        }
        if (i + 2 >= target.size()) return m;  // needs two more bytes
        const int hi = hex(target[i + 1]), lo = hex(target[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return m;
        decoded += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    std::vector<std::string> stack;
    std::size_t start = 1;
    for (;;) {
        const std::size_t slash = decoded.find('/', start);
        const std::string seg = decoded.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (seg == "..") {
            if (stack.empty()) return m;
            stack.pop_back();
        } else if (!seg.empty() && seg != ".") {
            stack.push_back(seg);
        }
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    m.status = kOk;
    for (std::size_t i = 0; i < stack.size(); ++i) {
        if (i) m.path += '/';
        m.path += stack[i];
        if (stack[i][0] == '.') m.hidden = true;
    }
    // A decoded %2F counts; so does a last segment "." or ".." (RFC 3986 §5.2.4).
    const std::string last = decoded.substr(decoded.rfind('/') + 1);
    m.trailing_slash = (decoded.size() > 1 && decoded.back() == '/') || last == "." || last == "..";
    return m;
}

// 200,000 random targets over the alphabet / . % 2 e f a \ 0: whenever a path is accepted it is
// relative, has no empty, "." or ".." segment, has no NUL inside, and matches the model exactly;
// rejections match the model too. Re-normalising an accepted path gives it back unchanged.
TEST(NormalizePath, RandomTargetsKeepInvariants) {
    const char alphabet[] = {'/', '.', '%', '2', 'e', 'f', 'a', '\\', '0'};
    std::mt19937 rng(20240229);
    int accepted = 0, rejected = 0;
    for (int iter = 0; iter < 200000; ++iter) {
        const std::size_t len = 1 + rng() % 24;
        std::string t;
        if (rng() % 16) t += '/';  // mostly origin-form, sometimes not
        while (t.size() < len) t += alphabet[rng() % sizeof alphabet];

        const Normalized n = normalize(t);
        const Model m = model(t);
        ASSERT_EQ(n.status, m.status) << testing::PrintToString(t);
        if (n.status != kOk) {
            ++rejected;
            continue;
        }
        ++accepted;
        const std::string& p = n.path;
        ASSERT_EQ(p, m.path) << testing::PrintToString(t);
        ASSERT_EQ(n.trailing_slash, m.trailing_slash) << testing::PrintToString(t);
        ASSERT_EQ(n.hidden, m.hidden) << testing::PrintToString(t);
        ASSERT_LE(p.size(), t.size());
        ASSERT_EQ(p.find('\0'), std::string::npos);
        if (!p.empty()) {
            ASSERT_NE(p.front(), '/') << testing::PrintToString(t);
            ASSERT_NE(p.back(), '/') << testing::PrintToString(t);
        }
        std::size_t start = 0;
        while (!p.empty()) {
            const std::size_t slash = p.find('/', start);
            const std::string seg = p.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
            ASSERT_FALSE(seg.empty()) << testing::PrintToString(t);
            ASSERT_NE(seg, ".") << testing::PrintToString(t);
            ASSERT_NE(seg, "..") << testing::PrintToString(t);
            if (slash == std::string::npos) break;
            start = slash + 1;
        }
        // Idempotent (the decoded path contains no '%' here, so it re-reads as itself).
        if (p.find('%') == std::string::npos) {
            const Normalized again = normalize("/" + p);
            ASSERT_EQ(again.status, kOk);
            ASSERT_EQ(again.path, p);
        }
    }
    // Both outcomes were exercised plenty.
    EXPECT_GT(accepted, 20000);
    EXPECT_GT(rejected, 20000);
}

}  // namespace
