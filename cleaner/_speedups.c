/* Optional C speed-ups for cleaner.dedup: the fingerprints of one paragraph
 * (exact key, bottom-k sketch, facts mask) in one call; and for cleaner.context:
 * the features and class of one line (LineClass, at the end of this file).
 *
 * cleaner/dedup.py stays the reference and the fallback. Its semantics reach
 * this file as a table, built by dedup.py from its own functions applied to
 * single characters (fold bytes, case-folded bytes, regex classes); a text
 * holding a character the table does not mark fast gives None and takes the
 * Python path. XXH3-64 (seed 0) is computed here, for inputs of any length.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ---- XXH3-64, seed 0, default secret ------------------------------------- */

static const uint8_t SECRET[192] = {
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
    0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
    0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
};

#define PRIME64_1 0x9E3779B185EBCA87ULL
#define PRIME64_2 0xC2B2AE3D27D4EB4FULL
#define PRIME64_3 0x165667B19E3779F9ULL
#define PRIME_MX1 0x165667919E3779F9ULL
#define PRIME_MX2 0x9FB21C651E98DF25ULL
#define XXH3_SHORT_MAX 240

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t bswap64(uint64_t x)
{
    x = ((x & 0x00FF00FF00FF00FFULL) << 8) | ((x >> 8) & 0x00FF00FF00FF00FFULL);
    x = ((x & 0x0000FFFF0000FFFFULL) << 16) | ((x >> 16) & 0x0000FFFF0000FFFFULL);
    return (x << 32) | (x >> 32);
}

/* the 128-bit product of a and b, its two halves xor-ed */
static inline uint64_t mul_fold(uint64_t a, uint64_t b)
{
#if defined(__SIZEOF_INT128__) && !defined(CLEANER_NO_INT128)
    unsigned __int128 p = (unsigned __int128)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
#else
    uint64_t a_lo = a & 0xFFFFFFFFULL, a_hi = a >> 32;
    uint64_t b_lo = b & 0xFFFFFFFFULL, b_hi = b >> 32;
    uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo, lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
    uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFULL) + lo_hi;
    uint64_t upper = (hi_lo >> 32) + (cross >> 32) + hi_hi;
    uint64_t lower = (cross << 32) | (lo_lo & 0xFFFFFFFFULL);
    return lower ^ upper;
#endif
}

static inline uint64_t xxh64_avalanche(uint64_t h)
{
    h ^= h >> 33;
    h *= PRIME64_2;
    h ^= h >> 29;
    h *= PRIME64_3;
    h ^= h >> 32;
    return h;
}

static inline uint64_t xxh3_avalanche(uint64_t h)
{
    h ^= h >> 37;
    h *= PRIME_MX1;
    h ^= h >> 32;
    return h;
}

static inline uint64_t rrmxmx(uint64_t h, uint64_t len)
{
    h ^= rotl64(h, 49) ^ rotl64(h, 24);
    h *= PRIME_MX2;
    h ^= (h >> 35) + len;
    h *= PRIME_MX2;
    h ^= h >> 28;
    return h;
}

static inline uint64_t mix16(const uint8_t *in, const uint8_t *sec)
{
    return mul_fold(rd64(in) ^ rd64(sec), rd64(in + 8) ^ rd64(sec + 8));
}

/* XXH3-64 with seed 0 of len <= 240 bytes */
static uint64_t xxh3_short(const uint8_t *in, size_t len)
{
    if (len == 0)
        return xxh64_avalanche(rd64(SECRET + 56) ^ rd64(SECRET + 64));
    if (len <= 3) {
        uint32_t combined = (uint32_t)in[0] << 16 | (uint32_t)in[len >> 1] << 24 | (uint32_t)in[len - 1]
                            | (uint32_t)len << 8;
        uint64_t flip = (uint64_t)(rd32(SECRET) ^ rd32(SECRET + 4));
        return xxh64_avalanche((uint64_t)combined ^ flip);
    }
    if (len <= 8) {
        uint64_t flip = rd64(SECRET + 8) ^ rd64(SECRET + 16);
        uint64_t v = (uint64_t)rd32(in + len - 4) + ((uint64_t)rd32(in) << 32);
        return rrmxmx(v ^ flip, len);
    }
    if (len <= 16) {
        uint64_t lo = rd64(in) ^ (rd64(SECRET + 24) ^ rd64(SECRET + 32));
        uint64_t hi = rd64(in + len - 8) ^ (rd64(SECRET + 40) ^ rd64(SECRET + 48));
        return xxh3_avalanche(len + bswap64(lo) + hi + mul_fold(lo, hi));
    }
    uint64_t acc = len * PRIME64_1;
    if (len <= 128) {
        if (len > 32) {
            if (len > 64) {
                if (len > 96) {
                    acc += mix16(in + 48, SECRET + 96);
                    acc += mix16(in + len - 64, SECRET + 112);
                }
                acc += mix16(in + 32, SECRET + 64);
                acc += mix16(in + len - 48, SECRET + 80);
            }
            acc += mix16(in + 16, SECRET + 32);
            acc += mix16(in + len - 32, SECRET + 48);
        }
        acc += mix16(in, SECRET);
        acc += mix16(in + len - 16, SECRET + 16);
        return xxh3_avalanche(acc);
    }
    /* 129..240: eight 16-byte rounds, avalanche, then the remaining rounds
     * against the secret shifted by 3, and the last 16 bytes */
    size_t rounds = len / 16, i;
    for (i = 0; i < 8; i++)
        acc += mix16(in + 16 * i, SECRET + 16 * i);
    acc = xxh3_avalanche(acc);
    for (i = 8; i < rounds; i++)
        acc += mix16(in + 16 * i, SECRET + 16 * (i - 8) + 3);
    acc += mix16(in + len - 16, SECRET + 136 - 17);
    return xxh3_avalanche(acc);
}

/* XXH3-64 with seed 0 of len > 240 bytes: 64-byte stripes into eight 64-bit
 * lanes, 16 stripes a block (the secret advancing 8 bytes a stripe), the
 * lanes scrambled after each block, the last stripe read from the end; then
 * the lanes merged. Written from the xxHash specification (doc/xxhash_spec.md). */
#define PRIME32_1 0x9E3779B1U
#define PRIME32_2 0x85EBCA77U
#define PRIME32_3 0xC2B2AE3DU
#define PRIME64_4 0x85EBCA77C2B2AE63ULL
#define PRIME64_5 0x27D4EB2F165667C5ULL
#define STRIPE 64
#define STRIPES_PER_BLOCK ((sizeof(SECRET) - STRIPE) / 8)

static inline void accumulate_512(uint64_t acc[8], const uint8_t *in, const uint8_t *sec)
{
    for (int i = 0; i < 8; i++) {
        uint64_t v = rd64(in + 8 * i), k = v ^ rd64(sec + 8 * i);
        acc[i ^ 1] += v;
        acc[i] += (k & 0xFFFFFFFFULL) * (k >> 32);
    }
}

static inline void scramble(uint64_t acc[8], const uint8_t *sec)
{
    for (int i = 0; i < 8; i++) {
        uint64_t a = acc[i];
        a ^= a >> 47;
        a ^= rd64(sec + 8 * i);
        acc[i] = a * PRIME32_1;
    }
}

static uint64_t xxh3_long(const uint8_t *in, size_t len)
{
    uint64_t acc[8] = {PRIME32_3, PRIME64_1, PRIME64_2, PRIME64_3, PRIME64_4, PRIME32_2, PRIME64_5, PRIME32_1};
    const size_t block = STRIPE * STRIPES_PER_BLOCK;
    size_t blocks = (len - 1) / block, b, s;
    for (b = 0; b < blocks; b++) {
        for (s = 0; s < STRIPES_PER_BLOCK; s++)
            accumulate_512(acc, in + b * block + s * STRIPE, SECRET + 8 * s);
        scramble(acc, SECRET + sizeof(SECRET) - STRIPE);
    }
    size_t stripes = ((len - 1) - block * blocks) / STRIPE;
    for (s = 0; s < stripes; s++)
        accumulate_512(acc, in + blocks * block + s * STRIPE, SECRET + 8 * s);
    accumulate_512(acc, in + len - STRIPE, SECRET + sizeof(SECRET) - STRIPE - 7);
    uint64_t h = len * PRIME64_1;
    for (int i = 0; i < 4; i++)
        h += mul_fold(acc[2 * i] ^ rd64(SECRET + 11 + 16 * i), acc[2 * i + 1] ^ rd64(SECRET + 11 + 16 * i + 8));
    return xxh3_avalanche(h);
}

static inline uint64_t hash_bytes(const uint8_t *in, size_t len)
{
    return len <= XXH3_SHORT_MAX ? xxh3_short(in, len) : xxh3_long(in, len);
}

/* hash_bytes with xxh3_short's 17..32-byte case inlined: most word n-grams
 * are that long */
static inline uint64_t hash_gram(const uint8_t *in, size_t len)
{
    if (len - 17 < 16)
        return xxh3_avalanche(len * PRIME64_1 + mix16(in, SECRET) + mix16(in + len - 16, SECRET + 16));
    return hash_bytes(in, len);
}

/* ---- module state ------------------------------------------------------- */

/* One table record per code point, built by dedup.speedups_table. */
enum {
    F_FAST = 1,         /* the text may hold it; else: None, the Python path */
    F_SPACE = 2,        /* str.isspace, \s */
    F_DIGIT = 4,        /* \d */
    F_UPPER = 8,        /* the first character of _CAPITALISED */
    F_WORD = 16,        /* [^\W_\u02bc] */
    F_OPENER = 32,      /* _OPENERS */
    F_OPEN_QUOTE = 64,  /* _OPENING_QUOTES */
    F_QUOTE = 128,      /* _QUOTES */
    F_SENT_END = 256,   /* _SENTENCE_END */
};
#define FOLD_MAX 8
#define RECORD_SIZE (4 + 2 * FOLD_MAX)
#define TABLE_MAX 0x10000

typedef struct {
    uint16_t flags;
    uint8_t fold_len; /* folded as by fold_words, UTF-8; a space splits words */
    uint8_t key_len;  /* bytes of fold that are not spaces */
    uint8_t cf_len;   /* str.casefold, UTF-8 */
    uint8_t fold[FOLD_MAX];
    uint8_t cf[FOLD_MAX];
} Entry;

static Entry table[TABLE_MAX];
static uint16_t flags_of[TABLE_MAX]; /* table[c].flags, packed: the facts' scans read only these */
static uint8_t fold1[TABLE_MAX];     /* a fold of one byte (a space: a split), packed; else 0 */
static uint8_t key_len_of[TABLE_MAX], cf_len_of[TABLE_MAX]; /* table[c].key_len, .cf_len, packed */
static Py_ssize_t table_size = 0;    /* 0: setup() not called yet */
static int ascii_one_byte = 0;       /* every ASCII character is fast, its fold and case fold one byte */

/* 1 if a METH_FASTCALL function got the arguments it wants, else 0 with a TypeError */
static int nargs_ok(const char *name, Py_ssize_t nargs, Py_ssize_t want)
{
    if (nargs == want)
        return 1;
    PyErr_Format(PyExc_TypeError, "%s takes %zd arguments", name, want);
    return 0;
}

/* ---- one paragraph -------------------------------------------------------- */

/* A text's characters are read where the str keeps them, one byte each
 * (Latin-1) or two: a str of 4-byte kind holds a character past 0xFFFF, so
 * past the table, and is never fast. fx packs what the fold pass reads of a
 * character in one look-up: its one-byte fold (fold1) and FX_FACT when the
 * facts scan must look at it (a digit or an upper-case letter). */
#define FX_FACT 0x100
static uint16_t fx[TABLE_MAX];

/* 8 characters a load (4 of a 2-byte text) where the compiler and the byte order allow */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_LE 1
#else
#define SWAR_LE 0
#endif
static int az_self = 0; /* a-z fold to themselves and are no fact's (setup checks the table) */

/* the high bit of each byte of w that is not a-z */
static inline uint64_t not_az(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, x = w & 0x7F7F7F7F7F7F7F7FULL;
    uint64_t ge_a = x + ones * (0x80 - 'a'), gt_z = x + ones * (0x7F - 'z'); /* no carry between bytes */
    return (~ge_a | gt_z | w) & 0x8080808080808080ULL;
}

/* the high bit of each 16-bit lane of w that is not a-z */
static inline uint64_t not_az16(uint64_t w)
{
    const uint64_t ones = 0x0001000100010001ULL, x = w & 0x7FFF7FFF7FFF7FFFULL;
    uint64_t ge_a = x + ones * (0x8000 - 'a'), gt_z = x + ones * (0x7FFF - 'z'); /* no carry between lanes */
    return (~ge_a | gt_z | w) & 0x8000800080008000ULL;
}

/* What the fold pass leaves: the exact key (cat: the words joined by
 * nothing), the words joined by single spaces (sp) and where each starts,
 * and the positions of the characters the facts scan looks at. */
typedef struct {
    size_t cat_len, sp_len;
    Py_ssize_t n_words, n_cands;
} Folded;

/* bytes of slack after cat and sp: the fold's stores of 8 or 16 bytes at once */
#define FOLD_SLACK 16

/* The fold's running state where the character step hands over to the
 * vector step and back */
typedef struct {
    uint8_t *sp, *cat;
    Py_ssize_t n_words, n_cands;
    unsigned in_word; /* the last byte kept was a word's: the next split keeps a space */
} FoldAt;

/* On x86-64 with SSSE3 (checked at run time), runs of ASCII 16 characters a
 * step: classed by compares, the bytes kept left-packed by a shuffle. */
#if defined(__GNUC__) && defined(__x86_64__) && SWAR_LE
#define FOLD_SIMD 1
#include <immintrin.h>
#define SIMD_TARGET __attribute__((target("ssse3,popcnt")))
#else
#define FOLD_SIMD 0
#endif
static int ascii_simple = 0; /* ASCII folds as the vector step has it (setup checks the table) */
static int simd_cpu = 0;     /* the CPU has SSSE3 and POPCNT (the fold's vector step) */
static int sse42_cpu = 0;    /* the CPU has SSE4.2 (the sketch's) */
static int simd_wanted = 2;  /* simd(level): 0 the portable paths, 1 no AVX2, 2 all (for the tests) */
static int fold_simd = 0;    /* simd_wanted, simd_cpu and ascii_simple */
static int sketch_simd = 0;  /* the sketch's step: 2 AVX2, 1 SSE4.2, 0 none (simd_wanted and the CPU) */
static int avx2_cpu = 0;     /* the CPU has AVX2: the fold's steps take 32 characters */

#if FOLD_SIMD
static uint64_t pack_lut[256]; /* byte m: the indices of its set bits, ascending (a shuffle's) */

static void pack_lut_init(void)
{
    for (unsigned m = 0; m < 256; m++) {
        uint64_t idx = 0;
        for (unsigned b = 0, k = 0; b < 8; b++)
            if (m >> b & 1)
                idx |= (uint64_t)b << (8 * k++);
        pack_lut[m] = idx;
    }
}

/* the bytes of v at m's set bits to dst, in order (16 bytes written); how many */
SIMD_TARGET static inline size_t pack16(uint8_t *dst, __m128i v, unsigned m)
{
    unsigned lo = m & 0xFF, hi = m >> 8;
    __m128i idx = _mm_set_epi64x((long long)(pack_lut[hi] + 0x0808080808080808ULL), (long long)pack_lut[lo]);
    __m128i s = _mm_shuffle_epi8(v, idx);
    _mm_storel_epi64((__m128i *)dst, s);
    _mm_storel_epi64((__m128i *)(dst + __builtin_popcount(lo)), _mm_unpackhi_epi64(s, s));
    return (size_t)__builtin_popcount(m);
}

/* 16 characters of d from i (kind 1 or 2) as bytes (a 2-byte character's
 * low byte) and *ascii, a bit per character under 0x80; past n the
 * characters read are pad. SSE2 only: for SSSE3 and plain callers alike. */
static inline Py_ALWAYS_INLINE __m128i load16(int kind, const void *data, Py_ssize_t i, Py_ssize_t n, uint16_t pad,
                                             unsigned *ascii)
{
    if (kind == PyUnicode_1BYTE_KIND) {
        const uint8_t *d = (const uint8_t *)data + i;
        uint8_t tail[16];
        if (n - i < 16) {
            memset(tail, (uint8_t)pad, sizeof(tail));
            memcpy(tail, d, (size_t)(n - i));
            d = tail;
        }
        __m128i v = _mm_loadu_si128((const __m128i *)d);
        *ascii = ~(unsigned)_mm_movemask_epi8(v) & 0xFFFF;
        return v;
    }
    const uint16_t *d = (const uint16_t *)data + i;
    uint16_t tail[16];
    if (n - i < 16) {
        for (int q = 0; q < 16; q++)
            tail[q] = pad;
        memcpy(tail, d, 2 * (size_t)(n - i));
        d = tail;
    }
    __m128i a = _mm_loadu_si128((const __m128i *)d), b = _mm_loadu_si128((const __m128i *)(d + 8));
    const __m128i high = _mm_set1_epi16((short)0xFF80), low = _mm_set1_epi16(0xFF), zero = _mm_setzero_si128();
    __m128i ya = _mm_cmpeq_epi16(_mm_and_si128(a, high), zero), yb = _mm_cmpeq_epi16(_mm_and_si128(b, high), zero);
    *ascii = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(ya, yb));
    return _mm_packus_epi16(_mm_and_si128(a, low), _mm_and_si128(b, low));
}

/* The scalar half of a vector fold step, from its masks (a bit per
 * character from i: valid the ASCII run, w a word's byte, f a fact's
 * character): the facts' candidates and the words' starts noted (sp's
 * length so far: at), in_word carried on. Returns keep: the bytes sp keeps
 * (a word's, and the split after one). */
static inline Py_ALWAYS_INLINE unsigned fold_marks(unsigned valid, unsigned w, unsigned f, Py_ssize_t i,
                                                    uint32_t at, unsigned *in_word, uint32_t **st, uint32_t **cd)
{
    unsigned prev = w << 1 | *in_word;
    unsigned begins = w & ~prev, keep = (w | prev) & valid;
    for (; f; f &= f - 1)
        *(*cd)++ = (uint32_t)(i + __builtin_ctz(f));
    for (; begins; begins &= begins - 1)
        *(*st)++ = at + (uint32_t)__builtin_popcount(keep & ((1u << __builtin_ctz(begins)) - 1));
    *in_word = w >> (__builtin_popcount(valid) - 1) & 1;
    return keep;
}

/* The fold of d[i..n) (kind 1 or 2, a constant once inlined) while its
 * characters are ASCII: a-z and 0-9 kept, A-Z lowered, any other a split;
 * the digits and capitals noted. Returns where it stopped: n, or a
 * character past ASCII. A step reads 16 characters (the last ones of the
 * text from a copy padded past ASCII) and keeps those before the first past
 * ASCII. */
SIMD_TARGET static inline Py_ALWAYS_INLINE Py_ssize_t fold_ascii(int kind, const void *data, Py_ssize_t i,
                                                                  Py_ssize_t n, const uint8_t *sp0,
                                                                  uint32_t *starts, uint32_t *cands, FoldAt *s)
{
    uint8_t *sp = s->sp, *cat = s->cat;
    uint32_t *st = starts + s->n_words, *cd = cands + s->n_cands;
    unsigned in_word = s->in_word;
    const __m128i below_a = _mm_set1_epi8('a' - 1), above_z = _mm_set1_epi8('z' + 1);
    const __m128i below_0 = _mm_set1_epi8('0' - 1), above_9 = _mm_set1_epi8('9' + 1);
    const __m128i big_z = _mm_set1_epi8('Z'), bit5 = _mm_set1_epi8(0x20);
    while (i < n) {
        unsigned ascii; /* a bit per character under 0x80 (none past n) */
        __m128i v = load16(kind, data, i, n, 0x80, &ascii);
        unsigned valid = ascii & ~(ascii + 1); /* the ASCII run from i */
        if (valid == 0)
            break;
        /* signed compares: bytes from 0x80 are below them all */
        __m128i lower = _mm_or_si128(v, bit5); /* A-Z lowered; digits have bit 5 */
        __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lower, below_a), _mm_cmpgt_epi8(above_z, lower));
        __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, below_0), _mm_cmpgt_epi8(above_9, v));
        __m128i upper = _mm_andnot_si128(_mm_cmpgt_epi8(v, big_z), alpha);
        __m128i word = _mm_or_si128(alpha, digit);
        __m128i out = _mm_and_si128(lower, _mm_or_si128(word, bit5)); /* a word's byte folded, else a space */
        unsigned w = (unsigned)_mm_movemask_epi8(word) & valid;
        unsigned f = (unsigned)_mm_movemask_epi8(_mm_or_si128(upper, digit)) & valid;
        unsigned keep = fold_marks(valid, w, f, i, (uint32_t)(sp - sp0), &in_word, &st, &cd);
        sp += pack16(sp, out, keep);
        cat += pack16(cat, out, w);
        i += __builtin_popcount(valid);
        if (valid != 0xFFFF)
            break;
    }
    s->sp = sp;
    s->cat = cat;
    s->n_words = st - starts;
    s->n_cands = cd - cands;
    s->in_word = in_word;
    return i;
}

#define AVX2_TARGET __attribute__((target("avx2,popcnt")))

/* fold_ascii with AVX2: 32 characters a step */
AVX2_TARGET static inline Py_ALWAYS_INLINE Py_ssize_t fold_ascii_avx2(int kind, const void *data, Py_ssize_t i,
                                                                       Py_ssize_t n, const uint8_t *sp0,
                                                                       uint32_t *starts, uint32_t *cands,
                                                                       FoldAt *s)
{
    uint8_t *sp = s->sp, *cat = s->cat;
    uint32_t *st = starts + s->n_words, *cd = cands + s->n_cands;
    unsigned in_word = s->in_word;
    const __m256i below_a = _mm256_set1_epi8('a' - 1), above_z = _mm256_set1_epi8('z' + 1);
    const __m256i below_0 = _mm256_set1_epi8('0' - 1), above_9 = _mm256_set1_epi8('9' + 1);
    const __m256i big_z = _mm256_set1_epi8('Z'), bit5 = _mm256_set1_epi8(0x20);
    while (i < n) {
        __m256i v;
        unsigned ascii; /* a bit per character under 0x80 */
        if (kind == PyUnicode_1BYTE_KIND) {
            const uint8_t *d = (const uint8_t *)data + i;
            uint8_t tail[32];
            if (n - i < 32) {
                memset(tail, 0x80, sizeof(tail));
                memcpy(tail, d, (size_t)(n - i));
                d = tail;
            }
            v = _mm256_loadu_si256((const __m256i *)d);
            ascii = ~(unsigned)_mm256_movemask_epi8(v);
        } else {
            const uint16_t *d = (const uint16_t *)data + i;
            uint16_t tail[32];
            if (n - i < 32) {
                memset(tail, 0xFF, sizeof(tail));
                memcpy(tail, d, 2 * (size_t)(n - i));
                d = tail;
            }
            __m256i a = _mm256_loadu_si256((const __m256i *)d), b = _mm256_loadu_si256((const __m256i *)(d + 16));
            const __m256i high = _mm256_set1_epi16((short)0xFF80), low = _mm256_set1_epi16(0xFF);
            const __m256i zero = _mm256_setzero_si256();
            __m256i ya = _mm256_cmpeq_epi16(_mm256_and_si256(a, high), zero);
            __m256i yb = _mm256_cmpeq_epi16(_mm256_and_si256(b, high), zero);
            /* the packs work in 128-bit lanes: quarters back in order */
            ascii = (unsigned)_mm256_movemask_epi8(_mm256_permute4x64_epi64(_mm256_packs_epi16(ya, yb), 0xD8));
            v = _mm256_permute4x64_epi64(_mm256_packus_epi16(_mm256_and_si256(a, low), _mm256_and_si256(b, low)),
                                         0xD8);
        }
        unsigned valid = ascii & ~(ascii + 1); /* the ASCII run from i */
        if (valid == 0)
            break;
        __m256i lower = _mm256_or_si256(v, bit5);
        __m256i alpha = _mm256_and_si256(_mm256_cmpgt_epi8(lower, below_a), _mm256_cmpgt_epi8(above_z, lower));
        __m256i digit = _mm256_and_si256(_mm256_cmpgt_epi8(v, below_0), _mm256_cmpgt_epi8(above_9, v));
        __m256i upper = _mm256_andnot_si256(_mm256_cmpgt_epi8(v, big_z), alpha);
        __m256i word = _mm256_or_si256(alpha, digit);
        __m256i out = _mm256_and_si256(lower, _mm256_or_si256(word, bit5));
        unsigned w = (unsigned)_mm256_movemask_epi8(word) & valid;
        unsigned f = (unsigned)_mm256_movemask_epi8(_mm256_or_si256(upper, digit)) & valid;
        unsigned keep = fold_marks(valid, w, f, i, (uint32_t)(sp - sp0), &in_word, &st, &cd);
        __m128i out_lo = _mm256_castsi256_si128(out), out_hi = _mm256_extracti128_si256(out, 1);
        sp += pack16(sp, out_lo, keep & 0xFFFF);
        sp += pack16(sp, out_hi, keep >> 16);
        cat += pack16(cat, out_lo, w & 0xFFFF);
        cat += pack16(cat, out_hi, w >> 16);
        i += __builtin_popcount(valid);
        if (valid != 0xFFFFFFFFu)
            break;
    }
    s->sp = sp;
    s->cat = cat;
    s->n_words = st - starts;
    s->n_cands = cd - cands;
    s->in_word = in_word;
    return i;
}

AVX2_TARGET static Py_ssize_t fold_ascii1_avx2(const void *data, Py_ssize_t i, Py_ssize_t n, const uint8_t *sp0,
                                               uint32_t *starts, uint32_t *cands, FoldAt *s)
{
    return fold_ascii_avx2(PyUnicode_1BYTE_KIND, data, i, n, sp0, starts, cands, s);
}

AVX2_TARGET static Py_ssize_t fold_ascii2_avx2(const void *data, Py_ssize_t i, Py_ssize_t n, const uint8_t *sp0,
                                               uint32_t *starts, uint32_t *cands, FoldAt *s)
{
    return fold_ascii_avx2(PyUnicode_2BYTE_KIND, data, i, n, sp0, starts, cands, s);
}

SIMD_TARGET static Py_ssize_t fold_ascii1(const void *data, Py_ssize_t i, Py_ssize_t n, const uint8_t *sp0,
                                          uint32_t *starts, uint32_t *cands, FoldAt *s)
{
    return fold_ascii(PyUnicode_1BYTE_KIND, data, i, n, sp0, starts, cands, s);
}

SIMD_TARGET static Py_ssize_t fold_ascii2(const void *data, Py_ssize_t i, Py_ssize_t n, const uint8_t *sp0,
                                          uint32_t *starts, uint32_t *cands, FoldAt *s)
{
    return fold_ascii(PyUnicode_2BYTE_KIND, data, i, n, sp0, starts, cands, s);
}

typedef Py_ssize_t (*FoldAscii)(const void *, Py_ssize_t, Py_ssize_t, const uint8_t *, uint32_t *, uint32_t *,
                                FoldAt *);
static FoldAscii fold_ascii_fn[2] = {fold_ascii1, fold_ascii2}; /* kinds 1 and 2 (AVX2's where the CPU has it) */
#endif

/* Fold d[0..n) (kind 1 or 2; and vec, the vector step on: constants once
 * inlined) into cat, sp, starts and cands. Each character adds at most one
 * byte to cat but those with a longer fold; limit: the bytes cat has room
 * for (SIZE_MAX: sized exactly by key_bytes). A word's split keeps a space
 * after it (the last one dropped at the end). 1: done; 0: a character is
 * not fast; 2: over limit. */
static inline Py_ALWAYS_INLINE int fold_pass(int kind, int vec, const void *data, Py_ssize_t n, size_t limit,
                                              uint8_t *cat, uint8_t *sp, uint32_t *starts, uint32_t *cands,
                                              Folded *f)
{
    uint8_t *cat0 = cat, *sp0 = sp;
    Py_ssize_t n_words = 0, n_cands = 0, i = 0;
    unsigned in_word = 0;
#define CP(i) (kind == PyUnicode_1BYTE_KIND ? ((const uint8_t *)data)[i] : ((const uint16_t *)data)[i])
    (void)vec;
    while (i < n) {
        Py_UCS4 c = CP(i);
#if FOLD_SIMD
        if (vec && c < 0x80) {
            FoldAt s = {sp, cat, n_words, n_cands, in_word};
            if (kind == PyUnicode_1BYTE_KIND)
                i = fold_ascii_fn[0](data, i, n, sp0, starts, cands, &s);
            else
                i = fold_ascii_fn[1](data, i, n, sp0, starts, cands, &s);
            sp = s.sp;
            cat = s.cat;
            n_words = s.n_words;
            n_cands = s.n_cands;
            in_word = s.in_word;
            if (i == n)
                break;
            c = CP(i);
        }
#endif
        uint16_t x = fx[c];
        if (x & FX_FACT)
            cands[n_cands++] = (uint32_t)i;
        uint8_t b = (uint8_t)x;
        i++;
        if (b == ' ') {
            *sp = ' ';
            sp += in_word;
            in_word = 0;
            continue;
        }
        if (b) { /* the common case: a one-byte fold */
            if (!in_word) {
                starts[n_words++] = (uint32_t)(sp - sp0);
                in_word = 1;
            }
            *sp++ = b;
            *cat++ = b;
            if (vec)
                continue; /* the vector step takes the rest of an ASCII word */
            /* the rest of the word while each character folds to one byte
             * and is no fact's: one compare a character, one index (sp and
             * cat advance with i) */
            uint8_t *sp_i = sp - i, *cat_i = cat - i;
#if SWAR_LE
            if (kind == PyUnicode_1BYTE_KIND && az_self) {
                /* 8 bytes at a time while they are a-z (each its own fold, no
                 * fact's): stored whole, the bytes past the run overwritten
                 * next or past the end (the buffers' slack) */
                const uint8_t *d1 = (const uint8_t *)data;
                while (i + 8 <= n) {
                    uint64_t w, m;
                    memcpy(&w, d1 + i, 8);
                    memcpy(sp_i + i, &w, 8);
                    memcpy(cat_i + i, &w, 8);
                    if ((m = not_az(w)) != 0) {
                        i += __builtin_ctzll(m) >> 3;
                        break;
                    }
                    i += 8;
                }
            } else if (kind == PyUnicode_2BYTE_KIND && az_self) {
                /* the same, 4 characters a load, each lane's low byte stored */
                const uint16_t *d2 = (const uint16_t *)data;
                while (i + 4 <= n) {
                    uint64_t w, m;
                    memcpy(&w, d2 + i, 8);
                    uint64_t x = w & 0x00FF00FF00FF00FFULL;
                    x = (x | x >> 8) & 0x0000FFFF0000FFFFULL;
                    uint32_t b4 = (uint32_t)(x | x >> 16);
                    memcpy(sp_i + i, &b4, 4);
                    memcpy(cat_i + i, &b4, 4);
                    if ((m = not_az16(w)) != 0) {
                        i += __builtin_ctzll(m) >> 4;
                        break;
                    }
                    i += 4;
                }
            }
#endif
            while (i < n) {
                x = fx[CP(i)];
                if ((unsigned)x - 0x21u >= 0xDFu)
                    break;
                sp_i[i] = (uint8_t)x;
                cat_i[i] = (uint8_t)x;
                i++;
            }
            sp = sp_i + i;
            cat = cat_i + i;
            continue;
        }
        if (!(flags_of[c] & F_FAST))
            return 0;
        const Entry *e = &table[c];
        if ((size_t)(cat - cat0) + e->key_len + (size_t)(n - i) > limit)
            return 2;
        for (int k = 0; k < e->fold_len; k++) {
            uint8_t ch = e->fold[k];
            if (ch == ' ') {
                *sp = ' ';
                sp += in_word;
                in_word = 0;
                continue;
            }
            if (!in_word) {
                starts[n_words++] = (uint32_t)(sp - sp0);
                in_word = 1;
            }
            *sp++ = ch;
            *cat++ = ch;
        }
    }
#undef CP
    if (n_words && !in_word)
        sp--; /* the space after the last word */
    f->cat_len = (size_t)(cat - cat0);
    f->sp_len = (size_t)(sp - sp0);
    f->n_words = n_words;
    f->n_cands = n_cands;
    return 1;
}

/* The exact key's length of a text whose characters are all fast (sums the
 * table; for a text fold_pass found over its first guess) */
static size_t key_bytes(int kind, const void *data, Py_ssize_t n)
{
    size_t len = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        len += key_len_of[PyUnicode_READ(kind, data, i)];
    return len;
}

#define SKETCH_FAST 8

/* The hash of word n-gram i: the n words from starts[i], joined by a space in sp */
static inline Py_ALWAYS_INLINE uint64_t gram_at(const uint8_t *sp, size_t sp_len, const uint32_t *starts,
                                                Py_ssize_t n_words, Py_ssize_t ngram, Py_ssize_t i)
{
    size_t lo = starts[i];
    size_t hi = i + ngram < n_words ? starts[i + ngram] - 1 : sp_len;
    return hash_gram(sp + lo, hi - lo);
}

#if FOLD_SIMD
/* The vector sketches' end: b[] (unbiased, UINT64_MAX past the values
 * seen) into best, at most k; returns how many */
static Py_ssize_t sketch_take(const uint64_t *b, Py_ssize_t k, uint64_t *best)
{
    Py_ssize_t cnt = 0;
    while (cnt < k && cnt < SKETCH_FAST && b[cnt] != UINT64_MAX) {
        best[cnt] = b[cnt];
        cnt++;
    }
    return cnt;
}
#endif

/* sketch_values for k <= SKETCH_FAST: the SKETCH_FAST smallest kept in
 * a small array b[] (UINT64_MAX past those seen), a value inserted without
 * a branch (each b[q] the larger of b[q-1] and the smaller of b[q] and h);
 * the first min(k, distinct) are the sketch. -1 when a hash is UINT64_MAX
 * (b[]'s filler: then the general loop) */
static Py_ssize_t sketch_small(const uint8_t *sp, size_t sp_len, const uint32_t *starts, Py_ssize_t n_words,
                               Py_ssize_t ngram, Py_ssize_t k, uint64_t *best)
{
    Py_ssize_t n_grams = n_words >= ngram ? n_words - ngram + 1 : 0, cnt = 0;
    uint64_t b[SKETCH_FAST];
    for (int q = 0; q < SKETCH_FAST; q++)
        b[q] = UINT64_MAX;
    for (Py_ssize_t i = 0; i < n_grams; i++) {
        uint64_t h = gram_at(sp, sp_len, starts, n_words, ngram, i);
        if (h >= b[SKETCH_FAST - 1]) {
            if (h == UINT64_MAX)
                return -1;
            continue;
        }
        int dup = 0;
        for (int q = 0; q < SKETCH_FAST; q++)
            dup |= b[q] == h;
        if (dup)
            continue; /* an n-gram repeated counts once */
        for (int q = SKETCH_FAST - 1; q > 0; q--) {
            uint64_t lo_q = b[q] < h ? b[q] : h;
            b[q] = b[q - 1] > lo_q ? b[q - 1] : lo_q;
        }
        b[0] = b[0] < h ? b[0] : h;
        cnt++;
    }
    if (cnt > k)
        cnt = k;
    for (Py_ssize_t q = 0; q < cnt; q++)
        best[q] = b[q];
    return cnt;
}

#if FOLD_SIMD
/* sketch_small with b[] in four SSE registers, an n-gram's value inserted
 * with no branch but on a repeat: each b[q] >= h becomes the larger of h
 * and b[q-1]. The values biased by 2^63 (the compares are signed). The
 * count is b[]'s values seen (not fillers), so -1 as sketch_small when a
 * hash is the filler. */
