/*
 * Request bodies of POST /chatapp/send. See form.h for the contracts.
 *
 * Both parsers make one forward pass over the body: every search starts
 * where the previous one stopped, so the work is linear in the body's
 * length however many fields it holds.
 */
#include "form.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define BOUNDARY_MAX 70 /* RFC 2046 §5.1.1 */

/* ==== shared ==== */

struct known_field {
    const char *name;
    const char *duplicate;
    const char *escape;
};

static const struct known_field known_fields[] = {
    {"name", "name is given more than once", "name has a bad %-escape"},
    {"email", "email is given more than once", "email has a bad %-escape"},
    {"topic", "topic is given more than once", "topic has a bad %-escape"},
    {"content", "content is given more than once",
     "content has a bad %-escape"},
    {"ephemeral", "ephemeral is given more than once",
     "ephemeral has a bad %-escape"},
    {"idem", "idem is given more than once", "idem has a bad %-escape"},
};

#define KNOWN_COUNT (sizeof(known_fields) / sizeof(known_fields[0]))

static enum form_err fail(struct form_error *err, enum form_err code,
                          const char *field, const char *message)
{
    err->code = code;
    err->field = field;
    err->message = message;
    return code;
}

/* Index into known_fields, or -1 for a field we ignore. */
static int known_index(const char *key, size_t len)
{
    for (size_t i = 0; i < KNOWN_COUNT; i++) {
        if (strlen(known_fields[i].name) == len &&
            memcmp(known_fields[i].name, key, len) == 0)
            return (int)i;
    }
    return -1;
}

static struct chat_span *field_slot(struct chat_fields *f, int index)
{
    switch (index) {
    case 0:
        return &f->name;
    case 1:
        return &f->email;
    case 2:
        return &f->topic;
    case 3:
        return &f->content;
    case 4:
        return &f->ephemeral;
    default:
        return &f->idem;
    }
}

/* Record a value; unknown keys are ignored, even when repeated. */
static enum form_err store_field(struct chat_fields *out, int index,
                                 const char *value, size_t len,
                                 struct form_error *err)
{
    struct chat_span *slot;

