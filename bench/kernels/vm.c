/* vm - a switch-dispatch bytecode interpreter: a small stack machine with
 * eight registers runs a program (assembled here) that, for i = 1..SIZE,
 * counts the Collatz steps of i + seed and folds them into an accumulator. */
#include "kernel.h"

enum op {
    OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_SUB, OP_MUL, OP_XOR, OP_AND,
    OP_SHR, OP_SHL, OP_DUP, OP_DROP, OP_JMP, OP_JZ, OP_JNZ, OP_LT, OP_EQ,
    OP_INC, OP_HALT,
};

/* Registers: r0 i, r1 n, r2 x, r3 steps, r4 acc, r5 seed. */
static const int32_t program[] = {
    /* 0 */  OP_PUSH, 1, OP_STORE, 0,
    /* 4 */  OP_LOAD, 0, OP_LOAD, 1, OP_LT, OP_JZ, 84,          /* while i < n */
    /* 11 */ OP_LOAD, 0, OP_LOAD, 5, OP_ADD, OP_STORE, 2,       /* x = i + seed */
    /* 18 */ OP_PUSH, 0, OP_STORE, 3,                           /* steps = 0 */
    /* 22 */ OP_LOAD, 2, OP_PUSH, 1, OP_EQ, OP_JNZ, 51,          /* while x != 1 */
    /* 29 */ OP_LOAD, 2, OP_PUSH, 1, OP_AND, OP_JZ, 44,          /* odd? */
    /* 36 */ OP_LOAD, 2, OP_PUSH, 3, OP_MUL, OP_INC, OP_JMP, 55, /* 3x+1 */
    /* 44 */ OP_LOAD, 2, OP_PUSH, 1, OP_SHR,                     /* x/2 (len 5: 44..48) */
    /* 49 */ OP_JMP, 55,
    /* 51 */ OP_JMP, 64,
    /* 53 */ OP_HALT, OP_HALT,
    /* 55 */ OP_STORE, 2, OP_LOAD, 3, OP_INC, OP_STORE, 3, OP_JMP, 22,
    /* 64 */ OP_LOAD, 4, OP_PUSH, 5, OP_SHL, OP_LOAD, 4, OP_XOR, OP_LOAD, 3, OP_ADD, OP_STORE, 4,
    /* 77 */ OP_LOAD, 0, OP_INC, OP_STORE, 0, OP_JMP, 4,
    /* 84 */ OP_HALT,
};

static uint32_t run(const int32_t *code, uint32_t *reg)
{
    uint32_t stack[64];
    int sp = 0;
    int pc = 0;
    uint64_t executed = 0;
    for (;;) {
        executed++;
        switch (code[pc++]) {
        case OP_PUSH: stack[sp++] = (uint32_t)code[pc++]; break;
        case OP_LOAD: stack[sp++] = reg[code[pc++]]; break;
        case OP_STORE: reg[code[pc++]] = stack[--sp]; break;
        case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case OP_SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case OP_XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case OP_AND: sp--; stack[sp - 1] &= stack[sp]; break;
        case OP_SHR: sp--; stack[sp - 1] >>= stack[sp] & 31; break;
        case OP_SHL: sp--; stack[sp - 1] <<= stack[sp] & 31; break;
        case OP_DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case OP_DROP: sp--; break;
        case OP_JMP: pc = code[pc]; break;
        case OP_JZ: pc = stack[--sp] == 0 ? code[pc] : pc + 1; break;
        case OP_JNZ: pc = stack[--sp] != 0 ? code[pc] : pc + 1; break;
        case OP_LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case OP_EQ: sp--; stack[sp - 1] = stack[sp - 1] == stack[sp]; break;
        case OP_INC: stack[sp - 1]++; break;
        case OP_HALT: return (uint32_t)executed;
        default: return 0;
        }
    }
}

int main(int argc, char **argv)
{
    bench_args(argc, argv, "vm");
    uint32_t reg[8] = { 0 };
    reg[1] = bench_size;
    reg[5] = bench_seed % 1000;
    uint32_t executed = run(program, reg);
    uint64_t h = bench_mix(BENCH_CHECK_INIT, reg[4]);
    h = bench_mix(h, executed);
    bench_print("vm", h);
    return 0;
}