__attribute__((target("sse4.2"))) static Py_ssize_t sketch_small_sse(const uint8_t *sp, size_t sp_len,
                                                                      const uint32_t *starts, Py_ssize_t n_words,
                                                                      Py_ssize_t ngram, Py_ssize_t k,
                                                                      uint64_t *best)
{
    Py_ssize_t n_grams = n_words >= ngram ? n_words - ngram + 1 : 0;
    const __m128i bias = _mm_set1_epi64x(INT64_MIN), top = _mm_set1_epi64x(INT64_MAX);
    __m128i b0 = top, b1 = top, b2 = top, b3 = top; /* b[0..1], b[2..3], ...: UINT64_MAX biased */
    for (Py_ssize_t i = 0; i < n_grams; i++) {
        uint64_t h = gram_at(sp, sp_len, starts, n_words, ngram, i);
        if (h == UINT64_MAX)
            return -1;
        __m128i x = _mm_set1_epi64x((long long)(h ^ 0x8000000000000000ULL));
        __m128i eq = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi64(b0, x), _mm_cmpeq_epi64(b1, x)),
                                  _mm_or_si128(_mm_cmpeq_epi64(b2, x), _mm_cmpeq_epi64(b3, x)));
        if (!_mm_testz_si128(eq, eq))
            continue; /* an n-gram repeated counts once */
        /* b[q-1], b[q] of each pair (b[-1]: below any) */
        __m128i s0 = _mm_alignr_epi8(b0, bias, 8), s1 = _mm_alignr_epi8(b1, b0, 8);
        __m128i s2 = _mm_alignr_epi8(b2, b1, 8), s3 = _mm_alignr_epi8(b3, b2, 8);
#define SKETCH_STEP(b, s) \
    b = _mm_blendv_epi8(b, _mm_blendv_epi8(x, s, _mm_cmpgt_epi64(s, x)), _mm_cmpgt_epi64(b, x))
        SKETCH_STEP(b0, s0);
        SKETCH_STEP(b1, s1);
        SKETCH_STEP(b2, s2);
        SKETCH_STEP(b3, s3);
#undef SKETCH_STEP
    }
    uint64_t b[SKETCH_FAST];
    _mm_storeu_si128((__m128i *)b, _mm_xor_si128(b0, bias));
    _mm_storeu_si128((__m128i *)(b + 2), _mm_xor_si128(b1, bias));
    _mm_storeu_si128((__m128i *)(b + 4), _mm_xor_si128(b2, bias));
    _mm_storeu_si128((__m128i *)(b + 6), _mm_xor_si128(b3, bias));
    return sketch_take(b, k, best);
}
#endif

#if FOLD_SIMD
/* sketch_small_sse with b[] in two AVX2 registers: b[0..3] and b[4..7];
 * the same values (a VEX encoding, and no xmm0 moves for the blends). */
AVX2_TARGET static Py_ssize_t sketch_small_avx2(const uint8_t *sp, size_t sp_len, const uint32_t *starts,
                                                Py_ssize_t n_words, Py_ssize_t ngram, Py_ssize_t k,
                                                uint64_t *best)
{
    Py_ssize_t n_grams = n_words >= ngram ? n_words - ngram + 1 : 0;
    const __m256i bias = _mm256_set1_epi64x(INT64_MIN), top = _mm256_set1_epi64x(INT64_MAX);
    __m256i b0 = top, b1 = top; /* UINT64_MAX biased */
    for (Py_ssize_t i = 0; i < n_grams; i++) {
        uint64_t h = gram_at(sp, sp_len, starts, n_words, ngram, i);
        if (h == UINT64_MAX)
            return -1;
        __m256i x = _mm256_set1_epi64x((long long)(h ^ 0x8000000000000000ULL));
        __m256i eq = _mm256_or_si256(_mm256_cmpeq_epi64(b0, x), _mm256_cmpeq_epi64(b1, x));
        if (!_mm256_testz_si256(eq, eq))
            continue; /* an n-gram repeated counts once */
        /* b[q-1] for each b[q] (b[-1]: below any): rotate each register by
         * one value, then move b[3] across */
        __m256i r0 = _mm256_permute4x64_epi64(b0, _MM_SHUFFLE(2, 1, 0, 3)); /* b3 b0 b1 b2 */
        __m256i r1 = _mm256_permute4x64_epi64(b1, _MM_SHUFFLE(2, 1, 0, 3)); /* b7 b4 b5 b6 */
        __m256i s0 = _mm256_blend_epi32(r0, bias, 0x03);
        __m256i s1 = _mm256_blend_epi32(r1, r0, 0x03);
#define SKETCH_STEP(b, s) \
    b = _mm256_blendv_epi8(b, _mm256_blendv_epi8(x, s, _mm256_cmpgt_epi64(s, x)), _mm256_cmpgt_epi64(b, x))
        SKETCH_STEP(b0, s0);
        SKETCH_STEP(b1, s1);
#undef SKETCH_STEP
    }
    uint64_t b[SKETCH_FAST];
    _mm256_storeu_si256((__m256i *)b, _mm256_xor_si256(b0, bias));
    _mm256_storeu_si256((__m256i *)(b + 4), _mm256_xor_si256(b1, bias));
    return sketch_take(b, k, best);
}
#endif

/* The k smallest distinct xxh3 hashes of the word n-grams (n words joined by a
 * space), ascending, into best (room for min(k, n-grams) values); returns
 * how many (dedup.sketch, before the values are cut to their low 32 bits). */
static Py_ssize_t sketch_values(const uint8_t *sp, size_t sp_len, const uint32_t *starts, Py_ssize_t n_words,
                                Py_ssize_t ngram, Py_ssize_t k, uint64_t *best)
{
    Py_ssize_t n_grams = n_words >= ngram ? n_words - ngram + 1 : 0, i;
    if (k <= SKETCH_FAST) {
#if FOLD_SIMD
        Py_ssize_t cnt = sketch_simd > 1 ? sketch_small_avx2(sp, sp_len, starts, n_words, ngram, k, best)
                         : sketch_simd ? sketch_small_sse(sp, sp_len, starts, n_words, ngram, k, best)
                                       : sketch_small(sp, sp_len, starts, n_words, ngram, k, best);
#else
        Py_ssize_t cnt = sketch_small(sp, sp_len, starts, n_words, ngram, k, best);
#endif
        if (cnt >= 0)
            return cnt;
    }
    Py_ssize_t cap = k < n_grams ? k : n_grams, cnt = 0;
    for (i = 0; i < n_grams; i++) {
        uint64_t h = gram_at(sp, sp_len, starts, n_words, ngram, i);
        if (cnt == cap && h >= best[cnt - 1])
            continue;
        Py_ssize_t a = cnt; /* the first position holding a value > h: from the end (k is small) */
        while (a > 0 && best[a - 1] > h)
            a--;
        if (a > 0 && best[a - 1] == h)
            continue; /* an n-gram repeated counts once */
        for (Py_ssize_t q = cnt < cap ? cnt : cap - 1; q > a; q--)
            best[q] = best[q - 1];
        best[a] = h;
        if (cnt < cap)
            cnt++;
    }
    return cnt;
}

/* best[0..cnt) as a list of their low 32 bits (the sketch); NULL with an exception */
static PyObject *sketch_list(const uint64_t *best, Py_ssize_t cnt)
{
    PyObject *list = PyList_New(cnt);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < cnt; i++) {
        PyObject *v = PyLong_FromUnsignedLong((unsigned long)(best[i] & 0xFFFFFFFFULL));
        if (v == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, v);
    }
    return list;
}

#define FACT_STACK 256

/* *buf (stack, FACT_STACK bytes) moved to the heap when a fact's key may
 * take more than that (most: its characters times FOLD_MAX; the caller frees
 * it after the fact): 0, or -1 with an exception */
static int fact_room(uint8_t **buf, uint8_t *stack, size_t most)
{
    if (most <= FACT_STACK)
        return 0;
    if ((*buf = PyMem_Malloc(most)) == NULL) {
        *buf = stack;
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

#if FOLD_SIMD
/* The run of ASCII letters and digits from d[i] (kind 1 or 2), lowered into
 * buf (16 bytes written): its length; -1 when it meets a character past
 * ASCII or may be longer than 15 (then the table's). SSE2: always there. */
static inline Py_ALWAYS_INLINE Py_ssize_t ascii_word_lowered(int kind, const void *data, Py_ssize_t i,
                                                             Py_ssize_t n, uint8_t *buf)
{
    unsigned ascii;
    __m128i v = load16(kind, data, i, n, ' ', &ascii); /* the end of the text ends the run */
    __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
    __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                                  _mm_cmpgt_epi8(_mm_set1_epi8('z' + 1), lower));
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                  _mm_cmpgt_epi8(_mm_set1_epi8('9' + 1), v));
    unsigned w = (unsigned)_mm_movemask_epi8(_mm_or_si128(alpha, digit)) & ascii;
    unsigned run = (unsigned)__builtin_ctz(~w); /* w < 2^16 */
    if (run == 16 || !(ascii >> run & 1))
        return -1;
    _mm_storeu_si128((__m128i *)buf, lower);
    return run;
}
#endif

/* dedup.facts_mask of d[0..n) (all fast), visiting only the characters at
 * cands[0..n_cands) (ascending: those a match can start at, a digit or an
 * upper-case letter); -1 with an exception set on failure */
static inline Py_ALWAYS_INLINE int64_t facts_of(int kind, const void *data, Py_ssize_t n, const uint32_t *cands,
                                                 Py_ssize_t n_cands)
{
#define CP(i) (kind == PyUnicode_1BYTE_KIND ? ((const uint8_t *)data)[i] : ((const uint16_t *)data)[i])
#define FL(i) (flags_of[CP(i)])
    uint8_t stack[FACT_STACK], *buf = stack;
    Py_ssize_t i, j, digits_from = 0, caps_from = 0;
    uint32_t mask = 0;
    /* the two patterns' matches, each found left to right without overlap,
     * in one pass */
    for (Py_ssize_t c = 0; c < n_cands; c++) {
        i = cands[c];
        uint16_t f = FL(i);
        /* _NUMBER, \d\S*: from a digit to the next space; keyed as by exact_key */
        if ((f & F_DIGIT) && i >= digits_from) {
            size_t len = 0;
            for (j = i; j < n && !(FL(j) & F_SPACE); j++)
                ;
            if (fact_room(&buf, stack, (size_t)(j - i) * FOLD_MAX) < 0)
                return -1;
            for (Py_ssize_t q = i; q < j; q++) {
                const Entry *e = &table[CP(q)];
                for (int b = 0; b < e->fold_len; b++)
                    if (e->fold[b] != ' ')
                        buf[len++] = e->fold[b];
            }
            if (len) {
                uint64_t h = hash_bytes(buf, len);
                mask |= 1u << (h % 32);
            }
            if (buf != stack) {
                PyMem_Free(buf);
                buf = stack;
            }
            digits_from = j;
        }
        /* _CAPITALISED: an upper-case letter then word characters (a match
         * may start inside a word: iPhone) */
        if (!(f & F_UPPER) || i < caps_from || i + 1 >= n || !(FL(i + 1) & F_WORD))
            continue;
        Py_ssize_t start = i, end = -1;
#if FOLD_SIMD
        if (fold_simd) { /* ascii_simple: the word's case fold is its bytes lowered */
            Py_ssize_t run = ascii_word_lowered(kind, data, i, n, buf);
            if (run >= 0)
                end = i + run;
        }
#endif
        int lowered = end >= 0;
        if (!lowered) {
            end = i + 2;
            while (end < n && (FL(end) & F_WORD))
                end++;
        }
        caps_from = end;
        j = start;
        while (j && (FL(j - 1) & F_OPENER))
            j--;
        if (j && (FL(j - 1) & F_OPEN_QUOTE))
            continue; /* a quote starts a sentence */
        if (!j || !(FL(j - 1) & F_SPACE))
            continue; /* the first word, or inside a token */
        j--;
        while (j && (FL(j - 1) & F_SPACE))
            j--;
        while (j && (FL(j - 1) & F_QUOTE))
            j--;
        if (!j || (FL(j - 1) & F_SENT_END))
            continue;
        if (lowered) {
            mask |= 1u << (hash_bytes(buf, (size_t)(end - start)) % 32);
            continue;
        }
        if (fact_room(&buf, stack, (size_t)(end - start) * FOLD_MAX) < 0)
            return -1;
        size_t len = 0;
        for (j = start; j < end; j++) {
            const Entry *e = &table[CP(j)];
            memcpy(buf + len, e->cf, FOLD_MAX); /* a fixed size: no call (buf has the room) */
            len += e->cf_len;
        }
        uint64_t h = hash_bytes(buf, len);
        mask |= 1u << (h % 32);
        if (buf != stack) {
            PyMem_Free(buf);
            buf = stack;
        }
    }
#undef FL
#undef CP
    return mask;
}

/* ---- Python functions ----------------------------------------------------- */

PyDoc_STRVAR(near_fingerprints_doc,
"near_fingerprints(text, ngram, k, near_min_words, /)\n--\n\n"
"dedup.near_fingerprints_py(raw, text, ngram, k, near_min_words): the exact\n"
"key's hash, the sketch and the facts mask; None if the text holds a character\n"
"the table does not mark fast.");

#define PRINTS_STACK 16384

/* What near_fingerprints gives of a text, in C: the exact key's hash, the
 * sketch's values (best[0..cnt), full 64-bit hashes; best holds k values,
 * small when k <= 64, else on the heap: prints_free) and the facts mask. */
typedef struct {
    uint64_t key;
    Py_ssize_t cnt;
    int64_t mask;
    uint64_t *best;
    uint64_t small[64];
} Prints;

static void prints_free(Prints *p)
{
    if (p->best != p->small)
        PyMem_Free(p->best);
    p->best = p->small;
}

/* Fill p for text: 1; 0 if the text holds a character the table does not
 * mark fast; -1 with an exception. (ngram, k >= 1: checked by the caller.)
 * One pass folds the text where the str keeps it; the facts scan then visits
 * only the digits and capitals that pass noted. */
static int prints_of(PyObject *text, Py_ssize_t ngram, Py_ssize_t k, Py_ssize_t near_min_words, Prints *p)
{
    p->best = p->small;
    p->cnt = 0;
    p->mask = 0;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "text must be str");
        return -1;
    }
    if (table_size == 0) {
        PyErr_SetString(PyExc_RuntimeError, "cleaner._speedups: setup() has not been called");
        return -1;
    }
    int kind = PyUnicode_KIND(text);
    if (kind == PyUnicode_4BYTE_KIND)
        return 0; /* a character past 0xFFFF: past the table */
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    /* the key's bytes: n for ASCII (each character one byte or a split);
     * else a guess that most characters fold to one byte, else counted */
    int ascii = kind == PyUnicode_1BYTE_KIND && ascii_one_byte && PyUnicode_IS_ASCII(text);
    size_t room = ascii ? (size_t)n : (size_t)n + (size_t)n / 4 + 16, limit = room;
    uint64_t stack[PRINTS_STACK / 8];
    void *mem = stack;
    uint32_t *starts, *cands;
    uint8_t *cat, *sp;
    Folded f;
    int r;
    for (;;) {
        /* starts (a word per key byte at most) | cands (n) | cat | sp (2 bytes
         * per key byte), with slack after cat and sp (fold_pass's stores) */
        size_t need = 4 * room + 4 * (size_t)n + room + FOLD_SLACK + 2 * room + FOLD_SLACK;
        if (need > PRINTS_STACK && (mem = PyMem_Malloc(need)) == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        starts = (uint32_t *)mem;
        cands = starts + room;
        cat = (uint8_t *)(cands + n);
        sp = cat + room + FOLD_SLACK;
#if FOLD_SIMD
        if (fold_simd && kind == PyUnicode_1BYTE_KIND)
            r = fold_pass(PyUnicode_1BYTE_KIND, 1, data, n, limit, cat, sp, starts, cands, &f);
        else if (fold_simd)
            r = fold_pass(PyUnicode_2BYTE_KIND, 1, data, n, limit, cat, sp, starts, cands, &f);
        else
#endif
        if (kind == PyUnicode_1BYTE_KIND)
            r = fold_pass(PyUnicode_1BYTE_KIND, 0, data, n, limit, cat, sp, starts, cands, &f);
        else
            r = fold_pass(PyUnicode_2BYTE_KIND, 0, data, n, limit, cat, sp, starts, cands, &f);
        if (r != 2)
            break;
        /* longer folds than guessed: room for them counted (all fast) */
        if (mem != stack)
            PyMem_Free(mem);
        mem = stack;
        room = key_bytes(kind, data, n);
        limit = SIZE_MAX;
    }
    if (r == 0)
        goto done;
    r = -1;
    p->key = hash_bytes(cat, f.cat_len);
    if (f.n_words >= near_min_words) {
        Py_ssize_t most = k < f.n_words ? k : f.n_words; /* values sketch_values keeps (k may be huge) */
        if (most > 64 && (p->best = PyMem_Malloc((size_t)most * sizeof(uint64_t))) == NULL) {
            p->best = p->small;
            PyErr_NoMemory();
            goto done;
        }
        p->cnt = sketch_values(sp, f.sp_len, starts, f.n_words, ngram, k, p->best);
        if (kind == PyUnicode_1BYTE_KIND)
            p->mask = facts_of(PyUnicode_1BYTE_KIND, data, n, cands, f.n_cands);
        else
            p->mask = facts_of(PyUnicode_2BYTE_KIND, data, n, cands, f.n_cands);
        if (p->mask < 0) {
            prints_free(p);
            goto done;
        }
    }
    r = 1;
done:
    if (mem != stack)
        PyMem_Free(mem);
    return r;
}

/* ngram, k and near_min_words from args; 0 with an exception when bad */
static int prints_args(const char *name, PyObject *const *args, Py_ssize_t *ngram, Py_ssize_t *k,
                       Py_ssize_t *near_min_words)
{
    *ngram = PyLong_AsSsize_t(args[0]);
    *k = PyLong_AsSsize_t(args[1]);
    *near_min_words = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred())
        return 0;
    if (*ngram < 1 || *k < 1) {
        PyErr_Format(PyExc_ValueError, "%s: need ngram >= 1 and k >= 1", name);
        return 0;
    }
    return 1;
}

static PyObject *near_fingerprints(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    Py_ssize_t ngram, k, near_min_words;
    if (!nargs_ok("near_fingerprints", nargs, 4) || !prints_args("near_fingerprints", args + 1, &ngram, &k,
                                                                 &near_min_words))
        return NULL;
    Prints p;
    int r = prints_of(args[0], ngram, k, near_min_words, &p);
    if (r <= 0)
        return r < 0 ? NULL : Py_NewRef(Py_None);
    PyObject *sk = sketch_list(p.best, p.cnt), *out = NULL;
    prints_free(&p);
    PyObject *key = PyLong_FromUnsignedLongLong(p.key), *mask = PyLong_FromLongLong(p.mask);
    if (sk != NULL && key != NULL && mask != NULL)
        out = PyTuple_Pack(3, key, sk, mask);
    Py_XDECREF(key);
    Py_XDECREF(sk);
    Py_XDECREF(mask);
    return out;
}

PyDoc_STRVAR(exact_fingerprint_doc,
"exact_fingerprint(text, /)\n--\n\n"
"key_hash(exact_key(raw, text)); None if the text holds a character the\n"
"table does not mark fast.");

/* The exact key of d[0..n) (code points of one kind) into *buf, one pass: a
 * one-byte fold (the common case) is stored, then kept unless a space (a
 * split, which the key drops); a longer or empty fold comes from the table.
 * *buf (capacity *cap, initially stack) grows on the heap when a long fold
 * could overflow it; a fast character adds at most one byte, so room for the
 * rest of the text plus two folds before each long one is enough. */
#define FOLD_KEY(TYPE)                                                          \
    do {                                                                        \
        const TYPE *d = (const TYPE *)data;                                     \
        for (Py_ssize_t i = 0; i < n; i++) {                                    \
            Py_UCS4 c = d[i];                                                   \
            if (sizeof(TYPE) == 4 && c >= TABLE_MAX)                            \
                return 0;                                                       \
            uint8_t b = fold1[c];                                               \
            if (b) {                                                            \
                out[len] = b;                                                   \
                len += b != ' ';                                                \
                continue;                                                       \
            }                                                                   \
            if (!(flags_of[c] & F_FAST))                                        \
                return 0;                                                       \
            if (len + 2 * FOLD_MAX + (size_t)(n - i) > *cap && grow(buf, cap, stack, len, n - i) < 0) \
                return -1;                                                      \
            out = *buf;                                                         \
            const Entry *e = &table[c];                                         \
            for (int k = 0; k < e->fold_len; k++) {                             \
                out[len] = e->fold[k];                                          \
                len += e->fold[k] != ' ';                                       \
            }                                                                   \
        }                                                                       \
    } while (0)

static int grow(uint8_t **buf, size_t *cap, uint8_t *stack, size_t len, Py_ssize_t rest)
{
    size_t want = 2 * (*cap + 2 * FOLD_MAX + (size_t)rest);
    uint8_t *p = *buf == stack ? PyMem_Malloc(want) : PyMem_Realloc(*buf, want);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (*buf == stack)
        memcpy(p, stack, len);
    *buf = p;
    *cap = want;
    return 0;
}

/* 1 with the key in (*buf)[0..*key_len), 0 when a character is not fast, -1 on error */
static int fold_key(int kind, int ascii, const void *data, Py_ssize_t n, uint8_t **buf, size_t *cap,
                    uint8_t *stack, size_t *key_len)
{
    size_t len = 0;
    uint8_t *out = *buf;
    if (kind == PyUnicode_1BYTE_KIND && ascii_one_byte && ascii) {
        /* every ASCII character folds to one byte: no slow case to look for */
        const uint8_t *d = data;
        for (Py_ssize_t i = 0; i < n; i++) {
            uint8_t b = fold1[d[i]];
            out[len] = b;
            len += b != ' ';
        }
    } else if (kind == PyUnicode_1BYTE_KIND)
        FOLD_KEY(Py_UCS1);
    else if (kind == PyUnicode_2BYTE_KIND)
        FOLD_KEY(Py_UCS2);
    else
        FOLD_KEY(Py_UCS4);
    *key_len = len;
    return 1;
}

#define KEY_STACK 4096

static PyObject *exact_fingerprint(PyObject *self, PyObject *text)
{
    (void)self;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "text must be str");
        return NULL;
    }
    if (table_size == 0) {
        PyErr_SetString(PyExc_RuntimeError, "cleaner._speedups: setup() has not been called");
        return NULL;
    }
    uint8_t stack[KEY_STACK], *buf = stack;
    size_t cap = KEY_STACK, len = 0;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if ((size_t)n + 2 * FOLD_MAX > cap && grow(&buf, &cap, stack, 0, n) < 0)
        return NULL;
    int r = fold_key(PyUnicode_KIND(text), PyUnicode_IS_ASCII(text), PyUnicode_DATA(text), n, &buf, &cap, stack,
                     &len);
    PyObject *out = r < 0 ? NULL : r == 0 ? Py_NewRef(Py_None) : PyLong_FromUnsignedLongLong(hash_bytes(buf, len));
    if (buf != stack)
        PyMem_Free(buf);
    return out;
}

PyDoc_STRVAR(xxh3_64_doc,
"xxh3_64(data, /)\n--\n\n"
"xxhash.xxh3_64_intdigest(data) (for the tests).");

static PyObject *xxh3_64(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    uint64_t h = hash_bytes(view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLongLong(h);
}

PyDoc_STRVAR(simd_doc,
"simd(level, /)\n--\n\n"
"The vector steps the fingerprints may use where the CPU has them (the fold's\n"
"runs of ASCII, the sketch's inserts): 2 (the default) all, 1 SSE but no AVX2,\n"
"0 none (the portable paths). For the tests; returns the level in effect.");

static void simd_update(void)
{
    fold_simd = simd_wanted && simd_cpu && ascii_simple;
    sketch_simd = !(simd_wanted && sse42_cpu) ? 0 : avx2_cpu && simd_wanted > 1 ? 2 : 1;
#if FOLD_SIMD
    fold_ascii_fn[0] = avx2_cpu && simd_wanted > 1 ? fold_ascii1_avx2 : fold_ascii1;
    fold_ascii_fn[1] = avx2_cpu && simd_wanted > 1 ? fold_ascii2_avx2 : fold_ascii2;
#endif
}

static PyObject *simd(PyObject *self, PyObject *level)
{
    (void)self;
    long want = PyLong_AsLong(level);
    if (want == -1 && PyErr_Occurred())
        return NULL;
    if (want < 0 || want > 2) {
        PyErr_SetString(PyExc_ValueError, "simd: level is 0, 1 or 2");
        return NULL;
    }
    simd_wanted = (int)want;
    simd_update();
    return PyLong_FromLong(!fold_simd ? 0 : avx2_cpu && simd_wanted > 1 ? 2 : 1);
}

PyDoc_STRVAR(setup_doc,
"setup(table, /)\n--\n\n"
"Install the character table (RECORD_SIZE bytes per code point from 0, see\n"
"dedup.speedups_table).");

static PyObject *setup(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    Py_buffer view;
    if (!nargs_ok("setup", nargs, 1))
        return NULL;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Py_ssize_t n = view.len / RECORD_SIZE, i;
    const uint8_t *src = view.buf;
    int ok = view.len % RECORD_SIZE == 0 && n >= 128 && n <= TABLE_MAX;
    for (i = 0; ok && i < n; i++)
        ok = src[i * RECORD_SIZE + 2] <= FOLD_MAX && src[i * RECORD_SIZE + 3] <= FOLD_MAX;
    if (!ok) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "setup: not a table of records");
        return NULL;
    }
    table_size = 0; /* a failed call leaves nothing half set up */
    for (i = 0; i < n; i++, src += RECORD_SIZE) {
        Entry *e = &table[i];
        e->flags = (uint16_t)(src[0] | src[1] << 8);
        e->fold_len = src[2];
        e->cf_len = src[3];
        memcpy(e->fold, src + 4, FOLD_MAX);
        memcpy(e->cf, src + 4 + FOLD_MAX, FOLD_MAX);
        e->key_len = 0;
        for (int b = 0; b < e->fold_len; b++)
            e->key_len += e->fold[b] != ' ';
        flags_of[i] = e->flags;
        fold1[i] = e->fold_len == 1 ? e->fold[0] : 0;
        fx[i] = (uint16_t)(fold1[i] | (e->flags & (F_DIGIT | F_UPPER) ? FX_FACT : 0));
        key_len_of[i] = e->key_len;
        cf_len_of[i] = e->cf_len;
    }
    for (; i < TABLE_MAX; i++)
        flags_of[i] = fx[i] = fold1[i] = key_len_of[i] = cf_len_of[i] = 0;
    az_self = 1;
    for (i = 'a'; i <= 'z'; i++)
        az_self &= fx[i] == i;
    ascii_one_byte = 1;
    for (i = 0; i < 128; i++)
        ascii_one_byte &= fold1[i] != 0 && (flags_of[i] & F_FAST) && cf_len_of[i] == 1;
    ascii_simple = 1;
    for (i = 0; i < 128; i++) {
        int digit = i >= '0' && i <= '9', upper = i >= 'A' && i <= 'Z', lower = i >= 'a' && i <= 'z';
        int fold = digit || lower ? (int)i : upper ? (int)i + 0x20 : ' ';
        ascii_simple &= (flags_of[i] & F_FAST) && fold1[i] == fold && !(fx[i] & FX_FACT) == !(digit || upper)
                        && !(flags_of[i] & F_WORD) == (fold == ' ')
                        && (fold == ' ' || (cf_len_of[i] == 1 && table[i].cf[0] == fold));
    }
    simd_update();
    PyBuffer_Release(&view);
    table_size = n;
    Py_RETURN_NONE;
}

/* ---- the classifier's cross-document counter (context.CrossDocCounter) ---- */

PyDoc_STRVAR(crossdoc_see_doc,
"crossdoc_see(text, rows, bits, pending, max_pending, /)\n--\n\n"
"CrossDocCounter.see in one call: the key (xxh3-64 of text[:200].strip().lower()\n"
"in UTF-8 with surrogateescape), its count (the least of its cells, one per\n"
"row: an array('H') of 2**bits counters, row r indexed by key >> (bits * r)),\n"
"and, unless pending is None, the key added to the set pending while it\n"
"holds fewer than max_pending keys. Returns the count.");

#define CROSSDOC_KEY_CHARS 200

static PyObject *strip_name = NULL, *lower_name = NULL;

#define HASH_FAILED(h) ((h) == (uint64_t)-1 && PyErr_Occurred())

/* w's lanes (bytes: ones 0x01.., high 0x80, shift 2; or 16 bits: 0x0001..,
 * 0x8000, 10), each under 0x80, with A-Z lowered (high >> shift: 0x20) */
static inline uint64_t lower_ascii8(uint64_t w, uint64_t ones, uint64_t high, int shift)
{
    uint64_t ge_a = w + ones * (high - 'A'), gt_z = w + ones * (high - 1 - 'Z'); /* no carry between lanes */
    return w | ((ge_a & ~gt_z & ones * high) >> shift);
}

#if defined(__SSE2__)
/* 16 bytes, each under 0x80, with A-Z lowered */
static inline __m128i lower_ascii16(__m128i w)
{
    __m128i up = _mm_and_si128(_mm_cmpgt_epi8(w, _mm_set1_epi8('A' - 1)), _mm_cmplt_epi8(w, _mm_set1_epi8('Z' + 1)));
    return _mm_or_si128(w, _mm_and_si128(up, _mm_set1_epi8(0x20)));
}
#endif

/* data[0..n).strip().lower() in UTF-8 into buf (room for 4 bytes a
 * character): 1; 0 for the Python path. str.lower maps each character to
 * Py_UNICODE_TOLOWER's one, but U+0130 (two code points) and U+03A3 (final
 * sigma, by context); lone surrogates take the Python path (surrogateescape).
 * Inlined for each kind (a constant): most characters of a non-ASCII line are
 * ASCII, one compare and a store each. */
static inline Py_ALWAYS_INLINE int lower_utf8(int kind, const void *data, Py_ssize_t n, uint8_t *buf, size_t *len_out)
{
#define CP(i) (kind == PyUnicode_1BYTE_KIND ? ((const uint8_t *)data)[i] : ((const uint16_t *)data)[i])
    size_t len = 0;
    Py_ssize_t a = 0, b = n;
    while (a < b && Py_UNICODE_ISSPACE(CP(a)))
        a++;
    while (b > a && Py_UNICODE_ISSPACE(CP(b - 1)))
        b--;
    for (Py_ssize_t i = a; i < b; i++) {
#if defined(__SSE2__)
        /* 16 (8) ASCII characters at a time */
        if (kind == PyUnicode_1BYTE_KIND && i + 16 <= b) {
            __m128i w = _mm_loadu_si128((const __m128i *)((const uint8_t *)data + i));
            if (!_mm_movemask_epi8(w)) {
                _mm_storeu_si128((__m128i *)(buf + len), lower_ascii16(w));
                len += 16;
                i += 15;
                continue;
            }
        } else if (kind == PyUnicode_2BYTE_KIND && i + 8 <= b) {
            __m128i w = _mm_loadu_si128((const __m128i *)((const uint16_t *)data + i));
            __m128i wide = _mm_and_si128(w, _mm_set1_epi16((short)0xFF80));
            if (_mm_movemask_epi8(_mm_cmpeq_epi16(wide, _mm_setzero_si128())) == 0xFFFF) {
                _mm_storel_epi64((__m128i *)(buf + len), lower_ascii16(_mm_packus_epi16(w, w)));
                len += 8;
                i += 7;
                continue;
            }
        }
#endif
#if SWAR_LE
        /* 8 (4) ASCII characters at a time: A-Z get 0x20 */
        if (kind == PyUnicode_1BYTE_KIND && i + 8 <= b) {
            uint64_t w;
            memcpy(&w, (const uint8_t *)data + i, 8);
            if (!(w & 0x8080808080808080ULL)) {
                w = lower_ascii8(w, 0x0101010101010101ULL, 0x80, 2);
                memcpy(buf + len, &w, 8);
                len += 8;
                i += 7;
                continue;
            }
        } else if (kind == PyUnicode_2BYTE_KIND && i + 4 <= b) {
            uint64_t w;
            memcpy(&w, (const uint16_t *)data + i, 8);
            if (!(w & 0xFF80FF80FF80FF80ULL)) {
                w = lower_ascii8(w, 0x0001000100010001ULL, 0x8000, 10);
                w = (w | w >> 8) & 0x0000FFFF0000FFFFULL;
                uint32_t b4 = (uint32_t)(w | w >> 16);
                memcpy(buf + len, &b4, 4);
                len += 4;
                i += 3;
                continue;
            }
        }
#endif
        Py_UCS4 c = CP(i);
        if (c < 0x80) {
            buf[len++] = (uint8_t)(c - 'A' < 26u ? c + 32 : c);
            continue;
        }
        if (c == 0x130 || c == 0x3A3 || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        c = Py_UNICODE_TOLOWER(c);
        if (c < 0x80) {
            buf[len++] = (uint8_t)c;
        } else if (c < 0x800) {
            buf[len++] = (uint8_t)(0xC0 | (c >> 6));
            buf[len++] = (uint8_t)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            if (c >= 0xD800 && c <= 0xDFFF)
                return 0;
            buf[len++] = (uint8_t)(0xE0 | (c >> 12));
            buf[len++] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
            buf[len++] = (uint8_t)(0x80 | (c & 0x3F));
        } else {
            buf[len++] = (uint8_t)(0xF0 | (c >> 18));
            buf[len++] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
            buf[len++] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
            buf[len++] = (uint8_t)(0x80 | (c & 0x3F));
        }
    }
#undef CP
    *len_out = len;
    return 1;
}

/* xxh3-64 of text[a:b][:200].strip().lower() encoded into *key: 1; 0 where
 * only the Python calls give it (crossdoc_key). No Python object is made. */
static int crossdoc_key_fast(PyObject *text, Py_ssize_t a, Py_ssize_t b, uint64_t *key)
{
    Py_ssize_t n = b - a;
    if (n > CROSSDOC_KEY_CHARS)
        n = CROSSDOC_KEY_CHARS;
    if (PyUnicode_IS_ASCII(text)) {
        /* str.strip() and str.lower() on ASCII: these whitespace characters, A-Z */
        const uint8_t *d = PyUnicode_1BYTE_DATA(text) + a;
        uint8_t buf[CROSSDOC_KEY_CHARS];
        Py_ssize_t i0 = 0, i1 = n;
#define ASCII_SPACE(c) (((c) >= 0x09 && (c) <= 0x0d) || ((c) >= 0x1c && (c) <= 0x20))
        while (i0 < i1 && ASCII_SPACE(d[i0]))
            i0++;
        while (i1 > i0 && ASCII_SPACE(d[i1 - 1]))
            i1--;
#undef ASCII_SPACE
        for (Py_ssize_t i = i0; i < i1; i++)
            buf[i - i0] = (d[i] >= 'A' && d[i] <= 'Z') ? (uint8_t)(d[i] + 32) : d[i];
        *key = xxh3_short(buf, (size_t)(i1 - i0));
        return 1;
    }
    if (PyUnicode_KIND(text) != PyUnicode_4BYTE_KIND) {
        uint8_t buf[4 * CROSSDOC_KEY_CHARS];
        size_t len;
        int done = PyUnicode_KIND(text) == PyUnicode_1BYTE_KIND
                       ? lower_utf8(PyUnicode_1BYTE_KIND, PyUnicode_1BYTE_DATA(text) + a, n, buf, &len)
                       : lower_utf8(PyUnicode_2BYTE_KIND, PyUnicode_2BYTE_DATA(text) + a, n, buf, &len);
        if (done) {
            *key = hash_bytes(buf, len);
            return 1;
        }
    }
    return 0;
}

/* xxh3-64 of text[:200].strip().lower() encoded; -1 with an exception on error */
static uint64_t crossdoc_key(PyObject *text)
{
    uint64_t h;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (crossdoc_key_fast(text, 0, n, &h))
        return h;
    if (n > CROSSDOC_KEY_CHARS)
        n = CROSSDOC_KEY_CHARS;
    /* any other text: the same calls as the Python code */
    h = (uint64_t)-1;
    PyObject *sub = PyUnicode_Substring(text, 0, n), *st = NULL, *lo = NULL, *enc = NULL;
    if (sub != NULL)
        st = PyObject_CallMethodNoArgs(sub, strip_name);
    if (st != NULL)
        lo = PyObject_CallMethodNoArgs(st, lower_name);
    if (lo != NULL)
        enc = PyUnicode_AsEncodedString(lo, "utf-8", "surrogateescape");
    if (enc != NULL)
        h = hash_bytes((const uint8_t *)PyBytes_AS_STRING(enc), (size_t)PyBytes_GET_SIZE(enc));
    Py_XDECREF(sub);
    Py_XDECREF(st);
    Py_XDECREF(lo);
    Py_XDECREF(enc);
    return h;
}

/* The counter's rows (a list of 1 to 3 array('H') of 2**bits counters) as
 * buffers v[0..*depth-1]; -1 with an exception, nothing held, on error. */
static int rows_open(const char *name, PyObject *rows, PyObject *bits_obj, int flags, Py_buffer v[3],
                     Py_ssize_t *depth, long *bits)
{
    *bits = PyLong_AsLong(bits_obj);
    *depth = PyList_GET_SIZE(rows);
    if (*bits == -1 && PyErr_Occurred())
        return -1;
    if (*bits < 1 || *bits > 32 || *depth < 1 || *depth > 3 || *bits * *depth > 64) {
        PyErr_Format(PyExc_ValueError, "%s: need 1 <= bits <= 32, 1 to 3 rows, bits * rows <= 64", name);
        return -1;
    }
    for (Py_ssize_t r = 0; r < *depth; r++) {
        if (PyObject_GetBuffer(PyList_GET_ITEM(rows, r), &v[r], flags) < 0
            || v[r].len != (Py_ssize_t)(2 * ((Py_ssize_t)1 << *bits))) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "%s: a row is not 2**bits 16-bit counters", name);
            else
                r--; /* v[r] was not taken */
            for (; r >= 0; r--)
                PyBuffer_Release(&v[r]);
            return -1;
        }
    }
    return 0;
}