    if (index < 0)
        return FORM_OK;
    slot = field_slot(out, index);
    if (slot->ptr)
        return fail(err, FORM_ERR_DUPLICATE, known_fields[index].name,
                    known_fields[index].duplicate);
    slot->ptr = value;
    slot->len = len;
    return FORM_OK;
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive ASCII comparison of (s, n) with a lower-case literal. */
static bool equals_ci(const char *s, size_t n, const char *lit)
{
    if (strlen(lit) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (ascii_lower(s[i]) != lit[i])
            return false;
    }
    return true;
}

/* ==== header parameters (Content-Type and Content-Disposition) ==== */

struct cursor {
    const char *p;
    const char *end;
};

struct param {
    struct chat_span name;
    struct chat_span value; /* inside the quotes when quoted */
    bool has_backslash;
};

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void skip_ows(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static struct chat_span take_token(struct cursor *c)
{
    struct chat_span s = {c->p, 0};

    while (c->p < c->end && is_tchar(*c->p))
        c->p++;
    s.len = (size_t)(c->p - s.ptr);
    return s;
}

/*
 * A quoted string. With escapes (RFC 9110, for Content-Type) a backslash
 * quotes the next byte; without (Content-Disposition as browsers write it,
 * WHATWG: they percent-encode '"' and leave '\' alone) the first '"' ends
 * it. Returns false when unterminated.
 */
static bool take_quoted(struct cursor *c, bool escapes, struct param *out)
{
    const char *start = ++c->p;

    while (c->p < c->end && *c->p != '"') {
        if (*c->p == '\\') {
            out->has_backslash = true;
            if (escapes && ++c->p == c->end)
                return false;
        }
        c->p++;
    }
    if (c->p == c->end)
        return false;
    out->value.ptr = start;
    out->value.len = (size_t)(c->p - start);
    c->p++;
    return true;
}

/*
 * An unquoted value runs to the next ';' or white space. Wider than a
 * token on purpose: clients put '/', '=' or ':' in unquoted boundaries.
 */
static bool take_bare(struct cursor *c, struct param *out)
{
    const char *start = c->p;

    while (c->p < c->end && *c->p != ';' && *c->p != ' ' && *c->p != '\t' &&
           *c->p != '"' && *c->p != '\\' && (unsigned char)*c->p > 0x20 &&
           (unsigned char)*c->p != 0x7F)
        c->p++;
    out->value.ptr = start;
    out->value.len = (size_t)(c->p - start);
    return out->value.len > 0;
}

/*
 * The next "; name=value" (RFC 9110 parameters, empty ones allowed).
 * Returns 1 with *out filled, 0 at the end, -1 on a syntax error.
 */
static int next_param(struct cursor *c, bool escapes, struct param *out)
{
    for (;;) {
        skip_ows(c);
        if (c->p == c->end)
            return 0;
        if (*c->p != ';')
            return -1;
        c->p++;
        skip_ows(c);
        if (c->p < c->end && *c->p != ';')
            break;
    }
    memset(out, 0, sizeof(*out));
    out->name = take_token(c);
    if (out->name.len == 0 || c->p == c->end || *c->p != '=')
        return -1;
    c->p++;
    if (c->p < c->end && *c->p == '"')
        return take_quoted(c, escapes, out) ? 1 : -1;
    return take_bare(c, out) ? 1 : -1;
}

/* ==== Content-Type ==== */

/* RFC 2046 bchars; a space may not end the boundary. */
static bool boundary_ok(struct chat_span b)
{
    if (b.len < 1 || b.len > BOUNDARY_MAX || b.ptr[b.len - 1] == ' ')
        return false;
    for (size_t i = 0; i < b.len; i++) {
        char ch = b.ptr[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || (ch && strchr("'()+_,-./:=? ", ch))))
            return false;
    }
    return true;
}

static enum form_err type_fail(struct form_error *err, const char *message)
{
    return fail(err, FORM_ERR_CONTENT_TYPE, NULL, message);
}

/*
 * PROTOCOL.md §2: a multipart body without a usable boundary is a
 * malformed body (400), not another media type: the type is right, its
 * framing is broken.
 */
static enum form_err framing_fail(struct form_error *err, const char *message)
{
    return fail(err, FORM_ERR_MALFORMED, NULL, message);
}

/* Apply one parameter of the Content-Type to *out. */
static enum form_err type_param(const struct param *p, struct form_type *out,
                                struct form_error *err)
{
    if (equals_ci(p->name.ptr, p->name.len, "boundary")) {
        /* Not this type's parameter: ignored, as any unknown one is. */
        if (out->kind != FORM_KIND_MULTIPART)
            return FORM_OK;
        if (out->boundary)
            return framing_fail(err, "the boundary parameter is given twice");
        if (p->has_backslash || !boundary_ok(p->value))
            return framing_fail(err, "the multipart boundary must be 1 to 70 "
                                     "characters allowed by RFC 2046");
        out->boundary = p->value.ptr;
        out->boundary_len = p->value.len;
        return FORM_OK;
    }
    if (equals_ci(p->name.ptr, p->name.len, "charset") &&
        !equals_ci(p->value.ptr, p->value.len, "utf-8"))
        return type_fail(err, "only UTF-8 form bodies are accepted");
    return FORM_OK;
}

enum form_err form_content_type(const char *header, struct form_type *out,
                                struct form_error *err)
{
    static const char want[] = "the body must be multipart/form-data or "
                               "application/x-www-form-urlencoded";
    struct cursor c;
    struct chat_span type;
    struct param p;
    int more;

    memset(out, 0, sizeof(*out));
    if (!header)
        return type_fail(err, want);
    c.p = header;
    c.end = header + strlen(header);
    skip_ows(&c);
    type = take_token(&c);
    if (c.p < c.end && *c.p == '/') {
        c.p++;
        type.len += 1 + take_token(&c).len;
    }
    if (equals_ci(type.ptr, type.len, "multipart/form-data"))
        out->kind = FORM_KIND_MULTIPART;
    else if (equals_ci(type.ptr, type.len, "application/x-www-form-urlencoded"))
        out->kind = FORM_KIND_URLENCODED;
    else
        return type_fail(err, want);
    while ((more = next_param(&c, true, &p)) == 1) {
        if (type_param(&p, out, err) != FORM_OK)
            return err->code;
    }
    if (more < 0 && out->kind == FORM_KIND_MULTIPART)
        return framing_fail(err, "the Content-Type parameters are malformed, "
                                 "so the multipart boundary is unknown");
    if (more < 0)
        return type_fail(err, "the Content-Type parameters are malformed");
    if (out->kind == FORM_KIND_MULTIPART && !out->boundary)
        return framing_fail(err, "multipart/form-data needs a boundary");
    if (out->kind == FORM_KIND_URLENCODED) {
        out->boundary = NULL;
        out->boundary_len = 0;
    }
    return FORM_OK;
}

/* ==== application/x-www-form-urlencoded ==== */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = ascii_lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode s in place ('+' is a space, %XX a byte). False on a bad escape. */
static bool url_decode(char *s, size_t len, size_t *out_len)
{
    size_t r = 0, w = 0;

    while (r < len) {
        if (s[r] == '%') {
            int hi, lo;
            if (len - r < 3)
                return false;
            hi = hex_value(s[r + 1]);
            lo = hex_value(s[r + 2]);
            if (hi < 0 || lo < 0)
                return false;
            s[w++] = (char)(hi * 16 + lo);
            r += 3;
        } else {
            s[w++] = s[r] == '+' ? ' ' : s[r];
            r++;
        }
    }
    *out_len = w;
    return true;
}

/* One "key=value" (or a bare "key", whose value is empty). */
static enum form_err url_pair(char *p, size_t n, struct chat_fields *out,
                              struct form_error *err)
{
    char *eq = memchr(p, '=', n);
    size_t klen = eq ? (size_t)(eq - p) : n;
    char *value = eq ? eq + 1 : p + n;
    size_t vlen = eq ? n - klen - 1 : 0;
    int index;

