/*
 * Unit tests of the body parser (fcgi/form.c), PROTOCOL.md §2. Every body
 * is parsed from an exact-size heap copy, so ASan reports any read or
 * write past it.
 */
#include "check.h"
#include "form.h"

#include <stdlib.h>
#include <string.h>

#define URLENC      "application/x-www-form-urlencoded"
#define MP_XX       "multipart/form-data; boundary=XX"
#define CD          "Content-Disposition: form-data; name="
#define MP_NUL_BODY "--XX\r\n" CD "\"name\"\r\n\r\na\0b\r\n--XX--"

/* ==== Content-Type ==== */

struct type_row {
    const char *header;
    enum form_err code;
    enum form_kind kind;
    const char *boundary; /* expected for multipart */
};

static const struct type_row type_rows[] = {
    {URLENC, FORM_OK, FORM_KIND_URLENCODED, NULL},
    {URLENC "; charset=UTF-8", FORM_OK, FORM_KIND_URLENCODED, NULL},
    {"Application/X-WWW-Form-URLencoded;Charset=\"utf-8\"", FORM_OK,
     FORM_KIND_URLENCODED, NULL},
    {"  " URLENC "  ;  charset=utf-8  ", FORM_OK, FORM_KIND_URLENCODED, NULL},
    {URLENC "; charset=ISO-8859-1", FORM_ERR_CONTENT_TYPE, 0, NULL},
    {URLENC "; charset", FORM_ERR_CONTENT_TYPE, 0, NULL},
    {URLENC " x", FORM_ERR_CONTENT_TYPE, 0, NULL},
    {URLENC "x", FORM_ERR_CONTENT_TYPE, 0, NULL},
    {"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
     FORM_OK, FORM_KIND_MULTIPART, "----WebKitFormBoundary7MA4YWxkTrZu0gW"},
    {"MULTIPART/FORM-DATA; BOUNDARY=abc", FORM_OK, FORM_KIND_MULTIPART, "abc"},
    {"multipart/form-data;boundary=abc;charset=utf-8", FORM_OK,
     FORM_KIND_MULTIPART, "abc"},
    {"multipart/form-data; foo=\"b;a\\\"r\"; boundary=abc", FORM_OK,
     FORM_KIND_MULTIPART, "abc"},
    {"multipart/form-data; boundary=\"a b:c/d=e?f\"", FORM_OK,
     FORM_KIND_MULTIPART, "a b:c/d=e?f"},
    {"multipart/form-data; boundary=\"boundary; with semicolon\"",
     FORM_ERR_MALFORMED, 0, NULL},
    {"multipart/form-data; boundary=a=b", FORM_OK, FORM_KIND_MULTIPART, "a=b"},
    {"multipart/form-data;; boundary=abc;", FORM_OK, FORM_KIND_MULTIPART,
     "abc"},
    {"multipart/form-data", FORM_ERR_MALFORMED, 0, NULL},
    {"multipart/form-data;", FORM_ERR_MALFORMED, 0, NULL},
    {"multipart/form-data; boundary=", FORM_ERR_MALFORMED, 0, NULL},
    {"multipart/form-data; boundary=\"\"", FORM_ERR_MALFORMED, 0, NULL},
    {"multipart/form-data; boundary=\"abc", FORM_ERR_MALFORMED, 0, NULL},
    {"multipart/form-data; boundary=\"abc \"", FORM_ERR_MALFORMED, 0, NULL},
    {"multipart/form-data; boundary=\"a\\\"b\"", FORM_ERR_MALFORMED, 0, NULL},
    {"multipart/form-data; boundary=a; boundary=b", FORM_ERR_MALFORMED, 0,
     NULL},
    {"multipart/form-data boundary=abc", FORM_ERR_MALFORMED, 0, NULL},
    {"multipart/form-data; boundary=ab\"c\"", FORM_ERR_MALFORMED, 0, NULL},
    {"multipart/form-data; boundary=a\x01"
     "b",
     FORM_ERR_MALFORMED, 0, NULL},
    {"multipart/form-data; boundary=\"a\xC3\xBC\"", FORM_ERR_MALFORMED, 0,
     NULL},
    /* Another charset is another media type, boundary or not. */
    {"multipart/form-data; charset=latin1; boundary=abc", FORM_ERR_CONTENT_TYPE,
     0, NULL},
    {"multipart/form-data; charset=latin1", FORM_ERR_CONTENT_TYPE, 0, NULL},
    {"multipart/mixed; boundary=abc", FORM_ERR_CONTENT_TYPE, 0, NULL},
    /* A boundary is multipart's parameter: on a urlencoded type, whatever
     * its value, it is ignored like any unknown one (found by fuzzing). */
    {"application/x-www-form-urlencoded; boundary=----WebKit\xC8"
     "Fmor",
     FORM_OK, FORM_KIND_URLENCODED, NULL},
    {"application/x-www-form-urlencoded; boundary=a; boundary=b", FORM_OK,
     FORM_KIND_URLENCODED, NULL},
    {"text/plain", FORM_ERR_CONTENT_TYPE, 0, NULL},
    {"application/json", FORM_ERR_CONTENT_TYPE, 0, NULL},
    {"", FORM_ERR_CONTENT_TYPE, 0, NULL},
    {NULL, FORM_ERR_CONTENT_TYPE, 0, NULL},
};

