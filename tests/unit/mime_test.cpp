// mime_test.cpp: http::mime_type (http/mime.h) — Content-Type from the file name's extension.
#include <gtest/gtest.h>

#include <string_view>

#include "http/mime.h"

namespace {

// The extension (after the last '.' of the last path segment) picks the type, case-insensitively.
TEST(MimeType, Table) {
    struct Case {
        std::string_view path, type;
    };
    const Case cases[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"a/b/page.htm", "text/html; charset=utf-8"},
        {"style.css", "text/css; charset=utf-8"},
        {"app.js", "text/javascript; charset=utf-8"},
        {"mod.mjs", "text/javascript; charset=utf-8"},
        {"data.json", "application/json"},
        {"app.js.map", "application/json"},
        {"img/logo.png", "image/png"},
        {"readme.txt", "text/plain; charset=utf-8"},
        {"photo.jpg", "image/jpeg"},
        {"photo.jpeg", "image/jpeg"},
        {"icon.svg", "image/svg+xml"},
        {"favicon.ico", "image/x-icon"},
        {"module.wasm", "application/wasm"},
        {"font.woff2", "font/woff2"},
        {"archive.tar.gz", "application/gzip"},  // last extension wins
        // Uppercase and mixed-case extensions.
        {"INDEX.HTML", "text/html; charset=utf-8"},
        {"Photo.PnG", "image/png"},
        {"x.Json", "application/json"},
        // Unknown, missing or empty extensions.
        {"file.unknown", "application/octet-stream"},
        {"Makefile", "application/octet-stream"},
        {"", "application/octet-stream"},
        {"file.", "application/octet-stream"},
        {"file.htmlx", "application/octet-stream"},
        {"file.htm l", "application/octet-stream"},
        {"file.xhtml", "application/octet-stream"},
        {"htm", "application/octet-stream"},
        // A dot in a directory name is not an extension.
        {"/a.b/c", "application/octet-stream"},
        {"a.html/c", "application/octet-stream"},
        {"a.html/", "application/octet-stream"},
        // Dotfiles: the part after the dot is taken as the extension.
        {".htaccess", "application/octet-stream"},
        {"dir/.css", "text/css; charset=utf-8"},
    };
    for (const Case& c : cases) EXPECT_EQ(http::mime_type(c.path), c.type) << c.path;
}

}  // namespace