static void rows_close(Py_buffer v[3], Py_ssize_t depth)
{
    for (Py_ssize_t r = 0; r < depth; r++)
        PyBuffer_Release(&v[r]);
}

/* the count of key: the least of its cells */
static inline long crossdoc_count(const Py_buffer v[3], Py_ssize_t depth, long bits, uint64_t key)
{
    uint64_t mask = ((uint64_t)1 << bits) - 1;
    uint16_t count = 0xFFFF;
    for (Py_ssize_t r = 0; r < depth; r++) {
        uint16_t c = ((const uint16_t *)v[r].buf)[(key >> (bits * r)) & mask];
        if (r == 0 || c < count)
            count = c;
    }
    return count;
}

/* A KeyTable (below) of uint64 keys used as a set, ids unused: the pending
 * keys of CrossDocCounter, the matcher's keys of a document. No int object
 * per key, as a set of them has. */
static int keyset_check(PyObject *o);
static int keyset_add(PyObject *set, uint64_t key, Py_ssize_t max);
static Py_ssize_t keyset_len(PyObject *set);
static void keyset_copy(PyObject *set, uint64_t *out);

/* the count of key, which is then added to pending (unless None) while it
 * holds fewer than max_pending keys; -1 with an exception */
static long crossdoc_look_key(uint64_t key, Py_buffer v[3], Py_ssize_t depth, long bits, PyObject *pending,
                              Py_ssize_t max_pending)
{
    long count = crossdoc_count(v, depth, bits, key);
    if (pending != Py_None && keyset_add(pending, key, max_pending) < 0)
        return -1;
    return count;
}

/* crossdoc_see's work once the rows are open: the count, or -1 with an exception */
static long crossdoc_look(PyObject *text, Py_buffer v[3], Py_ssize_t depth, long bits, PyObject *pending,
                          Py_ssize_t max_pending)
{
    uint64_t key = crossdoc_key(text);
    if (HASH_FAILED(key))
        return -1;
    return crossdoc_look_key(key, v, depth, bits, pending, max_pending);
}

static PyObject *crossdoc_see(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!nargs_ok("crossdoc_see", nargs, 5))
        return NULL;
    PyObject *text = args[0], *rows = args[1], *pending = args[3];
    if (!PyUnicode_Check(text) || !PyList_Check(rows) || (pending != Py_None && !keyset_check(pending))) {
        PyErr_SetString(PyExc_TypeError, "crossdoc_see(str, list, int, KeyTable(8) | None, int)");
        return NULL;
    }
    Py_ssize_t max_pending = PyLong_AsSsize_t(args[4]);
    if (max_pending == -1 && PyErr_Occurred())
        return NULL;
    if (strip_name == NULL && ((strip_name = PyUnicode_InternFromString("strip")) == NULL
                               || (lower_name = PyUnicode_InternFromString("lower")) == NULL))
        return NULL;
    Py_buffer v[3];
    Py_ssize_t depth;
    long bits;
    if (rows_open("crossdoc_see", rows, args[2], PyBUF_SIMPLE, v, &depth, &bits) < 0)
        return NULL;
    long count = crossdoc_look(text, v, depth, bits, pending, max_pending);
    rows_close(v, depth);
    return count < 0 ? NULL : PyLong_FromLong(count);
}

PyDoc_STRVAR(crossdoc_count_doc_doc,
"crossdoc_count_doc(rows, bits, pending, /)\n--\n\n"
"The counting part of CrossDocCounter.end_doc: each key of pending (a\n"
"KeyTable(8) as a set), in insertion order, raises its least cells by one\n"
"(conservative update), unless they hold 0xFFFF. rows as for crossdoc_see\n"
"(written in place).");

static PyObject *crossdoc_count_doc(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!nargs_ok("crossdoc_count_doc", nargs, 3))
        return NULL;
    PyObject *rows = args[0], *pending = args[2];
    if (!PyList_Check(rows) || !keyset_check(pending)) {
        PyErr_SetString(PyExc_TypeError, "crossdoc_count_doc(list, int, KeyTable(8))");
        return NULL;
    }
    Py_buffer v[3];
    Py_ssize_t depth;
    long bits;
    if (rows_open("crossdoc_count_doc", rows, args[1], PyBUF_WRITABLE, v, &depth, &bits) < 0)
        return NULL;
    uint64_t mask = ((uint64_t)1 << bits) - 1;
    /* the keys first, every cell they touch asked for, then the counts: the
     * rows are too big for the caches, so the misses overlap (the same order
     * of updates, so the same counts) */
    Py_ssize_t n = keyset_len(pending);
    uint64_t small[256], *keys = n <= 256 ? small : PyMem_Malloc((size_t)n * sizeof(uint64_t));
    PyObject *ret = NULL;
    if (keys == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    keyset_copy(pending, keys);
    for (Py_ssize_t i = 0; i < n; i++)
        for (Py_ssize_t r = 0; r < depth; r++)
            __builtin_prefetch((uint16_t *)v[r].buf + ((keys[i] >> (bits * r)) & mask));
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t key = keys[i];
        uint16_t *cell[3];
        uint16_t cur = 0xFFFF;
        for (Py_ssize_t r = 0; r < depth; r++) {
            cell[r] = (uint16_t *)v[r].buf + ((key >> (bits * r)) & mask);
            if (r == 0 || *cell[r] < cur)
                cur = *cell[r];
        }
        if (cur < 0xFFFF)
            for (Py_ssize_t r = 0; r < depth; r++)
                if (*cell[r] == cur)
                    *cell[r] = (uint16_t)(cur + 1);
    }
    ret = Py_NewRef(Py_None);
done:
    if (keys != small)
        PyMem_Free(keys);
    rows_close(v, depth);
    return ret;
}

/* ---- cleaner.prefilter: the scan buffers and the lines of each match ------ */

/* bytes.isspace() of one byte (bytes.split() splits there) */
static inline int ascii_space(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* a growable array of uint32 */
typedef struct {
    uint32_t *v;
    Py_ssize_t n, cap;
} U32s;

static int u32s_push(U32s *a, uint32_t x)
{
    if (a->n == a->cap) {
        Py_ssize_t cap = a->cap ? a->cap * 2 : 1024;
        uint32_t *v = PyMem_Realloc(a->v, (size_t)cap * sizeof(uint32_t));
        if (v == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

/* appends the native uint32 pair (a, b) to a bytearray */
static int append_pair(PyObject *bytearray, uint32_t a, uint32_t b)
{
    Py_ssize_t n = PyByteArray_GET_SIZE(bytearray);
    if (PyByteArray_Resize(bytearray, n + 8) < 0) /* over-allocates: amortised */
        return -1;
    uint32_t pair[2] = {a, b};
    memcpy(PyByteArray_AS_STRING(bytearray) + n, pair, 8);
    return 0;
}

/* The length of the UTF-8 Unicode space (prefilter._UNICODE_SPACES) at p,
 * or 0; *fold is set where p holds a letter of prefilter._FOLD_TO_ASCII. */
static inline int unicode_space(const uint8_t *p, const uint8_t *end, int *fold)
{
    Py_ssize_t left = end - p;
    switch (p[0]) {
    case 0xC2: /* U+0085, U+00A0 */
        return left >= 2 && (p[1] == 0x85 || p[1] == 0xA0) ? 2 : 0;
    case 0xC4: /* U+0130, U+0131 */
        *fold = left >= 2 && (p[1] == 0xB0 || p[1] == 0xB1);
        return 0;
    case 0xC5: /* U+017F */
        *fold = left >= 2 && p[1] == 0xBF;
        return 0;
    case 0xE1: /* U+1680 */
        return left >= 3 && p[1] == 0x9A && p[2] == 0x80 ? 3 : 0;
    case 0xE2:
        if (left < 3)
            return 0;
        if (p[1] == 0x80) /* U+2000..U+200A, U+2028, U+2029, U+202F */
            return (p[2] >= 0x80 && p[2] <= 0x8A) || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF ? 3 : 0;
        if (p[1] == 0x81) /* U+205F */
            return p[2] == 0x9F ? 3 : 0;
        *fold = p[1] == 0x84 && p[2] == 0xAA; /* U+212A */
        return 0;
    case 0xE3: /* U+3000 */
        return left >= 3 && p[1] == 0x80 && p[2] == 0x80 ? 3 : 0;
    }
    return 0;
}

/* cleaner.stream */

PyDoc_STRVAR(split_lines_doc,
"split_lines(data, /)\n--\n\n"
"A chunk's lines, split at \\n only: (raws, texts, feeds), each raw with its\n"
"line ending, each text decoded without it, feeds the indexes of the lines\n"
"that are a form feed alone; None when data is empty, holds a CR or is not\n"
"valid UTF-8 (StreamCleaner._lines splits those itself).");

/* One pass with memchr, each line's bytes and text made from the chunk in
 * place: no decoded copy of the whole chunk to split again (about 3x fewer
 * instructions than decode + str.split + bytes.splitlines). */
static PyObject *split_lines(PyObject *self, PyObject *data)
{
    (void)self;
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "split_lines: data must be bytes");
        return NULL;
    }
    const char *p = PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data), pos = 0;
    if (n == 0 || memchr(p, '\r', (size_t)n) != NULL)
        Py_RETURN_NONE;
    PyObject *raws = PyList_New(0), *texts = PyList_New(0), *feeds = PyList_New(0);
    if (raws == NULL || texts == NULL || feeds == NULL)
        goto fail;
    while (pos < n) {
        const char *nl = memchr(p + pos, '\n', (size_t)(n - pos));
        Py_ssize_t end = nl != NULL ? nl - p : n, stop = nl != NULL ? end + 1 : n;
        PyObject *text = PyUnicode_DecodeUTF8(p + pos, end - pos, NULL);
        if (text == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
                goto fail;
            PyErr_Clear();
            Py_DECREF(raws);
            Py_DECREF(texts);
            Py_DECREF(feeds);
            Py_RETURN_NONE;
        }
        if (end - pos == 1 && p[pos] == '\f') {
            PyObject *at = PyLong_FromSsize_t(PyList_GET_SIZE(texts));
            int err = at == NULL || PyList_Append(feeds, at) < 0;
            Py_XDECREF(at);
            if (err) {
                Py_DECREF(text);
                goto fail;
            }
        }
        PyObject *raw = PyBytes_FromStringAndSize(p + pos, stop - pos);
        int err = raw == NULL || PyList_Append(raws, raw) < 0 || PyList_Append(texts, text) < 0;
        Py_XDECREF(raw);
        Py_DECREF(text);
        if (err)
            goto fail;
        pos = stop;
    }
    PyObject *out = PyTuple_Pack(3, raws, texts, feeds);
    Py_DECREF(raws);
    Py_DECREF(texts);
    Py_DECREF(feeds);
    return out;
fail:
    Py_XDECREF(raws);
    Py_XDECREF(texts);
    Py_XDECREF(feeds);
    return NULL;
}

PyDoc_STRVAR(scan_buffer_doc,
"scan_buffer(buf) -> (bytes, list[int])\n\n"
"b'\\n' + buf + b'\\n' with each Unicode space of prefilter._UNICODE_SPACES\n"
"replaced by one ASCII space, and the indexes of the lines of buf (split at\n"
"\\n) holding a letter of prefilter._FOLD_TO_ASCII. One pass over buf;\n"
"prefilter._scan_buffer_py is the reference.");

static PyObject *scan_buffer(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const uint8_t *buf = view.buf, *end = buf + view.len, *p = buf, *run = buf, *counted = buf;
    PyObject *out = PyBytes_FromStringAndSize(NULL, view.len + 2), *folds = PyList_New(0), *result = NULL;
    Py_ssize_t breaks = 0, last = -1; /* line breaks in buf[:counted]; the last fold line */
    if (out == NULL || folds == NULL)
        goto done;
    uint8_t *start = (uint8_t *)PyBytes_AS_STRING(out), *o = start;
    *o++ = '\n';
    while (p < end) {
        /* nearly all bytes are ASCII: skip them 8 at a time */
        uint64_t w;
        while (end - p >= 8 && (memcpy(&w, p, 8), (w & 0x8080808080808080ULL) == 0))
            p += 8;
        while (p < end && *p < 0x80)
            p++;
        if (p == end)
            break;
        int fold = 0, n = unicode_space(p, end, &fold);
        if (n) {
            memcpy(o, run, (size_t)(p - run));
            o += p - run;
            *o++ = ' ';
            p += n;
            run = p;
            continue;
        }
        if (fold) {
            for (const uint8_t *nl; (nl = memchr(counted, '\n', (size_t)(p - counted))) != NULL; counted = nl + 1)
                breaks++;
            counted = p;
            if (breaks != last) {
                PyObject *idx = PyLong_FromSsize_t(breaks);
                if (idx == NULL || PyList_Append(folds, idx) < 0) {
                    Py_XDECREF(idx);
                    goto done;
                }
                Py_DECREF(idx);
                last = breaks;
            }
        }
        p++;
    }
    memcpy(o, run, (size_t)(end - run));
    o += end - run;
    *o++ = '\n';
    if (o - start != view.len + 2 && _PyBytes_Resize(&out, o - start) < 0)
        goto done; /* out is NULL now */
    result = PyTuple_Pack(2, out, folds);
done:
    Py_XDECREF(out);
    Py_XDECREF(folds);
    PyBuffer_Release(&view);
    return result;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* the high bit of each byte of w where ascii_space(byte) */
static inline uint64_t space_bytes(uint64_t w)
{
    uint64_t x = w ^ (ONES * ' '), low = w & ~HIGHS;
    uint64_t blank = ~(((x & ~HIGHS) + ~HIGHS) | x | ~HIGHS);          /* the byte is ' ' */
    uint64_t from9 = (low + ONES * (0x80 - 9)) & HIGHS;                 /* low 7 bits >= 9 */
    uint64_t from14 = (low + ONES * (0x80 - 14)) & HIGHS;               /* ... >= 14 */
    return blank | (from9 & ~from14 & ~w);                              /* or 9..13 */
}

/* The word starts (bytes.split()) in [q, end), counted 8 bytes at a time;
 * stops once past most. */
static Py_ssize_t count_words(const uint8_t *q, const uint8_t *end, Py_ssize_t most)
{
    Py_ssize_t words = 0;
    uint64_t after_space = 1; /* the line start counts as one */
    while (end - q >= 8 && words <= most) {
        uint64_t space = space_bytes(rd64(q));
        uint64_t starts = ~space & (space << 8 | after_space << 7) & HIGHS;
        words += (Py_ssize_t)(((starts >> 7) * ONES) >> 56); /* at most one bit a byte: their sum */
        after_space = space >> 63;
        q += 8;
    }
    for (; q < end && words <= most; q++) {
        uint64_t s = (uint64_t)ascii_space(*q);
        words += (Py_ssize_t)(after_space & (s ^ 1));
        after_space = s;
    }
    return words;
}

/* Some lines of a buffer, joined by \n between a leading and a trailing \n
 * (a scan buffer), and their indexes. */
typedef struct {
    PyObject *joined;
    uint8_t *o; /* where the next line goes */
    U32s keep;
} Selection;

static int sel_open(Selection *sel, Py_ssize_t len)
{
    if ((sel->joined = PyBytes_FromStringAndSize(NULL, len + 2)) == NULL)
        return -1;
    sel->o = (uint8_t *)PyBytes_AS_STRING(sel->joined);
    *sel->o++ = '\n';
    return 0;
}

static int sel_add(Selection *sel, Py_ssize_t line, const uint8_t *p, Py_ssize_t len)
{
    if (line > (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many lines");
        return -1;
    }
    if (sel->keep.n > 0)
        *sel->o++ = '\n';
    if (u32s_push(&sel->keep, (uint32_t)line) < 0)
        return -1;
    memcpy(sel->o, p, (size_t)len);
    sel->o += len;
    return 0;
}

static void sel_free(Selection *sel)
{
    Py_CLEAR(sel->joined);
    PyMem_Free(sel->keep.v);
    sel->keep.v = NULL;
}

/* (joined, indexes as bytes); frees the selection */
static PyObject *sel_close(Selection *sel, Py_ssize_t len)
{
    PyObject *pair = NULL, *idx;
    *sel->o++ = '\n';
    Py_ssize_t n = (Py_ssize_t)(sel->o - (uint8_t *)PyBytes_AS_STRING(sel->joined));
    idx = PyBytes_FromStringAndSize((const char *)sel->keep.v, sel->keep.n * (Py_ssize_t)sizeof(uint32_t));
    if (idx != NULL && (n == len + 2 || _PyBytes_Resize(&sel->joined, n) == 0))
        pair = PyTuple_Pack(2, sel->joined, idx);
    Py_XDECREF(idx);
    sel_free(sel);
    return pair;
}

#define TIERS_MAX 8

PyDoc_STRVAR(select_tiers_doc,
"select_tiers(buf, limits, prefix) -> list[tuple[bytes, bytes]]\n\n"
"For each limit of the tuple limits: the lines of buf (split at \\n) whose\n"
"first prefix bytes hold at most limit words as bytes.split() counts them,\n"
"joined by \\n between a leading and a trailing \\n, and their indexes as\n"
"native uint32. prefilter._select_tiers_py is the reference.");

static PyObject *select_tiers(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    Py_ssize_t limits[TIERS_MAX], n_tiers, most = 0, prefix;
    if (!nargs_ok("select_tiers", nargs, 3))
        return NULL;
    if (!PyTuple_Check(args[1]) || (n_tiers = PyTuple_GET_SIZE(args[1])) > TIERS_MAX) {
        PyErr_SetString(PyExc_TypeError, "select_tiers: limits must be a tuple of at most 8 ints");
        return NULL;
    }
    for (Py_ssize_t k = 0; k < n_tiers; k++) {
        limits[k] = PyLong_AsSsize_t(PyTuple_GET_ITEM(args[1], k));
        if (limits[k] == -1 && PyErr_Occurred())
            return NULL;
        if (limits[k] < 0) {
            PyErr_SetString(PyExc_ValueError, "select_tiers: limits and prefix must be >= 0");
            return NULL;
        }
        most = limits[k] > most ? limits[k] : most;
    }
    prefix = PyLong_AsSsize_t(args[2]);
    if (prefix == -1 && PyErr_Occurred())
        return NULL;
    if (prefix < 0) {
        PyErr_SetString(PyExc_ValueError, "select_tiers: limits and prefix must be >= 0");
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const uint8_t *p = view.buf, *end = p + view.len;
    PyObject *result = NULL;
    Selection sel[TIERS_MAX] = {{0}};
    for (Py_ssize_t k = 0; k < n_tiers; k++)
        if (sel_open(&sel[k], view.len) < 0)
            goto done;
    for (Py_ssize_t line = 0;; line++) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *stop = nl != NULL ? nl : end;
        Py_ssize_t words = count_words(p, stop - p > prefix ? p + prefix : stop, most);
        for (Py_ssize_t k = 0; k < n_tiers; k++)
            if (words <= limits[k] && sel_add(&sel[k], line, p, stop - p) < 0)
                goto done;
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    if ((result = PyList_New(n_tiers)) == NULL)
        goto done;
    for (Py_ssize_t k = 0; k < n_tiers; k++) {
        PyObject *pair = sel_close(&sel[k], view.len);
        if (pair == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, k, pair);
    }
done:
    for (Py_ssize_t k = 0; k < n_tiers; k++)
        sel_free(&sel[k]);
    PyBuffer_Release(&view);
    return result;
}

PyDoc_STRVAR(blank_led_doc,
"blank_led(buf) -> tuple[bytes, bytes]\n\n"
"The lines of buf (split at \\n) that start with an ASCII blank (bytes.isspace),\n"
"joined by \\n between a leading and a trailing \\n, and their indexes as\n"
"native uint32. prefilter._blank_led_py is the reference.");

static PyObject *blank_led(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const uint8_t *p = view.buf, *end = p + view.len;
    PyObject *result = NULL;
    Selection sel = {0};
    if (sel_open(&sel, view.len) < 0)
        goto done;
    for (Py_ssize_t line = 0;; line++) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *stop = nl != NULL ? nl : end;
        if (p < stop && ascii_space(*p) && sel_add(&sel, line, p, stop - p) < 0)
            goto done;
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    result = sel_close(&sel, view.len);
done:
    sel_free(&sel);
    PyBuffer_Release(&view);
    return result;
}

PyDoc_STRVAR(on_match_doc,
"on_match(id, start, end, flags, found) -> None\n\n"
"A Hyperscan match handler (found: the scan's context, a bytearray): appends\n"
"end and id as two native uint32. prefilter._on_match_py is the reference.");

static PyObject *on_match(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!nargs_ok("on_match", nargs, 5))
        return NULL;
    unsigned long id = PyLong_AsUnsignedLong(args[0]), e = PyLong_AsUnsignedLong(args[2]);
    if ((id == (unsigned long)-1 || e == (unsigned long)-1) && PyErr_Occurred())
        return NULL;
    if (id > UINT32_MAX || e > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "on_match: id or end above 2**32 - 1");
        return NULL;
    }
    if (!PyByteArray_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "on_match: found must be a bytearray");
        return NULL;
    }
    if (append_pair(args[4], (uint32_t)e, (uint32_t)id) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* A buffer of native uint32 (PyBUF_SIMPLE); its length in *n. */
static int u32_view(PyObject *obj, Py_buffer *view, const char *what, Py_ssize_t *n)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0)
        return -1;
    if (view->len % (Py_ssize_t)sizeof(uint32_t) != 0) {
        PyErr_Format(PyExc_ValueError, "%s is not a whole number of uint32", what);
        PyBuffer_Release(view);
        return -1;
    }
    *n = view->len / (Py_ssize_t)sizeof(uint32_t);
    return 0;
}

PyDoc_STRVAR(match_lines_doc,
"match_lines(padded, found, rule_of, line_map, pairs[, ends]) -> None\n\n"
"For each (end, id) of found (native uint32 pairs, as on_match wrote them):\n"
"the line of padded (lines: between its line breaks) that holds the match's\n"
"last byte, and the next line too when that byte is a line break, unless\n"
"ends (bytes, one per id, or None) is nonzero at id. Appends\n"
"(line, rule_of[id]) for each to the bytearray pairs as native uint32, the\n"
"line mapped through line_map (native uint32) unless it is None. Fastest with\n"
"ascending ends. prefilter._match_lines_py is the reference.");

static PyObject *match_lines(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer text, found, map = {0}, ends = {0};
    Py_ssize_t n_found, n_map = 0, n_rules;
    if (nargs != 5 && nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "match_lines takes 5 or 6 arguments");
        return NULL;
    }
    PyObject *rule_of = args[2], *pairs = args[4], *result = NULL;
    if (!PyList_Check(rule_of) || !PyByteArray_Check(pairs)) {
        PyErr_SetString(PyExc_TypeError, "match_lines: rule_of must be a list and pairs a bytearray");
        return NULL;
    }
    n_rules = PyList_GET_SIZE(rule_of);
    if (PyObject_GetBuffer(args[0], &text, PyBUF_SIMPLE) < 0)
        return NULL;
    if (u32_view(args[1], &found, "match_lines: found", &n_found) < 0) {
        PyBuffer_Release(&text);
        return NULL;
    }
    if (n_found % 2 != 0) {
        PyErr_SetString(PyExc_ValueError, "match_lines: found holds an odd number of uint32");
        goto done;
    }
    if (args[3] != Py_None && u32_view(args[3], &map, "match_lines: line_map", &n_map) < 0)
        goto done;
    if (nargs == 6 && args[5] != Py_None) {
        if (PyObject_GetBuffer(args[5], &ends, PyBUF_SIMPLE) < 0)
            goto done;
        if (ends.len != n_rules) {
            PyErr_SetString(PyExc_ValueError, "match_lines: ends must hold one byte per rule_of item");
            goto done;
        }
    }
    const uint8_t *buf = text.buf, *at_end = ends.buf;
    const uint32_t *f = found.buf, *m = map.buf;
    Py_ssize_t last_nl = text.len - 1, pos = 0, breaks = 0; /* breaks in buf[:pos] */
    while (last_nl >= 0 && buf[last_nl] != '\n')
        last_nl--;
    for (Py_ssize_t i = 0; i < n_found; i += 2) {
        Py_ssize_t off = (Py_ssize_t)f[i] - 1, id = (Py_ssize_t)f[i + 1];
        if (off < 0 || off >= text.len) {
            PyErr_SetString(PyExc_ValueError, "match_lines: a match end out of range");
            goto done;
        }
        if (id >= n_rules) {
            PyErr_SetString(PyExc_IndexError, "match_lines: a pattern id beyond rule_of");
            goto done;
        }
        long rule = PyLong_AsLong(PyList_GET_ITEM(rule_of, id));
        if (rule == -1 && PyErr_Occurred())
            goto done;
        if (rule < 0 || (unsigned long)rule > UINT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "match_lines: a rule out of the uint32 range");
            goto done;
        }
        if (off < pos) /* not ascending: count again from the start */
            pos = breaks = 0;
        for (const uint8_t *nl; (nl = memchr(buf + pos, '\n', (size_t)(off - pos))) != NULL; pos = nl - buf + 1)
            breaks++;
        pos = off;
        /* the line of the last byte; the next one if that byte ends a line,
         * unless the pattern's matches all end at a line's end (lines past
         * the last line break do not exist) */
        Py_ssize_t lines[2], n_lines = 0;
        if (breaks >= 1 && last_nl >= off)
            lines[n_lines++] = breaks - 1;
        if (buf[off] == '\n' && last_nl > off && (at_end == NULL || !at_end[id]))
            lines[n_lines++] = breaks;
        for (Py_ssize_t j = 0; j < n_lines; j++) {
            Py_ssize_t line = lines[j];
            if (m != NULL) {
                if (line >= n_map) {
                    PyErr_SetString(PyExc_IndexError, "match_lines: a line beyond line_map");
                    goto done;
                }
                line = m[line];
            } else if (line > (Py_ssize_t)UINT32_MAX) {
                PyErr_SetString(PyExc_OverflowError, "match_lines: too many lines");
                goto done;
            }
            if (append_pair(pairs, (uint32_t)line, (uint32_t)rule) < 0)
                goto done;
        }
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&text);
    PyBuffer_Release(&found);
    if (map.obj != NULL)
        PyBuffer_Release(&map);
    if (ends.obj != NULL)
        PyBuffer_Release(&ends);
    return result;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

PyDoc_STRVAR(group_pairs_doc,
"group_pairs(pairs) -> dict[int, list[int]]\n\n"
"The (line, rule) pairs of pairs (native uint32, as match_lines wrote them)\n"
"as line -> its distinct rules, ascending; lines ascending.\n"
"prefilter._group_pairs_py is the reference.");

static PyObject *group_pairs(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    Py_ssize_t n;
    if (u32_view(arg, &view, "group_pairs: pairs", &n) < 0)
        return NULL;
    PyObject *out = NULL, *rules = NULL;
    uint64_t *keys = NULL;
    if (n % 2 != 0) {
        PyErr_SetString(PyExc_ValueError, "group_pairs: pairs holds an odd number of uint32");
        goto done;
    }
    n /= 2;
    keys = PyMem_Malloc(n > 0 ? (size_t)n * sizeof(uint64_t) : 1);
    if ((out = PyDict_New()) == NULL || keys == NULL) {
        if (keys == NULL)
            PyErr_NoMemory();
        Py_CLEAR(out);
        goto done;
    }
    const uint32_t *v = view.buf;
    for (Py_ssize_t i = 0; i < n; i++)
        keys[i] = (uint64_t)v[2 * i] << 32 | v[2 * i + 1];
    qsort(keys, (size_t)n, sizeof(uint64_t), cmp_u64);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i > 0 && keys[i] == keys[i - 1])
            continue;
        if (i == 0 || keys[i] >> 32 != keys[i - 1] >> 32) { /* a new line */
            PyObject *line = PyLong_FromUnsignedLong((unsigned long)(keys[i] >> 32));
            Py_XSETREF(rules, PyList_New(0));
            if (line == NULL || rules == NULL || PyDict_SetItem(out, line, rules) < 0) {
                Py_XDECREF(line);
                Py_CLEAR(out);
                goto done;
            }
            Py_DECREF(line);
        }
        PyObject *rule = PyLong_FromUnsignedLong((unsigned long)(keys[i] & 0xFFFFFFFFu));
        if (rule == NULL || PyList_Append(rules, rule) < 0) {
            Py_XDECREF(rule);
            Py_CLEAR(out);
            goto done;
        }
        Py_DECREF(rule);
    }
done:
    Py_XDECREF(rules);
    PyMem_Free(keys);
    PyBuffer_Release(&view);
    return out;
}

/* ---- the index's sorted runs (cleaner.index.FingerprintTable) ------------- */

/* A run's directory (index.run_directory): the run's keys fall in 2**bits
 * buckets by their top bits (key >> shift, where shift leaves the top `bits`
 * of the run's highest key); dir[i] is the position of bucket i's first key,
 * dir[2**bits] the run's length. Keys are hashes, so a bucket holds about
 * DIR_KEYS to 2 * DIR_KEYS keys, and where a key lies in its bucket's value
 * range says where it lies among the bucket's keys: a lookup reads the
 * directory and mostly one line of keys, where an interpolation search over
 * the whole run reads about 4 lines. Built once per run, never saved. */
#define DIR_KEYS 64

/* The directory's bits for a run of n keys (index.dir_bits) */
static int dir_bits_for(Py_ssize_t n)
{
    int b = 0;
    while (b < 30 && ((Py_ssize_t)DIR_KEYS << (b + 1)) <= n)
        b++;
    return b;
}

static inline int bit_length64(uint64_t x) { return x ? 64 - __builtin_clzll(x) : 0; }

/* One run: sorted unique keys (uint64 or uint32) and their paragraph ids
 * (3-byte little-endian offsets from base, or uint32); its directory if any. */
typedef struct {
    Py_buffer keys, pids, dir;
    Py_ssize_t n;
    uint32_t base;
    int dir_shift;        /* key >> dir_shift is its bucket (64: all in bucket 0) */
    uint64_t dir_buckets; /* 2**bits */
    double dir_scale;     /* 2**-dir_shift */
} RunView;

/* The runs of one table, for lookups one key at a time (FingerprintTable.find_many
 * takes a whole chunk's keys through numpy: too costly for a key). */
typedef struct {
    PyObject_HEAD
    int key_bytes;            /* 8 or 4 */
    Py_buffer filter;         /* KeyFilter's bitmap; len 0: none */
    int shift;
    Py_ssize_t n_runs, opened;
    RunView *runs;
    uint64_t gen; /* this RunSet's number (runset_gens): what a KeyTable's notes refer to */
} RunSetObject;

static uint64_t runset_gens = 0; /* RunSets made so far */

/* KeyFilter (index.filter_slots): a key's top bits (key >> shift >> 6) pick
 * a 64-bit word of the bitmap, its product with FILTER_MIX two bits in it;
 * the key may be in a run only if both are set. Two bits in one word read
 * one line, as one bit did, and at 4 to 8 bits per key let through 5% to
 * 16% of the keys in no run, where one bit let 12% to 22%. */
#define FILTER_MIX 0x9E3779B97F4A7C15ULL

static inline uint64_t filter_mask(uint64_t key)
{
    uint64_t h = key * FILTER_MIX;
    return (uint64_t)1 << (h >> 58) | (uint64_t)1 << ((h >> 52) & 63);
}

static inline const uint8_t *filter_word(const uint8_t *bitmap, int shift, uint64_t key)
{
    return bitmap + (((key >> shift) >> 6) << 3);
}

static inline int filter_has(const uint8_t *bitmap, int shift, uint64_t key)
{
    uint64_t m = filter_mask(key);
    return (rd64(filter_word(bitmap, shift, key)) & m) == m;
}

