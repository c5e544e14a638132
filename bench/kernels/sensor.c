/* sensor - an IoT sensor pipeline over SIZE synthetic samples from four
 * channels: a sine-like signal from a table plus noise and rare spikes,
 * a median-of-3 despiker, a first-order IIR low-pass in Q16 fixed point,
 * a 32-sample moving average on a ring buffer, threshold detection with
 * hysteresis, and running min/max/mean-square per channel. */
#include "kernel.h"

#define CHANNELS 4
#define WINDOW 32

typedef struct {
    int32_t last[3];          /* for the median of three */
    int32_t iir;              /* Q16 low-pass state */
    int32_t ring[WINDOW];
    int32_t ring_sum;
    uint32_t ring_pos;
    int alarm;                /* hysteresis state */
    uint32_t events;
    int32_t min, max;
    uint64_t sq;
} channel;

static int32_t median3(int32_t a, int32_t b, int32_t c)
{
    if (a > b) { int32_t t = a; a = b; b = t; }
    if (b > c) b = c;
    return a > b ? a : b;
}

int main(int argc, char **argv)
{
    bench_args(argc, argv, "sensor");
    int16_t wave[256];
    for (int i = 0; i < 256; i++) {
        /* A triangle shaped through a cubic: cheap, smooth, deterministic. */
        int32_t t = i < 128 ? i - 64 : 192 - i;            /* -64..64 */
        wave[i] = (int16_t)(t * 3 * 64 * 64 / 2 / 64 - t * t * t / 2);
    }
    channel ch[CHANNELS];
    memset(ch, 0, sizeof ch);
    for (int c = 0; c < CHANNELS; c++) {
        ch[c].min = INT32_MAX;
        ch[c].max = INT32_MIN;
    }
    bench_rng r;
    bench_rng_init(&r, bench_seed);
    const int32_t high = 3000, low = 2000;
    for (uint32_t n = 0; n < bench_size; n++) {
        uint32_t noise = bench_rand(&r);
        for (int c = 0; c < CHANNELS; c++) {
            channel *k = &ch[c];
            int32_t s = wave[(n * (c + 1) + c * 37) & 255] * (c + 2) / 2;
            s += (int32_t)((noise >> (c * 8)) & 0xff) - 128;
            if ((noise & 0x3ff) == (uint32_t)c)
                s += 20000;                                   /* a spike */
            k->last[0] = k->last[1];
            k->last[1] = k->last[2];
            k->last[2] = s;
            int32_t m = median3(k->last[0], k->last[1], k->last[2]);
            k->iir += (int32_t)(((int64_t)(m << 8) - k->iir) * 6554 >> 16);   /* alpha 0.1 */
            int32_t f = k->iir >> 8;
            k->ring_sum += f - k->ring[k->ring_pos];
            k->ring[k->ring_pos] = f;
            k->ring_pos = (k->ring_pos + 1) % WINDOW;
            int32_t avg = k->ring_sum / WINDOW;
            if (!k->alarm && avg > high) {
                k->alarm = 1;
                k->events++;
            } else if (k->alarm && avg < low) {
                k->alarm = 0;
            }
            if (avg < k->min) k->min = avg;
            if (avg > k->max) k->max = avg;
            k->sq += (uint64_t)((int64_t)avg * avg);
        }
    }
    uint64_t h = BENCH_CHECK_INIT;
    for (int c = 0; c < CHANNELS; c++) {
        h = bench_mix(h, ch[c].events);
        h = bench_mix(h, (uint32_t)ch[c].min);
        h = bench_mix(h, (uint32_t)ch[c].max);
        h = bench_mix(h, ch[c].sq / bench_size);
    }
    bench_print("sensor", h);
    return 0;
}
