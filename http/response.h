// http/response.h — status lines and the fixed parts of responses, as constant tables
// (STYLE 6: no formatting of fixed text at run time).
#pragma once

#include <string_view>

namespace http {

// "404 Not Found" for 404; "500 Internal Server Error" for a status the table lacks.
std::string_view status_text(int status);

// True for statuses that never carry a body or Content-Length (1xx, 204, 304).
constexpr bool status_has_no_body(int status) { return status < 200 || status == 204 || status == 304; }

}  // namespace http
