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
    // The extension: what follows the last '.' of the last segment.
    std::size_t start = path.size();
    while (start > 0 && path[start - 1] != '.' && path[start - 1] != '/') --start;
    if (start > 0 && path[start - 1] == '.') {
        const std::string_view ext = path.substr(start);
        for (std::size_t line = 0; line < kMimeTable.size();) {
            const std::size_t colon = kMimeTable.find(':', line), end = kMimeTable.find('\n', colon);
            for (std::size_t word = line; word < colon;) {  // the line's extensions
                std::size_t word_end = word;
                while (word_end < colon && kMimeTable[word_end] != ' ') ++word_end;
                if (equals_ignore_case(kMimeTable.substr(word, word_end - word), ext))
                    return kMimeTable.substr(colon + 1, end - colon - 1);
                word = word_end + 1;
            }
            line = end + 1;
        }
    }
    return "application/octet-stream";
}

}  // namespace http
