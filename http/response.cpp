// http/response.cpp — see response.h.
#include "http/response.h"

namespace http {
namespace {
struct StatusEntry {
    int status;
    std::string_view text;
};
constexpr StatusEntry kStatusTable[] = {
    {101, "101 Switching Protocols"},
    {200, "200 OK"},
    {204, "204 No Content"},
    {206, "206 Partial Content"},
    {301, "301 Moved Permanently"},
    {304, "304 Not Modified"},
    {400, "400 Bad Request"},
    {403, "403 Forbidden"},
    {404, "404 Not Found"},
    {405, "405 Method Not Allowed"},
    {408, "408 Request Timeout"},
    {413, "413 Content Too Large"},
    {414, "414 URI Too Long"},
    {416, "416 Range Not Satisfiable"},
    {426, "426 Upgrade Required"},
    {431, "431 Request Header Fields Too Large"},
    {500, "500 Internal Server Error"},
    {501, "501 Not Implemented"},
    {503, "503 Service Unavailable"},
    {505, "505 HTTP Version Not Supported"},
};
}  // namespace

std::string_view status_text(int status) {
    for (const auto& e : kStatusTable)
        if (e.status == status) return e.text;
    return "500 Internal Server Error";
}

}  // namespace http
