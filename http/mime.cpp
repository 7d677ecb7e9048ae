// http/mime.cpp — see mime.h.
#include "http/mime.h"

#include "http/request_parser.h"

namespace http {
namespace {
// One line per media type: its extensions separated by spaces, a colon, the type. Packed text
// rather than an array of string_view pairs: a third of the bytes in the binary.
constexpr std::string_view kMimeTable =
    "html htm:text/html; charset=utf-8\n"
    "css:text/css; charset=utf-8\n"
    "js mjs:text/javascript; charset=utf-8\n"
    "json map:application/json\n"
    "txt:text/plain; charset=utf-8\n"
    "xml:application/xml\n"
    "svg:image/svg+xml\n"
    "png:image/png\n"
    "jpg jpeg:image/jpeg\n"
    "gif:image/gif\n"
    "webp:image/webp\n"
    "avif:image/avif\n"
    "ico:image/x-icon\n"
    "wasm:application/wasm\n"
    "woff:font/woff\n"
    "woff2:font/woff2\n"
    "ttf:font/ttf\n"
    "pdf:application/pdf\n"
    "mp4:video/mp4\n"
    "webm:video/webm\n"
    "mp3:audio/mpeg\n"
    "ogg:audio/ogg\n"
    "wav:audio/wav\n"
    "zip:application/zip\n"
    "gz:application/gzip\n";
}  // namespace

std::string_view mime_type(std::string_view path) {
    const std::size_t dot = path.rfind('.');
    const std::size_t slash = path.rfind('/');
    if (dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash)) {
        const std::string_view ext = path.substr(dot + 1);
        std::size_t start = 0;  // of the current extension
        for (std::size_t i = 0; i < kMimeTable.size(); ++i) {
            const char c = kMimeTable[i];
            if (c != ' ' && c != ':') continue;
            const std::size_t colon = kMimeTable.find(':', start);
            const std::size_t end = kMimeTable.find('\n', colon);
            if (equals_ignore_case(kMimeTable.substr(start, i - start), ext))
                return kMimeTable.substr(colon + 1, end - colon - 1);
            if (c == ':') i = end;  // the next line
            start = i + 1;
        }
    }
    return "application/octet-stream";
}

}  // namespace http