static void runset_dealloc(RunSetObject *self)
{
    for (Py_ssize_t i = 0; i < self->opened; i++) {
        PyBuffer_Release(&self->runs[i].keys);
        PyBuffer_Release(&self->runs[i].pids);
        if (self->runs[i].dir.obj != NULL)
            PyBuffer_Release(&self->runs[i].dir);
    }
    PyMem_Free(self->runs);
    if (self->filter.obj != NULL)
        PyBuffer_Release(&self->filter);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The key at position i of run v */
static inline uint64_t run_key(const RunView *v, int key_bytes, Py_ssize_t i)
{
    return key_bytes == 8 ? ((const uint64_t *)v->keys.buf)[i] : ((const uint32_t *)v->keys.buf)[i];
}

/* Opens run v's directory (a buffer of 2**dir_bits_for(n) + 1 native uint32
 * ending in n), or sets an exception. Its other entries are not checked here
 * (that would read it all on every RunSet): lookups clamp them to the run. */
static int run_dir_open(RunView *v, PyObject *dir, int key_bytes)
{
    if (PyObject_GetBuffer(dir, &v->dir, PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    int b = dir_bits_for(v->n);
    v->dir_buckets = (uint64_t)1 << b;
    if ((uint64_t)v->dir.len != 4 * (v->dir_buckets + 1)
        || ((const uint32_t *)v->dir.buf)[v->dir_buckets] != (uint64_t)v->n) {
        PyErr_SetString(PyExc_ValueError, "RunSet: a run's directory does not fit its keys");
        return -1;
    }
    int top = v->n ? bit_length64(run_key(v, key_bytes, v->n - 1)) : 0;
    v->dir_shift = top > b ? top - b : 0;
    v->dir_scale = ldexp(1.0, -v->dir_shift);
    return 0;
}

static PyObject *runset_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    int key_bytes, shift;
    PyObject *filter, *runs;
    if (!PyArg_ParseTuple(args, "iOiO!:RunSet", &key_bytes, &filter, &shift, &PyList_Type, &runs)
        || (kwds != NULL && PyDict_GET_SIZE(kwds))) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "RunSet takes no keyword arguments");
        return NULL;
    }
    if ((key_bytes != 8 && key_bytes != 4) || shift < 0 || shift >= 64) {
        PyErr_SetString(PyExc_ValueError, "RunSet: key_bytes must be 8 or 4, shift in 0..63");
        return NULL;
    }
    RunSetObject *self = (RunSetObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->key_bytes = key_bytes;
    self->shift = shift;
    self->gen = ++runset_gens;
    if (filter != Py_None && PyObject_GetBuffer(filter, &self->filter, PyBUF_C_CONTIGUOUS) < 0)
        goto fail;
    self->n_runs = PyList_GET_SIZE(runs);
    self->runs = PyMem_Calloc((size_t)self->n_runs + 1, sizeof(RunView));
    if (self->runs == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < self->n_runs; i++) {
        PyObject *run = PyList_GET_ITEM(runs, i);
        RunView *v = &self->runs[i];
        PyObject *keys, *pids, *dir = Py_None;
        unsigned long base;
        if (!PyArg_ParseTuple(run, "OOk|O:RunSet run", &keys, &pids, &base, &dir))
            goto fail;
        if (PyObject_GetBuffer(keys, &v->keys, PyBUF_C_CONTIGUOUS) < 0)
            goto fail;
        if (PyObject_GetBuffer(pids, &v->pids, PyBUF_C_CONTIGUOUS) < 0) {
            PyBuffer_Release(&v->keys);
            goto fail;
        }
        self->opened = i + 1;
        v->n = v->keys.len / key_bytes;
        v->base = (uint32_t)base;
        if (v->keys.len != v->n * key_bytes || (v->pids.len != 3 * v->n && v->pids.len != 4 * v->n)
            || base > 0xFFFFFFFFUL) {
            PyErr_SetString(PyExc_ValueError, "RunSet: a run's keys and ids do not match");
            goto fail;
        }
        if (dir != Py_None && run_dir_open(v, dir, key_bytes) < 0)
            goto fail;
    }
    /* the word of the highest key must lie in the bitmap */
    if (self->filter.obj != NULL
        && (uint64_t)self->filter.len * 8 <= (((UINT64_MAX >> shift) >> (64 - 8 * key_bytes)) | 63)) {
        PyErr_SetString(PyExc_ValueError, "RunSet: the filter is too small for the shift");
        goto fail;
    }
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

/* A search in progress in one run: the key may only be at [lo, hi]. */
typedef struct {
    Py_ssize_t lo, hi, m;
    int steps;
} Search;

/* Lookups interpolate: the keys are hashes, spread evenly, so the key's rank
 * is close to where its value lies between the ends of the range (about 4
 * probes in a run of 4M keys, where bisection takes 22). Past INTERP_STEPS
 * probes (keys far from uniform: tests, tiny runs) a probe bisects, so a
 * search never takes more than INTERP_STEPS + log2(n) probes. */
#define INTERP_STEPS 6
#define SCAN_SPAN 8 /* a range this short is scanned */

/* The next probe of a search for key among k (after checking that the key
 * lies within k[lo]..k[hi]); 0 when the search is over (*pos the key's
 * position or -1). Keys are unique and sorted. */
#define SEARCH_STEP(T)                                                                    \
    static inline int search_step_##T(const T *k, Search *q, T key, Py_ssize_t *pos)     \
    {                                                                                     \
        Py_ssize_t lo = q->lo, hi = q->hi;                                                \
        if (hi - lo <= SCAN_SPAN) {                                                       \
            *pos = -1;                                                                    \
            for (; lo <= hi && k[lo] <= key; lo++)                                        \
                if (k[lo] == key)                                                         \
                    *pos = lo;                                                            \
            return 0;                                                                     \
        }                                                                                 \
        T a = k[lo], b = k[hi];                                                           \
        if (key < a || key > b) {                                                         \
            *pos = -1;                                                                    \
            return 0;                                                                     \
        }                                                                                 \
        Py_ssize_t m;                                                                     \
        if (q->steps++ < INTERP_STEPS && b > a) {                                         \
            m = lo + (Py_ssize_t)((double)(key - a) / (double)(b - a) * (double)(hi - lo)); \
            m = m < lo ? lo : m > hi ? hi : m;                                            \
        } else                                                                            \
            m = lo + (hi - lo) / 2;                                                       \
        q->m = m;                                                                         \
        __builtin_prefetch(k + m);                                                        \
        return 1;                                                                         \
    }                                                                                     \
    /* after search_step: read the probe; 0 when found (*pos set) */                      \
    static inline int search_read_##T(const T *k, Search *q, T key, Py_ssize_t *pos)     \
    {                                                                                     \
        T v = k[q->m];                                                                    \
        if (v == key) {                                                                   \
            *pos = q->m;                                                                  \
            return 0;                                                                     \
        }                                                                                 \
        if (v < key)                                                                      \
            q->lo = q->m + 1;                                                             \
        else                                                                              \
            q->hi = q->m - 1;                                                             \
        return 1;                                                                         \
    }                                                                                     \
    /* From the probe k[m] of [lo, hi) (hi > m >= lo): a few steps toward key.            \
     * 0 when the search is over (*pos set), else 1 with the range left in q. */         \
    static inline int search_near_##T(const T *k, Py_ssize_t lo, Py_ssize_t m, Py_ssize_t hi, \
                                      T key, Search *q, Py_ssize_t *pos)                  \
    {                                                                                     \
        *pos = -1;                                                                        \
        if (k[m] < key) {                                                                 \
            Py_ssize_t stop = m + SCAN_SPAN < hi ? m + SCAN_SPAN : hi;                    \
            for (m++; m < stop && k[m] < key; m++)                                        \
                ;                                                                         \
            if (m < stop || m == hi) {                                                    \
                if (m < hi && k[m] == key)                                                \
                    *pos = m;                                                             \
                return 0;                                                                 \
            }                                                                             \
            q->lo = m, q->hi = hi - 1;                                                    \
        } else {                                                                          \
            Py_ssize_t stop = m - SCAN_SPAN > lo ? m - SCAN_SPAN : lo;                    \
            for (; m > stop && k[m] > key; m--)                                           \
                ;                                                                         \
            if (k[m] <= key || m == lo) {                                                 \
                if (k[m] == key)                                                          \
                    *pos = m;                                                             \
                return 0;                                                                 \
            }                                                                             \
            q->lo = lo, q->hi = m - 1;                                                    \
        }                                                                                 \
        q->steps = 0;                                                                     \
        return 1;                                                                         \
    }
SEARCH_STEP(uint64_t)
SEARCH_STEP(uint32_t)

/* The id at position pos of run v */
static inline int64_t run_pid(const RunView *v, Py_ssize_t pos)
{
    const uint8_t *p = v->pids.buf;
    if (v->pids.len == 4 * v->n)
        return (int64_t)rd32(p + 4 * pos);
    p += 3 * pos;
    return (int64_t)(v->base + ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16));
}

#define FIND_BATCH 32 /* keys searched side by side (their cache misses overlap) */

/* The searches q[0..n) in run v (each for key keys[todo[j]]) advance
 * together, a probe each per round, so the memory reads of one round
 * overlap (prefetched) instead of queueing. pos[j]: the key's position or -1. */
static void run_search(const RunView *v, int key_bytes, const uint64_t *keys, const Py_ssize_t *todo,
                       const int *which, int n, Search *q, Py_ssize_t *pos)
{
    int act[FIND_BATCH], n_act = n;
    for (int a = 0; a < n; a++)
        act[a] = which[a];
    while (n_act) {
        int live = 0;
        for (int a = 0; a < n_act; a++) {
            int j = act[a];
            uint64_t key = keys[todo[j]];
            int more = key_bytes == 8 ? search_step_uint64_t(v->keys.buf, &q[j], key, &pos[j])
                                      : search_step_uint32_t(v->keys.buf, &q[j], (uint32_t)key, &pos[j]);
            if (more)
                act[live++] = j;
        }
        n_act = 0;
        for (int a = 0; a < live; a++) {
            int j = act[a];
            uint64_t key = keys[todo[j]];
            int more = key_bytes == 8 ? search_read_uint64_t(v->keys.buf, &q[j], key, &pos[j])
                                      : search_read_uint32_t(v->keys.buf, &q[j], (uint32_t)key, &pos[j]);
            if (more)
                act[n_act++] = j;
        }
    }
}

/* The lookups of keys[todo[0..n)] in run v through its directory: the
 * directory entries of all the keys are fetched together, then the probes
 * their buckets point at, so the reads of each step overlap. */
static void run_dir_search(const RunView *v, int key_bytes, const uint64_t *keys, const Py_ssize_t *todo,
                           int n, Search *q, Py_ssize_t *pos)
{
    const uint32_t *dir = v->dir.buf;
    uint64_t bucket[FIND_BATCH];
    int act[FIND_BATCH], n_act = 0, slow[FIND_BATCH], n_slow = 0;
    for (int j = 0; j < n; j++) {
        uint64_t key = keys[todo[j]];
        bucket[j] = v->dir_shift >= 64 ? 0 : key >> v->dir_shift;
        pos[j] = -1;
        if (bucket[j] < v->dir_buckets) {
            __builtin_prefetch(dir + bucket[j]);
            act[n_act++] = j;
        }
    }
    int live = 0;
    for (int a = 0; a < n_act; a++) {
        int j = act[a];
        Py_ssize_t lo = dir[bucket[j]], hi = dir[bucket[j] + 1];
        hi = hi > v->n ? v->n : hi; /* a wrong directory misleads, never reads outside the run */
        if (lo >= hi)
            continue;
        uint64_t key = keys[todo[j]];
        uint64_t low = v->dir_shift >= 64 ? key : key & (((uint64_t)1 << v->dir_shift) - 1);
        Py_ssize_t m = lo + (Py_ssize_t)((double)low * v->dir_scale * (double)(hi - lo));
        q[j].lo = lo, q[j].hi = hi, q[j].m = m < hi ? m : hi - 1;
        __builtin_prefetch(key_bytes == 8 ? (const void *)((const uint64_t *)v->keys.buf + q[j].m)
                                          : (const void *)((const uint32_t *)v->keys.buf + q[j].m));
        /* its id too, read if found (mostly near the guess): the two reads overlap */
        __builtin_prefetch((const uint8_t *)v->pids.buf + (v->pids.len == 4 * v->n ? 4 : 3) * q[j].m);
        act[live++] = j;
    }
    for (int a = 0; a < live; a++) {
        int j = act[a];
        uint64_t key = keys[todo[j]];
        int more = key_bytes == 8
                       ? search_near_uint64_t(v->keys.buf, q[j].lo, q[j].m, q[j].hi, key, &q[j], &pos[j])
                       : search_near_uint32_t(v->keys.buf, q[j].lo, q[j].m, q[j].hi, (uint32_t)key, &q[j], &pos[j]);
        if (more) /* a crowded bucket (keys far from uniform) */
            slow[n_slow++] = j;
    }
    if (n_slow)
        run_search(v, key_bytes, keys, todo, slow, n_slow, q, pos);
}

/* out[i] = the paragraph id of keys[i], or -1, for n <= FIND_BATCH keys. The
 * keys the filter lets through are looked up run by run, oldest first, all of
 * them side by side in a run (their reads overlap); a key found leaves the
 * batch, so where runs share a key (they should not) the oldest run's id wins. */
static void runset_find_batch(const RunSetObject *s, const uint64_t *keys, Py_ssize_t n, int64_t *out)
{
    Py_ssize_t todo[FIND_BATCH];
    int n_todo = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        out[i] = -1;
        if (s->key_bytes == 4 && keys[i] > 0xFFFFFFFFULL)
            continue;
        if (s->filter.obj != NULL)
            __builtin_prefetch(filter_word(s->filter.buf, s->shift, keys[i]));
        todo[n_todo++] = i;
    }
    if (s->filter.obj != NULL) {
        int kept = 0;
        for (int j = 0; j < n_todo; j++)
            if (filter_has(s->filter.buf, s->shift, keys[todo[j]]))
                todo[kept++] = todo[j];
        n_todo = kept;
    }
    for (Py_ssize_t r = 0; r < s->n_runs && n_todo; r++) {
        const RunView *v = &s->runs[r];
        if (v->n == 0)
            continue;
        Search q[FIND_BATCH];
        Py_ssize_t pos[FIND_BATCH];
        if (v->dir.obj != NULL)
            run_dir_search(v, s->key_bytes, keys, todo, n_todo, q, pos);
        else {
            int all[FIND_BATCH];
            for (int j = 0; j < n_todo; j++) {
                all[j] = j;
                q[j].lo = 0, q[j].hi = v->n - 1, q[j].steps = 0;
            }
            run_search(v, s->key_bytes, keys, todo, all, n_todo, q, pos);
        }
        int kept = 0;
        for (int j = 0; j < n_todo; j++)
            if (pos[j] >= 0) /* its id is read after the other searches */
                __builtin_prefetch((const uint8_t *)v->pids.buf + (v->pids.len == 4 * v->n ? 4 : 3) * pos[j]);
        for (int j = 0; j < n_todo; j++) {
            if (pos[j] >= 0)
                out[todo[j]] = run_pid(v, pos[j]);
            else
                todo[kept++] = todo[j];
        }
        n_todo = kept;
    }
}

/* The paragraph id of key, or -1 */
static int64_t runset_find(const RunSetObject *s, uint64_t key)
{
    int64_t pid;
    runset_find_batch(s, &key, 1, &pid);
    return pid;
}

/* key as uint64; 0 with *ok = 0 when it is no such number (never in a run).
 * (PyLong_AsUnsignedLongLong goes through a byte array for 64-bit values:
 * the mask version, range checked first, is 3x faster.) */
static uint64_t runset_key(PyObject *key, int *ok)
{
    *ok = PyLong_Check(key) && _PyLong_Sign(key) >= 0 && _PyLong_NumBits(key) <= 64;
    return *ok ? PyLong_AsUnsignedLongLongMask(key) : 0;
}

static PyObject *runset_get(RunSetObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 1 && nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "RunSet.get takes 1 or 2 arguments");
        return NULL;
    }
    int ok;
    uint64_t k = runset_key(args[0], &ok);
    int64_t pid = ok ? runset_find(self, k) : -1;
    if (pid >= 0)
        return PyLong_FromLongLong(pid);
    return Py_NewRef(nargs == 2 ? args[1] : Py_None);
}

/* ---- KeyTable: FingerprintTable.recent ------------------------------------- */

/* Unsigned keys (4 or 8 bytes) -> paragraph ids (uint32), in insertion order:
 * laid out as CPython's dicts are, the entries (key, id) in the order put and
 * a hash index of open-addressed slots (linear probing) holding an entry's
 * position + 1 (0: empty). Iterating the entries gives a dict's order, so
 * spills and saved indexes stay as they were. An entry taken out at the end
 * (check_lines' undo) is dropped; one taken out elsewhere is marked dead until
 * the next resize compacts the entries. A freed slot is filled by shifting its
 * cluster back (no tombstones). No PyObject per entry: 12 or 8 bytes of entry
 * plus 4 bytes per slot, slots at most 2/3 full. A slot's low bits hold the
 * position (slots - 1 fits it), its high bits more bits of the key's hash (the
 * tag): a probe passing another key's slot reads that key only when the tags
 * agree (the keys are a cache miss away in a large table). */
typedef struct {
    PyObject_HEAD
    int key_bytes;     /* 8: uint64 keys, 4: uint32 */
    int shift;         /* 64 - log2(slots): a key's home slot is its mixed hash's top bits */
    size_t mask;       /* slots - 1 */
    Py_ssize_t n;      /* entries, dead ones included */
    Py_ssize_t used;   /* live entries */
    Py_ssize_t usable; /* room for entries: 2/3 of the slots */
    void *keys;        /* uint64_t or uint32_t [usable] */
    uint32_t *pids;    /* [usable] */
    uint8_t *dead;     /* [usable], NULL while no entry is dead */
    uint32_t *slots;   /* [mask + 1] */
    uint64_t seen_gen; /* the RunSet (its gen) the notes below refer to; 0: none */
    uint8_t *seen;     /* [usable]: per entry, whether its key is in that RunSet's runs (SEEN_*); NULL: unknown */
    uint64_t resizes;  /* kt_resize calls (entries move) */
} KeyTableObject;

/* KeyTable.seen: a key put after a lookup in the runs of its table notes
 * what the lookup found, so that a spill need not look it up again */
#define SEEN_UNKNOWN 0
#define SEEN_NO 1
#define SEEN_YES 2

static PyTypeObject KeyTableType;

#define KT_MIN_SLOTS 8

static inline uint64_t kt_key(const KeyTableObject *t, Py_ssize_t i)
{
    return t->key_bytes == 8 ? ((const uint64_t *)t->keys)[i] : ((const uint32_t *)t->keys)[i];
}

/* Keys are hash bits already, but tests and odd inputs give runs of small
 * numbers: fold the high half in, then Fibonacci hashing (top bits of the product). */
static inline uint64_t kt_mix(uint64_t k)
{
    k ^= k >> 32;
    return k * 0x9E3779B97F4A7C15ULL;
}

static inline size_t kt_home(const KeyTableObject *t, uint64_t k)
{
    return (size_t)(kt_mix(k) >> t->shift);
}

/* k's tag: the bits of its mixed hash below those kt_home takes, in the slot
 * bits above the position's (none when the table has 2**32 slots) */
static inline uint32_t kt_tag(const KeyTableObject *t, uint64_t k)
{
    return (uint32_t)((kt_mix(k) << (64 - t->shift)) >> 32) & ~(uint32_t)t->mask;
}

/* the entry a slot holds (-1: the slot is empty) */
static inline Py_ssize_t kt_at(const KeyTableObject *t, uint32_t e)
{
    return (Py_ssize_t)(e & (uint32_t)t->mask) - 1;
}

/* The slot holding key k (*at its entry), or the empty slot ending its cluster (*at = -1) */
static inline size_t kt_slot(const KeyTableObject *t, uint64_t k, Py_ssize_t *at)
{
    uint64_t h = kt_mix(k);
    size_t s = (size_t)(h >> t->shift);
    uint32_t pos = (uint32_t)t->mask, tag = (uint32_t)((h << (64 - t->shift)) >> 32) & ~pos;
    for (;;) {
        uint32_t e = t->slots[s];
        if (e == 0 || ((e & ~pos) == tag && kt_key(t, (e & pos) - 1) == k)) {
            *at = (Py_ssize_t)(e & pos) - 1;
            return s;
        }
        s = (s + 1) & t->mask;
    }
}

/* 1 and *pid when k is in the table, else 0 (k must fit key_bytes) */
static inline int kt_get(const KeyTableObject *t, uint64_t k, uint32_t *pid)
{
    Py_ssize_t at;
    kt_slot(t, k, &at);
    if (at < 0)
        return 0;
    *pid = t->pids[at];
    return 1;
}

/* Room for need entries (at least): the entries compacted (dead ones
 * dropped) into new arrays, the slots rebuilt. 0, or -1 with MemoryError. */