static void test_content_type_rows(void)
{
    for (size_t r = 0; r < sizeof(type_rows) / sizeof(type_rows[0]); r++) {
        const struct type_row *row = &type_rows[r];
        struct form_type t;
        struct form_error err = {FORM_OK, NULL, NULL};
        enum form_err got = form_content_type(row->header, &t, &err);

        CHECK_MSG(got == row->code, "Content-Type '%s': %d, want %d",
                  row->header ? row->header : "(null)", got, row->code);
        if (got != FORM_OK) {
            CHECK_MSG(err.code == got && err.message && err.message[0] &&
                          err.field == NULL,
                      "'%s': error not filled", row->header);
            continue;
        }
        CHECK_INT(t.kind, row->kind);
        if (row->kind == FORM_KIND_URLENCODED) {
            CHECK(t.boundary == NULL);
            continue;
        }
        CHECK_MSG(t.boundary_len == strlen(row->boundary) &&
                      !memcmp(t.boundary, row->boundary, t.boundary_len),
                  "'%s': boundary '%.*s'", row->header, (int)t.boundary_len,
                  t.boundary);
        /* The boundary is borrowed from the header string. */
        CHECK(t.boundary > row->header &&
              t.boundary + t.boundary_len <= row->header + strlen(row->header));
    }
}

/* Boundary length 70 is allowed, 71 is not (RFC 2046). */
static void test_boundary_length(void)
{
    static const char prefix[] = "multipart/form-data; boundary=";
    char header[sizeof(prefix) + 80];
    struct form_type t;
    struct form_error err;

    memcpy(header, prefix, sizeof(prefix) - 1);
    memset(header + sizeof(prefix) - 1, 'b', 71);
    header[sizeof(prefix) - 1 + 70] = '\0';
    CHECK_INT(form_content_type(header, &t, &err), FORM_OK);
    CHECK_INT(t.boundary_len, 70);
    header[sizeof(prefix) - 1 + 71] = '\0';
    header[sizeof(prefix) - 1 + 70] = 'b';
    CHECK_INT(form_content_type(header, &t, &err), FORM_ERR_MALFORMED);
}

/* ==== bodies ==== */

/*
 * Expected values of name, email, topic, content, ephemeral, idem; NULL
 * absent.
 */
struct want {
    const char *v[6];
    size_t len[6]; /* 0: strlen(v[i]); set for values holding NUL */
};

struct body_row {
    const char *what;
    const char *type;
    const char *body;
    size_t body_len; /* 0: strlen(body) */
    enum form_err code;
    const char *field;
    struct want want;
};

static const char *const field_names[] = {"name",    "email",     "topic",
                                          "content", "ephemeral", "idem"};

