// response_test.cpp: http::status_text and http::status_has_no_body (http/response.h).
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "http/response.h"

namespace {

// Every status the server sends has its exact status-line text; unknown ones fall back to 500.
TEST(StatusText, Table) {
    struct Case {
        int status;
        std::string_view text;
    };
    const Case cases[] = {
        {101, "101 Switching Protocols"}, {200, "200 OK"}, {204, "204 No Content"},
        {206, "206 Partial Content"}, {301, "301 Moved Permanently"}, {304, "304 Not Modified"},
        {400, "400 Bad Request"}, {403, "403 Forbidden"}, {404, "404 Not Found"},
        {405, "405 Method Not Allowed"}, {408, "408 Request Timeout"}, {413, "413 Content Too Large"},
        {414, "414 URI Too Long"}, {416, "416 Range Not Satisfiable"}, {426, "426 Upgrade Required"},
        {431, "431 Request Header Fields Too Large"}, {500, "500 Internal Server Error"},
        {501, "501 Not Implemented"}, {503, "503 Service Unavailable"},
        {505, "505 HTTP Version Not Supported"},
    };
    for (const Case& c : cases) {
        EXPECT_EQ(http::status_text(c.status), c.text) << c.status;
        // The text starts with the number itself.
        EXPECT_EQ(c.text.substr(0, 3), std::to_string(c.status));
    }
    for (int unknown : {0, -1, 100, 201, 302, 418, 499, 502, 599, 1000})
        EXPECT_EQ(http::status_text(unknown), "500 Internal Server Error") << unknown;
}

// 1xx, 204 and 304 carry no body; everything else does.
TEST(StatusText, NoBody) {
    for (int s : {100, 101, 199, 204, 304}) EXPECT_TRUE(http::status_has_no_body(s)) << s;
    for (int s : {200, 201, 206, 301, 303, 400, 404, 500, 505}) EXPECT_FALSE(http::status_has_no_body(s)) << s;
}

}  // namespace
