// websocket/decoder.cpp — see decoder.h.
#include "websocket/decoder.h"

namespace ws {

Event Decoder::failure(std::uint16_t code) {
    failed_ = code;
    in_frame_ = false;  // no payload is wanted any more
    return {Event::fail, 0, false, code, nullptr, 0};
}

// Every rule a frame header must keep, checked in one place. 0 when it keeps them all.
std::uint16_t Decoder::check_header(const FrameHeader& h) const {
    if (!h.masked || h.rsv || !opcode_known(h.opcode)) return 1002;  // §5.1, §5.2 (no extensions)
    if (is_control(h.opcode)) return !h.fin || h.length > kMaxControlPayload ? 1002 : 0;  // §5.5
    if ((h.opcode == kContinuation) != (message_opcode_ != 0)) return 1002;  // §5.4
    // The message limit is checked on the length announced, before any payload is buffered.
    return h.length > max_message_ - message_bytes_ ? 1009 : 0;
}

// §5.5.1 and §7.4: a close payload is empty, or a code an endpoint may send plus a UTF-8 reason.
std::uint16_t Decoder::check_close_payload() const {
    if (control_size_ == 0) return 0;
    if (control_size_ == 1 || !close_code_valid(control_[0] << 8 | control_[1])) return 1002;
    Utf8Validator reason;
    return reason.feed(control_ + 2, control_size_ - 2u) && reason.complete() ? 0 : 1007;
}

Event Decoder::next(std::uint8_t* p, std::size_t n, std::size_t& used) {
    used = 0;
    if (failed_) return {Event::fail, 0, false, failed_, nullptr, 0};
    for (;;) {
        if (!in_frame_) {
            // A header is at most 14 bytes; one split across reads waits in the spill buffer.
            FrameHeader h{};
            DecodeStatus status;
            std::size_t header_from_p;
            if (spill_size_ == 0 && (status = decode_frame_header(p + used, n - used, h)) != DecodeStatus::incomplete) {
                header_from_p = h.size;
            } else {
                const std::size_t old = spill_size_;
                const std::size_t room = kMaxFrameHeader - old, take = n - used < room ? n - used : room;
                if (take) __builtin_memcpy(spill_ + old, p + used, take);  // p may be null when n is 0
                status = decode_frame_header(spill_, old + take, h);
                if (status == DecodeStatus::incomplete) {
                    spill_size_ = static_cast<std::uint8_t>(old + take);
                    used += take;
                    return {Event::need_more, 0, false, 0, nullptr, 0};
                }
                spill_size_ = 0;
                header_from_p = status == DecodeStatus::ok ? h.size - old : 0;
            }
            if (status == DecodeStatus::bad_length) return failure(1002);  // §5.2: top bit, or not minimal
            if (const std::uint16_t code = check_header(h)) return failure(code);
            used += header_from_p;
            __builtin_memcpy(mask_, h.mask, 4);
            mask_phase_ = 0;
            opcode_ = h.opcode;
            fin_ = h.fin;
            remaining_ = h.length;
            in_frame_ = true;
            if (is_control(h.opcode)) {
                control_size_ = 0;
            } else {
                if (h.opcode != kContinuation) message_opcode_ = h.opcode, utf8_.reset();
                message_bytes_ += h.length;
            }
        }

        // Payload: as much of the current frame as the input holds.
        const std::size_t avail = n - used;
        const std::size_t take = remaining_ < avail ? static_cast<std::size_t>(remaining_) : avail;
        std::uint8_t* const run = p + used;
        apply_mask(run, take, mask_, mask_phase_);
        mask_phase_ = static_cast<std::uint8_t>((mask_phase_ + take) & 3);
        remaining_ -= take;
        used += take;

        if (is_control(opcode_)) {
            __builtin_memcpy(control_ + control_size_, run, take);
            control_size_ = static_cast<std::uint8_t>(control_size_ + take);
            if (remaining_) return {Event::need_more, 0, false, 0, nullptr, 0};
            in_frame_ = false;
            std::uint16_t code = 0;
            if (opcode_ == kClose) {
                if (const std::uint16_t bad = check_close_payload()) return failure(bad);
                code = control_size_ ? static_cast<std::uint16_t>(control_[0] << 8 | control_[1]) : 1000;
            }
            return {Event::control, opcode_, true, code, control_, control_size_};
        }

        const bool text = message_opcode_ == kText;
        if (text && !utf8_.feed(run, take)) return failure(1007);  // fail fast, mid-frame too
        const bool ends_frame = remaining_ == 0;
        if (ends_frame) in_frame_ = false;
        const bool last = ends_frame && fin_;
        if (last) {
            if (text && !utf8_.complete()) return failure(1007);  // a sequence cut off at the end
            const std::uint8_t op = message_opcode_;
            message_opcode_ = 0, message_bytes_ = 0;
            return {Event::data, op, true, 0, run, take};
        }
        if (take) return {Event::data, message_opcode_, false, 0, run, take};
        if (!ends_frame) return {Event::need_more, 0, false, 0, nullptr, 0};
        // An empty non-final fragment: nothing to report; go on to the next header.
    }
}

}  // namespace ws