static int kt_resize(KeyTableObject *t, Py_ssize_t need)
{
    size_t size = KT_MIN_SLOTS;
    int bits = 3;
    if ((uint64_t)need >= 0xFFFFFFFFULL) { /* past 32-bit positions (and size would wrap below) */
        PyErr_NoMemory();
        return -1;
    }
    while ((Py_ssize_t)(size / 3 * 2) < need) {
        size *= 2;
        bits++;
    }
    Py_ssize_t usable = (Py_ssize_t)(size / 3 * 2);
    if ((uint64_t)usable >= 0xFFFFFFFFULL) { /* slots hold positions + 1 in 32 bits */
        PyErr_NoMemory();
        return -1;
    }
    uint32_t *slots = PyMem_Calloc(size, sizeof(uint32_t));
    void *keys = PyMem_Malloc((size_t)usable * (size_t)t->key_bytes);
    uint32_t *pids = PyMem_Malloc((size_t)usable * sizeof(uint32_t));
    uint8_t *seen = t->seen != NULL ? PyMem_Malloc((size_t)usable) : NULL;
    if (slots == NULL || keys == NULL || pids == NULL || (t->seen != NULL && seen == NULL)) {
        PyMem_Free(slots);
        PyMem_Free(keys);
        PyMem_Free(pids);
        PyMem_Free(seen);
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t m = 0;
    for (Py_ssize_t i = 0; i < t->n; i++) {
        if (t->dead != NULL && t->dead[i])
            continue;
        if (t->key_bytes == 8)
            ((uint64_t *)keys)[m] = ((const uint64_t *)t->keys)[i];
        else
            ((uint32_t *)keys)[m] = ((const uint32_t *)t->keys)[i];
        if (seen != NULL)
            seen[m] = t->seen[i];
        pids[m++] = t->pids[i];
    }
    PyMem_Free(t->slots);
    PyMem_Free(t->keys);
    PyMem_Free(t->pids);
    PyMem_Free(t->dead);
    PyMem_Free(t->seen);
    t->slots = slots;
    t->keys = keys;
    t->pids = pids;
    t->seen = seen;
    t->resizes++;
    t->dead = NULL;
    t->n = t->used = m;
    t->usable = usable;
    t->mask = size - 1;
    t->shift = 64 - bits;
    for (Py_ssize_t i = 0; i < m; i++) {
        uint64_t k = kt_key(t, i);
        size_t s = kt_home(t, k);
        while (slots[s] != 0)
            s = (s + 1) & t->mask;
        slots[s] = ((uint32_t)i + 1) | kt_tag(t, k);
    }
    return 0;
}

/* setdefault(k, pid): 1 when put (at the end), 0 when k was there already
 * (*old its id), -1 with MemoryError. k must fit key_bytes. */
static inline int kt_put(KeyTableObject *t, uint64_t k, uint32_t pid, uint32_t *old)
{
    Py_ssize_t at;
    size_t s = kt_slot(t, k, &at);
    if (at >= 0) {
        *old = t->pids[at];
        return 0;
    }
    if (t->n == t->usable) {
        /* room for twice the live entries: doubles when none are dead, compacts when many are */
        if (kt_resize(t, 2 * t->used) < 0)
            return -1;
        s = kt_slot(t, k, &at);
    }
    Py_ssize_t i = t->n++;
    if (t->key_bytes == 8)
        ((uint64_t *)t->keys)[i] = k;
    else
        ((uint32_t *)t->keys)[i] = (uint32_t)k;
    t->pids[i] = pid;
    if (t->dead != NULL)
        t->dead[i] = 0;
    if (t->seen != NULL)
        t->seen[i] = SEEN_UNKNOWN;
    t->slots[s] = ((uint32_t)i + 1) | kt_tag(t, k);
    t->used++;
    return 1;
}

/* del t[k]: 1 when taken out, 0 when not there, -1 with MemoryError (nothing changed) */
static int kt_del(KeyTableObject *t, uint64_t k)
{
    Py_ssize_t at;
    size_t i = kt_slot(t, k, &at);
    if (at < 0)
        return 0;
    if (at != t->n - 1 && t->dead == NULL && (t->dead = PyMem_Calloc((size_t)t->usable, 1)) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    /* backward shift: a later slot of the cluster moves into the hole unless
     * its home lies after the hole (cyclically), where it must stay findable */
    for (size_t j = i;;) {
        j = (j + 1) & t->mask;
        uint32_t e = t->slots[j];
        if (e == 0)
            break;
        size_t home = kt_home(t, kt_key(t, kt_at(t, e)));
        if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
            t->slots[i] = e;
            i = j;
        }
    }
    t->slots[i] = 0;
    t->used--;
    if (at == t->n - 1) {
        t->n--;
        while (t->n > 0 && t->dead != NULL && t->dead[t->n - 1])
            t->dead[--t->n] = 0;
    } else
        t->dead[at] = 1;
    return 1;
}

static inline int kt_live(const KeyTableObject *t, Py_ssize_t i)
{
    return t->dead == NULL || !t->dead[i];
}

/* ---- KeyTable as a set (keyset_*, declared above) ---- */

/* 1 when o is a KeyTable of uint64 keys, else 0 */
static int keyset_check(PyObject *o)
{
    return PyObject_TypeCheck(o, &KeyTableType) && ((KeyTableObject *)o)->key_bytes == 8;
}

/* key put (id 0) unless there or the set holds max keys: 0, or -1 with MemoryError */
static int keyset_add(PyObject *set, uint64_t key, Py_ssize_t max)
{
    KeyTableObject *t = (KeyTableObject *)set;
    uint32_t old;
    return t->used < max && kt_put(t, key, 0, &old) < 0 ? -1 : 0;
}

static Py_ssize_t keyset_len(PyObject *set)
{
    return ((KeyTableObject *)set)->used;
}

/* the keys in insertion order into out (room for keyset_len) */
static void keyset_copy(PyObject *set, uint64_t *out)
{
    const KeyTableObject *t = (const KeyTableObject *)set;
    for (Py_ssize_t i = 0, j = 0; i < t->n; i++)
        if (kt_live(t, i))
            out[j++] = kt_key(t, i);
}

/* Whether t may note (in t->seen) what lookups in runs tell of its keys:
 * notes are about one RunSet (seen_gen), those about another one are
 * forgotten first. No notes without runs (a spill looks nothing up) or
 * without memory for them (they only spare lookups). */
static int kt_noting(KeyTableObject *t, const RunSetObject *runs)
{
    if (runs->n_runs == 0)
        return 0;
    if (t->seen_gen != runs->gen) {
        if (t->seen == NULL && (t->seen = PyMem_Malloc((size_t)t->usable)) == NULL)
            return 0;
        memset(t->seen, SEEN_UNKNOWN, (size_t)t->usable);
        t->seen_gen = runs->gen;
    }
    return 1;
}

/* key as a key of t: 1 and *k; 0 when it is no int in [0, 2**(8*key_bytes)) (never in t); -1 on error */
static int kt_key_of(const KeyTableObject *t, PyObject *key, uint64_t *k)
{
    int ok;
    if (PyLong_Check(key))
        *k = runset_key(key, &ok);
    else if (PyIndex_Check(key)) { /* numpy integers */
        PyObject *i = PyNumber_Index(key);
        if (i == NULL)
            return -1;
        *k = runset_key(i, &ok);
        Py_DECREF(i);
    } else
        return 0;
    return ok && (t->key_bytes == 8 || *k <= 0xFFFFFFFFULL);
}

/* kt_key_of for a key to put: 0, or -1 with TypeError or OverflowError */
static int kt_key_in(const KeyTableObject *t, PyObject *key, uint64_t *k)
{
    int r = kt_key_of(t, key, k);
    if (r == 0)
        PyErr_Format(PyIndex_Check(key) ? PyExc_OverflowError : PyExc_TypeError,
                     "KeyTable keys are ints in [0, 2**%d)", 8 * t->key_bytes);
    return r > 0 ? 0 : -1;
}

/* A paragraph id: 0 and *pid, or -1 with TypeError or OverflowError */
static int kt_pid_of(PyObject *v, uint32_t *pid)
{
    PyObject *i = PyNumber_Index(v);
    if (i == NULL)
        return -1;
    unsigned long p = PyLong_AsUnsignedLong(i);
    Py_DECREF(i);
    if (p == (unsigned long)-1 && PyErr_Occurred())
        return -1;
    if (p > 0xFFFFFFFFUL) {
        PyErr_SetString(PyExc_OverflowError, "KeyTable ids are ints in [0, 2**32)");
        return -1;
    }
    *pid = (uint32_t)p;
    return 0;
}

static void keytable_dealloc(KeyTableObject *self)
{
    PyMem_Free(self->slots);
    PyMem_Free(self->keys);
    PyMem_Free(self->pids);
    PyMem_Free(self->dead);
    PyMem_Free(self->seen);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *keytable_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    int key_bytes;
    Py_ssize_t size = 0;
    if (kwds != NULL && PyDict_GET_SIZE(kwds) > 0) {
        PyErr_SetString(PyExc_TypeError, "KeyTable takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "i|n:KeyTable", &key_bytes, &size))
        return NULL;
    if ((key_bytes != 8 && key_bytes != 4) || size < 0) {
        PyErr_SetString(PyExc_ValueError, "KeyTable: key_bytes must be 8 or 4, size at least 0");
        return NULL;
    }
    KeyTableObject *self = (KeyTableObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->key_bytes = key_bytes;
    if (kt_resize(self, size) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static Py_ssize_t keytable_len(KeyTableObject *self)
{
    return self->used;
}

static int keytable_contains(KeyTableObject *self, PyObject *key)
{
    uint64_t k;
    uint32_t pid;
    int r = kt_key_of(self, key, &k);
    return r <= 0 ? r : kt_get(self, k, &pid);
}

static PyObject *keytable_subscript(KeyTableObject *self, PyObject *key)
{
    uint64_t k;
    uint32_t pid;
    int r = kt_key_of(self, key, &k);
    if (r < 0)
        return NULL;
    if (r == 0 || !kt_get(self, k, &pid)) {
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    return PyLong_FromUnsignedLong(pid);
}

static int keytable_ass_subscript(KeyTableObject *self, PyObject *key, PyObject *value)
{
    uint64_t k;
    if (value == NULL) {
        int r = kt_key_of(self, key, &k);
        if (r > 0)
            r = kt_del(self, k);
        if (r == 0)
            PyErr_SetObject(PyExc_KeyError, key);
        return r > 0 ? 0 : -1;
    }
    uint32_t pid, old;
    if (kt_key_in(self, key, &k) < 0 || kt_pid_of(value, &pid) < 0)
        return -1;
    Py_ssize_t at;
    kt_slot(self, k, &at);
    if (at >= 0) { /* a dict keeps a key's place when its value changes */
        self->pids[at] = pid;
        return 0;
    }
    return kt_put(self, k, pid, &old) < 0 ? -1 : 0;
}

static PyObject *keytable_get(KeyTableObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 1 && nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "KeyTable.get takes 1 or 2 arguments");
        return NULL;
    }
    uint64_t k;
    uint32_t pid;
    int r = kt_key_of(self, args[0], &k);
    if (r < 0)
        return NULL;
    if (r > 0 && kt_get(self, k, &pid))
        return PyLong_FromUnsignedLong(pid);
    return Py_NewRef(nargs == 2 ? args[1] : Py_None);
}

static PyObject *keytable_setdefault(KeyTableObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!nargs_ok("KeyTable.setdefault", nargs, 2))
        return NULL;
    uint64_t k;
    uint32_t pid;
    if (kt_key_in(self, args[0], &k) < 0 || kt_pid_of(args[1], &pid) < 0)
        return NULL;
    int r = kt_put(self, k, pid, &pid);
    return r < 0 ? NULL : PyLong_FromUnsignedLong(pid);
}

static PyObject *keytable_add_many(KeyTableObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!nargs_ok("KeyTable.add_many", nargs, 3))
        return NULL;
    uint32_t pid, old;
    if (!PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "KeyTable.add_many: keys must be a list");
        return NULL;
    }
    if (kt_pid_of(args[1], &pid) < 0)
        return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(args[0]); i++) {
        /* a reference of our own: the compare may run code that changes the list */
        PyObject *key = Py_NewRef(PyList_GET_ITEM(args[0], i));
        int below = PyObject_RichCompareBool(key, args[2], Py_LT);
        uint64_t k;
        int err = below < 0 || (below && (kt_key_in(self, key, &k) < 0 || kt_put(self, k, pid, &old) < 0));
        Py_DECREF(key);
        if (err)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *keytable_isdisjoint(KeyTableObject *self, PyObject *keys)
{
    PyObject *it = PyObject_GetIter(keys), *key;
    if (it == NULL)
        return NULL;
    while ((key = PyIter_Next(it)) != NULL) {
        int r = keytable_contains(self, key);
        Py_DECREF(key);
        if (r != 0) {
            Py_DECREF(it);
            return r < 0 ? NULL : Py_NewRef(Py_False);
        }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? NULL : Py_NewRef(Py_True);
}

/* The live entries in order: keys (what 0), ids (1) or (key, id) pairs (2),
 * as a list. Copied out first: allocating the list or a pair may run the
 * garbage collector, whose callbacks (Python code) may change t. */
static PyObject *kt_list(const KeyTableObject *t, int what)
{
    Py_ssize_t n = t->used;
    uint64_t *keys = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(uint64_t));
    uint32_t *pids = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(uint32_t));
    PyObject *out = NULL;
    if (keys == NULL || pids == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0, j = 0; i < t->n; i++)
        if (kt_live(t, i)) {
            keys[j] = kt_key(t, i);
            pids[j++] = t->pids[i];
        }
    out = PyList_New(n);
    for (Py_ssize_t j = 0; out != NULL && j < n; j++) {
        PyObject *o;
        if (what == 0)
            o = PyLong_FromUnsignedLongLong(keys[j]);
        else if (what == 1)
            o = PyLong_FromUnsignedLong(pids[j]);
        else
            o = Py_BuildValue("(KI)", (unsigned long long)keys[j], (unsigned int)pids[j]);
        if (o == NULL)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, j, o);
    }
done:
    PyMem_Free(keys);
    PyMem_Free(pids);
    return out;
}

static PyObject *keytable_keys(KeyTableObject *self, PyObject *unused)
{
    (void)unused;
    return kt_list(self, 0);
}

static PyObject *keytable_values(KeyTableObject *self, PyObject *unused)
{
    (void)unused;
    return kt_list(self, 1);
}

static PyObject *keytable_items(KeyTableObject *self, PyObject *unused)
{
    (void)unused;
    return kt_list(self, 2);
}

static PyObject *keytable_iter(KeyTableObject *self)
{
    PyObject *keys = kt_list(self, 0);
    if (keys == NULL)
        return NULL;
    PyObject *it = PyObject_GetIter(keys);
    Py_DECREF(keys);
    return it;
}

/* Empty, keeping the arrays: a spill's next table fills to about the same
 * size, and fresh arrays of a few MB would page-fault all over again */
static PyObject *keytable_clear(KeyTableObject *self, PyObject *unused)
{
    (void)unused;
    memset(self->slots, 0, (self->mask + 1) * sizeof(uint32_t));
    PyMem_Free(self->dead);
    self->dead = NULL;
    self->seen_gen = 0; /* the notes (seen) are of entries gone */
    self->n = self->used = 0;
    Py_RETURN_NONE;
}

static PyObject *keytable_memory(KeyTableObject *self, PyObject *unused)
{
    (void)unused;
    size_t bytes = (self->mask + 1) * sizeof(uint32_t) + (size_t)self->usable * ((size_t)self->key_bytes + 4)
                   + (self->dead != NULL ? (size_t)self->usable : 0) + (self->seen != NULL ? (size_t)self->usable : 0);
    return PyLong_FromSize_t(bytes);
}

static PyObject *kt_dict(const KeyTableObject *t)
{
    PyObject *d = PyDict_New();
    for (Py_ssize_t i = 0; d != NULL && i < t->n; i++) {
        if (!kt_live(t, i))
            continue;
        PyObject *k = PyLong_FromUnsignedLongLong(kt_key(t, i)), *v = PyLong_FromUnsignedLong(t->pids[i]);
        if (k == NULL || v == NULL || PyDict_SetItem(d, k, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    return d;
}

/* == and != as between dicts (the same items, whatever their order), with a KeyTable or a dict */
static PyObject *keytable_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || !PyObject_TypeCheck(a, &KeyTableType)
        || !(PyObject_TypeCheck(b, &KeyTableType) || PyDict_Check(b)))
        Py_RETURN_NOTIMPLEMENTED;
    PyObject *da = kt_dict((KeyTableObject *)a);
    PyObject *db = PyDict_Check(b) ? Py_NewRef(b) : kt_dict((KeyTableObject *)b);
    PyObject *r = da == NULL || db == NULL ? NULL : PyObject_RichCompare(da, db, op);
    Py_XDECREF(da);
    Py_XDECREF(db);
    return r;
}

static PyObject *keytable_repr(KeyTableObject *self)
{
    PyObject *d = kt_dict(self);
    if (d == NULL)
        return NULL;
    PyObject *r = PyUnicode_FromFormat("KeyTable(%d, %R)", self->key_bytes, d);
    Py_DECREF(d);
    return r;
}

static PyObject *keytable_key_bytes(KeyTableObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromLong(self->key_bytes);
}

static PyGetSetDef keytable_getset[] = {
    {"key_bytes", (getter)keytable_key_bytes, NULL, "8 (uint64 keys) or 4 (uint32).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef keytable_methods[] = {
    {"get", (PyCFunction)(void (*)(void))keytable_get, METH_FASTCALL,
     "get(key, default=None, /)\n--\n\nThe id of key, else default."},
    {"setdefault", (PyCFunction)(void (*)(void))keytable_setdefault, METH_FASTCALL,
     "setdefault(key, pid, /)\n--\n\nPut key -> pid unless key is there; the id key now has."},
    {"add_many", (PyCFunction)(void (*)(void))keytable_add_many, METH_FASTCALL,
     "add_many(keys, pid, limit, /)\n--\n\nsetdefault(key, pid) for each key of the list below limit, in order."},
    {"isdisjoint", (PyCFunction)keytable_isdisjoint, METH_O,
     "isdisjoint(keys, /)\n--\n\nWhether no key of the iterable is here."},
    {"keys", (PyCFunction)keytable_keys, METH_NOARGS, "keys()\n--\n\nThe keys in insertion order (a list)."},
    {"values", (PyCFunction)keytable_values, METH_NOARGS, "values()\n--\n\nThe ids in insertion order (a list)."},
    {"items", (PyCFunction)keytable_items, METH_NOARGS,
     "items()\n--\n\nThe (key, id) pairs in insertion order (a list)."},
    {"memory", (PyCFunction)keytable_memory, METH_NOARGS, "memory()\n--\n\nThe bytes allocated for the table."},
    {"clear", (PyCFunction)keytable_clear, METH_NOARGS, "clear()\n--\n\nNo entries; the room for them is kept."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods keytable_as_sequence = {
    .sq_contains = (objobjproc)keytable_contains,
};

static PyMappingMethods keytable_as_mapping = {
    .mp_length = (lenfunc)keytable_len,
    .mp_subscript = (binaryfunc)keytable_subscript,
    .mp_ass_subscript = (objobjargproc)keytable_ass_subscript,
};

static PyTypeObject KeyTableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cleaner._speedups.KeyTable",
    .tp_basicsize = sizeof(KeyTableObject),
    .tp_dealloc = (destructor)keytable_dealloc,
    .tp_repr = (reprfunc)keytable_repr,
    .tp_as_sequence = &keytable_as_sequence,
    .tp_as_mapping = &keytable_as_mapping,
    .tp_hash = PyObject_HashNotImplemented,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "KeyTable(key_bytes, size=0, /)\n--\n\n"
              "FingerprintTable.recent without a Python object per entry: unsigned keys of\n"
              "key_bytes (8 or 4) -> ids (uint32), iterated in insertion order as a dict;\n"
              "room for size entries before it grows.",
    .tp_richcompare = keytable_richcompare,
    .tp_iter = (getiterfunc)keytable_iter,
    .tp_methods = keytable_methods,
    .tp_getset = keytable_getset,
    .tp_new = keytable_new,
};

/* Whether key may be in a run: 0 when the filter says it is not */
static inline int runset_may_hold(const RunSetObject *s, uint64_t key)
{
    if (s->key_bytes == 4 && key > 0xFFFFFFFFULL)
        return 0;
    if (s->filter.obj == NULL)
        return s->n_runs > 0;
    return filter_has(s->filter.buf, s->shift, key);
}

/* Appends to out the owners of keys (a list) found: recent (a KeyTable, or
 * NULL: none) first, then the runs, FIND_BATCH keys of the runs searched at
 * once. 0, or -1 with an exception; or 1, out untouched and the runs not
 * searched, when fewer than need keys (at most FIND_BATCH of them) can have an
 * owner: in recent or passing the runs' filter (probe needs a few owners or none). */
static int owners_into(PyObject *keys, const KeyTableObject *recent, const RunSetObject *runs, PyObject *out,
                       double need)
{
    Py_ssize_t n = PyList_GET_SIZE(keys);
    for (Py_ssize_t from = 0; from < n; from += FIND_BATCH) {
        Py_ssize_t to = n - from < FIND_BATCH ? n : from + FIND_BATCH, n_ask = 0;
        int64_t got[FIND_BATCH]; /* the owner in recent, or -1 */
        uint64_t ask[FIND_BATCH];
        Py_ssize_t asked_for[FIND_BATCH];
        int64_t found[FIND_BATCH];
        for (Py_ssize_t i = from; i < to; i++) {
            int ok;
            uint64_t k = runset_key(PyList_GET_ITEM(keys, i), &ok);
            uint32_t pid;
            got[i - from] = -1;
            if (!ok)
                continue;
            if (recent != NULL && (recent->key_bytes == 8 || k <= 0xFFFFFFFFULL) && kt_get(recent, k, &pid)) {
                got[i - from] = pid;
                continue;
            }
            asked_for[n_ask] = i - from;
            ask[n_ask++] = k;
            if (runs->filter.obj != NULL && (runs->key_bytes == 8 || k <= 0xFFFFFFFFULL))
                __builtin_prefetch(filter_word(runs->filter.buf, runs->shift, k));
        }
        if (need > 0 && n <= FIND_BATCH) {
            Py_ssize_t can = 0;
            for (Py_ssize_t i = 0; i < n; i++)
                can += got[i] >= 0;
            for (Py_ssize_t a = 0; a < n_ask; a++)
                can += runset_may_hold(runs, ask[a]);
            if ((double)can < need)
                return 1;
        }
        runset_find_batch(runs, ask, n_ask, found);
        for (Py_ssize_t a = 0, i = 0; i < to - from; i++) {
            int64_t f = got[i];
            if (f < 0 && a < n_ask && asked_for[a] == i)
                f = found[a++];
            if (f < 0)
                continue;
            PyObject *o = PyLong_FromLongLong(f);
            int err = o == NULL || PyList_Append(out, o) < 0;
            Py_XDECREF(o);
            if (err)
                return -1;
        }
    }
    return 0;
}

/* recent as a KeyTable (NULL for None); 0, or -1 with a TypeError naming who */
static int kt_arg(PyObject *recent, int none_ok, KeyTableObject **t, const char *who)
{
    if (none_ok && recent == Py_None) {
        *t = NULL;
        return 0;
    }
    if (!PyObject_TypeCheck(recent, &KeyTableType)) {
        PyErr_Format(PyExc_TypeError, "%s: recent must be a KeyTable", who);
        return -1;
    }
    *t = (KeyTableObject *)recent;
    return 0;
}

static PyObject *runset_owners(RunSetObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!nargs_ok("RunSet.owners", nargs, 2))
        return NULL;
    PyObject *keys = args[0];
    KeyTableObject *recent;
    if (!PyList_Check(keys)) {
        PyErr_SetString(PyExc_TypeError, "RunSet.owners: keys must be a list");
        return NULL;
    }
    if (kt_arg(args[1], 1, &recent, "RunSet.owners") < 0)
        return NULL;
    PyObject *out = PyList_New(0);
    if (out == NULL || owners_into(keys, recent, self, out, 0.0) < 0) {
        Py_XDECREF(out);
        return NULL;
    }
    return out;
}

PyDoc_STRVAR(runset_member_doc,
"member(keys, /)\n--\n\n"
"For each key of a buffer of native keys (key_bytes each): 1 if it is in a\n"
"run, else 0 (bytes).");

static PyObject *runset_member(RunSetObject *self, PyObject *arg)
{
    Py_buffer kb;
    if (PyObject_GetBuffer(arg, &kb, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    Py_ssize_t n = kb.len / self->key_bytes;
    PyObject *out = NULL;
    if (kb.len != n * self->key_bytes) {
        PyErr_SetString(PyExc_ValueError, "RunSet.member: the keys' size is not a multiple of key_bytes");
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, n);
    if (out == NULL)
        goto done;
    uint8_t *mask = (uint8_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t from = 0; from < n; from += FIND_BATCH) {
        Py_ssize_t m = n - from < FIND_BATCH ? n - from : FIND_BATCH;
        uint64_t keys[FIND_BATCH];
        int64_t found[FIND_BATCH];
        for (Py_ssize_t i = 0; i < m; i++) {
            if (self->key_bytes == 8)
                memcpy(&keys[i], (const uint8_t *)kb.buf + 8 * (from + i), 8);
            else {
                uint32_t k32;
                memcpy(&k32, (const uint8_t *)kb.buf + 4 * (from + i), 4);
                keys[i] = k32;
            }
        }
        runset_find_batch(self, keys, m, found);
        for (Py_ssize_t i = 0; i < m; i++)
            mask[from + i] = found[i] >= 0;
    }
done:
    PyBuffer_Release(&kb);
    return out;
}

static PyMethodDef runset_methods[] = {
    {"get", (PyCFunction)(void (*)(void))runset_get, METH_FASTCALL,
     "get(key, default=None, /)\n--\n\nThe paragraph id of key in the runs, else default."},
    {"owners", (PyCFunction)(void (*)(void))runset_owners, METH_FASTCALL,
     "owners(keys, recent, /)\n--\n\n"
     "[recent.get(k, self.get(k)) for k in keys], without the Nones (recent: a KeyTable or None)."},
    {"member", (PyCFunction)runset_member, METH_O, runset_member_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RunSetType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cleaner._speedups.RunSet",
    .tp_basicsize = sizeof(RunSetObject),
    .tp_dealloc = (destructor)runset_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "RunSet(key_bytes, filter, shift, runs, /)\n--\n\n"
              "Lookups in an index table's sorted runs, oldest first: runs is a list of\n"
              "(keys, pids, base) or (keys, pids, base, directory) (index.run_directory or\n"
              "None), filter a KeyFilter's bitmap (bits index.filter_slots(key, shift)) or None.",
    .tp_methods = runset_methods,
    .tp_new = runset_new,
};

/* Matcher._may_reach on the owners found for a sketch of n values, given as
 * ids (own[0..found)): 1 when found - distinct + 1 >= threshold * n - 1 (and
 * something was found), else 0. */
static int may_reach_ids(const int64_t *own, Py_ssize_t found, Py_ssize_t n, double threshold)
{
    Py_ssize_t distinct = 0;
    for (Py_ssize_t i = 0; i < found; i++) {
        Py_ssize_t j = 0;
        while (j < i && own[j] != own[i])
            j++;
        distinct += j == i;
    }
    return found > 0 && (double)(found - distinct + 1) >= threshold * (double)n - 1;
}

/* may_reach_ids on the owners as a list of ids (probe's); -1 with an exception */
static int may_reach(PyObject *owners, Py_ssize_t n, double threshold)
{
    Py_ssize_t found = PyList_GET_SIZE(owners);
    int64_t small[64], *own = found <= 64 ? small : PyMem_Malloc((size_t)found * sizeof(int64_t));
    if (own == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int r = 0;
    for (Py_ssize_t i = 0; i < found && r == 0; i++) {
        own[i] = PyLong_AsLongLong(PyList_GET_ITEM(owners, i));
        if (own[i] == -1 && PyErr_Occurred())
            r = -1;
    }
    if (r == 0)
        r = may_reach_ids(own, found, n, threshold);
    if (own != small)
        PyMem_Free(own);
    return r;
}

PyDoc_STRVAR(probe_doc,
"probe(key, sketch, threshold, pid, exact_recent, exact_runs, near_recent, near_runs, /)\n--\n\n"
"Matcher.check's common path against this run's index (no loaded index, no\n"
"sampling): the id owning the exact key if any; else the ids owning the\n"
"sketch's values when one earlier paragraph may own enough of them\n"
"(Matcher._may_reach); else None, after indexing key and sketch under pid\n"
"(exact_recent and near_recent: KeyTables).");

static PyObject *probe(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!nargs_ok("probe", nargs, 8))
        return NULL;
    PyObject *key = args[0], *sk = args[1];
    double threshold = PyFloat_AsDouble(args[2]);
    if (threshold == -1.0 && PyErr_Occurred())
        return NULL;
    KeyTableObject *exact, *near;
    if (!PyList_Check(sk) || !PyLong_Check(args[3]) || !PyObject_TypeCheck(args[5], &RunSetType)
        || !PyObject_TypeCheck(args[7], &RunSetType)) {
        PyErr_SetString(PyExc_TypeError, "probe: bad argument types");
        return NULL;
    }
    if (kt_arg(args[4], 0, &exact, "probe") < 0 || kt_arg(args[6], 0, &near, "probe") < 0)
        return NULL;
    const RunSetObject *exact_runs = (RunSetObject *)args[5], *near_runs = (RunSetObject *)args[7];
    uint64_t k;
    uint32_t pid, got;
    if (kt_key_in(exact, key, &k) < 0 || kt_pid_of(args[3], &pid) < 0)
        return NULL;
    if (kt_get(exact, k, &got))
        return PyLong_FromUnsignedLong(got); /* the exact copy's id */
    int64_t id = runset_find(exact_runs, k);
    if (id >= 0)
        return PyLong_FromLongLong(id);
    Py_ssize_t n = PyList_GET_SIZE(sk);
    if (n > 0) {
        PyObject *owners = PyList_New(0);
        /* _may_reach below needs found - distinct + 1, at most found, to reach
         * threshold * n - 1: with fewer keys that can be found, no search */
        int r = owners == NULL ? -1 : owners_into(sk, near, near_runs, owners, threshold * (double)n - 1);
        if (r < 0) {
            Py_XDECREF(owners);
            return NULL;
        }
        int reach = may_reach(owners, n, threshold);
        if (reach != 0) {
            if (reach < 0)
                Py_CLEAR(owners);
            return owners;
        }
        Py_DECREF(owners);
    }
    /* new: FingerprintTable.add and add_many (setdefault: the first owner stays) */
    if (kt_put(exact, k, pid, &got) < 0)
        return NULL;
    /* the list as it is now, each value held: a value's __index__ may change it */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(sk); i++) {
        uint64_t h;
        PyObject *v = Py_NewRef(PyList_GET_ITEM(sk, i));
        int err = kt_key_in(near, v, &h) < 0 || kt_put(near, h, pid, &got) < 0;
        Py_DECREF(v);
        if (err)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* check_lines' near step: each sketch value (the low 32 bits of best[0..n))
 * put in near under pid (setdefault); the owners found, in the sketch's order
 * (near's earlier owners, then the runs', as owners_into), when
 * Matcher._may_reach lets one earlier paragraph own enough of them: then the
 * values put are taken out again (the last first: each is then the table's
 * last entry). Else Py_None, the values staying, each noted in near.seen
 * (kt_noting) with whether it is in the runs when the filter or a search
 * told. NULL with an exception. */
static PyObject *near_owners(const uint64_t *best, Py_ssize_t n, KeyTableObject *near, const RunSetObject *runs,
                             uint32_t pid, double threshold)
{
    Py_ssize_t can = 0, n_ask = 0, n_own = 0, i, j;
    double need = threshold * (double)n - 1;
    uint64_t small_h[64], *h = n <= 64 ? small_h : PyMem_Malloc((size_t)n * 2 * sizeof(uint64_t));
    int64_t small_got[64], *got = n <= 64 ? small_got : PyMem_Malloc((size_t)n * 3 * sizeof(int64_t));
    char small_put[64], *put = n <= 64 ? small_put : PyMem_Malloc((size_t)n);
    int noting = kt_noting(near, runs);
    uint64_t resizes = near->resizes;
    Py_ssize_t first = near->n; /* the entry of the first value put: the others follow (unless near is resized) */
    PyObject *out = NULL;
    if (h == NULL || got == NULL || put == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    uint64_t small_ask[64], *ask = n <= 64 ? small_ask : h + n;
    int64_t small_id[64], small_own[64], *id = n <= 64 ? small_id : got + n, *own = n <= 64 ? small_own : got + 2 * n;
    for (i = 0; i < n; i++) {
        uint32_t old;
        h[i] = best[i] & 0xFFFFFFFFULL;
        int r = kt_put(near, h[i], pid, &old);
        if (r < 0)
            goto done;
        put[i] = (char)r;
        got[i] = r ? -1 : (int64_t)old;
        for (j = 0; j < i && got[i] >= 0; j++)
            if (put[j] && h[j] == h[i])
                got[i] = -1; /* a value twice in the sketch: put by this call, not an owner */
        if (got[i] >= 0)
            can++;
        else {
            int may = runset_may_hold(runs, h[i]);
            can += may;
            if (r && noting && !may)
                near->seen[near->n - 1] = SEEN_NO; /* the entry just put (the others: after the search) */
            ask[n_ask++] = h[i];
        }
    }
    if (n <= FIND_BATCH && (double)can < need) {
        out = Py_NewRef(Py_None); /* too few can have an owner: no search (as owners_into) */
        goto done;
    }
    for (Py_ssize_t from = 0; from < n_ask; from += FIND_BATCH)
        runset_find_batch(runs, ask + from, n_ask - from < FIND_BATCH ? n_ask - from : FIND_BATCH, id + from);
    noting = noting && near->resizes == resizes;
    for (i = 0, j = 0; i < n; i++) {
        int64_t f = got[i] >= 0 ? got[i] : id[j++];
        if (f >= 0)
            own[n_own++] = f;
        if (put[i] && noting) /* what the search told (a value taken out below leaves its note unread) */
            near->seen[first] = f >= 0 ? SEEN_YES : SEEN_NO;
        first += put[i];
    }
    if (!may_reach_ids(own, n_own, n, threshold)) {
        out = Py_NewRef(Py_None);
        goto done;
    }
    for (i = n - 1; i >= 0; i--)
        if (put[i] && kt_del(near, h[i]) < 0)
            goto done;
    out = PyList_New(n_own);
    for (i = 0; out != NULL && i < n_own; i++) {
        PyObject *o = PyLong_FromLongLong(own[i]);
        if (o == NULL)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, i, o);
    }
done:
    if (h != small_h)
        PyMem_Free(h);
    if (got != small_got)
        PyMem_Free(got);
    if (put != small_put)
        PyMem_Free(put);
    return out;
}

PyDoc_STRVAR(check_lines_doc,
"check_lines(texts, lo, limit, line, pid, exact_recent, exact_runs, near_recent, near_runs, keys, params, /)\n"
"--\n\n"
"Matcher.check's common path for the paragraphs texts[lo:hi] in order, hi\n"
"being limit (at most len(texts)), or lo + 1 when limit <= lo (the\n"
"recent tables are KeyTables), with params = (ngram, k, near_min_words,\n"
"threshold, max_keys, short, near_from, max_chars, spill_at, min_words): a text\n"
"shorter than short or all white space is skipped; one of\n"
"near_from characters or more is fingerprinted for near matching, a shorter\n"
"one for its exact key only; each key goes first into the set keys while it\n"
"holds fewer than max_keys (unless keys is None); then near_fingerprints and\n"
"probe in one step. A new paragraph is indexed under the next id from pid,\n"
"with line number line + (its index - lo). Stops after the paragraph that\n"
"brings a recent table to spill_at entries, and at a paragraph that has near\n"
"candidates, is longer than max_chars or holds a character the table does not\n"
"mark fast. An exact repeat (nothing indexed for it) is judged on the way: one\n"
"of min_words words or more is a repeat, a shorter one is kept (short lines may\n"
"repeat). Returns (stop, found, lines, facts, repeats): texts[lo:stop] were\n"
"judged; found is None, or for texts[stop] (key, sketch, facts, the near\n"
"candidates' ids), nothing indexed for it; lines and facts are the new\n"
"paragraphs' line numbers and facts masks (native uint32, as bytes); repeats is\n"
"None or a dict of the repeats' indexes in texts to their copies' ids.");

/* check_lines' first step for a paragraph: its prints (as prints_of: 1, 0
 * when the text is Python's to fingerprint, -1 with an exception), and a
 * prefetch of every line of the tables and filters it will read. The tables
 * are too big for the caches: check_lines takes this step for the next
 * paragraph before check_one, so those reads arrive while it works. */
static int check_prints(PyObject *text, Py_ssize_t ngram, Py_ssize_t k, Py_ssize_t near_min_words,
                        const KeyTableObject *exact, const RunSetObject *exact_runs, const KeyTableObject *near,
                        const RunSetObject *near_runs, Prints *p)
{
    int r = prints_of(text, ngram, k, near_min_words, p);
    if (r <= 0)
        return r;
    __builtin_prefetch(exact->slots + kt_home(exact, p->key));
    if (exact_runs->filter.obj != NULL)
        __builtin_prefetch(filter_word(exact_runs->filter.buf, exact_runs->shift, p->key));
    for (Py_ssize_t i = 0; i < p->cnt; i++) {
        uint64_t h = p->best[i] & 0xFFFFFFFFULL;
        __builtin_prefetch(near->slots + kt_home(near, h));
        if (near_runs->filter.obj != NULL)
            __builtin_prefetch(filter_word(near_runs->filter.buf, near_runs->shift, h));
    }
    return 1;
}

/* One paragraph of check_lines, its prints taken (check_prints): 1 new
 * (indexed under pid, *mask set), 2 near candidates (*found set), 3 an exact
 * repeat (*copy set: the copy's id), -1 with an exception. Frees p. */
static int check_one(Prints *p, double threshold, uint32_t pid, KeyTableObject *exact,
                     const RunSetObject *exact_runs, KeyTableObject *near, const RunSetObject *near_runs,
                     PyObject *keys, Py_ssize_t max_keys, int64_t *mask, PyObject **found, uint32_t *copy)
{
    PyObject *got = NULL;
    int r = -1;
    if (keys != Py_None && keyset_add(keys, p->key, max_keys) < 0)
        goto done;
    /* probe's steps, with each key put in its table first (setdefault: one
     * hash probe, not a lookup then an insert) and taken out again when the
     * paragraph is found (rarely); no Python object unless near candidates */
    uint32_t old;
    int put = kt_put(exact, p->key, pid, &old);
    if (put < 0)
        goto done;
    if (put == 0) {
        *copy = old; /* the exact copy's id, in recent */
        r = 3;
        goto done;
    }
    int64_t id = runset_find(exact_runs, p->key);
    if (id >= 0) {
        if (kt_del(exact, p->key) >= 0) {
            *copy = (uint32_t)id;
            r = 3;
        }
        goto done;
    }
    if (kt_noting(exact, exact_runs))
        exact->seen[exact->n - 1] = SEEN_NO; /* the key just put: the last entry */
    if (p->cnt == 0 || (got = near_owners(p->best, p->cnt, near, near_runs, pid, threshold)) == Py_None) {
        Py_CLEAR(got);
        *mask = p->mask;
        r = 1;
        goto done;
    }
    if (got == NULL || kt_del(exact, p->key) < 0)
        goto done;
    PyObject *out = PyTuple_New(4);
    if (out == NULL)
        goto done;
    PyTuple_SET_ITEM(out, 0, PyLong_FromUnsignedLongLong(p->key));
    PyTuple_SET_ITEM(out, 1, sketch_list(p->best, p->cnt));
    PyTuple_SET_ITEM(out, 2, PyLong_FromLongLong(p->mask));
    PyTuple_SET_ITEM(out, 3, got);
    got = NULL;
    if (PyTuple_GET_ITEM(out, 0) == NULL || PyTuple_GET_ITEM(out, 1) == NULL || PyTuple_GET_ITEM(out, 2) == NULL) {
        Py_DECREF(out);
        goto done;
    }
    *found = out;
    r = 2;
done:
    prints_free(p);
    Py_XDECREF(got);
    return r;
}

/* whether text (of n characters) holds at least want words (str.split()'s) */
static int has_words(PyObject *text, Py_ssize_t n, Py_ssize_t want)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t words = 0;
    int after_space = 1;
    for (Py_ssize_t i = 0; i < n && words < want; i++) {
        int sp = Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i));
        words += after_space & !sp;
        after_space = sp;
    }
    return words >= want;
}

/* str.isspace() for a non-empty str */
static int all_space(PyObject *s, Py_ssize_t n)
{
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    for (Py_ssize_t i = 0; i < n; i++)
        if (!Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i)))
            return 0;
    return 1;
}

/* The first paragraph check_lines judges from texts[j] on, below hi: the
 * index of the first text of short characters or more that is not all white
 * space (*n its length); with *stop set, hi or a text longer than max_chars
 * (check_lines stops there). -1 with a TypeError for a text not a str. */
static Py_ssize_t next_para(PyObject *texts, Py_ssize_t j, Py_ssize_t hi, Py_ssize_t short_, Py_ssize_t max_chars,
                            Py_ssize_t *n, int *stop)
{
    for (*stop = 1; j < hi; j++) {
        PyObject *text = PyList_GET_ITEM(texts, j);
        if (j + 1 < hi)
            __builtin_prefetch(PyList_GET_ITEM(texts, j + 1)); /* its header: read first, often a miss */
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "check_lines: texts must be str");
            return -1;
        }
        *n = PyUnicode_GET_LENGTH(text);
        if (*n < short_ || all_space(text, *n))
            continue;
        *stop = *n > max_chars;
        return j;
    }
    return j;
}

/* check_lines asks for the memory of texts[j] (j < hi) two texts before it
 * folds them (check_prints): a chunk's strings, decoded all at once before
 * the rules ran over the chunk, have left the caches by then, and the
 * fold's first load of each 32 characters stalled. A compact str's
 * characters follow its header; the header is not read for the length:
 * TEXT_LINES lines (512 bytes with the header's) hold most paragraphs (194
 * bytes on average in the benchmark stream, twice that as UCS-2). One text
 * ahead hid less of the stall, three ahead none (benchmarks/README.md,
 * session 22). */
#define TEXT_LINES 8
#define TEXT_AHEAD 2
static inline void prefetch_text(const PyObject *text)
{
    for (int i = 0; i < TEXT_LINES; i++)
        __builtin_prefetch((const char *)text + 64 * i);
}

static inline void text_ahead(PyObject *texts, Py_ssize_t j, Py_ssize_t hi)
{
    if (j < hi)
        prefetch_text(PyList_GET_ITEM(texts, j));
}

static PyObject *check_lines(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    Py_ssize_t ngram, k, near_min_words, lo, hi, line, lim[6];
    if (!nargs_ok("check_lines", nargs, 11))
        return NULL;
    PyObject *texts = args[0], *keys = args[9], *params = args[10];
    if (!PyList_Check(texts) || !PyLong_Check(args[4]) || !PyObject_TypeCheck(args[6], &RunSetType)
        || !PyObject_TypeCheck(args[8], &RunSetType) || (keys != Py_None && !keyset_check(keys))
        || !PyTuple_Check(params) || PyTuple_GET_SIZE(params) != 10) {
        PyErr_SetString(PyExc_TypeError, "check_lines: bad argument types");
        return NULL;
    }
    /* params: ngram, k, near_min_words, threshold, then max_keys and limits */
    PyObject *const *p = &PyTuple_GET_ITEM(params, 0);
    if (!prints_args("check_lines", p, &ngram, &k, &near_min_words))
        return NULL;
    lo = PyLong_AsSsize_t(args[1]);
    hi = PyLong_AsSsize_t(args[2]); /* the limit, until checked */
    line = PyLong_AsSsize_t(args[3]);
    for (int i = 0; i < 6; i++)
        lim[i] = PyLong_AsSsize_t(p[4 + i]);
    double threshold = PyFloat_AsDouble(p[3]);
    if (PyErr_Occurred())
        return NULL;
    if (lo < 0 || lo >= PyList_GET_SIZE(texts)) {
        PyErr_SetString(PyExc_ValueError, "check_lines: need 0 <= lo < len(texts)");
        return NULL;
    }
    hi = hi <= lo ? lo + 1 : hi < PyList_GET_SIZE(texts) ? hi : PyList_GET_SIZE(texts);
    if (line < 0 || line + (hi - lo) > UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "check_lines: line numbers must fit uint32");
        return NULL;
    }
    KeyTableObject *exact, *near;
    uint32_t pid;
    if (kt_arg(args[5], 0, &exact, "check_lines") < 0 || kt_arg(args[7], 0, &near, "check_lines") < 0
        || kt_pid_of(args[4], &pid) < 0)
        return NULL;
    if (exact->key_bytes != 8) {
        PyErr_SetString(PyExc_TypeError, "check_lines: the exact keys' table must hold 8-byte keys");
        return NULL;
    }
    const RunSetObject *exact_runs = (RunSetObject *)args[6], *near_runs = (RunSetObject *)args[8];
    Py_ssize_t max_keys = lim[0], short_ = lim[1], near_from = lim[2], max_chars = lim[3], spill_at = lim[4],
               min_words = lim[5];
    /* the new paragraphs' line numbers, then their masks: on the stack for a
     * short run, else grown */
    uint32_t small[2 * 64], *rows = small;
    Py_ssize_t cap = 64, n_new = 0, j, n;
    PyObject *found = NULL, *out = NULL, *repeats = NULL;
    /* a paragraph is judged once the next one's prints are taken
     * (check_prints): pr[cur] holds those of texts[j] (when have), the next
     * one's go into pr[1 - cur] */
    Prints pr[2];
    pr[0].best = pr[0].small, pr[1].best = pr[1].small;
    int cur = 1, have = 0;
    for (j = lo;;) {
        int stop, r_next = 0;
        Py_ssize_t next = next_para(texts, have ? j + 1 : j, hi, short_, max_chars, &n, &stop);
        if (next < 0)
            goto done;
        if (!stop && (r_next = check_prints(PyList_GET_ITEM(texts, next), ngram, k,
                                            n >= near_from ? near_min_words : PY_SSIZE_T_MAX, exact, exact_runs,
                                            near, near_runs, &pr[1 - cur])) < 0)
            goto done;
        if (!stop)
            text_ahead(texts, next + TEXT_AHEAD, hi);
        if (have) {
            if (n_new == cap) {
                uint32_t *bigger = PyMem_Malloc((size_t)cap * 4 * sizeof(uint32_t));
                if (bigger == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
                memcpy(bigger, rows, (size_t)cap * sizeof(uint32_t));
                memcpy(bigger + 2 * cap, rows + cap, (size_t)cap * sizeof(uint32_t));
                if (rows != small)
                    PyMem_Free(rows);
                rows = bigger;
                cap *= 2;
            }
            if (pid > UINT32_MAX - (uint32_t)n_new) {
                PyErr_SetString(PyExc_OverflowError, "check_lines: paragraph ids past uint32");
                goto done;
            }
            int64_t mask = 0;
            uint32_t copy = 0;
            int r = check_one(&pr[cur], threshold, pid + (uint32_t)n_new, exact, exact_runs, near, near_runs, keys,
                              max_keys, &mask, &found, &copy);
            if (r < 0)
                goto done;
            if (r == 3) { /* an exact repeat: noted unless short, and on to the next */
                PyObject *text = PyList_GET_ITEM(texts, j);
                if (has_words(text, PyUnicode_GET_LENGTH(text), min_words)) {
                    PyObject *at = PyLong_FromSsize_t(j), *id = PyLong_FromUnsignedLong(copy);
                    int err = at == NULL || id == NULL || (repeats == NULL && (repeats = PyDict_New()) == NULL)
                              || PyDict_SetItem(repeats, at, id) < 0;
                    Py_XDECREF(at);
                    Py_XDECREF(id);
                    if (err)
                        goto done;
                }
            } else if (r != 1)
                break; /* near candidates: stop at this paragraph */
            else {
                rows[n_new] = (uint32_t)(line + (j - lo));
                rows[cap + n_new] = (uint32_t)mask;
                n_new++;
                if (exact->used >= spill_at || near->used >= spill_at) {
                    j++;
                    break;
                }
            }
        }
        cur = 1 - cur, j = next;
        have = !stop && r_next > 0; /* (r_next 0: the text is Python's to fingerprint, stop there) */
        if (!have)
            break;
    }
    {
        /* the tuple built directly: Py_BuildValue parses its format on each call */
        Py_ssize_t nb = n_new * (Py_ssize_t)sizeof(uint32_t);
        PyObject *stop = PyLong_FromSsize_t(j);
        PyObject *lines = PyBytes_FromStringAndSize((const char *)rows, nb);
        PyObject *masks = PyBytes_FromStringAndSize((const char *)(rows + cap), nb);
        if (stop != NULL && lines != NULL && masks != NULL)
            out = PyTuple_Pack(5, stop, found == NULL ? Py_None : found, lines, masks,
                               repeats == NULL ? Py_None : repeats);
        Py_XDECREF(stop);
        Py_XDECREF(lines);
        Py_XDECREF(masks);
    }
done:
    prints_free(&pr[0]);
    prints_free(&pr[1]);
    if (rows != small)
        PyMem_Free(rows);
    Py_XDECREF(found);
    Py_XDECREF(repeats);
    return out;
}

PyDoc_STRVAR(dict_columns_doc,
"dict_columns(recent, key_bytes, /)\n--\n\n"
"A FingerprintTable's recent table (a KeyTable or a dict) as two columns in its\n"
"order: the keys (native uint64 or uint32, key_bytes 8 or 4) and the ids (native\n"
"uint32), as bytes.");

static PyObject *dict_columns(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!nargs_ok("dict_columns", nargs, 2))
        return NULL;
    PyObject *d = args[0];
    long key_bytes = PyLong_AsLong(args[1]);
    if (key_bytes == -1 && PyErr_Occurred())
        return NULL;
    int is_kt = PyObject_TypeCheck(d, &KeyTableType);
    if (!(is_kt || PyDict_Check(d)) || (key_bytes != 8 && key_bytes != 4)) {
        PyErr_SetString(PyExc_TypeError, "dict_columns: need a KeyTable or a dict and key_bytes 8 or 4");
        return NULL;
    }
    const KeyTableObject *t = is_kt ? (KeyTableObject *)d : NULL;
    Py_ssize_t n = is_kt ? t->used : PyDict_GET_SIZE(d), pos = 0, i = 0, e = 0;
    PyObject *keys = PyBytes_FromStringAndSize(NULL, n * key_bytes);
    PyObject *pids = PyBytes_FromStringAndSize(NULL, n * 4);
    PyObject *k, *v;
    if (keys == NULL || pids == NULL)
        goto fail;
    char *kp = PyBytes_AS_STRING(keys), *pp = PyBytes_AS_STRING(pids);
    while (i < n) {
        uint64_t key;
        uint32_t p32;
        if (is_kt) {
            while (!kt_live(t, e))
                e++;
            key = kt_key(t, e);
            p32 = t->pids[e++];
            if (key_bytes == 4 && key > 0xFFFFFFFFULL) {
                PyErr_SetString(PyExc_OverflowError, "dict_columns: a key is too large");
                goto fail;
            }
        } else {
            if (!PyDict_Next(d, &pos, &k, &v))
                break;
            int ok;
            key = runset_key(k, &ok);
            unsigned long pid = PyLong_AsUnsignedLong(v);
            if (PyErr_Occurred())
                goto fail;
            if (!ok || (key_bytes == 4 && key > 0xFFFFFFFFULL) || pid > 0xFFFFFFFFUL) {
                PyErr_SetString(PyExc_OverflowError, "dict_columns: a key or id is too large");
                goto fail;
            }
            p32 = (uint32_t)pid;
        }
        if (key_bytes == 8) {
            memcpy(kp + 8 * i, &key, 8);
        } else {
            uint32_t k32 = (uint32_t)key;
            memcpy(kp + 4 * i, &k32, 4);
        }
        memcpy(pp + 4 * i, &p32, 4);
        i++;
    }
    return Py_BuildValue("(NN)", keys, pids);
fail:
    Py_XDECREF(keys);
    Py_XDECREF(pids);
    return NULL;
}

/* ---- spills: FingerprintTable.add_run, _merge, KeyFilter ------------------- */

PyDoc_STRVAR(sorted_columns_doc,
"sorted_columns(recent, key_bytes, runs=None, /)\n--\n\n"
"dict_columns(recent, key_bytes) ordered by key (FingerprintTable.spill's\n"
"argsort, in C: a radix sort of the pairs), without the keys in the runs of\n"
"runs (a RunSet of key_bytes keys, or None: no key dropped).");

typedef struct {
    uint64_t key;
    uint32_t pid;
    uint32_t seen; /* SEEN_*: whether the key is known to be in the runs */
} KeyPid;

#define RADIX_BITS 11 /* digits of a radix pass */
/* The passes sort on the keys' top bit_length(n) + RADIX_SPARE bits only
 * (two passes for a spill of 2^17): keys are hashes, so the pairs these do
 * not order are few (about n / 2^RADIX_SPARE), and an insertion pass orders
 * them. Keys that tie there more (not hashes: chosen to) exceed the pass's
 * budget of moves and are sorted by qsort instead. */
#define RADIX_SPARE 4
#define INSERTION_MOVES(n) (4 * (n) + 1024)

static int cmp_keypid(const void *a, const void *b)
{
    uint64_t x = ((const KeyPid *)a)->key, y = ((const KeyPid *)b)->key;
    return (x > y) - (x < y);
}

