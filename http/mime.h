// http/mime.h — Content-Type from a file name's extension. Pure; a constant table.
#pragma once

#include <string_view>

namespace http {

// The media type for `path` by its extension (case-insensitive); text types carry
// "; charset=utf-8". Unknown: application/octet-stream.
std::string_view mime_type(std::string_view path);

}  // namespace http