static const struct body_row body_rows[] = {
    /* urlencoded */
    {"url empty body", URLENC, "", 0, FORM_OK, NULL, {{0}}},
    {"url all fields",
     URLENC,
     "name=Alice&email=a%40b.org&topic=t&content=hi&ephemeral=on",
     0,
     FORM_OK,
     NULL,
     {{"Alice", "a@b.org", "t", "hi", "on"}}},
    {"url plus is space",
     URLENC,
     "name=a+b%20c+",
     0,
     FORM_OK,
     NULL,
     {{"a b c "}}},
    {"url %2B is plus", URLENC, "name=a%2Bb", 0, FORM_OK, NULL, {{"a+b"}}},
    {"url hex both cases",
     URLENC,
     "content=%e2%82%AC%C3%bc",
     0,
     FORM_OK,
     NULL,
     {{NULL, NULL, NULL, "\xE2\x82\xAC\xC3\xBC"}}},
    {"url CRLF escaped",
     URLENC,
     "content=a%0D%0Ab",
     0,
     FORM_OK,
     NULL,
     {{NULL, NULL, NULL, "a\r\nb"}}},
    {"url NUL decoded",
     URLENC,
     "content=a%00b",
     0,
     FORM_OK,
     NULL,
     {{NULL, NULL, NULL, "a\0b"}, {0, 0, 0, 3}}},
    {"url %25 literal", URLENC, "name=100%25", 0, FORM_OK, NULL, {{"100%"}}},
    {"url encoded key",
     URLENC,
     "na%6De=bob&%65mail=x",
     0,
     FORM_OK,
     NULL,
     {{"bob", "x"}}},
    {"url key with plus", URLENC, "name+=x", 0, FORM_OK, NULL, {{0}}},
    {"url bare key is empty value",
     URLENC,
     "ephemeral&name",
     0,
     FORM_OK,
     NULL,
     {{"", NULL, NULL, NULL, ""}}},
    {"url empty value", URLENC, "name=", 0, FORM_OK, NULL, {{""}}},
    {"url value with =", URLENC, "name==a=b", 0, FORM_OK, NULL, {{"=a=b"}}},
    {"url empty pairs",
     URLENC,
     "&&name=a&&&email=b&",
     0,
     FORM_OK,
     NULL,
     {{"a", "b"}}},
    {"url keys are case-sensitive",
     URLENC,
     "Name=a&NAME=b",
     0,
     FORM_OK,
     NULL,
     {{0}}},
    {"url unknown repeated",
     URLENC,
     "x=1&x=2&x&name=a&x=3",
     0,
     FORM_OK,
     NULL,
     {{"a"}}},
    {"url semicolon is not a separator",
     URLENC,
     "name=a;email=b",
     0,
     FORM_OK,
     NULL,
     {{"a;email=b"}}},
    {"url duplicate name", URLENC, "name=a&name=b", 0, FORM_ERR_DUPLICATE,
     "name"},
    {"url duplicate empty", URLENC, "content=&content=", 0, FORM_ERR_DUPLICATE,
     "content"},
    {"url duplicate via escape", URLENC, "email=a&%65mail=b", 0,
     FORM_ERR_DUPLICATE, "email"},
    {"url duplicate ephemeral", URLENC, "ephemeral=on&ephemeral", 0,
     FORM_ERR_DUPLICATE, "ephemeral"},
    {"url idem",
     URLENC,
     "idem=k-1_A&name=a",
     0,
     FORM_OK,
     NULL,
     {{"a", NULL, NULL, NULL, NULL, "k-1_A"}}},
    {"url empty idem is present and empty",
     URLENC,
     "idem=",
     0,
     FORM_OK,
     NULL,
     {{NULL, NULL, NULL, NULL, NULL, ""}}},
    {"url duplicate idem", URLENC, "idem=a&idem=a", 0, FORM_ERR_DUPLICATE,
     "idem"},
    {"url duplicate idem, second empty", URLENC, "idem=a&idem", 0,
     FORM_ERR_DUPLICATE, "idem"},
    {"url idem bad escape", URLENC, "idem=%G1", 0, FORM_ERR_ESCAPE, "idem"},
    {"url Idem is another field",
     URLENC,
     "Idem=a&idem=b",
     0,
     FORM_OK,
     NULL,
     {{NULL, NULL, NULL, NULL, NULL, "b"}}},
    {"url bad escape %G1", URLENC, "name=%G1", 0, FORM_ERR_ESCAPE, "name"},
    {"url bad escape %1G", URLENC, "topic=a%1G", 0, FORM_ERR_ESCAPE, "topic"},
    {"url truncated %4", URLENC, "content=abc%4", 0, FORM_ERR_ESCAPE,
     "content"},
    {"url truncated %", URLENC, "email=%", 0, FORM_ERR_ESCAPE, "email"},
    {"url truncated % mid", URLENC, "email=%&name=a", 0, FORM_ERR_ESCAPE,
     "email"},
    {"url bad escape unknown field", URLENC, "x=%zz&name=a", 0, FORM_ERR_ESCAPE,
     NULL},
    {"url bad escape in key", URLENC, "%zz=1", 0, FORM_ERR_ESCAPE, NULL},
    {"url raw NUL and bytes kept",
     URLENC,
     "name=a\0b",
     8,
     FORM_OK,
     NULL,
     {{"a\0b"}, {3}}},
    /* multipart */
    {"mp CRLF with preamble and epilogue",
     MP_XX,
     "preamble\r\n--XX\r\n" CD "\"name\"\r\n\r\nAlice\r\n--XX\r\n" CD
     "\"email\"\r\nContent-Type: text/plain\r\n\r\na@b\r\n--XX\r\n" CD
     "\"content\"\r\n\r\nline1\r\nline2\r\n\r\n--XX--\r\nepilogue",
     0,
     FORM_OK,
     NULL,
     {{"Alice", "a@b", NULL, "line1\r\nline2\r\n"}}},
    {"mp LF only",
     MP_XX,
     "--XX\n" CD "\"name\"\n\nBob\n--XX\n" CD "\"content\"\n\nl1\nl2\n--XX--\n",
     0,
     FORM_OK,
     NULL,
     {{"Bob", NULL, NULL, "l1\nl2"}}},
    {"mp mixed line ends",
     MP_XX,
     "--XX\n" CD "\"name\"\r\n\nBob\r\n--XX\r\n" CD "\"topic\"\n\r\nt\n--XX--",
     0,
     FORM_OK,
     NULL,
     {{"Bob", NULL, "t"}}},
    {"mp no final line end",
     MP_XX,
     "--XX\r\n" CD "name\r\n\r\nA\r\n--XX--",
     0,
     FORM_OK,
     NULL,
     {{"A"}}},
    {"mp empty value",
     MP_XX,
     "--XX\r\n" CD "\"ephemeral\"\r\n\r\n\r\n--XX\r\n" CD
     "\"name\"\r\n\r\nA\r\n--XX--",
     0,
     FORM_OK,
     NULL,
     {{"A", NULL, NULL, NULL, ""}}},
    {"mp value is one CRLF",
     MP_XX,
     "--XX\r\n" CD "\"content\"\r\n\r\n\r\n\r\n--XX--",
     0,
     FORM_OK,
     NULL,
     {{NULL, NULL, NULL, "\r\n"}}},
    {"mp value with NUL",
     MP_XX,
     MP_NUL_BODY,
     sizeof(MP_NUL_BODY) - 1,
     FORM_OK,
     NULL,
     {{"a\0b"}, {3}}},
    {"mp boundary text inside value",
     MP_XX,
     "--XX\r\n" CD "\"content\"\r\n\r\nsay \"--XX\" and --XX--\r\n--XX--",
     0,
     FORM_OK,
     NULL,
     {{NULL, NULL, NULL, "say \"--XX\" and --XX--"}}},
    {"mp boundary inside quoted header",
     MP_XX,
     "--XX\r\n" CD "\"content\"; filename=\"--XX--\"\r\n\r\nc\r\n--XX--",
     0,
     FORM_OK,
     NULL,
     {{NULL, NULL, NULL, "c"}}},
    {"mp idem",
     MP_XX,
     "--XX\r\n" CD "\"idem\"\r\n\r\nabc-123\r\n--XX--",
     0,
     FORM_OK,
     NULL,
     {{NULL, NULL, NULL, NULL, NULL, "abc-123"}}},
    {"mp duplicate idem",
     MP_XX,
     "--XX\r\n" CD "\"idem\"\r\n\r\na\r\n--XX\r\n" CD
     "\"idem\"\r\n\r\nb\r\n--XX--",
     0,
     FORM_ERR_DUPLICATE,
     "idem",
     {{0}}},
    {"mp boundary as quoted name",
     MP_XX,
     "--XX\r\n" CD "\"--XX\"\r\n\r\nx\r\n--XX\r\n" CD
     "\"name\"\r\n\r\nA\r\n--XX--",
     0,
     FORM_OK,
     NULL,
     {{"A"}}},
    {"mp quoted boundary with space",
     "multipart/form-data; boundary=\"a b\"",
     "--a b\r\n" CD "\"name\"\r\n\r\nA\r\n--a b--\r\n",
     0,
     FORM_OK,
     NULL,
     {{"A"}}},
    {"mp transport padding",
     MP_XX,
     "--XX \t\r\n" CD "\"name\"\r\n\r\nA\r\n--XX  \r\n" CD
     "\"email\"\r\n\r\nb\r\n--XX--",
     0,
     FORM_OK,
     NULL,
     {{"A", "b"}}},
    {"mp header names any case",
     MP_XX,
     "--XX\r\ncontent-DISPOSITION: FORM-DATA; NAME=\"name\"\r\n\r\nA\r\n"
     "--XX--",
     0,
     FORM_OK,
     NULL,
     {{"A"}}},
    {"mp unquoted name and filename",
     MP_XX,
     "--XX\r\n" CD "topic; filename=\"C:\\dir\\\"\r\n\r\nT\r\n--XX--",
     0,
     FORM_OK,
     NULL,
     {{NULL, NULL, "T"}}},
    {"mp field names case-sensitive",
     MP_XX,
     "--XX\r\n" CD "\"Name\"\r\n\r\nA\r\n--XX--",
     0,
     FORM_OK,
     NULL,
     {{0}}},
    {"mp unknown repeated",
     MP_XX,
     "--XX\r\n" CD "\"x\"\r\n\r\n1\r\n--XX\r\n" CD
     "\"x\"\r\n\r\n2\r\n--XX\r\n" CD "\"name\"\r\n\r\nA\r\n--XX--",
     0,
     FORM_OK,
     NULL,
     {{"A"}}},
    {"mp no parts", MP_XX, "--XX--\r\n", 0, FORM_OK, NULL, {{0}}},
    {"mp CR kept inside value",
     MP_XX,
     "--XX\r\n" CD "\"name\"\r\n\r\na\rb\r\r\n--XX--",
     0,
     FORM_OK,
     NULL,
     {{"a\rb\r"}}},
    {"mp duplicate", MP_XX,
     "--XX\r\n" CD "\"name\"\r\n\r\nA\r\n--XX\r\n" CD
     "\"name\"\r\n\r\nB\r\n--XX--",
     0, FORM_ERR_DUPLICATE, "name"},
    {"mp cut mid-value", MP_XX, "--XX\r\n" CD "\"name\"\r\n\r\nAli", 0,
     FORM_ERR_MALFORMED, NULL},
    {"mp cut in headers", MP_XX, "--XX\r\n" CD "\"na", 0, FORM_ERR_MALFORMED,
     NULL},
    {"mp cut before blank line", MP_XX, "--XX\r\n" CD "\"name\"\r\n", 0,
     FORM_ERR_MALFORMED, NULL},
    {"mp cut after delimiter", MP_XX, "--XX\r\n" CD "\"name\"\r\n\r\nA\r\n--XX",
     0, FORM_ERR_MALFORMED, NULL},
    {"mp no close delimiter", MP_XX,
     "--XX\r\n" CD "\"name\"\r\n\r\nA\r\n--XX\r\n", 0, FORM_ERR_MALFORMED,
     NULL},
    {"mp close half written", MP_XX, "--XX\r\n" CD "\"name\"\r\n\r\nA\r\n--XX-",
     0, FORM_ERR_MALFORMED, NULL},
    {"mp empty body", MP_XX, "", 0, FORM_ERR_MALFORMED, NULL},
    {"mp no boundary at all", MP_XX, "name=Alice", 0, FORM_ERR_MALFORMED, NULL},
    {"mp other boundary", MP_XX,
     "--YY\r\n" CD "\"name\"\r\n\r\nA\r\n--YY--\r\n", 0, FORM_ERR_MALFORMED,
     NULL},
    {"mp boundary line with extra text", MP_XX,
     "--XX\r\n" CD "\"name\"\r\n\r\nA\r\n--XXY\r\n--XX--", 0,
     FORM_ERR_MALFORMED, NULL},
    {"mp no Content-Disposition", MP_XX,
     "--XX\r\nContent-Type: text/plain\r\n\r\nA\r\n--XX--", 0,
     FORM_ERR_MALFORMED, NULL},
    {"mp no headers at all", MP_XX, "--XX\r\n\r\nA\r\n--XX--", 0,
     FORM_ERR_MALFORMED, NULL},
    {"mp disposition without name", MP_XX,
     "--XX\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nA\r\n"
     "--XX--",
     0, FORM_ERR_MALFORMED, NULL},
    {"mp disposition not form-data", MP_XX,
     "--XX\r\nContent-Disposition: attachment; name=\"name\"\r\n\r\nA\r\n"
     "--XX--",
     0, FORM_ERR_MALFORMED, NULL},
    {"mp two name params", MP_XX,
     "--XX\r\n" CD "\"x\"; name=\"name\"\r\n\r\nA\r\n--XX--", 0,
     FORM_ERR_MALFORMED, NULL},
    {"mp two dispositions", MP_XX,
     "--XX\r\n" CD "\"x\"\r\n" CD "\"name\"\r\n\r\nA\r\n--XX--", 0,
     FORM_ERR_MALFORMED, NULL},
    {"mp unterminated quoted name", MP_XX,
     "--XX\r\n" CD "\"name\r\n\r\nA\r\n--XX--", 0, FORM_ERR_MALFORMED, NULL},
    {"mp header without colon", MP_XX,
     "--XX\r\n" CD "\"name\"\r\nbogus\r\n\r\nA\r\n--XX--", 0,
     FORM_ERR_MALFORMED, NULL},
    {"mp folded header", MP_XX,
     "--XX\r\n" CD "\"name\"\r\n x\r\n\r\nA\r\n--XX--", 0, FORM_ERR_MALFORMED,
     NULL},
    {"mp boundary line splits quoted header", MP_XX,
     "--XX\r\n" CD "\"content\"; filename=\"a\r\n--XX--\"\r\n\r\nA\r\n--XX--",
     0, FORM_ERR_MALFORMED, NULL},
};