/* Orders x[0..n), sorted but for few pairs, by insertion; 0 when that took
 * more than INSERTION_MOVES(n) moves (x is then a permutation of itself) */
static int insertion_fix(KeyPid *x, Py_ssize_t n)
{
    Py_ssize_t moves = 0, budget = INSERTION_MOVES(n);
    for (Py_ssize_t i = 1; i < n; i++) {
        if (x[i - 1].key <= x[i].key)
            continue;
        KeyPid v = x[i];
        Py_ssize_t j = i;
        for (; j > 0 && x[j - 1].key > v.key; j--)
            x[j] = x[j - 1];
        x[j] = v;
        if ((moves += i - j) > budget)
            return 0;
    }
    return 1;
}

/* sorted_columns' x and y (2n entries), kept from spill to spill up to
 * SCRATCH_KEEP bytes: a spill's fresh few MB would page-fault every time */
#define SCRATCH_KEEP ((size_t)16 << 20)
static KeyPid *scratch;
static size_t scratch_n;

static KeyPid *spill_scratch(Py_ssize_t n)
{
    size_t want = 2 * (size_t)(n ? n : 1);
    if (want * sizeof(KeyPid) > SCRATCH_KEEP)
        return PyMem_Malloc(want * sizeof(KeyPid));
    if (want > scratch_n) {
        PyMem_Free(scratch);
        scratch_n = 0;
        if ((scratch = PyMem_Malloc(want * sizeof(KeyPid))) == NULL)
            return NULL;
        scratch_n = want;
    }
    return scratch;
}

static void spill_scratch_done(KeyPid *x)
{
    if (x != scratch)
        PyMem_Free(x);
}

/* Sorts x[0..n) by key (unique) into x or y (n entries each); returns which */
static KeyPid *radix_sort(KeyPid *x, KeyPid *y, Py_ssize_t n)
{
    uint64_t all_or = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        all_or |= x[i].key;
    int bits = bit_length64(all_or), top = bit_length64((uint64_t)n) + RADIX_SPARE;
    int low = bits > top ? bits - top : 0; /* the low bits left to the insertion pass */
    int passes = (bits - low + RADIX_BITS - 1) / RADIX_BITS;
    low = bits - passes * RADIX_BITS > 0 ? bits - passes * RADIX_BITS : 0;
    Py_ssize_t (*count)[(1 << RADIX_BITS) + 1] = PyMem_Calloc((size_t)(passes ? passes : 1), sizeof(*count));
    if (count == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++)
        for (int p = 0; p < passes; p++)
            count[p][((x[i].key >> (low + p * RADIX_BITS)) & ((1 << RADIX_BITS) - 1)) + 1]++;
    for (int p = 0; p < passes; p++) {
        Py_ssize_t *c = count[p];
        int shift = low + p * RADIX_BITS;
        if (c[((x[0].key >> shift) & ((1 << RADIX_BITS) - 1)) + 1] == n)
            continue; /* one digit for all: the pass keeps the order */
        for (int d = 0; d < 1 << RADIX_BITS; d++)
            c[d + 1] += c[d];
        for (Py_ssize_t i = 0; i < n; i++)
            y[c[(x[i].key >> shift) & ((1 << RADIX_BITS) - 1)]++] = x[i];
        KeyPid *t = x;
        x = y;
        y = t;
    }
    PyMem_Free(count);
    if (low > 0 && !insertion_fix(x, n))
        qsort(x, (size_t)n, sizeof(KeyPid), cmp_keypid);
    return x;
}

/* Marks SEEN_YES the entries x[0..n) (sorted) not known either way whose key is in runs */
static void seen_in_runs(const RunSetObject *runs, KeyPid *x, Py_ssize_t n)
{
    uint64_t keys[FIND_BATCH];
    Py_ssize_t which[FIND_BATCH];
    int64_t found[FIND_BATCH];
    for (Py_ssize_t i = 0; i < n;) {
        int m = 0;
        for (; i < n && m < FIND_BATCH; i++)
            if (x[i].seen == SEEN_UNKNOWN) {
                which[m] = i;
                keys[m++] = x[i].key;
            }
        runset_find_batch(runs, keys, m, found);
        for (int j = 0; j < m; j++)
            x[which[j]].seen = found[j] >= 0 ? SEEN_YES : SEEN_NO;
    }
}

static PyObject *sorted_columns(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 && nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "sorted_columns takes 2 or 3 arguments");
        return NULL;
    }
    const RunSetObject *runs = NULL;
    if (nargs == 3 && args[2] != Py_None) {
        if (!PyObject_TypeCheck(args[2], &RunSetType)) {
            PyErr_SetString(PyExc_TypeError, "sorted_columns: runs must be a RunSet or None");
            return NULL;
        }
        runs = (const RunSetObject *)args[2];
    }
    PyObject *d = args[0], *kb = NULL, *pb = NULL, *cols = NULL;
    long key_bytes = PyLong_AsLong(args[1]);
    if (key_bytes == -1 && PyErr_Occurred())
        return NULL;
    if (runs != NULL && runs->key_bytes != key_bytes) {
        PyErr_SetString(PyExc_ValueError, "sorted_columns: the runs' keys are not key_bytes wide");
        return NULL;
    }
    if (runs != NULL && runs->n_runs == 0)
        runs = NULL; /* nothing to drop */
    const KeyTableObject *t = PyObject_TypeCheck(d, &KeyTableType) ? (KeyTableObject *)d : NULL;
    if (t == NULL || (key_bytes != 8 && key_bytes != 4)) {
        cols = dict_columns(self, args, 2); /* a dict (or the error) */
        if (cols == NULL)
            return NULL;
    }
    Py_ssize_t n = t != NULL ? t->used : PyBytes_GET_SIZE(PyTuple_GET_ITEM(cols, 1)) / 4, m = 0;
    KeyPid *x = spill_scratch(n), *y = x + n, *sorted;
    if (x == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (t != NULL) {
        /* the notes hold for these runs only (kt_noting) */
        const uint8_t *seen = runs != NULL && t->seen != NULL && t->seen_gen == runs->gen ? t->seen : NULL;
        for (Py_ssize_t e = 0; e < t->n; e++) {
            if (!kt_live(t, e))
                continue;
            uint64_t key = kt_key(t, e);
            if (key_bytes == 4 && key > 0xFFFFFFFFULL) {
                PyErr_SetString(PyExc_OverflowError, "dict_columns: a key is too large");
                goto done;
            }
            uint32_t note = seen != NULL ? seen[e] : SEEN_UNKNOWN;
            if (note != SEEN_YES)
                x[m++] = (KeyPid){key, t->pids[e], note};
        }
    } else {
        const uint8_t *kp = (const uint8_t *)PyBytes_AS_STRING(PyTuple_GET_ITEM(cols, 0));
        const uint8_t *pp = (const uint8_t *)PyBytes_AS_STRING(PyTuple_GET_ITEM(cols, 1));
        for (; m < n; m++) {
            uint64_t k = 0;
            if (key_bytes == 8)
                memcpy(&k, kp + 8 * m, 8);
            else {
                uint32_t k32;
                memcpy(&k32, kp + 4 * m, 4);
                k = k32;
            }
            x[m].key = k;
            memcpy(&x[m].pid, pp + 4 * m, 4);
            x[m].seen = SEEN_UNKNOWN;
        }
    }
    if ((sorted = radix_sort(x, y, m)) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (runs != NULL)
        seen_in_runs(runs, sorted, m);
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < m; i++)
        kept += sorted[i].seen != SEEN_YES;
    kb = PyBytes_FromStringAndSize(NULL, kept * key_bytes);
    pb = PyBytes_FromStringAndSize(NULL, kept * 4);
    if (kb == NULL || pb == NULL)
        goto done;
    uint8_t *ko = (uint8_t *)PyBytes_AS_STRING(kb), *po = (uint8_t *)PyBytes_AS_STRING(pb);
    for (Py_ssize_t i = 0, j = 0; i < m; i++) {
        if (sorted[i].seen == SEEN_YES)
            continue;
        if (key_bytes == 8)
            memcpy(ko + 8 * j, &sorted[i].key, 8);
        else {
            uint32_t k32 = (uint32_t)sorted[i].key;
            memcpy(ko + 4 * j, &k32, 4);
        }
        memcpy(po + 4 * j++, &sorted[i].pid, 4);
    }
    spill_scratch_done(x);
    Py_XDECREF(cols);
    return Py_BuildValue("(NN)", kb, pb);
done:
    spill_scratch_done(x);
    Py_XDECREF(cols);
    Py_XDECREF(kb);
    Py_XDECREF(pb);
    return NULL;
}

PyDoc_STRVAR(unfilled_doc,
"unfilled(n, /)\n--\n\n"
"A bytearray of n bytes left as the allocator gave them (bytearray(n) zeroes\n"
"them): for a buffer that is written whole before it is read, as the merged\n"
"run merge_runs writes.");

static PyObject *unfilled(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "unfilled: n must be at least 0");
        return NULL;
    }
    return PyByteArray_FromStringAndSize(NULL, n);
}

PyDoc_STRVAR(merge_runs_doc,
"merge_runs(a_keys, a_pids, a_base, b_keys, b_pids, b_base, keys, pids, base, /)\n--\n\n"
"index._merge: the sorted runs a and b (disjoint keys) merged into keys and\n"
"pids (writable, sized for both). Keys are native uint64 or uint32, the same\n"
"in all three; each run's ids are 3-byte little-endian offsets from its base,\n"
"or native uint32 (base 0), written as offsets from base in pids' width.");

/* the id at position i of a run's id column (width w: 3 or 4) */
static inline uint32_t pid_at(const uint8_t *p, Py_ssize_t w, uint32_t base, Py_ssize_t i)
{
    if (w == 4)
        return rd32(p + 4 * i);
    p += 3 * i;
    return base + ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16);
}

static inline void pid_put(uint8_t *p, Py_ssize_t w, uint32_t base, Py_ssize_t i, uint32_t pid)
{
    uint32_t off = pid - base;
    if (w == 4)
        memcpy(p + 4 * i, &off, 4);
    else {
        p += 3 * i;
        p[0] = (uint8_t)off;
        p[1] = (uint8_t)(off >> 8);
        p[2] = (uint8_t)(off >> 16);
    }
}

/* A merge of a[i..i2] and b[j..j2] (unique keys) into o[t..t2], all ids 3
 * bytes wide, taken from both ends at once while a few entries are left in
 * each run: the two ends are two chains of dependent loads that overlap,
 * and without branches (which run comes next is a coin toss). Each id is
 * read and written as 4 bytes, rebased by adding (offsets stay below 2**24):
 * the extra byte belongs to a neighbour not yet written (the front writes
 * the byte after its id, the back the byte before). Leaves the bounds where
 * it stopped. */
#define MERGE_FAST3(T)                                                                            \
    static void merge_fast3_##T(const T *a, const uint8_t *ap, uint32_t da, const T *b,           \
                                const uint8_t *bp, uint32_t db, T *o, uint8_t *op, Py_ssize_t *i_, \
                                Py_ssize_t *j_, Py_ssize_t *t_, Py_ssize_t *i2_, Py_ssize_t *j2_,  \
                                Py_ssize_t *t2_)                                                  \
    {                                                                                             \
        Py_ssize_t i = *i_, j = *j_, t = *t_, i2 = *i2_, j2 = *j2_, t2 = *t2_;                    \
        while (i < i2 && j < j2 && t + 2 < t2) {                                                  \
            T ka = a[i], kb = b[j];                                                               \
            Py_ssize_t from_b = kb < ka;                                                          \
            uint32_t pa = (rd32(ap + 3 * i) & 0xFFFFFF) + da, pb = (rd32(bp + 3 * j) & 0xFFFFFF) + db; \
            uint32_t pid = pa ^ ((pa ^ pb) & -(uint32_t)from_b); /* masks: no branch */           \
            o[t] = ka ^ ((ka ^ kb) & -(T)from_b);                                                 \
            memcpy(op + 3 * t, &pid, 4);                                                          \
            t++;                                                                                  \
            i += 1 - from_b;                                                                      \
            j += from_b;                                                                          \
            T za = a[i2], zb = b[j2];                                                             \
            Py_ssize_t last_b = zb > za;                                                          \
            uint32_t za_p = (rd32(ap + 3 * i2 - 1) >> 8) + da, zb_p = (rd32(bp + 3 * j2 - 1) >> 8) + db; \
            uint32_t zpid = (za_p ^ ((za_p ^ zb_p) & -(uint32_t)last_b)) << 8;                    \
            o[t2] = za ^ ((za ^ zb) & -(T)last_b);                                                \
            memcpy(op + 3 * t2 - 1, &zpid, 4);                                                    \
            t2--;                                                                                 \
            i2 -= 1 - last_b;                                                                     \
            j2 -= last_b;                                                                         \
        }                                                                                         \
        *i_ = i, *j_ = j, *t_ = t, *i2_ = i2, *j2_ = j2, *t2_ = t2;                               \
    }
MERGE_FAST3(uint64_t)
MERGE_FAST3(uint32_t)

/* The merge of a[i..i2] and b[j..j2] into o[t..t2], any id widths */
#define MERGE_LOOP(T)                                                                  \
    do {                                                                               \
        const T *a = (const T *)v[0].buf, *b = (const T *)v[2].buf;                    \
        T *o = (T *)v[4].buf;                                                          \
        for (; t <= t2; t++) {                                                         \
            if (j <= j2 && (i > i2 || b[j] < a[i])) {                                  \
                o[t] = b[j];                                                           \
                pid_put(op, pw, base, t, pid_at(bp, bw, b_base, j));                   \
                j++;                                                                   \
            } else {                                                                   \
                o[t] = a[i];                                                           \
                pid_put(op, pw, base, t, pid_at(ap, aw, a_base, i));                   \
                i++;                                                                   \
            }                                                                          \
        }                                                                              \
    } while (0)

static PyObject *merge_runs(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!nargs_ok("merge_runs", nargs, 9))
        return NULL;
    unsigned long bases[3];
    for (int k = 0; k < 3; k++) {
        bases[k] = PyLong_AsUnsignedLong(args[2 + 3 * k]);
        if (PyErr_Occurred())
            return NULL;
        if (bases[k] > 0xFFFFFFFFUL) {
            PyErr_SetString(PyExc_OverflowError, "merge_runs: a base is too large");
            return NULL;
        }
    }
    uint32_t a_base = (uint32_t)bases[0], b_base = (uint32_t)bases[1], base = (uint32_t)bases[2];
    Py_buffer v[6];
    PyObject *bufs[6] = {args[0], args[1], args[3], args[4], args[6], args[7]};
    int opened = 0;
    PyObject *out = NULL;
    for (; opened < 6; opened++)
        if (PyObject_GetBuffer(bufs[opened], &v[opened], opened < 4 ? PyBUF_C_CONTIGUOUS : PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0)
            goto done;
    Py_ssize_t na = PyObject_Length(args[0]), nb = PyObject_Length(args[3]);
    if (na < 0 || nb < 0)
        goto done;
    Py_ssize_t n = na + nb, kw = n ? v[4].len / n : 8;
    Py_ssize_t aw = na ? v[1].len / na : 3, bw = nb ? v[3].len / nb : 3, pw = n ? v[5].len / n : 3;
    if ((kw != 8 && kw != 4) || (aw != 3 && aw != 4) || (bw != 3 && bw != 4) || (pw != 3 && pw != 4)
        || v[0].len != na * kw || v[2].len != nb * kw || v[4].len != n * kw
        || v[1].len != na * aw || v[3].len != nb * bw || v[5].len != n * pw) {
        PyErr_SetString(PyExc_ValueError, "merge_runs: the keys and ids do not match");
        goto done;
    }
    const uint8_t *ap = v[1].buf, *bp = v[3].buf;
    uint8_t *op = v[5].buf;
    Py_ssize_t i = 0, j = 0, t = 0, i2 = na - 1, j2 = nb - 1, t2 = n - 1;
    if (aw == 3 && bw == 3 && pw == 3 && a_base >= base && b_base >= base) {
        if (kw == 8)
            merge_fast3_uint64_t(v[0].buf, ap, a_base - base, v[2].buf, bp, b_base - base, v[4].buf, op, &i, &j,
                                 &t, &i2, &j2, &t2);
        else
            merge_fast3_uint32_t(v[0].buf, ap, a_base - base, v[2].buf, bp, b_base - base, v[4].buf, op, &i, &j,
                                 &t, &i2, &j2, &t2);
    }
    if (kw == 8)
        MERGE_LOOP(uint64_t);
    else
        MERGE_LOOP(uint32_t);
    out = Py_NewRef(Py_None);
done:
    for (int k = 0; k < opened; k++)
        PyBuffer_Release(&v[k]);
    return out;
}

PyDoc_STRVAR(narrow_ids_doc,
"narrow_ids(pids, base, /)\n--\n\n"
"index._narrow: native uint32 ids (a buffer), each in [base, base + 2**24),\n"
"as 3-byte little-endian offsets from base (bytes).");

static PyObject *narrow_ids(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!nargs_ok("narrow_ids", nargs, 2))
        return NULL;
    unsigned long base = PyLong_AsUnsignedLong(args[1]);
    if (base == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    Py_buffer v;
    if (PyObject_GetBuffer(args[0], &v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    PyObject *out = NULL;
    if (v.itemsize != 4 || base > 0xFFFFFFFFUL) {
        PyErr_SetString(PyExc_ValueError, "narrow_ids: need uint32 ids and a base below 2**32");
        goto done;
    }
    Py_ssize_t n = v.len / 4;
    out = PyBytes_FromStringAndSize(NULL, 3 * n);
    if (out == NULL)
        goto done;
    uint8_t *o = (uint8_t *)PyBytes_AS_STRING(out);
    const uint8_t *p = v.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t off = rd32(p + 4 * i) - (uint32_t)base;
        if (off >> 24) {
            PyErr_SetString(PyExc_ValueError, "narrow_ids: an id is not in [base, base + 2**24)");
            Py_CLEAR(out);
            goto done;
        }
        if (i + 1 < n)
            memcpy(o + 3 * i, &off, 4); /* the fourth byte (0) is the next offset's, written next */
        else {
            o[3 * i] = (uint8_t)off;
            o[3 * i + 1] = (uint8_t)(off >> 8);
            o[3 * i + 2] = (uint8_t)(off >> 16);
        }
    }
done:
    PyBuffer_Release(&v);
    return out;
}

PyDoc_STRVAR(filter_set_doc,
"filter_set(bitmap, keys, shift, /)\n--\n\n"
"KeyFilter._set: sets the two bits index.filter_slots(key, shift) (little-\n"
"endian bit order) of the writable bitmap for each native key of keys (uint64\n"
"or uint32: key_bytes read off keys' item size).");

static PyObject *filter_set(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!nargs_ok("filter_set", nargs, 3))
        return NULL;
    long shift = PyLong_AsLong(args[2]);
    if (shift == -1 && PyErr_Occurred())
        return NULL;
    Py_buffer bm, kb;
    if (PyObject_GetBuffer(args[0], &bm, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[1], &kb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&bm);
        return NULL;
    }
    PyObject *out = NULL;
    int kw = (int)kb.itemsize;
    if ((kw != 8 && kw != 4) || shift < 0 || shift >= 8 * kw) {
        PyErr_SetString(PyExc_ValueError, "filter_set: keys must be uint64 or uint32, shift below their bits");
        goto done;
    }
    Py_ssize_t n = kb.len / kw;
    uint8_t *bits = bm.buf;
    uint64_t slots = (uint64_t)bm.len * 8;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t key;
        if (kw == 8)
            memcpy(&key, (const uint8_t *)kb.buf + 8 * i, 8);
        else {
            uint32_t k32;
            memcpy(&k32, (const uint8_t *)kb.buf + 4 * i, 4);
            key = k32;
        }
        if ((key >> shift) >= (slots & ~(uint64_t)63)) {
            PyErr_SetString(PyExc_ValueError, "filter_set: the bitmap is too small for the shift");
            goto done;
        }
        uint8_t *w = (uint8_t *)filter_word(bits, (int)shift, key);
        uint64_t h = key * FILTER_MIX; /* filter_mask's two bits */
        w[h >> 61] |= (uint8_t)(1u << ((h >> 58) & 7));
        w[(h >> 55) & 7] |= (uint8_t)(1u << ((h >> 52) & 7));
    }
    out = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&bm);
    PyBuffer_Release(&kb);
    return out;
}

PyDoc_STRVAR(id_range_doc,
"id_range(pids, /)\n--\n\n"
"The smallest and largest of native uint32 ids (a buffer, not empty):\n"
"index.Run.of's base and top.");

static PyObject *id_range(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer v;
    if (PyObject_GetBuffer(arg, &v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    PyObject *out = NULL;
    if (v.itemsize != 4 || v.len == 0) {
        PyErr_SetString(PyExc_ValueError, "id_range: need uint32 ids, at least one");
        goto done;
    }
    const uint8_t *p = v.buf;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (Py_ssize_t i = 0; i < v.len / 4; i++) {
        uint32_t x = rd32(p + 4 * i);
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    out = Py_BuildValue("(kk)", (unsigned long)lo, (unsigned long)hi);
done:
    PyBuffer_Release(&v);
    return out;
}

PyDoc_STRVAR(run_directory_doc,
"run_directory(keys, /)\n--\n\n"
"index.run_directory of sorted native keys (uint64 or uint32: read off the\n"
"buffer's item size), as bytes of native uint32.");

static PyObject *run_directory(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer v;
    if (PyObject_GetBuffer(arg, &v, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    PyObject *out = NULL;
    int kw = (int)v.itemsize;
    if (kw != 8 && kw != 4) {
        PyErr_SetString(PyExc_ValueError, "run_directory: keys must be uint64 or uint32");
        goto done;
    }
    RunView r = {.n = v.len / kw};
    r.keys = v; /* run_key reads keys.buf only */
    int b = dir_bits_for(r.n);
    Py_ssize_t buckets = (Py_ssize_t)1 << b;
    out = PyBytes_FromStringAndSize(NULL, 4 * (buckets + 1));
    if (out == NULL)
        goto done;
    uint32_t *d = (uint32_t *)PyBytes_AS_STRING(out);
    int top = r.n ? bit_length64(run_key(&r, kw, r.n - 1)) : 0, shift = top > b ? top - b : 0;
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; i < buckets; i++) {
        /* the first key at or above the bucket's smallest value (searchsorted) */
        uint64_t bound = shift >= 64 ? 0 : (uint64_t)i << shift; /* 64: one bucket (b 0, top 64) */
        while (j < r.n && run_key(&r, kw, j) < bound)
            j++;
        d[i] = (uint32_t)j;
    }
    d[buckets] = (uint32_t)r.n;
done:
    PyBuffer_Release(&v);
    return out;
}

/* ---- the classifier's pass 1 (cleaner.context.line_class) ------------------ */

/* The C version of line_class: the features of one stripped line and its
 * class. Every test on characters is CPython's own (Py_UNICODE_ISSPACE as
 * str.split, Py_UNICODE_ISUPPER/ISDIGIT as str.isupper/isdigit of one
 * character, Py_UNICODE_TOLOWER as str.lower), so no table limits the
 * characters taken. str.lower differs from the per-character lower case only
 * for U+0130 (two code points) and U+03A3 (final sigma, by context): a
 * stopword prefix holding one gives None, as does a digit count over a lone
 * surrogate that surrogateescape cannot encode (Python raises there). */

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* str.isspace and str.lower of the code points below 256 (filled at import
 * from CPython's own functions): the 1-byte kind reads no other */
#define SPACE_MARK ((Py_UCS4)0x110000) /* beyond Unicode */
static uint8_t u1_space[256];
static Py_UCS4 u1_lower[256], u1_word[256];

static void u1_tables_init(void)
{
    for (Py_UCS4 c = 0; c < 256; c++) {
        u1_space[c] = Py_UNICODE_ISSPACE(c) ? 1 : 0;
        u1_lower[c] = Py_UNICODE_TOLOWER(c);
        u1_word[c] = u1_space[c] ? SPACE_MARK : u1_lower[c];
    }
}

/* The helpers below take the string kind as a constant (each caller is
 * instantiated per kind), so no character read switches on it. */
ALWAYS_INLINE int cp_space(int kind, Py_UCS4 c)
{
    if (kind == PyUnicode_1BYTE_KIND || c < 256)
        return u1_space[c];
    return Py_UNICODE_ISSPACE(c);
}

/* str.lower of one code point, or NOT_PER_CHAR where it depends on more
 * (U+0130 gives two code points, U+03A3 depends on its neighbours) */
#define NOT_PER_CHAR ((Py_UCS4)-1)
ALWAYS_INLINE Py_UCS4 cp_lower(int kind, Py_UCS4 c)
{
    if (kind == PyUnicode_1BYTE_KIND || c < 256)
        return u1_lower[c];
    if (c == 0x130 || c == 0x3A3)
        return NOT_PER_CHAR;
    return Py_UNICODE_TOLOWER(c);
}

/* cp_lower, or SPACE_MARK for white space */
ALWAYS_INLINE Py_UCS4 cp_word(int kind, Py_UCS4 c)
{
    if (kind == PyUnicode_1BYTE_KIND || c < 256)
        return u1_word[c];
    if (Py_UNICODE_ISSPACE(c))
        return SPACE_MARK;
    return cp_lower(kind, c);
}

/* FNV-1a over code points */
#define FNV_INIT 0xcbf29ce484222325ULL
#define FNV_STEP(h, c) (((h) ^ (uint64_t)(c)) * 0x100000001b3ULL)
#define FNV_END(h) ((h) ^ ((h) >> 32))

static uint64_t cp_hash(const Py_UCS4 *w, Py_ssize_t len)
{
    uint64_t h = FNV_INIT;
    for (Py_ssize_t i = 0; i < len; i++)
        h = FNV_STEP(h, w[i]);
    return FNV_END(h);
}

typedef struct {
    uint64_t hash, value;
    Py_ssize_t start, len; /* into pool; len < 0: an empty slot */
} StopSlot;

/* The stopwords of one language (each word's value 1), or the words of
 * several with a bit per language in each value; looked up by code points
 * (no str per word). */
typedef struct {
    PyObject_HEAD
    Py_ssize_t mask; /* slots - 1 */
    Py_ssize_t maxlen; /* of the longest word: longer ones are not looked up */
    int bits; /* values fit in this many bits */
    StopSlot *slots;
    Py_UCS4 *pool;
} StopSetObject;

static StopSlot *stop_slot(const StopSetObject *s, const Py_UCS4 *w, Py_ssize_t len)
{
    uint64_t h = cp_hash(w, len);
    for (Py_ssize_t i = (Py_ssize_t)(h & (uint64_t)s->mask);; i = (i + 1) & s->mask) {
        StopSlot *e = &s->slots[i];
        if (e->len < 0)
            return NULL;
        if (e->hash == h && e->len == len && memcmp(s->pool + e->start, w, (size_t)len * sizeof(Py_UCS4)) == 0)
            return e;
    }
}

/* the value of the word data[at:at + len].lower() (h: its hash), 0 when not
 * a stopword; the caller knows each of its code points lowers per character */
ALWAYS_INLINE uint64_t stop_value_at(const StopSetObject *s, uint64_t h, int kind, const void *data, Py_ssize_t at,
                                     Py_ssize_t len)
{
    if (len > s->maxlen)
        return 0;
    for (Py_ssize_t i = (Py_ssize_t)(h & (uint64_t)s->mask);; i = (i + 1) & s->mask) {
        const StopSlot *e = &s->slots[i];
        if (e->len < 0)
            return 0;
        if (e->hash == h && e->len == len) {
            const Py_UCS4 *w = s->pool + e->start;
            Py_ssize_t j = 0;
            while (j < len && w[j] == cp_lower(kind, PyUnicode_READ(kind, data, at + j)))
                j++;
            if (j == len)
                return e->value;
        }
    }
}

/* The words of data[:lim].lower().split() looked up in s: their number, or -1
 * where str.lower cannot be followed per character (U+0130, U+03A3). *found:
 * the words that are stopwords; counts (NULL: not wanted): counts[b] += 1 for
 * each bit b of a found word's value. */
ALWAYS_INLINE Py_ssize_t stop_scan(const StopSetObject *s, int kind, const void *data, Py_ssize_t lim,
                                   Py_ssize_t *found, Py_ssize_t *counts)
{
    Py_ssize_t words = 0, hits = 0, i = 0;
    for (;;) {
        Py_UCS4 w = SPACE_MARK;
        while (i < lim && (w = cp_word(kind, PyUnicode_READ(kind, data, i))) == SPACE_MARK)
            i++;
        if (w == SPACE_MARK)
            break;
        Py_ssize_t start = i;
        uint64_t h = FNV_INIT;
        do {
            if (kind != PyUnicode_1BYTE_KIND && w == NOT_PER_CHAR)
                return -1;
            h = FNV_STEP(h, w);
            i++;
        } while (i < lim && (w = cp_word(kind, PyUnicode_READ(kind, data, i))) != SPACE_MARK);
        uint64_t v = stop_value_at(s, FNV_END(h), kind, data, start, i - start);
        words++;
        if (v) {
            hits++;
            if (counts != NULL)
                for (int b = 0; v; b++, v >>= 1)
                    counts[b] += (Py_ssize_t)(v & 1);
        }
    }
    *found = hits;
    return words;
}

static void stopset_dealloc(StopSetObject *self)
{
    PyMem_Free(self->slots);
    PyMem_Free(self->pool);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *stopset_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *words_arg, *values_arg = Py_None, *values = NULL;
    if (!PyArg_ParseTuple(args, "O|O:StopSet", &words_arg, &values_arg) || (kwds != NULL && PyDict_GET_SIZE(kwds))) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "StopSet takes no keyword arguments");
        return NULL;
    }
    PyObject *words = PySequence_Tuple(words_arg);
    if (words == NULL)
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(words), total = 0, i;
    if (values_arg != Py_None) {
        values = PySequence_Tuple(values_arg);
        if (values == NULL) {
            Py_DECREF(words);
            return NULL;
        }
        if (PyTuple_GET_SIZE(values) != count) {
            PyErr_SetString(PyExc_ValueError, "StopSet: as many values as words");
            goto fail_args;
        }
    }
    for (i = 0; i < count; i++) {
        PyObject *w = PyTuple_GET_ITEM(words, i);
        if (!PyUnicode_Check(w)) {
            PyErr_SetString(PyExc_TypeError, "StopSet: words must be str");
            goto fail_args;
        }
        total += PyUnicode_GET_LENGTH(w);
    }
    Py_ssize_t size = 8;
    while (size < 2 * count)
        size *= 2;
    StopSetObject *self = (StopSetObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        goto fail_args;
    self->mask = size - 1;
    self->slots = PyMem_Malloc((size_t)size * sizeof(StopSlot));
    self->pool = PyMem_Malloc((size_t)(total + 1) * sizeof(Py_UCS4));
    if (self->slots == NULL || self->pool == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (i = 0; i < size; i++)
        self->slots[i].len = -1;
    Py_ssize_t at = 0;
    uint64_t all = 0;
    for (i = 0; i < count; i++) {
        PyObject *w = PyTuple_GET_ITEM(words, i);
        Py_ssize_t len = PyUnicode_GET_LENGTH(w);
        uint64_t value = 1;
        if (values != NULL) {
            value = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(values, i));
            if (PyErr_Occurred())
                goto fail;
            if (!value) {
                PyErr_SetString(PyExc_ValueError, "StopSet: values must be positive");
                goto fail;
            }
        }
        all |= value;
        if (PyUnicode_AsUCS4(w, self->pool + at, len + 1, 0) == NULL)
            goto fail;
        StopSlot *e = stop_slot(self, self->pool + at, len);
        if (e != NULL) {
            e->value |= value; /* listed twice */
            continue;
        }
        uint64_t h = cp_hash(self->pool + at, len);
        Py_ssize_t k = (Py_ssize_t)(h & (uint64_t)self->mask);
        while (self->slots[k].len >= 0)
            k = (k + 1) & self->mask;
        self->slots[k] = (StopSlot){h, value, at, len};
        at += len;
        if (len > self->maxlen)
            self->maxlen = len;
    }
    while (all) {
        self->bits++;
        all >>= 1;
    }
    Py_DECREF(words);
    Py_XDECREF(values);
    return (PyObject *)self;
fail:
    Py_DECREF(self);
fail_args:
    Py_DECREF(words);
    Py_XDECREF(values);
    return NULL;
}

static PyObject *stopset_get(StopSetObject *self, PyObject *word)
{
    if (!PyUnicode_Check(word)) {
        PyErr_SetString(PyExc_TypeError, "StopSet: word must be str");
        return NULL;
    }
    Py_UCS4 *w = PyUnicode_AsUCS4Copy(word);
    if (w == NULL)
        return NULL;
    const StopSlot *e = stop_slot(self, w, PyUnicode_GET_LENGTH(word));
    PyMem_Free(w);
    return PyLong_FromUnsignedLongLong(e != NULL ? e->value : 0);
}

static PyObject *stopset_contains_py(StopSetObject *self, PyObject *word)
{
    PyObject *v = stopset_get(self, word);
    if (v == NULL)
        return NULL;
    int r = PyObject_IsTrue(v);
    Py_DECREF(v);
    return PyBool_FromLong(r);
}

/* the stop_scan of a str's first lim code points, per kind */
#define STOP_SCAN_ANY(s, kind, data, lim, found, counts)                                                         \
    ((kind) == PyUnicode_1BYTE_KIND   ? stop_scan(s, PyUnicode_1BYTE_KIND, data, lim, found, counts)           \
     : (kind) == PyUnicode_2BYTE_KIND ? stop_scan(s, PyUnicode_2BYTE_KIND, data, lim, found, counts)           \
                                      : stop_scan(s, PyUnicode_4BYTE_KIND, data, lim, found, counts))

PyDoc_STRVAR(stopset_tally_doc,
"tally(text, limit, min_words, counts, /)\n--\n\n"
"The number of words in text[:limit].lower().split(); when it is at least\n"
"min_words, counts[b] (a list of ints) grows by the number of those words\n"
"whose value has bit b. -1 (nothing counted) where str.lower is not per\n"
"character (U+0130 or U+03A3 in the prefix): Python must count.");

static PyObject *stopset_tally(StopSetObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!nargs_ok("tally", nargs, 4))
        return NULL;
    PyObject *text = args[0], *counts = args[3];
    if (!PyUnicode_Check(text) || !PyList_Check(counts)) {
        PyErr_SetString(PyExc_TypeError, "tally: text must be str and counts a list");
        return NULL;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(args[1]), min_words = PyLong_AsSsize_t(args[2]);
    if ((limit == -1 || min_words == -1) && PyErr_Occurred())
        return NULL;
    if (PyList_GET_SIZE(counts) < self->bits) {
        PyErr_SetString(PyExc_ValueError, "tally: counts is shorter than the values' bits");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), lim = limit < 0 ? 0 : (limit < n ? limit : n), found = 0, b;
    Py_ssize_t local[64] = {0};
    Py_ssize_t words = STOP_SCAN_ANY(self, PyUnicode_KIND(text), PyUnicode_DATA(text), lim, &found, local);
    if (words >= 0 && words >= min_words && found) {
        for (b = 0; b < self->bits; b++) {
            if (!local[b])
                continue;
            Py_ssize_t old = PyLong_AsSsize_t(PyList_GET_ITEM(counts, b));
            if (old == -1 && PyErr_Occurred())
                return NULL;
            PyObject *v = PyLong_FromSsize_t(old + local[b]);
            if (v == NULL)
                return NULL;
            PyObject *was = PyList_GET_ITEM(counts, b);
            PyList_SET_ITEM(counts, b, v);
            Py_DECREF(was);
        }
    }
    return PyLong_FromSsize_t(words);
}

static PyMethodDef stopset_methods[] = {
    {"has", (PyCFunction)stopset_contains_py, METH_O, "has(word, /)\n--\n\nWhether word is one of the stopwords."},
    {"get", (PyCFunction)stopset_get, METH_O, "get(word, /)\n--\n\nThe value of word (0: not a stopword)."},
    {"tally", (PyCFunction)(void (*)(void))stopset_tally, METH_FASTCALL, stopset_tally_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject StopSetType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cleaner._speedups.StopSet",
    .tp_basicsize = sizeof(StopSetObject),
    .tp_dealloc = (destructor)stopset_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "StopSet(words, values=None, /)\n--\n\nA stopword list for LineClass.classify (values: an int\n"
              "above 0 per word, a bit per language; default 1; a word listed twice gets both).",
    .tp_methods = stopset_methods,
    .tp_new = stopset_new,
};

/* len(data[:n].split()): the starts of runs of non-space code points */
ALWAYS_INLINE Py_ssize_t str_word_count(int kind, const void *data, Py_ssize_t n)
{
    Py_ssize_t words = 0;
    int after_space = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        int sp = cp_space(kind, PyUnicode_READ(kind, data, i));
        words += after_space & !sp;
        after_space = sp;
    }
    return words;
}

PyDoc_STRVAR(word_count_doc,
"word_count(text, /)\n--\n\n"
"len(text.split()), without making the words (classify.word_count).");

static PyObject *word_count(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "word_count: text must be str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const void *data = PyUnicode_DATA(text);
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        return PyLong_FromSsize_t(str_word_count(PyUnicode_1BYTE_KIND, data, n));
    case PyUnicode_2BYTE_KIND:
        return PyLong_FromSsize_t(str_word_count(PyUnicode_2BYTE_KIND, data, n));
    default:
        return PyLong_FromSsize_t(str_word_count(PyUnicode_4BYTE_KIND, data, n));
    }
}

/* a few code points (the character sets of context.py) */
#define CHARSET_MAX 16
typedef struct {
    Py_ssize_t n;
    Py_UCS4 c[CHARSET_MAX];
} CharSet;

static inline int in_set(const CharSet *s, Py_UCS4 c)
{
    for (Py_ssize_t i = 0; i < s->n; i++)
        if (s->c[i] == c)
            return 1;
    return 0;
}

static int charset_from(CharSet *s, PyObject *str, const char *what)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(str);
    if (n > CHARSET_MAX) {
        PyErr_Format(PyExc_ValueError, "LineClass: more than %d characters in %s", CHARSET_MAX, what);
        return -1;
    }
    s->n = n;
    for (Py_ssize_t i = 0; i < n; i++)
        s->c[i] = PyUnicode_READ_CHAR(str, i);
    return 0;
}

#define MARKS 8
enum { K_GOOD, K_NEARGOOD, K_TITLE, K_DATA, K_SHORT, K_BAD, N_KINDS };
enum { W_NONE, W_CROSSDOC, W_MENU, W_FEW_STOP, W_GLUE, W_ARROW, N_WHYS };
enum { S_NEARGOOD, S_DATA, S_SHORT, S_TITLE, S_BAD, N_SCORES };
#define GLUE_PIECES_MAX 64


typedef struct {
    PyObject_HEAD
    /* ContextParams */
    double short_units, long_units, very_long_units, stop_low, stop_high;
    double prose_cap, prose_norm, prose_no_end, crossdoc_min_docs;
    PyObject *score[N_SCORES]; /* returned as given (an int stays an int) */
    double score_v[N_SCORES];
    int use_data, use_glue, use_arrows;
    /* context.py's constants */
    Py_ssize_t unspaced_word_chars, stop_prefix_chars, menu_min_seps;
    double chars_per_unit, data_min_words;
    Py_ssize_t glue_title_words, glue_text_words, glue_max_word;
    double glue_title_caps, glue_text_caps;
    CharSet end, closers, bullets, arrows, seps; /* seps: the X of each " X " */
    Py_UCS4 marks[MARKS]; /* seps.c, the first repeated to MARKS (when seps.n <= MARKS) */
    PyObject *kind[N_KINDS], *why[N_WHYS];
    PyTypeObject *features; /* LineFeatures, a tuple subclass */
} LineClassObject;

static void lineclass_dealloc(LineClassObject *self)
{
    for (int i = 0; i < N_SCORES; i++)
        Py_XDECREF(self->score[i]);
    for (int i = 0; i < N_KINDS; i++)
        Py_XDECREF(self->kind[i]);
    for (int i = 0; i < N_WHYS; i++)
        Py_XDECREF(self->why[i]);
    Py_XDECREF(self->features);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *lineclass_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *sc[N_SCORES], *k[N_KINDS], *w[N_WHYS], *end, *closers, *bullets, *arrows, *seps, *features;
    int use_data, use_glue, use_arrows;
    LineClassObject *self = (LineClassObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "LineClass takes no keyword arguments");
        goto fail;
    }
    if (!PyArg_ParseTuple(args, "(dddddddddOOOOOppp)(ndndnnnndd)(UUUUO)(OOOOOO)(UUUUUU)O!:LineClass",
                          &self->short_units, &self->long_units, &self->very_long_units, &self->stop_low,
                          &self->stop_high, &self->prose_cap, &self->prose_norm, &self->prose_no_end,
                          &self->crossdoc_min_docs, &sc[S_NEARGOOD], &sc[S_DATA], &sc[S_SHORT], &sc[S_TITLE],
                          &sc[S_BAD], &use_data, &use_glue, &use_arrows,
                          &self->unspaced_word_chars, &self->chars_per_unit, &self->stop_prefix_chars,
                          &self->data_min_words, &self->menu_min_seps, &self->glue_title_words,
                          &self->glue_text_words, &self->glue_max_word, &self->glue_title_caps,
                          &self->glue_text_caps, &end, &closers, &bullets, &arrows, &seps,
                          &k[K_GOOD], &k[K_NEARGOOD], &k[K_TITLE], &k[K_DATA], &k[K_SHORT], &k[K_BAD],
                          &w[W_NONE], &w[W_CROSSDOC], &w[W_MENU], &w[W_FEW_STOP], &w[W_GLUE], &w[W_ARROW],
                          &PyType_Type, &features))
        goto fail;
    self->use_data = use_data;
    self->use_glue = use_glue;
    self->use_arrows = use_arrows;
    for (int i = 0; i < N_SCORES; i++) {
        self->score_v[i] = PyFloat_AsDouble(sc[i]);
        if (self->score_v[i] == -1.0 && PyErr_Occurred())
            goto fail;
        self->score[i] = Py_NewRef(sc[i]);
    }
    for (int i = 0; i < N_KINDS; i++)
        self->kind[i] = Py_NewRef(k[i]);
    for (int i = 0; i < N_WHYS; i++)
        self->why[i] = Py_NewRef(w[i]);
    PyTypeObject *ft = (PyTypeObject *)features;
    /* made as tuple.__new__ makes a subclass instance: its layout must be a tuple's */
    if (!PyType_IsSubtype(ft, &PyTuple_Type) || ft->tp_basicsize != PyTuple_Type.tp_basicsize
        || ft->tp_itemsize != PyTuple_Type.tp_itemsize || ft->tp_dictoffset != 0) {
        PyErr_SetString(PyExc_TypeError, "LineClass: features must be a tuple subclass without slots");
        goto fail;
    }
    self->features = (PyTypeObject *)Py_NewRef(features);
    if (self->stop_prefix_chars < 0 || self->unspaced_word_chars < 0 || self->glue_title_words < 1
        || self->glue_text_words < 1 || self->glue_max_word < self->glue_title_words
        || self->glue_max_word + self->glue_text_words >= GLUE_PIECES_MAX) {
        PyErr_SetString(PyExc_ValueError, "LineClass: constants out of range");
        goto fail;
    }
    if (charset_from(&self->end, end, "end") < 0 || charset_from(&self->closers, closers, "closers") < 0
        || charset_from(&self->bullets, bullets, "bullets") < 0 || charset_from(&self->arrows, arrows, "arrows") < 0)
        goto fail;
    /* menu separators: " X " each (the count below relies on it) */
    if (!PyTuple_Check(seps) || PyTuple_GET_SIZE(seps) > CHARSET_MAX) {
        PyErr_SetString(PyExc_ValueError, "LineClass: separators must be a tuple of a few str");
        goto fail;
    }
    self->seps.n = PyTuple_GET_SIZE(seps);
    for (Py_ssize_t i = 0; i < self->seps.n; i++) {
        PyObject *s = PyTuple_GET_ITEM(seps, i);
        if (!PyUnicode_Check(s) || PyUnicode_GET_LENGTH(s) != 3 || PyUnicode_READ_CHAR(s, 0) != ' '
            || PyUnicode_READ_CHAR(s, 2) != ' ' || PyUnicode_READ_CHAR(s, 1) == ' ') {
            PyErr_SetString(PyExc_ValueError, "LineClass: each separator must be \" X \"");
            goto fail;
        }
        self->seps.c[i] = PyUnicode_READ_CHAR(s, 1);
    }
    for (int i = 0; i < MARKS; i++)
        self->marks[i] = self->seps.c[i < self->seps.n ? i : 0];
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t n;
} Str;

#define AT(s, i) PyUnicode_READ((s)->kind, (s)->data, (i))

static inline int is_cap(Py_UCS4 c)
{
    if (c < 128)
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return Py_UNICODE_ISUPPER(c) || Py_UNICODE_ISDIGIT(c);
}

static inline int is_az(Py_UCS4 c) { return c >= 'a' && c <= 'z'; }

/* context._GLUE.search(w, 4) for the word t[a:b]: a capital at 4 or later after
 * three lowercase ASCII letters and before one (or the word's end), or after a
 * lowercase letter and one of .?!: */
ALWAYS_INLINE int glue_in(const Str *t, Py_ssize_t a, Py_ssize_t b)
{
    for (Py_ssize_t j = a + 4; j < b; j++) {
        Py_UCS4 c = AT(t, j);
        if (c < 'A' || c > 'Z')
            continue;
        Py_UCS4 p1 = AT(t, j - 1), p2 = AT(t, j - 2);
        if (is_az(p1) && is_az(p2) && is_az(AT(t, j - 3)) && (j + 1 == b || is_az(AT(t, j + 1))))
            return 1;
        if (is_az(p2) && (p1 == '.' || p1 == '?' || p1 == '!' || p1 == ':'))
            return 1;
    }
    return 0;
}

/* context._glued_teaser (its head test only returns early what the rest
 * returns: the first five words are the same; here the split stops as soon
 * as they have too few capitals, as most prose does) */
ALWAYS_INLINE int glued_teaser(const LineClassObject *self, const Str *t)
{
    Py_ssize_t maxsplit = self->glue_max_word + self->glue_text_words;
    Py_ssize_t st[GLUE_PIECES_MAX], en[GLUE_PIECES_MAX];
    int cap[GLUE_PIECES_MAX];
    Py_ssize_t pieces = 0, i = 0, n = t->n, tw = self->glue_title_words, xw = self->glue_text_words, caps = 0;
    /* t.split(maxsplit=maxsplit): the last piece, the rest of the text, only
     * counts with its first character here */
    while (pieces <= maxsplit) {
        if (pieces == tw) {
            for (Py_ssize_t k = 0; k < tw; k++)
                caps += cap[k];
            if (caps < 3)
                return 0;
        }
        while (i < n && cp_space(t->kind, AT(t, i)))
            i++;
        if (i >= n)
            break;
        st[pieces] = i;
        cap[pieces] = is_cap(AT(t, i));
        if (pieces == maxsplit)
            i = n;
        else
            while (i < n && !cp_space(t->kind, AT(t, i)))
                i++;
        en[pieces++] = i;
    }
    if (pieces < tw + xw)
        return 0;
    Py_ssize_t lim = pieces - xw < self->glue_max_word ? pieces - xw : self->glue_max_word;
    for (i = tw - 1; i < lim; i++) {
        if (en[i] - st[i] < 6 || !glue_in(t, st[i], en[i]))
            continue;
        Py_ssize_t title = i + 1, ct = 0, cx = 0, k;
        for (k = 0; k < title; k++)
            ct += cap[k];
        for (k = title; k < pieces; k++)
            cx += cap[k];
        if ((double)ct >= self->glue_title_caps * (double)title
            && (double)cx < self->glue_text_caps * (double)(pieces - title))
            return 1;
    }
    return 0;
}

/* The stopword share of t[:stop_prefix_chars].lower().split(): 1 with *out
 * set, or 0 where Python must decide (str.lower not per character; no word,
 * where Python divides by zero). */
ALWAYS_INLINE int stop_share(const LineClassObject *self, const StopSetObject *sw, const Str *t, double *out)
{
    Py_ssize_t lim = t->n < self->stop_prefix_chars ? t->n : self->stop_prefix_chars, found;
    Py_ssize_t words = stop_scan(sw, t->kind, t->data, lim, &found, NULL);
    if (words <= 0)
        return 0;
    *out = (double)found / (double)words;
    return 1;
}

static PyObject *features_new(PyTypeObject *tp, PyObject **items, Py_ssize_t n)
{
    PyObject *f = NULL;
    Py_ssize_t i;
    for (i = 0; i < n; i++)
        if (items[i] == NULL)
            goto done;
    f = tp->tp_alloc(tp, n);
    if (f == NULL)
        goto done;
    for (i = 0; i < n; i++) {
        PyTuple_SET_ITEM(f, i, items[i]);
        items[i] = NULL;
    }
done:
    for (i = 0; i < n; i++)
        Py_XDECREF(items[i]);
    return f;
}

/* Whole-line counts in loops the compiler vectorises (no early exit), in
 * blocks whose count fits a byte: it then adds 16 characters at once. */
#define COUNT_BLOCK 240
ALWAYS_INLINE Py_ssize_t count_char(int kind, const void *data, Py_ssize_t n, Py_UCS4 c)
{
    Py_ssize_t k = 0;
    for (Py_ssize_t a = 0; a < n; a += COUNT_BLOCK) {
        Py_ssize_t b = n - a > COUNT_BLOCK ? a + COUNT_BLOCK : n;
        uint8_t m = 0;
        for (Py_ssize_t i = a; i < b; i++)
            m += PyUnicode_READ(kind, data, i) == c;
        k += m;
    }
    return k;
}

/* the ASCII digits (as _count_digits: bytes 0-9 of the UTF-8) */
ALWAYS_INLINE Py_ssize_t count_digits(int kind, const void *data, Py_ssize_t n)
{
    Py_ssize_t k = 0;
    for (Py_ssize_t a = 0; a < n; a += COUNT_BLOCK) {
        Py_ssize_t b = n - a > COUNT_BLOCK ? a + COUNT_BLOCK : n;
        uint8_t m = 0;
        for (Py_ssize_t i = a; i < b; i++)
            m += PyUnicode_READ(kind, data, i) - (Py_UCS4)'0' < 10;
        k += m;
    }
    return k;
}

/* a surrogate that surrogateescape cannot encode (Python raises there) */
ALWAYS_INLINE int bad_surrogate(int kind, const void *data, Py_ssize_t n)
{
    if (kind == PyUnicode_1BYTE_KIND)
        return 0;
    int bad = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        bad |= (c - 0xD800 < 0x800) & !(c - 0xDC80 < 0x80);
    }
    return bad;
}

