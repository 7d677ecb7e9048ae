// http/response.cpp — see response.h.
#include "http/response.h"

namespace http {
namespace {
// One status line per line, found by its three digits. Packed text rather than an array of
// {int, string_view}: fewer bytes in the binary.
constexpr std::string_view kStatusLines =
    "101 Switching Protocols\n"
    "200 OK\n"
    "204 No Content\n"
    "206 Partial Content\n"
    "301 Moved Permanently\n"
    "304 Not Modified\n"
    "400 Bad Request\n"
    "403 Forbidden\n"
    "404 Not Found\n"
    "405 Method Not Allowed\n"
    "408 Request Timeout\n"
    "412 Precondition Failed\n"
    "413 Content Too Large\n"
    "414 URI Too Long\n"
    "416 Range Not Satisfiable\n"
    "426 Upgrade Required\n"
    "431 Request Header Fields Too Large\n"
    "501 Not Implemented\n"
    "503 Service Unavailable\n"
    "505 HTTP Version Not Supported\n"
    "500 Internal Server Error\n";  // last: the answer for a status not listed
}  // namespace

std::string_view status_text(int status) {
    const char digits[3] = {static_cast<char>('0' + status / 100 % 10), static_cast<char>('0' + status / 10 % 10),
                            static_cast<char>('0' + status % 10)};
    const char* const table_end = kStatusLines.data() + kStatusLines.size();
    for (const char* line = kStatusLines.data();;) {
        const char* end = line;
        while (*end != '\n') ++end;
        if (end + 1 == table_end || (line[0] == digits[0] && line[1] == digits[1] && line[2] == digits[2]))
            return {line, static_cast<std::size_t>(end - line)};
        line = end + 1;
    }
}

}  // namespace http