static char *copy_exact(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);

    if (!p)
        abort();
    memcpy(p, s, len);
    return p;
}

static struct chat_span *slot(struct chat_fields *f, int i)
{
    struct chat_span *slots[] = {&f->name,    &f->email,     &f->topic,
                                 &f->content, &f->ephemeral, &f->idem};
    return slots[i];
}

static void check_values(const char *what, struct chat_fields *f,
                         const struct want *w, const char *body, size_t len)
{
    for (int i = 0; i < 6; i++) {
        struct chat_span *s = slot(f, i);
        size_t wl = w->len[i] ? w->len[i] : (w->v[i] ? strlen(w->v[i]) : 0);

        if (!w->v[i]) {
            CHECK_MSG(s->ptr == NULL && s->len == 0, "%s: %s present", what,
                      field_names[i]);
            continue;
        }
        CHECK_MSG(s->ptr && s->len == wl && !memcmp(s->ptr, w->v[i], wl),
                  "%s: %s = '%.*s', want '%s'", what, field_names[i],
                  (int)s->len, s->ptr ? s->ptr : "", w->v[i]);
        CHECK_MSG(s->ptr >= body && s->ptr + s->len <= body + len,
                  "%s: %s outside the body", what, field_names[i]);
    }
}

static void run_body_row(const struct body_row *row)
{
    size_t len = row->body_len ? row->body_len : strlen(row->body);
    char *body = copy_exact(row->body, len);
    struct form_type t;
    struct form_error err;
    struct chat_fields f;
    enum form_err got;

    CHECK_INT(form_content_type(row->type, &t, &err), FORM_OK);
    got = form_parse(&t, body, len, &f, &err);
    CHECK_MSG(got == row->code, "%s: %d, want %d (%s)", row->what, got,
              row->code, err.message);
    CHECK_MSG(err.code == got && err.message && err.message[0],
              "%s: error not filled", row->what);
    CHECK_MSG(check_str_eq(err.field, row->field), "%s: field %s, want %s",
              row->what, err.field ? err.field : "(null)",
              row->field ? row->field : "(null)");
    if (got == FORM_OK)
        check_values(row->what, &f, &row->want, body, len);
    free(body);
}