/* whether a separator's middle character ("|" of " | ") occurs at all */
ALWAYS_INLINE int has_mark(const LineClassObject *self, int kind, const void *data, Py_ssize_t n, int ascii)
{
    if (kind != PyUnicode_1BYTE_KIND && self->seps.n > 0 && self->seps.n <= MARKS) {
        /* one pass for all of them, in locals the compiler keeps in vector
         * registers (MARKS == 8) */
        const Py_UCS4 *mk = self->marks;
        const Py_UCS4 m0 = mk[0], m1 = mk[1], m2 = mk[2], m3 = mk[3], m4 = mk[4], m5 = mk[5], m6 = mk[6],
                      m7 = mk[7];
        unsigned m = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            m |= (unsigned)((c == m0) | (c == m1) | (c == m2) | (c == m3) | (c == m4) | (c == m5) | (c == m6)
                            | (c == m7));
        }
        return m != 0;
    }
    for (Py_ssize_t k = 0; k < self->seps.n; k++) {
        Py_UCS4 c = self->seps.c[k];
        if (kind == PyUnicode_1BYTE_KIND) {
            if (c < (ascii ? 128u : 256u) && memchr(data, (int)c, (size_t)n) != NULL)
                return 1;
        } else if (count_char(kind, data, n, c)) {
            return 1;
        }
    }
    return 0;
}

PyDoc_STRVAR(lineclass_classify_doc,
"classify(text, stop, xdocs, /)\n--\n\n"
"context.line_class(text, words, xdocs, params) for a stripped, non-empty\n"
"text, with stop the StopSet of words (or None): (kind, why, score,\n"
"features, short); None where Python must decide.");

/* What classify finds of a line, before any object is made */
typedef struct {
    int kind, why, sc, short_line, end, table, bullet;
    double u, stop, good;
    Py_ssize_t n, digits, seps;
} LineOut;

/* classify's work on a str of this kind (a constant: one copy per kind): 0,
 * or 1 where Python must decide */
ALWAYS_INLINE int classify_kind(const LineClassObject *self, const StopSetObject *sw, long long xdocs, int str_kind,
                                const void *data, Py_ssize_t n, int ascii, LineOut *o)
{
    Str t = {str_kind, data, n};
    Py_ssize_t i;
    /* digits, separator marks and bad surrogates are looked for only when
     * needed (most lines need none) */
    Py_ssize_t spaces = count_char(str_kind, data, n, ' ');
    Py_ssize_t nw = spaces + 1;
    double u = (double)nw;
    if (n > self->unspaced_word_chars * nw)
        u = (double)n / self->chars_per_unit;
    double stop = -1.0;
    if (sw != NULL && u >= self->short_units) {
        if (!stop_share(self, sw, &t, &stop))
            return 1;
    }
    i = n - 1;
    while (i >= 0 && in_set(&self->closers, AT(&t, i)))
        i--;
    int end = i >= 0 && in_set(&self->end, AT(&t, i));
    Py_ssize_t seps = 0;
    if (nw >= 3 && has_mark(self, str_kind, data, n, ascii)) {
        /* t.count(sep) for each " X ": two matches of one overlap only when
         * 2 apart, and count() skips the second of those */
        Py_ssize_t last[CHARSET_MAX];
        for (int k = 0; k < self->seps.n; k++)
            last[k] = -3;
        for (i = 0; i + 2 < n; i++) {
            if (AT(&t, i) != ' ' || AT(&t, i + 2) != ' ')
                continue;
            Py_UCS4 c = AT(&t, i + 1);
            for (int k = 0; k < self->seps.n; k++)
                if (self->seps.c[k] == c && last[k] != i - 2) {
                    seps++;
                    last[k] = i;
                }
        }
    }
    Py_UCS4 c0 = AT(&t, 0), c1 = n > 1 ? AT(&t, 1) : 0;
    int table = c0 == '|' && AT(&t, n - 1) == '|' && n > 2;
    int bullet = in_set(&self->bullets, c0) && n > 2 && c1 == ' ';
    Py_ssize_t digits = -1; /* counted only when a rule below needs it */
    int kind = K_TITLE, why = W_NONE, sc = S_TITLE, short_line = 0;
    double good = 0.0;
    if ((double)xdocs >= self->crossdoc_min_docs) {
        kind = K_BAD, why = W_CROSSDOC, sc = S_BAD;
    } else if (table) {
        kind = self->use_data ? K_DATA : K_BAD;
        sc = self->use_data ? S_DATA : S_BAD;
    } else if (seps >= self->menu_min_seps) {
        kind = K_BAD, why = W_MENU, sc = S_BAD;
    } else if (u < self->short_units) {
        short_line = 1;
        if (end && stop >= self->stop_high)
            kind = K_NEARGOOD, sc = S_NEARGOOD;
        else
            kind = K_SHORT, sc = S_SHORT;
    } else if (0 <= stop && stop < self->stop_low) {
        if (end) {
            kind = K_NEARGOOD, sc = S_NEARGOOD;
        } else {
            if (bad_surrogate(str_kind, data, n))
                return 1;
            digits = count_digits(str_kind, data, n);
            if (self->use_data && digits && u >= self->data_min_words)
                kind = K_DATA, sc = S_DATA;
            else
                kind = K_BAD, why = W_FEW_STOP, sc = S_BAD;
        }
    } else if ((u >= self->long_units && (stop >= self->stop_high || stop < 0)) || u >= self->very_long_units) {
        if (self->use_glue && n <= self->unspaced_word_chars * nw && glued_teaser(self, &t)) {
            kind = K_BAD, why = W_GLUE, sc = S_BAD;
        } else {
            kind = K_GOOD, sc = -1;
            /* min(u, prose_cap): u unless prose_cap is smaller */
            double capped = self->prose_cap < u ? self->prose_cap : u;
            good = capped / self->prose_norm * (end ? 1.0 : self->prose_no_end);
        }
    } else if (end) {
        kind = K_NEARGOOD, sc = S_NEARGOOD;
    } else if (stop < 0 && self->use_data && u >= self->data_min_words) {
        if (bad_surrogate(str_kind, data, n))
            return 1;
        digits = count_digits(str_kind, data, n);
        if (digits)
            kind = K_DATA, sc = S_DATA;
    }
    double score = sc < 0 ? good : self->score_v[sc];
    if (bullet && self->use_data && score < self->score_v[S_DATA])
        kind = K_DATA, why = W_NONE, sc = S_DATA;
    if (self->use_arrows && kind != K_GOOD && in_set(&self->arrows, c0) && n > 2 && c1 == ' ')
        kind = K_BAD, why = W_ARROW, sc = S_BAD;
    *o = (LineOut){kind, why, sc, short_line, end, table, bullet, u, stop, good, n, digits, seps};
    return 0;
}

/* classify's line as the features and the score objects (new references) */
static int classify_objects(const LineClassObject *self, const LineOut *o, PyObject *xdocs_obj, PyObject **feat,
                            PyObject **score)
{
    PyObject *items[9] = {
        PyLong_FromSsize_t(o->n), PyFloat_FromDouble(o->u), PyFloat_FromDouble(o->stop), PyBool_FromLong(o->end),
        PyLong_FromSsize_t(o->digits), PyLong_FromSsize_t(o->seps), PyBool_FromLong(o->table),
        PyBool_FromLong(o->bullet), Py_NewRef(xdocs_obj),
    };
    *feat = features_new(self->features, items, 9);
    if (*feat == NULL)
        return -1;
    *score = o->sc < 0 ? PyFloat_FromDouble(o->good) : Py_NewRef(self->score[o->sc]);
    if (*score == NULL) {
        Py_CLEAR(*feat);
        return -1;
    }
    return 0;
}

/* classify_kind for a str of any kind */
static int classify_str(const LineClassObject *self, const StopSetObject *sw, long long xdocs, PyObject *text,
                        LineOut *o)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const void *data = PyUnicode_DATA(text);
    int ascii = PyUnicode_IS_ASCII(text);
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        return classify_kind(self, sw, xdocs, PyUnicode_1BYTE_KIND, data, n, ascii, o);
    case PyUnicode_2BYTE_KIND:
        return classify_kind(self, sw, xdocs, PyUnicode_2BYTE_KIND, data, n, ascii, o);
    default:
        return classify_kind(self, sw, xdocs, PyUnicode_4BYTE_KIND, data, n, ascii, o);
    }
}

static PyObject *lineclass_classify(LineClassObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!nargs_ok("classify", nargs, 3))
        return NULL;
    PyObject *text = args[0], *xdocs_obj = args[2];
    const StopSetObject *sw = NULL;
    if (!PyUnicode_Check(text) || !PyLong_Check(xdocs_obj)) {
        PyErr_SetString(PyExc_TypeError, "classify: text must be str and xdocs int");
        return NULL;
    }
    if (args[1] != Py_None) {
        if (!PyObject_TypeCheck(args[1], &StopSetType)) {
            PyErr_SetString(PyExc_TypeError, "classify: stop must be a StopSet or None");
            return NULL;
        }
        sw = (const StopSetObject *)args[1];
    }
    long long xdocs = PyLong_AsLongLong(xdocs_obj);
    if (xdocs == -1 && PyErr_Occurred())
        return NULL;
    if (PyUnicode_GET_LENGTH(text) == 0) {
        PyErr_SetString(PyExc_ValueError, "classify: empty text");
        return NULL;
    }
    LineOut o;
    PyObject *feat, *score;
    if (classify_str(self, sw, xdocs, text, &o))
        Py_RETURN_NONE;
    if (classify_objects(self, &o, xdocs_obj, &feat, &score) < 0)
        return NULL;
    PyObject *out = PyTuple_New(5);
    if (out == NULL) {
        Py_DECREF(feat);
        Py_DECREF(score);
        return NULL;
    }
    PyTuple_SET_ITEM(out, 0, Py_NewRef(self->kind[o.kind]));
    PyTuple_SET_ITEM(out, 1, Py_NewRef(self->why[o.why]));
    PyTuple_SET_ITEM(out, 2, score);
    PyTuple_SET_ITEM(out, 3, feat);
    PyTuple_SET_ITEM(out, 4, PyBool_FromLong(o.short_line));
    return out;
}

static PyMethodDef lineclass_methods[] = {
    {"classify", (PyCFunction)(void (*)(void))lineclass_classify, METH_FASTCALL, lineclass_classify_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LineClassType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cleaner._speedups.LineClass",
    .tp_basicsize = sizeof(LineClassObject),
    .tp_dealloc = (destructor)lineclass_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "LineClass(params, constants, chars, kinds, whys, features, /)\n--\n\n"
              "context.line_class for one ContextParams (built by context.c_line_class).",
    .tp_methods = lineclass_methods,
    .tp_new = lineclass_new,
};

/* ---- the classifier's article region (context.viterbi_forward, viterbi_trace) ---- */

PyDoc_STRVAR(viterbi_forward_doc,
"viterbi_forward(scores, va, vj, switch, back, /)\n--\n\n"
"context.viterbi_forward: the forward step over a list of scores (floats or\n"
"ints of at most 2**53, as Python adds them to floats); appends each line's\n"
"back-pointers to the bytearray back; returns (va, vj).");

static PyObject *viterbi_forward(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!nargs_ok("viterbi_forward", nargs, 5))
        return NULL;
    PyObject *scores = args[0], *back = args[4];
    if (!PyList_Check(scores) || !PyByteArray_Check(back)) {
        PyErr_SetString(PyExc_TypeError, "viterbi_forward: scores must be a list and back a bytearray");
        return NULL;
    }
    double va = PyFloat_AsDouble(args[1]), vj = PyFloat_AsDouble(args[2]), t = PyFloat_AsDouble(args[3]);
    if (PyErr_Occurred())
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(scores), at = PyByteArray_GET_SIZE(back);
    if (PyByteArray_Resize(back, at + n) < 0)
        return NULL;
    char *b = PyByteArray_AS_STRING(back) + at;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *so = PyList_GET_ITEM(scores, i);
        double sc = PyFloat_CheckExact(so) ? PyFloat_AS_DOUBLE(so) : PyFloat_AsDouble(so);
        if (sc == -1.0 && PyErr_Occurred()) {
            PyByteArray_Resize(back, at);
            return NULL;
        }
        /* the Python's comparisons, NaN included */
        double from_j = vj - t, na, from_a = va - t;
        int bits = 0;
        if (va >= from_j) {
            na = va + sc;
            bits = 1;
        } else {
            na = from_j + sc;
        }
        if (!(vj >= from_a)) {
            vj = from_a;
            bits |= 2;
        }
        va = na;
        b[i] = (char)bits;
    }
    return Py_BuildValue("(dd)", va, vj);
}

PyDoc_STRVAR(viterbi_trace_doc,
"viterbi_trace(back, n, state, /)\n--\n\n"
"context.viterbi_trace: the best path through the first n lines.");

static PyObject *viterbi_trace(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!nargs_ok("viterbi_trace", nargs, 3))
        return NULL;
    PyObject *back = args[0];
    if (!PyByteArray_Check(back)) {
        PyErr_SetString(PyExc_TypeError, "viterbi_trace: back must be a bytearray");
        return NULL;
    }
    Py_ssize_t n = PyLong_AsSsize_t(args[1]);
    int state = PyObject_IsTrue(args[2]);
    if ((n == -1 && PyErr_Occurred()) || state < 0)
        return NULL;
    if (n < 0 || n > PyByteArray_GET_SIZE(back)) {
        PyErr_SetString(PyExc_IndexError, "viterbi_trace: n out of range");
        return NULL;
    }
    const char *b = PyByteArray_AS_STRING(back);
    PyObject *path = PyList_New(n);
    if (path == NULL)
        return NULL;
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        PyList_SET_ITEM(path, i, Py_NewRef(state ? Py_True : Py_False));
        state = (b[i] >> (state ? 0 : 1)) & 1;
    }
    return path;
}

/* ---- context._Line in C: a line while it waits for its verdict ---- */

#include <structmember.h>

/* The attributes of context._Line as struct members. Not tracked by the
 * garbage collector: context.py stores only str, numbers, bools and the
 * features tuple in them, never a container; a line made to point back at
 * itself (or at a container that holds it) would never be freed. */
typedef struct {
    PyObject_HEAD
    PyObject *art, *feat, *fixed, *held, *index, *kind, *rep, *score, *text, *why;
} LineObject;

static PyTypeObject LineType;
static PyObject *empty_str;

static void line_dealloc(LineObject *self)
{
    Py_XDECREF(self->art);
    Py_XDECREF(self->feat);
    Py_XDECREF(self->fixed);
    Py_XDECREF(self->held);
    Py_XDECREF(self->index);
    Py_XDECREF(self->kind);
    Py_XDECREF(self->rep);
    Py_XDECREF(self->score);
    Py_XDECREF(self->text);
    Py_XDECREF(self->why);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *line_vectorcall(PyObject *type, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames)) {
        PyErr_SetString(PyExc_TypeError, "Line takes no keyword arguments");
        return NULL;
    }
    if (nargs != 3 && nargs != 4) {
        PyErr_Format(PyExc_TypeError, "Line takes 3 or 4 arguments (%zd given)", nargs);
        return NULL;
    }
    if (empty_str == NULL && (empty_str = PyUnicode_New(0, 0)) == NULL)
        return NULL;
    LineObject *self = PyObject_New(LineObject, (PyTypeObject *)type);
    if (self == NULL)
        return NULL;
    self->art = self->feat = self->kind = self->score = NULL;
    self->index = Py_NewRef(args[0]);
    self->text = Py_NewRef(args[1]);
    self->fixed = Py_NewRef(args[2]);
    self->held = Py_NewRef(nargs == 4 ? args[3] : Py_False);
    self->why = Py_NewRef(empty_str);
    self->rep = Py_NewRef(Py_False);
    return (PyObject *)self;
}

static PyObject *line_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Line takes no keyword arguments");
        return NULL;
    }
    return line_vectorcall((PyObject *)type, &PyTuple_GET_ITEM(args, 0), (size_t)PyTuple_GET_SIZE(args), NULL);
}

#define LINE_MEMBER(name) {#name, T_OBJECT_EX, offsetof(LineObject, name), 0, NULL}
static PyMemberDef line_members[] = {
    LINE_MEMBER(art), LINE_MEMBER(feat), LINE_MEMBER(fixed), LINE_MEMBER(held), LINE_MEMBER(index), LINE_MEMBER(kind),
    LINE_MEMBER(rep), LINE_MEMBER(score), LINE_MEMBER(text), LINE_MEMBER(why),
    {NULL, 0, 0, 0, NULL},
};
#undef LINE_MEMBER

static PyTypeObject LineType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cleaner._speedups.Line",
    .tp_basicsize = sizeof(LineObject),
    .tp_dealloc = (destructor)line_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Line(index, text, fixed, held=False, /)\n--\n\ncontext._Line in C (its attributes as members).",
    .tp_members = line_members,
    .tp_new = line_new,
    .tp_vectorcall = line_vectorcall,
};

/* ln.<name>, a new reference: the member of a Line, else getattr */
#define LINE_GET(ln, name) \
    (Py_TYPE(ln) == &LineType && ((LineObject *)(ln))->name != NULL ? Py_NewRef(((LineObject *)(ln))->name) \
                                                                     : PyObject_GetAttr((ln), a_##name))

/* ln.<name> = v: 0, or -1 with an exception */
static inline int line_set(PyObject *ln, PyObject *name, size_t offset, PyObject *v)
{
    if (Py_TYPE(ln) == &LineType) {
        PyObject **slot = (PyObject **)((char *)ln + offset);
        Py_XSETREF(*slot, Py_NewRef(v));
        return 0;
    }
    return PyObject_SetAttr(ln, name, v);
}
#define LINE_SET(ln, name, v) line_set((ln), a_##name, offsetof(LineObject, name), (v))

/* ---- the classifier's pass 1 over a document's new lines (context.DocumentContext._classify) ---- */

PyDoc_STRVAR(classify_lines_doc,
"classify_lines(line_class, lines, start, stop, crossdoc, seen, consts, /)\n--\n\n"
"DocumentContext._classify over lines[start:] (a list of context._Line) in one\n"
"call: sets each line's kind, score and feat (and why, rep of lines no rule\n"
"removed). stop: the StopSet of the document's language or None; crossdoc:\n"
"None or (rows, bits, pending, max_pending) as for crossdoc_see; seen: the\n"
"set of short lines or None; consts: (no_features, blank, dup, rule, zero,\n"
"dedup_rule, dedup_score, rule_scores, rule_score, repeat_max_chars,\n"
"repeat_max_keys). Returns (i, xdocs, last_rep): i == len(lines) when all are\n"
"done, else the line left to Python (its cross-document count xdocs already\n"
"taken); last_rep the index of the last short repeat found, or -1.");

static PyObject *a_text, *a_fixed, *a_held, *a_index, *a_kind, *a_why, *a_score, *a_feat, *a_rep;

static int line_names(void)
{
    if (a_rep != NULL)
        return 0;
    return (a_text = PyUnicode_InternFromString("text")) == NULL
        || (a_fixed = PyUnicode_InternFromString("fixed")) == NULL
        || (a_held = PyUnicode_InternFromString("held")) == NULL
        || (a_index = PyUnicode_InternFromString("index")) == NULL
        || (a_kind = PyUnicode_InternFromString("kind")) == NULL
        || (a_why = PyUnicode_InternFromString("why")) == NULL
        || (a_score = PyUnicode_InternFromString("score")) == NULL
        || (a_feat = PyUnicode_InternFromString("feat")) == NULL
        || (a_rep = PyUnicode_InternFromString("rep")) == NULL ? -1 : 0;
}

/* str.strip()'s bounds: text[*a:*b] */
static void strip_bounds(PyObject *text, Py_ssize_t *a, Py_ssize_t *b)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t i = 0, j = PyUnicode_GET_LENGTH(text);
    while (i < j && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i)))
        i++;
    while (j > i && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, j - 1)))
        j--;
    *a = i;
    *b = j;
}

/* ln.kind, ln.score, ln.feat = kind, score, feat (borrowed) */
static int set_class(PyObject *ln, PyObject *kind, PyObject *score, PyObject *feat)
{
    return LINE_SET(ln, kind, kind) < 0 || LINE_SET(ln, score, score) < 0
        || LINE_SET(ln, feat, feat) < 0 ? -1 : 0;
}

/* How many lines classify_lines keys at a time: the counter (4 MB) misses the
 * caches and the TLB, so the cells of these lines are prefetched together
 * (their page walks overlap) before they are classified. */
#define XDOC_AHEAD 8

typedef struct {
    PyObject *text; /* held (the key is known to be this str's), or NULL: no key taken ahead */
    uint64_t key;
} XdocAhead;

/* the key of ln's stripped text into *e, where it is a Line classify_lines
 * will look up and crossdoc_key_fast gives its key */
static void xdoc_ahead(XdocAhead *e, PyObject *ln)
{
    Py_CLEAR(e->text);
    if (Py_TYPE(ln) != &LineType)
        return;
    PyObject *text = ((LineObject *)ln)->text;
    if (((LineObject *)ln)->fixed != Py_None || text == NULL || !PyUnicode_Check(text))
        return;
    Py_ssize_t a, b;
    strip_bounds(text, &a, &b);
    if (a == b || !crossdoc_key_fast(text, a, b, &e->key))
        return;
    e->text = Py_NewRef(text);
}

