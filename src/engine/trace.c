/* trace.c - trap reporting: the store's error and its backtrace.
 *
 * graft__trap is the interpreter's one way to report a trap. It sets the
 * store's error to the catalogue entry (whose text is the spec's wording,
 * so the spec runner can compare by prefix), records the innermost wasm
 * frame's function index and byte offset, and writes the backtrace into
 * the error's fixed buffer, innermost frame first:
 *
 *     "  #0 fib at wasm offset 0x4a\n"
 *     "  #1 func[3] at wasm offset 0x61\n"
 *     "  #2 <host>\n"
 *
 * The buffer is bounded (GR_TRACE_CAP); when frames do not fit, the last
 * line says how many were left out. Nothing here allocates, so a trap from
 * an exhausted budget can still be reported.
 *
 * Ownership: the text lives in s->err and is valid until the next fallible
 * call on the store. */
#include "runtime.h"

#define GR_NAME_SHOWN 64    /* bytes of a function name kept in a trace line */
#define GR_LINE_ROOM 128    /* room kept for one more line, or the "more" line */

/* Offset of a frame's current instruction; innermost frames point at it,
 * callers just past the call. */
static uint64_t frame_offset(const gr_frame *fr, int innermost)
{
    const gr_code *c = fr->func->code;
    if (!c || !fr->pc || fr->pc < c->words) return GRAFT_NO_OFFSET;
    uint32_t pc = (uint32_t)(fr->pc - c->words);
    /* graft__code_wasm_offset is the one reader of a function's pcmap: the
     * last entry at or before pc, so a caller's pc, just past its call,
     * is looked up one word back. */
    if (innermost) return graft__code_wasm_offset(c, pc);
    return pc ? graft__code_wasm_offset(c, pc - 1) : GRAFT_NO_OFFSET;
}

/* Append a function's display name: its name-section name (printable bytes
 * only, at most GR_NAME_SHOWN) or func[N]. */
static size_t put_name(char *buf, size_t cap, const graft_func *f)
{
    if (f->host) return graft__fmt(buf, cap, "<host>");
    uint32_t index = f->code->func_index;
    size_t len = 0;
    const char *name = graft_module_func_name(f->inst->module, index, &len);
    if (!name || len == 0) return graft__fmt(buf, cap, "func[%u]", index);
    size_t n = 0;
    for (size_t i = 0; i < len && i < GR_NAME_SHOWN && n + 1 < cap; i++) {
        unsigned char ch = (unsigned char)name[i];
        buf[n++] = ch >= 0x20 && ch != 0x7F ? (char)ch : '?';
    }
    if (cap) buf[n] = 0;
    return n;
}

static void write_trace(graft_store *s, uint32_t first_frame)
{
    char *buf = s->err.trace;
    size_t cap = sizeof s->err.trace, len = 0;
    buf[0] = 0;
    uint32_t k = 0;
    for (uint32_t i = s->nframes; i-- > first_frame; k++) {
        if (cap - len < GR_LINE_ROOM) {
            graft__fmt(buf + len, cap - len, "  ... %u more frames\n", i - first_frame + 1);
            return;
        }
        const gr_frame *fr = &s->frames[i];
        len += graft__fmt(buf + len, cap - len, "  #%u ", k);
        len += put_name(buf + len, cap - len, fr->func);
        uint64_t off = fr->func->host ? GRAFT_NO_OFFSET : frame_offset(fr, i + 1 == s->nframes);
        if (off != GRAFT_NO_OFFSET)
            len += graft__fmt(buf + len, cap - len, " at wasm offset 0x%llx",
                              (unsigned long long)off);
        len += graft__fmt(buf + len, cap - len, "\n");
    }
}

graft_result graft__trap(graft_store *s, graft_error_code code, uint32_t first_frame)
{
    uint64_t offset = GRAFT_NO_OFFSET;
    uint32_t func = GRAFT_NO_INDEX;
    if (s->frames && s->nframes > first_frame) {
        const gr_frame *top = &s->frames[s->nframes - 1];
        if (!top->func->host) {
            offset = frame_offset(top, 1);
            func = top->func->code->func_index;
        }
    }
    /* A host function that failed through graft_caller_trap has already
     * set the message; keep it and add where it happened. */
    if (code == GRAFT_E_TRAP_HOST && s->err.pub.code == GRAFT_E_TRAP_HOST) {
        s->err.pub.offset = offset;
        s->err.pub.func_index = func;
    } else {
        graft__error(&s->err, code, offset, func, NULL);
    }
    if (s->frames) write_trace(s, first_frame);
    return GRAFT_ERR_TRAP;
}
