/* code_dump.c - a disassembler for the internal code of code.h, for tests
 * and for whoever debugs the compiler or the interpreter.
 *
 * One line per instruction: "pc: name operands", operands separated by ", "
 * in ops.def's operand-string order. Slots, indices, counts and memarg
 * offsets print as decimal numbers, `i` immediates as signed decimals, `L`
 * immediates as hex, and branch targets as "@pc" (absolute word index).
 * Handler words are mapped back to gr_iop by inverting the handler table
 * the code was compiled with. Nothing is allocated: lines are built in a
 * stack buffer and handed to the caller's emit function. */
#include "code.h"

/* The operand strings of the internal-only instructions, in gr_iop order. */
static const char *const internal_operands[] = {
#define GR_IOP(name, operands) operands,
#include "ops.def"
#undef GR_IOP
};

#define N_INTERNAL (sizeof internal_operands / sizeof internal_operands[0])

/* The operand strings of the fused instructions, the last gr_iops. */
static const char *const fused_operands[] = {
#define GR_FUSED(name, operands) operands,
#include "ops.def"
#undef GR_FUSED
    ""
};

#define N_FUSED (sizeof fused_operands / sizeof fused_operands[0] - 1)

/* The operand string of op; 'o' stands for a memarg offset. */
static const char *operands_of(gr_iop op)
{
    if ((size_t)op < N_INTERNAL) return internal_operands[op];
    if ((size_t)op >= GR_IOP_COUNT_ - N_FUSED) return fused_operands[op - (GR_IOP_COUNT_ - N_FUSED)];
    for (unsigned i = 0; i < GR_OP_COUNT_; i++) {
        const gr_op_info *info = &graft__op_info[i];
        if (info->iop != op) continue;
        if (info->cls == GR_CLS_LOAD) return "dao";
        if (info->cls == GR_CLS_STORE) return "avo";
        return graft__sig_info[info->sig].nparams == 1 ? "da" : "dab";
    }
    return "";
}

/* The gr_iop whose handler word is w, or GR_IOP_COUNT_ when none or several. */
static gr_iop iop_of(const int32_t *handlers, uint32_t w)
{
    gr_iop found = GR_IOP_COUNT_;
    for (unsigned i = 0; i < GR_IOP_COUNT_; i++) {
        if ((uint32_t)handlers[i] != w) continue;
        if (found != GR_IOP_COUNT_) return GR_IOP_COUNT_;
        found = (gr_iop)i;
    }
    return found;
}

/* A line being built; flushed to emit when full or done. */
typedef struct dump_line {
    char buf[256];
    size_t len;
    void (*emit)(void *user, const char *line);
    void *user;
} dump_line;

static void put(dump_line *l, const char *text)
{
    if (l->len + 40 >= sizeof l->buf) {   /* very long br_tables continue on new lines */
        l->emit(l->user, l->buf);
        l->len = graft__fmt(l->buf, sizeof l->buf, "    ");
    }
    l->len += graft__fmt(l->buf + l->len, sizeof l->buf - l->len, "%s", text);
}

/* Print the operands of the instruction at pc; returns its length in words,
 * or 0 when the code ends inside it. */
static uint32_t put_operands(dump_line *l, const gr_code *c, uint32_t pc, const char *ops)
{
    uint32_t w = pc + 1, n = 0;
    char tmp[40];
    const char *o = ops;
    for (; *o && *o != '*'; o++) {
        if (w >= c->nwords || (*o == 'L' && w + 1 >= c->nwords)) return 0;
        put(l, o == ops ? " " : ", ");
        switch (*o) {
        case 'T': graft__fmt(tmp, sizeof tmp, "@%u", pc + c->words[w]); break;
        case 'i': graft__fmt(tmp, sizeof tmp, "%d", (int32_t)c->words[w]); break;
        case 'L':
            graft__fmt(tmp, sizeof tmp, "0x%llx",
                       (unsigned long long)c->words[w] | (unsigned long long)c->words[w + 1] << 32);
            w++;
            break;
        default: graft__fmt(tmp, sizeof tmp, "%u", c->words[w]); break;
        }
        if (*o == 'n') n = c->words[w];
        put(l, tmp);
        w++;
    }
    if (*o == '*') {   /* br_table's "*T": n + 1 targets */
        if ((uint64_t)w + n + 1 > c->nwords) return 0;
        for (uint32_t k = 0; k <= n; k++, w++) {
            graft__fmt(tmp, sizeof tmp, ", @%u", pc + c->words[w]);
            put(l, tmp);
        }
    }
    return w - pc;
}

void graft__code_dump(const gr_code *c, const int32_t *handlers,
                      void (*emit)(void *user, const char *line), void *user)
{
    dump_line l;
    l.emit = emit;
    l.user = user;
    uint32_t pc = 0;
    while (pc < c->nwords) {
        gr_iop op = iop_of(handlers, c->words[pc]);
        if (op == GR_IOP_COUNT_) break;
        l.len = graft__fmt(l.buf, sizeof l.buf, "%u: %s", pc, graft__iop_names[op]);
        uint32_t size = put_operands(&l, c, pc, operands_of(op));
        if (size == 0) break;
        emit(user, l.buf);
        pc += size;
    }
    /* Words that do not decode: print them raw. */
    for (; pc < c->nwords; pc++) {
        graft__fmt(l.buf, sizeof l.buf, "%u: .word 0x%x", pc, c->words[pc]);
        emit(user, l.buf);
    }
}