    if (n == 0)
        return FORM_OK;
    if (!url_decode(p, klen, &klen))
        return fail(err, FORM_ERR_ESCAPE, NULL,
                    "a field name has a bad %-escape");
    index = known_index(p, klen);
    if (!url_decode(value, vlen, &vlen))
        return fail(err, FORM_ERR_ESCAPE,
                    index < 0 ? NULL : known_fields[index].name,
                    index < 0 ? "a field value has a bad %-escape"
                              : known_fields[index].escape);
    return store_field(out, index, value, vlen, err);
}

static enum form_err parse_urlencoded(char *body, size_t len,
                                      struct chat_fields *out,
                                      struct form_error *err)
{
    size_t pos = 0;

    while (pos < len) {
        char *start = body + pos;
        char *amp = memchr(start, '&', len - pos);
        size_t n = amp ? (size_t)(amp - start) : len - pos;

        if (url_pair(start, n, out, err) != FORM_OK)
            return err->code;
        pos += n + 1;
    }
    return FORM_OK;
}

/* ==== multipart/form-data (RFC 7578, framing of RFC 2046) ==== */

/*
 * Line ends: RFC 2046 asks for CRLF; a bare LF is accepted too, in
 * delimiter lines and part headers alike, because hand-made bodies (shell
 * scripts, test tools) use it and nothing becomes ambiguous: a CR just
 * before the LF of a delimiter belongs to the delimiter, not to the value.
 * A part with a filename is still the value of its field: the form has no
 * file inputs, and a script sending content from a file means it as text.
 */
struct multipart {
    const char *body;
    size_t len;
    const char *boundary;
    size_t blen;
    size_t pos; /* next byte to read */
};

static enum form_err malformed(struct form_error *err, const char *message)
{
    return fail(err, FORM_ERR_MALFORMED, NULL, message);
}

static enum form_err cut_short(struct form_error *err)
{
    return malformed(err, "the multipart body ends before its closing "
                          "boundary");
}

/* Does "--boundary" start at offset at? */
static bool dash_boundary_at(const struct multipart *m, size_t at)
{
    return at <= m->len && m->len - at >= m->blen + 2 && m->body[at] == '-' &&
           m->body[at + 1] == '-' &&
           memcmp(m->body + at + 2, m->boundary, m->blen) == 0;
}

/*
 * The offset of the first '\n' at or after from that is followed by
 * "--boundary", or SIZE_MAX. A comparison stops at the next '\n' at the
 * latest (no bchar is a '\n'), so the scan is linear in the bytes passed.
 */
static size_t find_delimiter(const struct multipart *m, size_t from)
{
    while (from < m->len) {
        const char *nl = memchr(m->body + from, '\n', m->len - from);

        if (!nl)
            return SIZE_MAX;
        from = (size_t)(nl - m->body) + 1;
        if (dash_boundary_at(m, from))
            return from - 1;
    }
    return SIZE_MAX;
}

/*
 * At m->pos, just after "--boundary": either "--" (the close delimiter,
 * after which the epilogue is ignored) or transport padding and a line end.
 */
static enum form_err end_delimiter(struct multipart *m, bool *closed,
                                   struct form_error *err)
{
    const char *b = m->body;
    size_t p = m->pos;

    if (m->len - p >= 2 && b[p] == '-' && b[p + 1] == '-') {
        *closed = true;
        m->pos = m->len;
        return FORM_OK;
    }
    while (p < m->len && (b[p] == ' ' || b[p] == '\t'))
        p++;
    if (p < m->len && b[p] == '\r')
        p++;
    if (p == m->len)
        return cut_short(err);
    if (b[p] != '\n')
        return malformed(err, "a multipart boundary line has extra text");
    m->pos = p + 1;
    *closed = false;
    return FORM_OK;
}

/* The line at m->pos without its line end; false if no line end is left. */
static bool next_line(struct multipart *m, struct chat_span *line)
{
    const char *start = m->body + m->pos;
    const char *nl = memchr(start, '\n', m->len - m->pos);

    if (!nl)
        return false;
    line->ptr = start;
    line->len = (size_t)(nl - start);
    if (line->len > 0 && start[line->len - 1] == '\r')
        line->len--;
    m->pos = (size_t)(nl - m->body) + 1;
    return true;
}

/* "form-data; name=..." (the value after the colon); false if malformed. */
static bool disposition_name(const char *p, const char *end,
                             struct chat_span *name)
{
    struct cursor c = {p, end};
    struct chat_span type;
    struct param prm;
    int more;

