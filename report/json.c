/* DESIGN: a printer that matches Python's json.dumps defaults byte for byte,
 * because Maelstrom-style graders compare reply lines as text.  It walks the
 * cJSON tree (which keeps insertion order) into a growing buffer.
 *
 * Numbers: cJSON keeps only a double, so an integral value below 2^53 is
 * taken to be an integer (what a Python int would print); anything else
 * prints as Python's float repr.  A value that must print as a float even
 * when whole (2.0) is made with report_json_float, a cJSON_Raw holding its
 * repr.  Strings are escaped like json.encoder's ensure_ascii path; bytes
 * that are not UTF-8 (never produced here, since input is validated) print
 * as U+FFFD rather than failing. */
#include "report/report.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_u16(struct buf *b, unsigned u)
{
    char esc[8];
    snprintf(esc, sizeof esc, "\\u%04x", u & 0xffffu);   /* Python uses lowercase hex */
    put(b, esc, 6);
}

/* Decodes one UTF-8 sequence at s (n bytes left).  Returns its length and
 * the code point, or 0 when the bytes are not well-formed UTF-8. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        need = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return need;
}

static void put_string(struct buf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s);
    put(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        const char *esc = NULL;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default: break;
        }
        if (esc) {
            puts_(b, esc);
            i++;
            continue;
        }
        if (c >= 0x20 && c <= 0x7e) {   /* ensure_ascii keeps only ' '..'~' */
            size_t j = i;
            while (j < n && s[j] >= 0x20 && s[j] <= 0x7e && s[j] != '"' && s[j] != '\\')
                j++;
            put(b, (const char *)s + i, j - i);
            i = j;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            cp = 0xfffd;
            len = 1;
        }
        if (cp >= 0x10000) {
            cp -= 0x10000;
            put_u16(b, 0xd800 + (cp >> 10));
            put_u16(b, 0xdc00 + (cp & 0x3ff));
        } else {
            put_u16(b, cp);
        }
        i += len;
    }
    put(b, "\"", 1);
}

/* Python's repr(float): the shortest digits that read back to v, fixed
 * notation when the decimal exponent is in -4..15, else d.ddde+XX. */
static void float_repr(double v, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (v == 0) {
        snprintf(out, cap, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    char e[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof e, "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    /* e is [-]d[.ddd]e[+-]XX: collect the digits and the exponent. */
    char digits[20];
    size_t nd = 0;
    const char *p = e;
    int neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && nd < sizeof digits - 1)
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    int exp10 = *p == 'e' ? atoi(p + 1) : 0;
    int decpt = exp10 + 1;   /* digits are 0.d1d2... x 10^decpt */

    size_t o = 0;
#define OUT(ch) do { if (o + 1 < cap) out[o++] = (ch); } while (0)
    if (neg)
        OUT('-');
    if (decpt <= -4 || decpt > 16) {
        OUT(digits[0]);
        if (nd > 1) {
            OUT('.');
            for (size_t i = 1; i < nd; i++)
                OUT(digits[i]);
        }
        char ex[16];
        snprintf(ex, sizeof ex, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
        for (char *x = ex; *x; x++)
            OUT(*x);
    } else if (decpt <= 0) {
        OUT('0');
        OUT('.');
        for (int i = 0; i < -decpt; i++)
            OUT('0');
        for (size_t i = 0; i < nd; i++)
            OUT(digits[i]);
    } else {
        for (int i = 0; i < decpt || (size_t)i < nd; i++) {
            if (i == decpt)
                OUT('.');
            OUT((size_t)i < nd ? digits[i] : '0');
        }
        if ((size_t)decpt >= nd) {
            OUT('.');
            OUT('0');
        }
    }
#undef OUT
    out[o] = '\0';
}

static void put_number(struct buf *b, double v)
{
    char s[48];
    if (isfinite(v) && v == trunc(v) && fabs(v) < 9007199254740992.0)
        snprintf(s, sizeof s, "%lld", (long long)v);
    else
        float_repr(v, s, sizeof s);
    puts_(b, s);
}

static int put_item(struct buf *b, const cJSON *item)
{
    switch (item->type & 0xff) {
    case cJSON_NULL:
        puts_(b, "null");
        return 0;
    case cJSON_False:
        puts_(b, "false");
        return 0;
    case cJSON_True:
        puts_(b, "true");
        return 0;
    case cJSON_Number:
        put_number(b, item->valuedouble);
        return 0;
    case cJSON_String:
        put_string(b, item->valuestring);
        return 0;
    case cJSON_Raw:
        puts_(b, item->valuestring ? item->valuestring : "null");
        return 0;
    case cJSON_Array:
    case cJSON_Object: {
        int obj = (item->type & 0xff) == cJSON_Object;
        put(b, obj ? "{" : "[", 1);
        for (const cJSON *c = item->child; c; c = c->next) {
            if (c != item->child)
                put(b, ", ", 2);
            if (obj) {
                put_string(b, c->string);
                put(b, ": ", 2);
            }
            if (put_item(b, c) < 0)
                return -1;
        }
        put(b, obj ? "}" : "]", 1);
        return 0;
    }
    default:
        return -1;
    }
}

char *report_json_print(const cJSON *item)
{
    struct buf b = {0};
    if (!item || put_item(&b, item) < 0 || b.oom) {
        free(b.p);
        return NULL;
    }
    if (!b.p)
        return NULL;
    return b.p;
}

cJSON *report_json_float(double v)
{
    if (!isfinite(v))
        return NULL;
    char s[48];
    float_repr(v, s, sizeof s);
    return cJSON_CreateRaw(s);
}