static void test_body_rows(void)
{
    for (size_t r = 0; r < sizeof(body_rows) / sizeof(body_rows[0]); r++)
        run_body_row(&body_rows[r]);
}

/* Parse (type, body of len bytes) from an exact-size copy. */
static enum form_err parse(const char *type, const char *body, size_t len,
                           struct chat_fields *f, struct form_error *err)
{
    struct form_type t;
    char *copy = copy_exact(body, len);
    enum form_err got;

    if (form_content_type(type, &t, err) != FORM_OK)
        abort();
    got = form_parse(&t, copy, len, f, err);
    /* Spans point into the copy; tests only look at lengths and codes. */
    free(copy);
    return got;
}

/* A body padded with 'x' in content to exactly len bytes. */
static char *padded(const char *head, const char *tail, size_t len)
{
    size_t hl = strlen(head), tl = strlen(tail);
    char *b = malloc(len);

    if (!b || hl + tl > len)
        abort();
    memcpy(b, head, hl);
    memset(b + hl, 'x', len - hl - tl);
    memcpy(b + len - tl, tail, tl);
    return b;
}

/* 64 KiB exactly is parsed, one byte more is refused, for both types. */
static void test_body_cap(void)
{
    static const char mp_head[] = "--XX\r\n" CD "\"content\"\r\n\r\n";
    struct chat_fields f;
    struct form_error err;
    char *b;

    b = padded("name=A&content=", "", CHAT_BODY_MAX + 1);
    CHECK_INT(parse(URLENC, b, CHAT_BODY_MAX, &f, &err), FORM_OK);
    CHECK_INT(f.content.len, CHAT_BODY_MAX - strlen("name=A&content="));
    CHECK_INT(parse(URLENC, b, CHAT_BODY_MAX + 1, &f, &err),
              FORM_ERR_TOO_LARGE);
    CHECK(err.field == NULL && err.code == FORM_ERR_TOO_LARGE);
    free(b);

    b = padded(mp_head, "\r\n--XX--", CHAT_BODY_MAX);
    CHECK_INT(parse(MP_XX, b, CHAT_BODY_MAX, &f, &err), FORM_OK);
    CHECK_INT(f.content.len, CHAT_BODY_MAX - strlen(mp_head) - 8);
    free(b);
    b = padded(mp_head, "\r\n--XX--", CHAT_BODY_MAX + 1);
    CHECK_INT(parse(MP_XX, b, CHAT_BODY_MAX + 1, &f, &err), FORM_ERR_TOO_LARGE);
    free(b);
}

