// websocket/decoder.h — the receiving side of RFC 6455 as an IO-free state machine: the caller
// hands it the bytes it received, in pieces of any size, and takes back one event at a time.
//
// It keeps every rule a client's frames must follow in one place (§5.1-5.5 framing, §5.4
// fragmentation, §5.5 control frames, §7.4 close codes, §8.1 UTF-8 of text and close reasons, and
// the message size limit), unmasks payload in place, and validates text as it arrives, so the first
// bad byte fails the connection at once. Pure: no IO, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "websocket/frame.h"
#include "websocket/utf8.h"

namespace ws {

struct Event {
    enum Kind : std::uint8_t {
        need_more,  // every byte given was consumed; feed more
        data,       // [bytes, bytes+size) is the next run of a message's payload, unmasked (and
                    // valid UTF-8 so far for text); `last` when it ends the message (size may be 0)
        control,    // a whole ping, pong or close frame; its payload is [bytes, bytes+size); for a
                    // close, `close_code` is the code to answer with (1000 for an empty close)
        fail,       // the peer broke a rule: close with `close_code` (1002, 1007 or 1009)
    };
    Kind kind;
    std::uint8_t opcode;  // data: kText or kBinary (of the message); control: kPing/kPong/kClose
    bool last;
    std::uint16_t close_code;
    const std::uint8_t* bytes;
    std::size_t size;
};

class Decoder {
public:
    explicit Decoder(std::uint64_t max_message) : max_message_(max_message) {}

    // Consumes bytes from [p, p+n) (at most n; `used` says how many) up to the next event. Payload
    // bytes are unmasked where they lie, so `p` must be writable. Call again with the rest of the
    // input until it returns need_more; a partial frame header is kept inside.
    Event next(std::uint8_t* p, std::size_t n, std::size_t& used);

    // Payload bytes of a data frame still to come; while nonzero the caller may receive them
    // straight into their destination and pass them to next() there.
    std::uint64_t data_payload_left() const {
        return in_frame_ && !is_control(opcode_) ? remaining_ : 0;
    }

private:
    Event failure(std::uint16_t code);
    std::uint16_t check_header(const FrameHeader& h) const;
    std::uint16_t check_close_payload() const;

    // 176 bytes of state (frame, message, limit, spill for a split header, a control payload).
    std::uint64_t max_message_;
    std::uint64_t remaining_ = 0;       // payload bytes of the current frame not yet seen
    std::uint64_t message_bytes_ = 0;   // payload bytes of the open message, announced so far
    std::uint8_t mask_[4] = {};
    std::uint8_t mask_phase_ = 0;       // payload offset of the next byte, modulo 4
    std::uint8_t opcode_ = 0;           // of the current frame
    std::uint8_t message_opcode_ = 0;   // kText or kBinary while a message is open, else 0
    bool fin_ = false;
    bool in_frame_ = false;             // a header was decoded and its payload is due
    std::uint16_t failed_ = 0;          // the close code once a rule was broken
    std::uint8_t spill_size_ = 0;
    std::uint8_t spill_[kMaxFrameHeader] = {};
    std::uint8_t control_size_ = 0;
    std::uint8_t control_[kMaxControlPayload] = {};
    Utf8Validator utf8_;
};

}  // namespace ws