/* classify_lines asks for a line's text (prefetch_text, as check_lines)
 * this many lines before it reads it: a window's texts were decoded with
 * their chunk long before, and strip_bounds' and the cross-document key's
 * first reads of each stalled (benchmarks/README.md, session 22). Both
 * modes gain, `--dedup off` a little more. */
#define CLASSIFY_TEXT_AHEAD 16
static inline void line_text_ahead(PyObject *ln)
{
    if (Py_TYPE(ln) == &LineType && ((LineObject *)ln)->text != NULL)
        prefetch_text(((LineObject *)ln)->text);
}

static PyObject *classify_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (!nargs_ok("classify_lines", nargs, 7))
        return NULL;
    PyObject *lines = args[1], *cd = args[4], *seen = args[5], *consts = args[6];
    if (!PyObject_TypeCheck(args[0], &LineClassType) || !PyList_Check(lines)
        || (args[3] != Py_None && !PyObject_TypeCheck(args[3], &StopSetType))
        || (cd != Py_None && (!PyTuple_Check(cd) || PyTuple_GET_SIZE(cd) != 4))
        || (seen != Py_None && !PySet_Check(seen)) || !PyTuple_Check(consts) || PyTuple_GET_SIZE(consts) != 11) {
        PyErr_SetString(PyExc_TypeError, "classify_lines(LineClass, list, int, StopSet | None, tuple | None, "
                                         "set | None, tuple)");
        return NULL;
    }
    const LineClassObject *lc = (const LineClassObject *)args[0];
    const StopSetObject *sw = args[3] == Py_None ? NULL : (const StopSetObject *)args[3];
    PyObject *no_feat = PyTuple_GET_ITEM(consts, 0), *k_blank = PyTuple_GET_ITEM(consts, 1);
    PyObject *k_dup = PyTuple_GET_ITEM(consts, 2), *k_rule = PyTuple_GET_ITEM(consts, 3);
    PyObject *zero = PyTuple_GET_ITEM(consts, 4), *dedup_rule = PyTuple_GET_ITEM(consts, 5);
    PyObject *dedup_score = PyTuple_GET_ITEM(consts, 6), *rule_scores = PyTuple_GET_ITEM(consts, 7);
    PyObject *rule_score = PyTuple_GET_ITEM(consts, 8);
    Py_ssize_t start = PyLong_AsSsize_t(args[2]);
    Py_ssize_t max_chars = PyLong_AsSsize_t(PyTuple_GET_ITEM(consts, 9));
    Py_ssize_t max_keys = PyLong_AsSsize_t(PyTuple_GET_ITEM(consts, 10));
    if (PyErr_Occurred())
        return NULL;
    if (!PyDict_Check(rule_scores) || start < 0) {
        PyErr_SetString(PyExc_ValueError, "classify_lines: rule_scores must be a dict and start >= 0");
        return NULL;
    }
    if (line_names() < 0)
        return NULL;
    if (strip_name == NULL && ((strip_name = PyUnicode_InternFromString("strip")) == NULL
                               || (lower_name = PyUnicode_InternFromString("lower")) == NULL))
        return NULL;
    Py_buffer v[3];
    Py_ssize_t depth = 0, max_pending = 0;
    long bits = 0;
    PyObject *pending = Py_None;
    if (cd != Py_None) {
        pending = PyTuple_GET_ITEM(cd, 2);
        max_pending = PyLong_AsSsize_t(PyTuple_GET_ITEM(cd, 3));
        if (max_pending == -1 && PyErr_Occurred())
            return NULL;
        if (!PyList_Check(PyTuple_GET_ITEM(cd, 0)) || (pending != Py_None && !keyset_check(pending))) {
            PyErr_SetString(PyExc_TypeError, "classify_lines: crossdoc must be (list, int, KeyTable(8) | None, int)");
            return NULL;
        }
        if (rows_open("classify_lines", PyTuple_GET_ITEM(cd, 0), PyTuple_GET_ITEM(cd, 1), PyBUF_SIMPLE, v, &depth,
                      &bits) < 0)
            return NULL;
    }
    Py_ssize_t last_rep = -1;
    PyObject *ret = NULL, *text = NULL, *t = NULL, *fx = NULL, *xdocs_obj = NULL, *ln = NULL;
    XdocAhead ahead[XDOC_AHEAD] = {{NULL, 0}}; /* lines[j]'s at [j % XDOC_AHEAD], i <= j < filled */
    Py_ssize_t i, filled = start;
    for (i = start; i < PyList_GET_SIZE(lines); i++) {
        if (i + CLASSIFY_TEXT_AHEAD < PyList_GET_SIZE(lines))
            line_text_ahead(PyList_GET_ITEM(lines, i + CLASSIFY_TEXT_AHEAD));
        if (depth > 0 && i >= filled) {
            for (filled = i; filled < PyList_GET_SIZE(lines) && filled < i + XDOC_AHEAD; filled++)
                xdoc_ahead(&ahead[filled % XDOC_AHEAD], PyList_GET_ITEM(lines, filled));
            uint64_t mask = ((uint64_t)1 << bits) - 1;
            for (Py_ssize_t j = i; j < filled; j++)
                if (ahead[j % XDOC_AHEAD].text != NULL)
                    for (Py_ssize_t r = 0; r < depth; r++)
                        __builtin_prefetch((const uint16_t *)v[r].buf
                                           + ((ahead[j % XDOC_AHEAD].key >> (bits * r)) & mask));
        }
        /* held: a non-Line's getattr may run code that changes the list */
        Py_XSETREF(ln, Py_NewRef(PyList_GET_ITEM(lines, i)));
        Py_ssize_t a, b;
        if ((text = LINE_GET(ln, text)) == NULL || (fx = LINE_GET(ln, fixed)) == NULL)
            goto done;
        /* the key taken ahead is this line's if it is of this very str */
        const XdocAhead *e = i < filled && ahead[i % XDOC_AHEAD].text == text ? &ahead[i % XDOC_AHEAD] : NULL;
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "classify_lines: a line's text must be str");
            goto done;
        }
        strip_bounds(text, &a, &b);
        if (fx != Py_None) {
            PyObject *kind = k_blank, *score = zero;
            if (a < b) {
                int dup = PyObject_RichCompareBool(fx, dedup_rule, Py_EQ);
                if (dup < 0)
                    goto done;
                if (dup) {
                    kind = k_dup, score = dedup_score;
                } else {
                    kind = k_rule;
                    score = PyDict_GetItemWithError(rule_scores, fx);
                    if (score == NULL && PyErr_Occurred())
                        goto done;
                    if (score == NULL) { /* rule_score fills rule_scores */
                        PyObject *got = PyObject_CallOneArg(rule_score, fx);
                        if (got == NULL)
                            goto done;
                        int bad = set_class(ln, kind, got, no_feat);
                        Py_DECREF(got);
                        if (bad)
                            goto done;
                        Py_CLEAR(text);
                        Py_CLEAR(fx);
                        continue;
                    }
                }
            }
            if (set_class(ln, kind, score, no_feat) < 0)
                goto done;
            Py_CLEAR(text);
            Py_CLEAR(fx);
            continue;
        }
        Py_CLEAR(fx);
        if (a == b) {
            if (set_class(ln, k_blank, zero, no_feat) < 0)
                goto done;
            Py_CLEAR(text);
            continue;
        }
        t = a == 0 && b == PyUnicode_GET_LENGTH(text) ? Py_NewRef(text) : PyUnicode_Substring(text, a, b);
        Py_CLEAR(text);
        if (t == NULL)
            goto done;
        long long xdocs = 0;
        if (cd != Py_None) {
            long c = e != NULL ? crossdoc_look_key(e->key, v, depth, bits, pending, max_pending)
                               : crossdoc_look(t, v, depth, bits, pending, max_pending);
            if (c < 0)
                goto done;
            xdocs = c;
        }
        xdocs_obj = PyLong_FromLongLong(xdocs);
        if (xdocs_obj == NULL)
            goto done;
        LineOut o;
        if (classify_str(lc, sw, xdocs, t, &o)) { /* Python decides this one */
            ret = Py_BuildValue("(nOn)", i, xdocs_obj, last_rep);
            goto done;
        }
        PyObject *feat, *score;
        if (classify_objects(lc, &o, xdocs_obj, &feat, &score) < 0)
            goto done;
        Py_CLEAR(xdocs_obj);
        int bad = set_class(ln, lc->kind[o.kind], score, feat) < 0 || LINE_SET(ln, why, lc->why[o.why]) < 0;
        Py_DECREF(feat);
        Py_DECREF(score);
        if (bad)
            goto done;
        if (o.short_line && seen != Py_None && PyUnicode_GET_LENGTH(t) <= max_chars && !o.bullet) {
            int has = PySet_Contains(seen, t);
            if (has < 0)
                goto done;
            if (has) {
                if (LINE_SET(ln, rep, Py_True) < 0)
                    goto done;
                PyObject *index = LINE_GET(ln, index);
                if (index == NULL)
                    goto done;
                last_rep = PyLong_AsSsize_t(index);
                Py_DECREF(index);
                if (last_rep == -1 && PyErr_Occurred())
                    goto done;
            } else if (PySet_GET_SIZE(seen) < max_keys && PySet_Add(seen, t) < 0) {
                goto done;
            }
        }
        Py_CLEAR(t);
    }
    ret = Py_BuildValue("(nin)", i, 0, last_rep);
done:
    Py_XDECREF(ln);
    Py_XDECREF(text);
    Py_XDECREF(fx);
    Py_XDECREF(t);
    Py_XDECREF(xdocs_obj);
    for (Py_ssize_t j = 0; j < XDOC_AHEAD; j++)
        Py_XDECREF(ahead[j].text);
    if (cd != Py_None)
        rows_close(v, depth);
    return ret;
}

/* ---- the classifier's verdicts (context.DocumentContext._flush, _verdicts) ---- */

PyDoc_STRVAR(verdict_lines_doc,
"verdict_lines(lines, art, end, consts, flags, own, left, /)\n--\n\n"
"Sets each line's art from the list art (as long as lines), and returns\n"
"(verdicts, left): DocumentContext._verdicts(0, end) where a line takes one of\n"
"its common branches, None where Python decides, and left the positions of\n"
"those. consts: (Verdict, in_article, outside, blank, blank_reason,\n"
"dedup_rule, bad, short, crossdoc_why, content, gaps, data, no_clear,\n"
"alone), the four dicts by kind, content and gaps sets; flags: 1 use_region,\n"
"2 weak article, 4 drop_bad_in_article, 8 drop_short_in_article, 16\n"
"use_weak_neighbors. own: None (Python judges repeats), or (line_class,\n"
"stop, crossdoc) as for classify_lines, crossdoc None or (rows, bits): a\n"
"repeat's own_keep (DocumentContext._own_keep; only of a line held) is then\n"
"found in C. left:\n"
"the lines decided before (DocumentContext.left, read by _near).");

static PyObject *a_art;

/* NULL with the error of a list changed by a non-Line's attribute access */
static PyObject *lists_changed(const char *name)
{
    PyErr_Format(PyExc_RuntimeError, "%s: the lines changed during the call", name);
    return NULL;
}

/* a == b for a kind (the same object, but for a str made elsewhere) */
static inline int same_str(PyObject *a, PyObject *b)
{
    return a == b || (PyUnicode_Check(a) && PyUnicode_Compare(a, b) == 0);
}

/* what DocumentContext._weak_company reads: the lines, the lines before them
 * (left) and the kinds it compares */
typedef struct {
    PyObject *lines, *left, *gaps, *content, *data;
} Company;

/* the kind of DocumentContext._near(i, step) (a new reference), Py_None for
 * none, NULL on error; the lists' lengths are read again at each step, as
 * a non-Line's getattr may change them */
static PyObject *near_kind(const Company *c, Py_ssize_t i, int step)
{
    for (Py_ssize_t j = i + step;; j += step) {
        Py_ssize_t nl = PyList_GET_SIZE(c->left);
        if (j >= PyList_GET_SIZE(c->lines) || j < -nl)
            return Py_NewRef(Py_None);
        PyObject *ln = Py_NewRef(j >= 0 ? PyList_GET_ITEM(c->lines, j) : PyList_GET_ITEM(c->left, nl + j));
        PyObject *kind = LINE_GET(ln, kind);
        Py_DECREF(ln);
        if (kind == NULL)
            return NULL;
        int gap = PySet_Contains(c->gaps, kind);
        if (gap == 0)
            return kind;
        Py_DECREF(kind);
        if (gap < 0)
            return NULL;
    }
}

/* DocumentContext._weak_company(i, kind), is_data: kind == DATA; 1, 0 or -1 */
static int weak_company(const Company *c, Py_ssize_t i, int is_data)
{
    PyObject *up = near_kind(c, i, -1), *down = up != NULL ? near_kind(c, i, 1) : NULL;
    int r = -1;
    if (down == NULL)
        goto done;
    if (is_data) {
        r = (up != Py_None && same_str(up, c->data)) || (down != Py_None && same_str(down, c->data));
    } else if (up == Py_None || down == Py_None) {
        r = 1;
    } else {
        r = PySet_Contains(c->content, up);
        if (r == 0)
            r = PySet_Contains(c->content, down);
    }
done:
    Py_XDECREF(up);
    Py_XDECREF(down);
    return r;
}

/* DocumentContext._own_keep of repeat ln (lines[i]): 1 kept, 0 not, -2
 * where Python decides, -1 on error; v: the crossdoc rows (depth 0: none) */
static int own_keep(PyObject *ln, int is_art, long flags, const LineClassObject *lc, const StopSetObject *sw,
                    Py_buffer v[3], Py_ssize_t depth, long bits, const Company *co, Py_ssize_t i)
{
    PyObject *text = LINE_GET(ln, text), *t;
    Py_ssize_t a, b;
    if (text == NULL)
        return -1;
    if (!PyUnicode_Check(text) || !(flags & 1)) {
        Py_DECREF(text);
        return -2;
    }
    strip_bounds(text, &a, &b);
    if (a == b) { /* blank: kept */
        Py_DECREF(text);
        return 1;
    }
    t = a == 0 && b == PyUnicode_GET_LENGTH(text) ? Py_NewRef(text) : PyUnicode_Substring(text, a, b);
    Py_DECREF(text);
    if (t == NULL)
        return -1;
    long long xdocs = 0;
    if (depth > 0) { /* counted, not added (own) */
        long c = crossdoc_look(t, v, depth, bits, Py_None, 0);
        if (c < 0) {
            Py_DECREF(t);
            return -1;
        }
        xdocs = c;
    }
    LineOut o;
    int r = classify_str(lc, sw, xdocs, t, &o);
    Py_DECREF(t);
    if (r)
        return -2;
    /* _verdicts' branches for a line no rule removed */
    if (!is_art) {
        if (!(flags & 2) || !(o.kind == K_GOOD || o.kind == K_NEARGOOD || o.kind == K_DATA))
            return 0;
        return !(flags & 16) ? 1 : weak_company(co, i, o.kind == K_DATA);
    }
    if (o.kind == K_BAD)
        return (flags & 4) || (o.why == W_CROSSDOC && o.u >= lc->short_units) ? 0 : 1;
    if (o.kind == K_SHORT && (flags & 8))
        return -2;
    return 1;
}

static PyObject *verdict_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (!nargs_ok("verdict_lines", nargs, 7))
        return NULL;
    PyObject *lines = args[0], *art = args[1], *consts = args[3];
    if (!PyList_Check(lines) || !PyList_Check(art) || PyList_GET_SIZE(art) != PyList_GET_SIZE(lines)
        || !PyTuple_Check(consts) || PyTuple_GET_SIZE(consts) != 14 || !PyList_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError, "verdict_lines(list, list as long, int, tuple, int, own, list)");
        return NULL;
    }
    PyTypeObject *vt = (PyTypeObject *)PyTuple_GET_ITEM(consts, 0);
    PyObject *in_article = PyTuple_GET_ITEM(consts, 1), *outside = PyTuple_GET_ITEM(consts, 2);
    PyObject *k_blank = PyTuple_GET_ITEM(consts, 3), *blank_reason = PyTuple_GET_ITEM(consts, 4);
    PyObject *dedup_rule = PyTuple_GET_ITEM(consts, 5), *k_bad = PyTuple_GET_ITEM(consts, 6);
    PyObject *k_short = PyTuple_GET_ITEM(consts, 7), *crossdoc_why = PyTuple_GET_ITEM(consts, 8);
    PyObject *content = PyTuple_GET_ITEM(consts, 9), *no_clear = PyTuple_GET_ITEM(consts, 12);
    PyObject *alone = PyTuple_GET_ITEM(consts, 13);
    const Company co = {lines, args[6], PyTuple_GET_ITEM(consts, 10), content, PyTuple_GET_ITEM(consts, 11)};
    Py_ssize_t end = PyLong_AsSsize_t(args[2]);
    long flags = PyLong_AsLong(args[4]);
    if (PyErr_Occurred())
        return NULL;
    if (!PyType_Check(vt) || !PyType_IsSubtype(vt, &PyTuple_Type) || vt->tp_basicsize != PyTuple_Type.tp_basicsize
        || vt->tp_itemsize != PyTuple_Type.tp_itemsize || vt->tp_dictoffset != 0 || !PyDict_Check(in_article)
        || !PyDict_Check(outside) || !PyAnySet_Check(content) || !PyAnySet_Check(co.gaps) || !PyUnicode_Check(co.data)
        || !PyDict_Check(no_clear) || !PyDict_Check(alone) || end < 0 || end > PyList_GET_SIZE(lines)) {
        PyErr_SetString(PyExc_ValueError, "verdict_lines: bad constants or end");
        return NULL;
    }
    PyObject *own = args[5];
    const LineClassObject *lc = NULL;
    const StopSetObject *sw = NULL;
    PyObject *cd = Py_None;
    if (own != Py_None) {
        if (!PyTuple_Check(own) || PyTuple_GET_SIZE(own) != 3
            || !PyObject_TypeCheck(PyTuple_GET_ITEM(own, 0), &LineClassType)
            || (PyTuple_GET_ITEM(own, 1) != Py_None && !PyObject_TypeCheck(PyTuple_GET_ITEM(own, 1), &StopSetType))
            || ((cd = PyTuple_GET_ITEM(own, 2)) != Py_None && (!PyTuple_Check(cd) || PyTuple_GET_SIZE(cd) != 2
                                                               || !PyList_Check(PyTuple_GET_ITEM(cd, 0))))) {
            PyErr_SetString(PyExc_TypeError, "verdict_lines: own must be (LineClass, StopSet | None, "
                                             "(list, int) | None) or None");
            return NULL;
        }
        lc = (const LineClassObject *)PyTuple_GET_ITEM(own, 0);
        if (PyTuple_GET_ITEM(own, 1) != Py_None)
            sw = (const StopSetObject *)PyTuple_GET_ITEM(own, 1);
    }
    if (line_names() < 0 || (a_art == NULL && (a_art = PyUnicode_InternFromString("art")) == NULL))
        return NULL;
    if (strip_name == NULL && ((strip_name = PyUnicode_InternFromString("strip")) == NULL
                               || (lower_name = PyUnicode_InternFromString("lower")) == NULL))
        return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(lines); i++) {
        if (i >= PyList_GET_SIZE(art)) /* a non-Line's setattr changed the lists */
            return lists_changed("verdict_lines");
        PyObject *ln = Py_NewRef(PyList_GET_ITEM(lines, i)), *a = Py_NewRef(PyList_GET_ITEM(art, i));
        int bad = LINE_SET(ln, art, a) < 0;
        Py_DECREF(ln);
        Py_DECREF(a);
        if (bad)
            return NULL;
    }
    Py_buffer v[3];
    Py_ssize_t depth = 0; /* the crossdoc rows, opened at the first repeat */
    long bits = 0;
    PyObject *out = PyList_New(end), *left = PyList_New(0), *item[8] = {NULL}, *ln = NULL, *a = NULL;
    if (out == NULL || left == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < end; i++) {
        if (i >= PyList_GET_SIZE(lines) || i >= PyList_GET_SIZE(art)) {
            lists_changed("verdict_lines");
            goto fail;
        }
        /* held: a non-Line's getattr may run code that changes the lists */
        Py_XSETREF(ln, Py_NewRef(PyList_GET_ITEM(lines, i)));
        Py_XSETREF(a, Py_NewRef(PyList_GET_ITEM(art, i)));
        PyObject *why = NULL;
        int keep = 0, py = 0, is_art = PyObject_IsTrue(a), own_k = 0;
        if (is_art < 0 || (item[0] = LINE_GET(ln, index)) == NULL
            || (item[3] = LINE_GET(ln, kind)) == NULL || (item[5] = LINE_GET(ln, score)) == NULL
            || (item[6] = LINE_GET(ln, feat)) == NULL || (item[2] = LINE_GET(ln, fixed)) == NULL)
            goto fail;
        PyObject *kind = item[3];
        if (item[2] != Py_None) { /* removed by a rule: the rule is the reason */
            int dup = PyObject_RichCompareBool(item[2], dedup_rule, Py_EQ);
            if (dup > 0) { /* own_keep only for a repeat the engine holds (it reads no other's) */
                PyObject *h = LINE_GET(ln, held);
                dup = h == NULL ? -1 : PyObject_IsTrue(h);
                Py_XDECREF(h);
            }
            if (dup < 0)
                goto fail;
            if (dup && lc == NULL) {
                py = 1; /* own_keep in Python */
            } else if (dup) {
                if (cd != Py_None && depth == 0
                    && rows_open("verdict_lines", PyTuple_GET_ITEM(cd, 0), PyTuple_GET_ITEM(cd, 1), PyBUF_SIMPLE, v,
                                 &depth, &bits) < 0) {
                    depth = 0;
                    goto fail;
                }
                own_k = own_keep(ln, is_art, flags, lc, sw, v, depth, bits, &co, i);
                if (own_k == -1)
                    goto fail;
                py = own_k == -2;
            }
        } else if (same_str(kind, k_blank)) {
            keep = 1;
            why = blank_reason;
        } else if (!(flags & 1)) {
            py = 1;
        } else if (!is_art) {
            int c = flags & 2 ? PySet_Contains(content, kind) : 0;
            if (c > 0) /* weak article: kept in company (_weak_company) */
                c = !(flags & 16) ? 1 : weak_company(&co, i, same_str(kind, co.data));
            else
                c = c < 0 ? -1 : 2;
            if (c < 0)
                goto fail;
            keep = c == 1;
            why = c == 2 ? outside : c ? no_clear : alone;
        } else if (same_str(kind, k_bad)) {
            PyObject *w = flags & 4 ? NULL : LINE_GET(ln, why);
            if (w == NULL && !(flags & 4))
                goto fail;
            int cd = w != NULL ? PyObject_RichCompareBool(w, crossdoc_why, Py_EQ) : 1;
            Py_XDECREF(w);
            if (cd < 0)
                goto fail;
            py = cd;
            keep = 1;
            why = in_article;
        } else if ((flags & 8) && same_str(kind, k_short)) {
            py = 1;
        } else {
            keep = 1;
            why = in_article;
        }
        if (!py && why != NULL && PyDict_Check(why)) {
            why = PyDict_GetItemWithError(why, kind);
            if (why == NULL) {
                if (!PyErr_Occurred())
                    py = 1; /* a kind not in the table */
                else
                    goto fail;
            }
        }
        if (py) {
            for (int k = 0; k < 8; k++)
                Py_CLEAR(item[k]);
            PyObject *pos = PyLong_FromSsize_t(i);
            if (pos == NULL || PyList_Append(left, pos) < 0) {
                Py_XDECREF(pos);
                goto fail;
            }
            Py_DECREF(pos);
            PyList_SET_ITEM(out, i, Py_NewRef(Py_None));
            continue;
        }
        if (why != NULL) { /* else the rule's id */
            Py_DECREF(item[2]);
            item[2] = Py_NewRef(why);
        }
        item[1] = PyBool_FromLong(keep);
        item[4] = Py_NewRef(a);
        item[7] = PyBool_FromLong(own_k > 0);
        PyObject *v = features_new(vt, item, 8);
        if (v == NULL)
            goto fail;
        PyList_SET_ITEM(out, i, v);
    }
    if (depth > 0)
        rows_close(v, depth);
    Py_XDECREF(ln);
    Py_XDECREF(a);
    PyObject *ret = PyTuple_Pack(2, out, left);
    Py_DECREF(out);
    Py_DECREF(left);
    return ret;
fail:
    if (depth > 0)
        rows_close(v, depth);
    for (int k = 0; k < 8; k++)
        Py_XDECREF(item[k]);
    Py_XDECREF(ln);
    Py_XDECREF(a);
    Py_XDECREF(out);
    Py_XDECREF(left);
    return NULL;
}

/* ---- the classifier's pass 2 (context.DocumentContext._score_pending, _context) ---- */

PyDoc_STRVAR(context_lines_doc,
"context_lines(lines, start, stop, prev, consts, /)\n--\n\n"
"_score_pending's pass 2 over lines[start:stop] (context._Line, classified):\n"
"DocumentContext._context on each line not blank and not removed by a rule\n"
"(when use_context), prev the last non-blank line before them or None.\n"
"consts: (use_context, good, blank, dup, bad, echo_why, bad_score,\n"
"isolated_factor, lag). Returns (prev, scores): the last non-blank line\n"
"and the list of the lines' scores.");

static PyObject *a_end;

/* o.text.strip().lower() (a new reference) */
static PyObject *echo_key(PyObject *o)
{
    PyObject *text = LINE_GET(o, text), *st = NULL, *lo = NULL;
    if (text != NULL)
        st = PyObject_CallMethodNoArgs(text, strip_name);
    if (st != NULL)
        lo = PyObject_CallMethodNoArgs(st, lower_name);
    Py_XDECREF(text);
    Py_XDECREF(st);
    return lo;
}

/* whether line o's kind is (equal to) s; -1 on error */
static int kind_is(PyObject *o, PyObject *s)
{
    PyObject *v = LINE_GET(o, kind);
    if (v == NULL)
        return -1;
    int r = same_str(v, s);
    Py_DECREF(v);
    return r;
}

/* _context on line i, ln (held by the caller; not blank, not removed by a rule); 0, or -1 on error */
static int context_one(PyObject *lines, Py_ssize_t i, PyObject *ln, PyObject *prev, PyObject *const *c,
                       Py_ssize_t lag)
{
    PyObject *good = c[1], *blank = c[2], *dup = c[3];
    PyObject *kind = LINE_GET(ln, kind), *key = NULL, *o = NULL;
    int r = -1, is_good;
    if (kind == NULL)
        return -1;
    is_good = same_str(kind, good);
    int end = 0;
    if (is_good) {
        PyObject *feat = LINE_GET(ln, feat), *e = NULL;
        if (feat != NULL)
            e = PyObject_GetAttr(feat, a_end);
        Py_XDECREF(feat);
        if (e == NULL || (end = PyObject_IsTrue(e)) < 0) {
            Py_XDECREF(e);
            goto done;
        }
        Py_DECREF(e);
    }
    if (!is_good || !end) {
        /* a paragraph pasted twice in a row is article text: only other lines echo */
        for (Py_ssize_t j = i + 1; j < i + 3 && j < PyList_GET_SIZE(lines); j++) {
            Py_XSETREF(o, Py_NewRef(PyList_GET_ITEM(lines, j)));
            int d = kind_is(o, dup);
            if (d < 0)
                goto done;
            if (!d)
                continue;
            if (key == NULL && (key = echo_key(ln)) == NULL)
                goto done;
            PyObject *ok = echo_key(o);
            if (ok == NULL)
                goto done;
            int eq = PyObject_RichCompareBool(ok, key, Py_EQ);
            Py_DECREF(ok);
            if (eq < 0)
                goto done;
            if (eq) {
                r = LINE_SET(ln, kind, c[4]) < 0 || LINE_SET(ln, why, c[5]) < 0
                    || LINE_SET(ln, score, c[6]) < 0 ? -1 : 0;
                goto done;
            }
        }
    }
    if (is_good) {
        int alone = prev == Py_None;
        if (!alone && (alone = kind_is(prev, good)) >= 0)
            alone = !alone;
        if (alone < 0)
            goto done;
        if (alone) {
            PyObject *nxt = NULL;
            for (Py_ssize_t k = 1; k <= lag && i + k < PyList_GET_SIZE(lines); k++) {
                Py_XSETREF(o, Py_NewRef(PyList_GET_ITEM(lines, i + k)));
                int b = kind_is(o, blank);
                if (b < 0)
                    goto done;
                if (!b) {
                    nxt = o;
                    break;
                }
            }
            int g = nxt == NULL ? 0 : kind_is(nxt, good);
            if (g < 0)
                goto done;
            if (!g) { /* prose with no prose right above or below */
                PyObject *s = LINE_GET(ln, score), *m = NULL;
                if (s != NULL)
                    m = PyNumber_InPlaceMultiply(s, c[7]);
                Py_XDECREF(s);
                if (m == NULL)
                    goto done;
                int bad = LINE_SET(ln, score, m);
                Py_DECREF(m);
                if (bad < 0)
                    goto done;
            }
        }
    }
    r = 0;
done:
    Py_DECREF(kind);
    Py_XDECREF(key);
    Py_XDECREF(o);
    return r;
}

static PyObject *context_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (!nargs_ok("context_lines", nargs, 5))
        return NULL;
    PyObject *lines = args[0], *prev = args[3], *consts = args[4];
    if (!PyList_Check(lines) || !PyTuple_Check(consts) || PyTuple_GET_SIZE(consts) != 9) {
        PyErr_SetString(PyExc_TypeError, "context_lines(list, int, int, line | None, tuple)");
        return NULL;
    }
    PyObject *const *c = &PyTuple_GET_ITEM(consts, 0);
    Py_ssize_t start = PyLong_AsSsize_t(args[1]), stop = PyLong_AsSsize_t(args[2]), lag = PyLong_AsSsize_t(c[8]);
    int use_context = PyObject_IsTrue(c[0]);
    if (PyErr_Occurred() || use_context < 0)
        return NULL;
    if (start < 0 || stop > PyList_GET_SIZE(lines) || lag < 0) {
        PyErr_SetString(PyExc_IndexError, "context_lines: start or stop out of range");
        return NULL;
    }
    if (line_names() < 0 || (a_end == NULL && (a_end = PyUnicode_InternFromString("end")) == NULL))
        return NULL;
    if (strip_name == NULL && ((strip_name = PyUnicode_InternFromString("strip")) == NULL
                               || (lower_name = PyUnicode_InternFromString("lower")) == NULL))
        return NULL;
    PyObject *scores = PyList_New(stop > start ? stop - start : 0);
    if (scores == NULL)
        return NULL;
    Py_INCREF(prev);
    PyObject *ln = NULL;
    for (Py_ssize_t i = start; i < stop; i++) {
        if (i >= PyList_GET_SIZE(lines)) {
            lists_changed("context_lines");
            goto fail;
        }
        /* held: a non-Line's getattr may run code that changes the list */
        Py_XSETREF(ln, Py_NewRef(PyList_GET_ITEM(lines, i)));
        int blank = kind_is(ln, c[2]);
        if (blank < 0)
            goto fail;
        if (!blank) {
            if (use_context) {
                PyObject *fx = LINE_GET(ln, fixed);
                if (fx == NULL)
                    goto fail;
                int unfixed = fx == Py_None;
                Py_DECREF(fx);
                if (unfixed && context_one(lines, i, ln, prev, c, lag) < 0)
                    goto fail;
            }
            Py_SETREF(prev, Py_NewRef(ln));
        }
        PyObject *s = LINE_GET(ln, score);
        if (s == NULL)
            goto fail;
        PyList_SET_ITEM(scores, i - start, s);
    }
    Py_XDECREF(ln);
    PyObject *ret = PyTuple_Pack(2, prev, scores);
    Py_DECREF(prev);
    Py_DECREF(scores);
    return ret;
fail:
    Py_XDECREF(ln);
    Py_DECREF(prev);
    Py_DECREF(scores);
    return NULL;
}

static PyMethodDef methods[] = {
    {"crossdoc_count_doc", (PyCFunction)(void (*)(void))crossdoc_count_doc, METH_FASTCALL, crossdoc_count_doc_doc},
    {"crossdoc_see", (PyCFunction)(void (*)(void))crossdoc_see, METH_FASTCALL, crossdoc_see_doc},
    {"near_fingerprints", (PyCFunction)(void (*)(void))near_fingerprints, METH_FASTCALL, near_fingerprints_doc},
    {"exact_fingerprint", exact_fingerprint, METH_O, exact_fingerprint_doc},
    {"xxh3_64", xxh3_64, METH_O, xxh3_64_doc},
    {"probe", (PyCFunction)(void (*)(void))probe, METH_FASTCALL, probe_doc},
    {"check_lines", (PyCFunction)(void (*)(void))check_lines, METH_FASTCALL, check_lines_doc},
    {"dict_columns", (PyCFunction)(void (*)(void))dict_columns, METH_FASTCALL, dict_columns_doc},
    {"sorted_columns", (PyCFunction)(void (*)(void))sorted_columns, METH_FASTCALL, sorted_columns_doc},
    {"merge_runs", (PyCFunction)(void (*)(void))merge_runs, METH_FASTCALL, merge_runs_doc},
    {"unfilled", unfilled, METH_O, unfilled_doc},
    {"filter_set", (PyCFunction)(void (*)(void))filter_set, METH_FASTCALL, filter_set_doc},
    {"narrow_ids", (PyCFunction)(void (*)(void))narrow_ids, METH_FASTCALL, narrow_ids_doc},
    {"id_range", id_range, METH_O, id_range_doc},
    {"run_directory", run_directory, METH_O, run_directory_doc},
    {"setup", (PyCFunction)(void (*)(void))setup, METH_FASTCALL, setup_doc},
    {"simd", simd, METH_O, simd_doc},
    /* cleaner.stream */
    {"split_lines", (PyCFunction)split_lines, METH_O, split_lines_doc},
    /* cleaner.prefilter */
    {"scan_buffer", (PyCFunction)scan_buffer, METH_O, scan_buffer_doc},
    {"select_tiers", (PyCFunction)(void (*)(void))select_tiers, METH_FASTCALL, select_tiers_doc},
    {"blank_led", (PyCFunction)blank_led, METH_O, blank_led_doc},
    {"on_match", (PyCFunction)(void (*)(void))on_match, METH_FASTCALL, on_match_doc},
    {"match_lines", (PyCFunction)(void (*)(void))match_lines, METH_FASTCALL, match_lines_doc},
    {"group_pairs", (PyCFunction)group_pairs, METH_O, group_pairs_doc},
    /* cleaner.classify */
    {"word_count", (PyCFunction)word_count, METH_O, word_count_doc},
    /* cleaner.context */
    {"viterbi_forward", (PyCFunction)(void (*)(void))viterbi_forward, METH_FASTCALL, viterbi_forward_doc},
    {"viterbi_trace", (PyCFunction)(void (*)(void))viterbi_trace, METH_FASTCALL, viterbi_trace_doc},
    {"classify_lines", (PyCFunction)(void (*)(void))classify_lines, METH_FASTCALL, classify_lines_doc},
    {"verdict_lines", (PyCFunction)(void (*)(void))verdict_lines, METH_FASTCALL, verdict_lines_doc},
    {"context_lines", (PyCFunction)(void (*)(void))context_lines, METH_FASTCALL, context_lines_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "cleaner._speedups",
    .m_doc = "C versions of cleaner.dedup's per-paragraph fingerprints and of the classifier's pass 1 (optional).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    u1_tables_init();
#if FOLD_SIMD
    pack_lut_init();
    __builtin_cpu_init();
    simd_cpu = __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("popcnt");
    sse42_cpu = __builtin_cpu_supports("sse4.2");
    avx2_cpu = simd_cpu && __builtin_cpu_supports("avx2");
#endif
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "RECORD_SIZE", RECORD_SIZE) < 0
        || PyModule_AddIntConstant(m, "FOLD_MAX", FOLD_MAX) < 0
        || PyModule_AddType(m, &StopSetType) < 0 || PyModule_AddType(m, &LineClassType) < 0
        || PyModule_AddType(m, &RunSetType) < 0 || PyModule_AddType(m, &LineType) < 0
        || PyModule_AddType(m, &KeyTableType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