/*
 * 10,000 tiny fields in one body: every one is visited (a duplicate at
 * the very end is still caught) and the parse is a single pass.
 */
static void test_many_urlencoded_fields(void)
{
    static char body[10000 * 4 + 64];
    size_t n = 0;
    struct chat_fields f;
    struct form_error err;

    for (int i = 0; i < 10000; i++) {
        memcpy(body + n, "a=1&", 4);
        n += 4;
    }
    memcpy(body + n, "name=A&name=B", 13);
    CHECK_INT(parse(URLENC, body, n + 13, &f, &err), FORM_ERR_DUPLICATE);
    CHECK_STR(err.field, "name");
    CHECK_INT(parse(URLENC, body, n + 6, &f, &err), FORM_OK);
    CHECK_INT(f.name.len, 1);
}

/* As many minimal parts as 64 KiB holds (LF line ends). */
static void test_many_parts(void)
{
    static const char part[] = "--XX\n" CD "x\n\n1\n";
    static const char last[] = "--XX\n" CD "name\n\nA\n--XX--";
    static char body[CHAT_BODY_MAX];
    size_t n = 0, parts = 0;
    struct chat_fields f;
    struct form_error err;

    while (n + sizeof(part) - 1 + sizeof(last) - 1 <= sizeof(body)) {
        memcpy(body + n, part, sizeof(part) - 1);
        n += sizeof(part) - 1;
        parts++;
    }
    memcpy(body + n, last, sizeof(last) - 1);
    n += sizeof(last) - 1;
    CHECK(parts > 1000);
    CHECK_INT(parse(MP_XX, body, n, &f, &err), FORM_OK);
    CHECK(f.name.len == 1);
}

