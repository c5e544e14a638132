/* composite - a mixed workload in the spirit of CoreMark (written here,
 * not taken from it): each of SIZE iterations runs
 *   - list processing: a malloc'd singly linked list of records, searched,
 *     reversed and merge-sorted by two different keys;
 *   - matrix: 16-bit integer matrices, add a constant, multiply by a
 *     constant, by a vector and by a matrix, and extract bit fields;
 *   - a state machine that scans a text of numbers ("123", "-4.5e6",
 *     garbage) and counts the transitions into each state;
 * and folds every result through a CRC-16 (CCITT, bitwise). */
#include "kernel.h"

#define LIST_LEN 128
#define MAT_N 24
#define TEXT_LEN 512

static uint16_t crc16(uint16_t crc, uint32_t v, int bytes)
{
    for (int b = 0; b < bytes; b++) {
        crc ^= (uint16_t)(((v >> (8 * b)) & 0xff) << 8);
        for (int k = 0; k < 8; k++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

/* ---- list ---- */
typedef struct node {
    struct node *next;
    int16_t key;
    uint16_t idx;
} node;

static node *merge_sort(node *list, int by_key)
{
    /* Bottom-up merge sort on a singly linked list. */
    if (!list || !list->next)
        return list;
    int width = 1;
    for (;;) {
        node *p = list, *tail = NULL;
        list = NULL;
        int merges = 0;
        while (p) {
            merges++;
            node *q = p;
            int psize = 0;
            for (int i = 0; i < width && q; i++) {
                psize++;
                q = q->next;
            }
            int qsize = width;
            while (psize > 0 || (qsize > 0 && q)) {
                node *e;
                int take_p;
                if (psize == 0) take_p = 0;
                else if (qsize == 0 || !q) take_p = 1;
                else if (by_key) take_p = p->key <= q->key;
                else take_p = p->idx <= q->idx;
                if (take_p) { e = p; p = p->next; psize--; }
                else { e = q; q = q->next; qsize--; }
                if (tail) tail->next = e; else list = e;
                tail = e;
            }
            p = q;
        }
        tail->next = NULL;
        if (merges <= 1)
            return list;
        width *= 2;
    }
}

static node *reverse(node *l)
{
    node *prev = NULL;
    while (l) {
        node *n = l->next;
        l->next = prev;
        prev = l;
        l = n;
    }
    return prev;
}

static uint16_t bench_list(node *pool, bench_rng *r, uint16_t crc)
{
    node *head = NULL;
    for (int i = 0; i < LIST_LEN; i++) {
        pool[i].key = (int16_t)(bench_rand(r) & 0x7fff) - 0x4000;
        pool[i].idx = (uint16_t)i;
        pool[i].next = head;
        head = &pool[i];
    }
    int16_t want = pool[bench_rand(r) % LIST_LEN].key;
    int pos = 0;
    for (node *n = head; n; n = n->next, pos++)
        if (n->key == want)
            break;
    crc = crc16(crc, (uint32_t)pos, 2);
    head = reverse(head);
    head = merge_sort(head, 1);
    for (node *n = head; n; n = n->next)
        crc = crc16(crc, (uint16_t)n->key, 2);
    head = merge_sort(head, 0);
    crc = crc16(crc, head->idx, 2);
    return crc;
}

/* ---- matrix ---- */
static uint16_t bench_matrix(int16_t *a, int16_t *b, int32_t *c, int16_t k, uint16_t crc)
{
    for (int i = 0; i < MAT_N * MAT_N; i++)
        a[i] = (int16_t)(a[i] + k);
    for (int i = 0; i < MAT_N * MAT_N; i++)
        c[i] = (int32_t)a[i] * k;
    int32_t sum = 0;
    for (int i = 0; i < MAT_N * MAT_N; i++)
        sum += c[i];
    crc = crc16(crc, (uint32_t)sum, 4);
    for (int i = 0; i < MAT_N; i++) {           /* matrix times vector */
        int32_t acc = 0;
        for (int j = 0; j < MAT_N; j++)
            acc += (int32_t)a[i * MAT_N + j] * b[j];
        c[i] = acc;
    }
    for (int i = 0; i < MAT_N; i++)
        crc = crc16(crc, (uint32_t)c[i], 4);
    for (int i = 0; i < MAT_N; i++)             /* matrix times matrix */
        for (int j = 0; j < MAT_N; j++) {
            int32_t acc = 0;
            for (int t = 0; t < MAT_N; t++)
                acc += (int32_t)a[i * MAT_N + t] * b[t * MAT_N + j];
            c[i * MAT_N + j] = acc;
        }
    sum = 0;
    for (int i = 0; i < MAT_N * MAT_N; i++)     /* bit extraction */
        sum += (c[i] >> 3 & 0xf) * ((c[i] >> 9) & 0x7f);
    crc = crc16(crc, (uint32_t)sum, 4);
    for (int i = 0; i < MAT_N * MAT_N; i++)
        a[i] = (int16_t)(a[i] - k);
    return crc;
}

/* ---- state machine ---- */
enum state { S_START, S_INT, S_FRAC, S_EXP, S_EXP_SIGN, S_EXP_INT, S_SIGN, S_BAD, S_COUNT };

static uint16_t bench_state(const char *text, uint32_t counts[S_COUNT], uint16_t crc)
{
    enum state s = S_START;
    for (const char *p = text; *p; p++) {
        char ch = *p;
        enum state next = s;
        if (ch == ',') {
            next = S_START;
        } else {
            int digit = ch >= '0' && ch <= '9';
            switch (s) {
            case S_START: next = digit ? S_INT : (ch == '-' || ch == '+') ? S_SIGN : S_BAD; break;
            case S_SIGN: next = digit ? S_INT : S_BAD; break;
            case S_INT: next = digit ? S_INT : ch == '.' ? S_FRAC : (ch == 'e' || ch == 'E') ? S_EXP : S_BAD; break;
            case S_FRAC: next = digit ? S_FRAC : (ch == 'e' || ch == 'E') ? S_EXP : S_BAD; break;
            case S_EXP: next = digit ? S_EXP_INT : (ch == '-' || ch == '+') ? S_EXP_SIGN : S_BAD; break;
            case S_EXP_SIGN: next = digit ? S_EXP_INT : S_BAD; break;
            case S_EXP_INT: next = digit ? S_EXP_INT : S_BAD; break;
            default: break;
            }
        }
        if (next != s)
            counts[next]++;
        s = next;
    }
    for (int i = 0; i < S_COUNT; i++)
        crc = crc16(crc, counts[i], 4);
    return crc;
}

static void make_text(char *t, bench_rng *r)
{
    static const char alphabet[] = "0123456789012345678901234567+-.eE,,,,x";
    for (int i = 0; i < TEXT_LEN - 1; i++)
        t[i] = alphabet[bench_rand(r) % (sizeof alphabet - 1)];
    t[TEXT_LEN - 1] = 0;
}

int main(int argc, char **argv)
{
    bench_args(argc, argv, "composite");
    bench_rng r;
    bench_rng_init(&r, bench_seed);
    node *pool = malloc(sizeof(node) * LIST_LEN);
    int16_t *a = malloc(sizeof(int16_t) * MAT_N * MAT_N);
    int16_t *b = malloc(sizeof(int16_t) * MAT_N * MAT_N);
    int32_t *c = malloc(sizeof(int32_t) * MAT_N * MAT_N);
    char *text = malloc(TEXT_LEN);
    if (!pool || !a || !b || !c || !text)
        return 1;
    for (int i = 0; i < MAT_N * MAT_N; i++) {
        a[i] = (int16_t)(bench_rand(&r) % 200) - 100;
        b[i] = (int16_t)(bench_rand(&r) % 200) - 100;
    }
    make_text(text, &r);
    uint16_t crc = 0xffff;
    uint32_t counts[S_COUNT] = { 0 };
    for (uint32_t it = 0; it < bench_size; it++) {
        crc = bench_list(pool, &r, crc);
        crc = bench_matrix(a, b, c, (int16_t)(crc & 0xff), crc);
        crc = bench_state(text, counts, crc);
        text[crc % (TEXT_LEN - 1)] = "0123456789.e-,"[crc % 14];
    }
    uint64_t h = bench_mix(BENCH_CHECK_INIT, crc);
    for (int i = 0; i < S_COUNT; i++)
        h = bench_mix(h, counts[i]);
    free(pool);
    free(a);
    free(b);
    free(c);
    free(text);
    bench_print("composite", h);
    return 0;
}