    skip_ows(&c);
    type = take_token(&c);
    if (!equals_ci(type.ptr, type.len, "form-data"))
        return false;
    while ((more = next_param(&c, false, &prm)) == 1) {
        if (!equals_ci(prm.name.ptr, prm.name.len, "name"))
            continue;
        if (name->ptr)
            return false;
        *name = prm.value;
    }
    return more == 0 && name->ptr != NULL;
}

/* One header line; *name is set by its Content-Disposition. */
static enum form_err part_header(struct chat_span line, struct chat_span *name,
                                 struct form_error *err)
{
    struct cursor c = {line.ptr, line.ptr + line.len};
    struct chat_span hname = take_token(&c);

    if (hname.len == 0 || c.p == c.end || *c.p != ':')
        return malformed(err, "a multipart part has a malformed header line");
    if (!equals_ci(hname.ptr, hname.len, "content-disposition"))
        return FORM_OK;
    if (name->ptr)
        return malformed(err, "a multipart part has two Content-Disposition "
                              "headers");
    if (!disposition_name(c.p + 1, c.end, name))
        return malformed(err, "a multipart part has a malformed "
                              "Content-Disposition");
    return FORM_OK;
}

/* The part headers up to the blank line; *name gets the field name. */
static enum form_err part_headers(struct multipart *m, struct chat_span *name,
                                  struct form_error *err)
{
    struct chat_span line;

    name->ptr = NULL;
    name->len = 0;
    for (;;) {
        if (!next_line(m, &line))
            return cut_short(err);
        if (line.len == 0)
            break;
        if (part_header(line, name, err) != FORM_OK)
            return err->code;
    }
    if (!name->ptr)
        return malformed(err, "a multipart part has no Content-Disposition "
                              "with a field name");
    return FORM_OK;
}

static enum form_err parse_part(struct multipart *m, struct chat_fields *out,
                                bool *closed, struct form_error *err)
{
    struct chat_span name;
    size_t start, end;

    if (part_headers(m, &name, err) != FORM_OK)
        return err->code;
    start = m->pos;
    /* The blank line's own '\n' may open the delimiter: an empty value. */
    end = find_delimiter(m, start - 1);
    if (end == SIZE_MAX)
        return cut_short(err);
    m->pos = end + 3 + m->blen;
    if (end < start)
        end = start;
    else if (end > start && m->body[end - 1] == '\r')
        end--;
    if (store_field(out, known_index(name.ptr, name.len), m->body + start,
                    end - start, err) != FORM_OK)
        return err->code;
    return end_delimiter(m, closed, err);
}

static enum form_err parse_multipart(const struct form_type *type,
                                     const char *body, size_t len,
                                     struct chat_fields *out,
                                     struct form_error *err)
{
    struct multipart m = {body, len, type->boundary, type->boundary_len, 0};
    bool closed = false;
    size_t first;

    if (len == 0)
        return cut_short(err);
    if (dash_boundary_at(&m, 0))
        m.pos = 2 + m.blen;
    else if ((first = find_delimiter(&m, 0)) != SIZE_MAX)
        m.pos = first + 3 + m.blen;
    else
        return malformed(err, "the multipart body has no boundary line");
    if (end_delimiter(&m, &closed, err) != FORM_OK)
        return err->code;
    while (!closed) {
        if (parse_part(&m, out, &closed, err) != FORM_OK)
            return err->code;
    }
    return FORM_OK;
}

/* ==== entry ==== */

enum form_err form_parse(const struct form_type *type, char *body, size_t len,
                         struct chat_fields *out, struct form_error *err)
{
    enum form_err code;

    memset(out, 0, sizeof(*out));
    if (len > CHAT_BODY_MAX)
        return fail(err, FORM_ERR_TOO_LARGE, NULL,
                    "the body must be at most 64 KiB");
    if (type->kind == FORM_KIND_URLENCODED)
        code = parse_urlencoded(body, len, out, err);
    else if (type->kind == FORM_KIND_MULTIPART && type->boundary &&
             type->boundary_len > 0)
        code = parse_multipart(type, body, len, out, err);
    else
        return framing_fail(err, "multipart/form-data needs a boundary");
    if (code != FORM_OK)
        return code;
    return fail(err, FORM_OK, NULL, "ok");
}