/*
 * Lines that almost match a 70-byte boundary, then no delimiter: must be
 * refused, and (run under ASan in CI) without reading past the body.
 */
static void test_near_boundaries(void)
{
    static char header[128], body[CHAT_BODY_MAX];
    char bnd[71];
    size_t n = 0;
    struct chat_fields f;
    struct form_error err;

    memset(bnd, 'q', 70);
    bnd[70] = '\0';
    snprintf(header, sizeof(header), "multipart/form-data; boundary=%s", bnd);
    n = (size_t)snprintf(body, sizeof(body), "--%s\n" CD "name\n\n", bnd);
    while (n + 72 <= sizeof(body)) {
        memcpy(body + n, "\n--", 3);
        memcpy(body + n + 3, bnd, 69);
        n += 72;
    }
    CHECK_INT(parse(header, body, n, &f, &err), FORM_ERR_MALFORMED);
    memset(body, '\n', sizeof(body));
    CHECK_INT(parse(header, body, sizeof(body), &f, &err), FORM_ERR_MALFORMED);
    memset(body, '-', sizeof(body));
    CHECK_INT(parse(header, body, sizeof(body), &f, &err), FORM_ERR_MALFORMED);
}

/* Multipart parsing leaves the body as it was. */
static void test_multipart_is_read_only(void)
{
    static const char src[] = "--XX\r\n" CD "\"name\"\r\n\r\nA+%41\r\n--XX--";
    char body[sizeof(src)];
    struct form_type t;
    struct form_error err;
    struct chat_fields f;

    memcpy(body, src, sizeof(src));
    CHECK_INT(form_content_type(MP_XX, &t, &err), FORM_OK);
    CHECK_INT(form_parse(&t, body, sizeof(src) - 1, &f, &err), FORM_OK);
    CHECK(memcmp(body, src, sizeof(src)) == 0);
    CHECK(f.name.ptr == body + sizeof(src) - 1 - 13 && f.name.len == 5);
}

/*
 * A form_type not made by form_content_type: multipart without boundary
 * is a malformed body, as from a header (PROTOCOL.md §2).
 */
static void test_bad_type(void)
{
    struct form_type t = {FORM_KIND_MULTIPART, NULL, 0};
    struct form_error err;
    struct chat_fields f;
    char body[] = "--\r\n";

    CHECK_INT(form_parse(&t, body, 4, &f, &err), FORM_ERR_MALFORMED);
}

int main(void)
{
    test_content_type_rows();
    test_boundary_length();
    test_body_rows();
    test_body_cap();
    test_many_urlencoded_fields();
    test_many_parts();
    test_near_boundaries();
    test_multipart_is_read_only();
    test_bad_type();
    return check_summary();
}
