/*
 * Unit tests of the message rules (common/chat_msg.c), PROTOCOL.md §1.
 * Rows change one field of a valid message and give the expected code,
 * field and, when accepted, the stored value.
 */
#include "chat_msg.h"
#include "check.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S(lit)                                                                 \
    {                                                                          \
        lit, sizeof(lit) - 1                                                   \
    }
#define ABSENT                                                                 \
    {                                                                          \
        NULL, 0                                                                \
    }

enum field { F_NAME, F_EMAIL, F_TOPIC, F_CONTENT, F_EPHEMERAL, F_IDEM };

/* 64 characters: the longest key. */
#define IDEM_64                                                                \
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-"

static const char *const field_names[] = {"name",    "email",     "topic",
                                          "content", "ephemeral", "idem"};

/* 2026-11-28T06:01:23.456789999Z */
static const struct timespec received = {1795845683, 456789999};

static struct chat_fields valid_fields(void)
{
    struct chat_fields f = {S("Alice"), S("alice@example.org"), S("news"),
                            S("hello"), ABSENT};
    return f;
}

static struct chat_span *slot(struct chat_fields *f, enum field i)
{
    struct chat_span *slots[] = {&f->name,    &f->email,     &f->topic,
                                 &f->content, &f->ephemeral, &f->idem};
    return slots[i];
}

/* The stored value of field i, as (ptr, len); ephemeral as a word. */
static struct chat_span stored(const struct chat_msg *m, enum field i)
{
    struct chat_span s = {NULL, 0};

    switch (i) {
    case F_NAME:
        s = (struct chat_span){m->name, m->name_len};
        break;
    case F_EMAIL:
        s = (struct chat_span){m->email, m->email_len};
        break;
    case F_TOPIC:
        s = (struct chat_span){m->topic, m->topic_len};
        break;
    case F_CONTENT:
        s = (struct chat_span){m->content, m->content_len};
        break;
    case F_EPHEMERAL:
        s.ptr = m->ephemeral ? "true" : "false";
        s.len = strlen(s.ptr);
        break;
    case F_IDEM:
        s = (struct chat_span){m->idem, m->idem_len};
        break;
    }
    return s;
}

struct row {
    const char *what;
    enum field field;
    struct chat_span value;
    enum chat_err code;
    const char *want; /* stored value when accepted; NULL: same as value */
};

static const struct row rows[] = {
    /* name */
    {"name absent", F_NAME, ABSENT, CHAT_ERR_MISSING, NULL},
    {"name empty", F_NAME, S(""), CHAT_ERR_EMPTY, NULL},
    {"name only white space", F_NAME, S(" \t\r\n\v\f "), CHAT_ERR_EMPTY, NULL},
    {"name trimmed both sides", F_NAME, S(" \t Bob Smith \r\n"), CHAT_OK,
     "Bob Smith"},
    {"name inner tab", F_NAME, S("Bob\tSmith"), CHAT_ERR_CONTROL, NULL},
    {"name NUL", F_NAME, S("Bo\0b"), CHAT_ERR_CONTROL, NULL},
    {"name DEL", F_NAME,
     S("Bo\x7F"
       "b"),
     CHAT_ERR_CONTROL, NULL},
    {"name C1 U+0085", F_NAME,
     S("Bo\xC2\x85"
       "b"),
     CHAT_ERR_CONTROL, NULL},
    {"name C1 U+009F", F_NAME, S("Bo\xC2\x9F"), CHAT_ERR_CONTROL, NULL},
    {"name U+00A0 is not control", F_NAME,
     S("Bo\xC2\xA0"
       "b"),
     CHAT_OK, NULL},
    {"name NBSP is not trimmed", F_NAME,
     S("\xC2\xA0"
       "Bob"),
     CHAT_OK, NULL},
    {"name HTML kept", F_NAME, S("<b>&amp;</b>"), CHAT_OK, NULL},
    {"name overlong", F_NAME, S("\xC0\xAF"), CHAT_ERR_UTF8, NULL},
    {"name surrogate", F_NAME, S("\xED\xA0\x80"), CHAT_ERR_UTF8, NULL},
    /* email */
    {"email absent", F_EMAIL, ABSENT, CHAT_ERR_MISSING, NULL},
    {"email empty", F_EMAIL, S(""), CHAT_ERR_EMPTY, NULL},
    {"email 2 bytes", F_EMAIL, S("a@"), CHAT_ERR_TOO_SHORT, NULL},
    {"email 3 bytes", F_EMAIL, S("a@b"), CHAT_OK, NULL},
    {"email no @", F_EMAIL, S("alice.example.org"), CHAT_ERR_EMAIL, NULL},
    {"email two @", F_EMAIL, S("a@b@c"), CHAT_ERR_EMAIL, NULL},
    {"email @ first", F_EMAIL, S("@bc"), CHAT_ERR_EMAIL, NULL},
    {"email @ last", F_EMAIL, S("ab@"), CHAT_ERR_EMAIL, NULL},
    {"email inner space", F_EMAIL, S("a b@c"), CHAT_ERR_EMAIL, NULL},
    {"email is not trimmed", F_EMAIL, S(" a@b"), CHAT_ERR_EMAIL, NULL},
    {"email trailing newline", F_EMAIL, S("a@b\n"), CHAT_ERR_CONTROL, NULL},
    {"email tab", F_EMAIL, S("a\t@b"), CHAT_ERR_CONTROL, NULL},
    {"email NUL", F_EMAIL, S("a\0@b"), CHAT_ERR_CONTROL, NULL},
    {"email DEL", F_EMAIL, S("a\x7F@b"), CHAT_ERR_CONTROL, NULL},
    {"email C1", F_EMAIL, S("a\xC2\x80@b"), CHAT_ERR_CONTROL, NULL},
    {"email UTF-8", F_EMAIL,
     S("j\xC3\xBCrgen@b\xC3\xBC"
       "cher.de"),
     CHAT_OK, NULL},
    {"email bad UTF-8", F_EMAIL, S("\xC3@bc"), CHAT_ERR_UTF8, NULL},
    /* topic */
    {"topic absent", F_TOPIC, ABSENT, CHAT_OK, "general"},
    {"topic empty", F_TOPIC, S(""), CHAT_OK, "general"},
    {"topic blank", F_TOPIC, S("  \t "), CHAT_OK, "general"},
    {"topic trimmed", F_TOPIC, S("  rust \n"), CHAT_OK, "rust"},
    {"topic control", F_TOPIC,
     S("a\x01"
       "b"),
     CHAT_ERR_CONTROL, NULL},
    {"topic C1", F_TOPIC, S("\xC2\x9B"), CHAT_ERR_CONTROL, NULL},
    {"topic bad UTF-8", F_TOPIC, S("\xFF"), CHAT_ERR_UTF8, NULL},
    /* content */
    {"content absent", F_CONTENT, ABSENT, CHAT_ERR_MISSING, NULL},
    {"content empty", F_CONTENT, S(""), CHAT_ERR_EMPTY, NULL},
    {"content only breaks", F_CONTENT, S("\r\n\r\n \t"), CHAT_ERR_EMPTY, NULL},
    {"content CRLF to LF", F_CONTENT, S("a\r\nb\r\n\r\nc"), CHAT_OK,
     "a\nb\n\nc"},
    {"content lone CR to LF", F_CONTENT, S("a\rb\r\rc"), CHAT_OK, "a\nb\n\nc"},
    {"content CR CR LF", F_CONTENT, S("a\r\r\nb"), CHAT_OK, "a\n\nb"},
    {"content LF kept", F_CONTENT, S("a\nb"), CHAT_OK, NULL},
    {"content leading indent kept", F_CONTENT, S("\n  \tcode();"), CHAT_OK,
     NULL},
    {"content trailing white trimmed", F_CONTENT, S("end \t\r\n \r\n"), CHAT_OK,
     "end"},
    {"content tab kept", F_CONTENT, S("a\tb"), CHAT_OK, NULL},
    {"content DEL allowed", F_CONTENT,
     S("a\x7F"
       "b"),
     CHAT_OK, NULL},
    {"content C1 allowed", F_CONTENT,
     S("a\xC2\x85"
       "b"),
     CHAT_OK, NULL},
    {"content NUL", F_CONTENT, S("a\0b"), CHAT_ERR_CONTROL, NULL},
    {"content SOH", F_CONTENT,
     S("a\x01"
       "b"),
     CHAT_ERR_CONTROL, NULL},
    {"content ESC", F_CONTENT, S("\x1B[31mred"), CHAT_ERR_CONTROL, NULL},
    {"content inner VT", F_CONTENT, S("a\vb"), CHAT_ERR_CONTROL, NULL},
    {"content inner FF", F_CONTENT, S("a\fb"), CHAT_ERR_CONTROL, NULL},
    {"content quotes and emoji", F_CONTENT,
     S("<b>&amp;</b> \"quotes\" \\ and \xC3\xBCn\xC3\xAF"
       "c\xC3\xB6"
       "d\xC3\xA9 \xF0\x9F\x8E\x89"),
     CHAT_OK, NULL},
    /* UTF-8 as jansson 2.14 decides it */
    {"utf8 overlong 2-byte", F_CONTENT, S("\xC0\xAF"), CHAT_ERR_UTF8, NULL},
    {"utf8 overlong C1 lead", F_CONTENT, S("\xC1\xBF"), CHAT_ERR_UTF8, NULL},
    {"utf8 overlong 3-byte", F_CONTENT, S("\xE0\x80\xAF"), CHAT_ERR_UTF8, NULL},
    {"utf8 overlong 4-byte", F_CONTENT, S("\xF0\x80\x80\xAF"), CHAT_ERR_UTF8,
     NULL},
    {"utf8 surrogate high", F_CONTENT, S("\xED\xA0\x80"), CHAT_ERR_UTF8, NULL},
    {"utf8 surrogate low", F_CONTENT, S("\xED\xBF\xBF"), CHAT_ERR_UTF8, NULL},
    {"utf8 above U+10FFFF", F_CONTENT, S("\xF4\x90\x80\x80"), CHAT_ERR_UTF8,
     NULL},
    {"utf8 F5 lead", F_CONTENT, S("\xF5\x80\x80\x80"), CHAT_ERR_UTF8, NULL},
    {"utf8 FF byte", F_CONTENT, S("a\xFF"), CHAT_ERR_UTF8, NULL},
    {"utf8 lone continuation", F_CONTENT, S("a\x80"), CHAT_ERR_UTF8, NULL},
    {"utf8 truncated 2 of 3", F_CONTENT, S("a\xE2\x82"), CHAT_ERR_UTF8, NULL},
    {"utf8 truncated 3 of 4", F_CONTENT, S("\xF0\x9F\x8E"), CHAT_ERR_UTF8,
     NULL},
    {"utf8 truncated then ASCII", F_CONTENT,
     S("\xE2\x82"
       "x"),
     CHAT_ERR_UTF8, NULL},
    {"utf8 U+10FFFF ok", F_CONTENT, S("\xF4\x8F\xBF\xBF"), CHAT_OK, NULL},
    {"utf8 U+FFFF ok", F_CONTENT, S("\xEF\xBF\xBF"), CHAT_OK, NULL},
    {"utf8 U+D7FF ok", F_CONTENT, S("\xED\x9F\xBF"), CHAT_OK, NULL},
    {"utf8 U+E000 ok", F_CONTENT, S("\xEE\x80\x80"), CHAT_OK, NULL},
    /* ephemeral */
    {"ephemeral absent", F_EPHEMERAL, ABSENT, CHAT_OK, "false"},
    {"ephemeral empty", F_EPHEMERAL, S(""), CHAT_OK, "false"},
    {"ephemeral off", F_EPHEMERAL, S("off"), CHAT_OK, "false"},
    {"ephemeral false", F_EPHEMERAL, S("false"), CHAT_OK, "false"},
    {"ephemeral 0", F_EPHEMERAL, S("0"), CHAT_OK, "false"},
    {"ephemeral on", F_EPHEMERAL, S("on"), CHAT_OK, "true"},
    {"ephemeral true", F_EPHEMERAL, S("true"), CHAT_OK, "true"},
    {"ephemeral 1", F_EPHEMERAL, S("1"), CHAT_OK, "true"},
    {"ephemeral yes", F_EPHEMERAL, S("yes"), CHAT_ERR_BOOL, NULL},
    {"ephemeral TRUE", F_EPHEMERAL, S("TRUE"), CHAT_ERR_BOOL, NULL},
    {"ephemeral padded", F_EPHEMERAL, S(" on"), CHAT_ERR_BOOL, NULL},
    {"ephemeral 2", F_EPHEMERAL, S("2"), CHAT_ERR_BOOL, NULL},
    {"ephemeral on+NUL", F_EPHEMERAL, S("on\0"), CHAT_ERR_BOOL, NULL},
    /* idem: empty is absent; 1..64 of A-Za-z0-9_- */
    {"idem absent", F_IDEM, ABSENT, CHAT_OK, ""},
    {"idem empty is absent", F_IDEM, S(""), CHAT_OK, ""},
    {"idem 1 character", F_IDEM, S("a"), CHAT_OK, NULL},
    {"idem whole alphabet", F_IDEM,
     S("azAZ09_-bcdefghijklmnopqrstuvwxyBCDEFGHIJKLMNOPQRSTUVWXY12345678"),
     CHAT_OK, NULL},
    {"idem 64", F_IDEM, S(IDEM_64), CHAT_OK, NULL},
    {"idem 65", F_IDEM, S(IDEM_64 "x"), CHAT_ERR_TOO_LONG, NULL},
    {"idem 65 of bad bytes is too long", F_IDEM, S(IDEM_64 "."),
     CHAT_ERR_TOO_LONG, NULL},
    {"idem space", F_IDEM, S("a b"), CHAT_ERR_CHARSET, NULL},
    {"idem not trimmed", F_IDEM, S(" ab"), CHAT_ERR_CHARSET, NULL},
    {"idem trailing newline", F_IDEM, S("ab\n"), CHAT_ERR_CHARSET, NULL},
    {"idem dot", F_IDEM, S("a.b"), CHAT_ERR_CHARSET, NULL},
    {"idem colon", F_IDEM, S("a:b"), CHAT_ERR_CHARSET, NULL},
    {"idem plus", F_IDEM, S("a+b"), CHAT_ERR_CHARSET, NULL},
    {"idem slash", F_IDEM, S("a/b"), CHAT_ERR_CHARSET, NULL},
    {"idem equals", F_IDEM, S("a=="), CHAT_ERR_CHARSET, NULL},
    {"idem NUL", F_IDEM, S("a\0b"), CHAT_ERR_CHARSET, NULL},
    {"idem DEL", F_IDEM, S("a\x7F"), CHAT_ERR_CHARSET, NULL},
    {"idem non-ASCII letter", F_IDEM, S("\xC3\xA9t\xC3\xA9"), CHAT_ERR_CHARSET,
     NULL},
    {"idem invalid UTF-8", F_IDEM, S("\xFF"), CHAT_ERR_CHARSET, NULL},
    {"idem one bad byte at 64", F_IDEM,
     S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"),
     CHAT_ERR_CHARSET, NULL},
};

/*
 * Run the fields in f and check code, field, message and, on success, the
 * stored value of field i against want (a span).
 */
static void run_fields(const char *what, struct chat_fields *f, enum field i,
                       enum chat_err code, struct chat_span want)
{
    static struct chat_msg m;
    struct chat_error err = {CHAT_ERR_NOMEM, "junk", "junk"};
    enum chat_err got = chat_msg_parse(f, &received, &m, &err);

    CHECK_MSG(got == code, "%s: code %d, want %d (%s)", what, got, code,
              got ? err.message : "ok");
    CHECK_MSG(err.code == got, "%s: err.code %d", what, err.code);
    if (got != CHAT_OK) {
        CHECK_MSG(err.field && !strcmp(err.field, field_names[i]),
                  "%s: field %s, want %s", what, err.field, field_names[i]);
        CHECK_MSG(err.message && err.message[0], "%s: no message", what);
        return;
    }
    CHECK_MSG(err.field == NULL, "%s: field set on success", what);
    struct chat_span s = stored(&m, i);
    CHECK_MSG(s.len == want.len && !memcmp(s.ptr, want.ptr, want.len),
              "%s: stored \"%.*s\" (%zu bytes), want %zu bytes", what,
              (int)s.len, s.ptr, s.len, want.len);
    CHECK_MSG(i == F_EPHEMERAL || s.ptr[s.len] == '\0',
              "%s: not NUL-terminated", what);
    {
        const char *date = m.date;
        CHECK_STR(date, "2026-11-28T06:01:23.456Z");
    }
}

static void test_rows(void)
{
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        const struct row *row = &rows[r];
        struct chat_fields f = valid_fields();
        struct chat_span want = row->value;

        *slot(&f, row->field) = row->value;
        if (row->want)
            want = (struct chat_span){row->want, strlen(row->want)};
        run_fields(row->what, &f, row->field, row->code, want);
    }
}

/* prefix + count * unit + suffix, malloc'd to its exact size. */
struct gen {
    const char *what;
    enum field field;
    const char *prefix;
    const char *unit;
    size_t count;
    const char *suffix;
    enum chat_err code;
    size_t want_len; /* stored bytes when accepted; 0: the generated length */
};

#define EMOJI  "\xF0\x9F\x8E\x89" /* U+1F389, 4 bytes */
#define UMLAUT "\xC3\xBC"         /* U+00FC, 2 bytes */

static const struct gen gens[] = {
    {"name 100 ASCII", F_NAME, "", "a", 100, "", CHAT_OK, 0},
    {"name 101 ASCII", F_NAME, "", "a", 101, "", CHAT_ERR_TOO_LONG, 0},
    {"name 100 two-byte", F_NAME, "", UMLAUT, 100, "", CHAT_OK, 0},
    {"name 101 two-byte", F_NAME, "", UMLAUT, 101, "", CHAT_ERR_TOO_LONG, 0},
    {"name 100 four-byte", F_NAME, "", EMOJI, 100, "", CHAT_OK, 0},
    {"name 101 four-byte", F_NAME, "", EMOJI, 101, "", CHAT_ERR_TOO_LONG, 0},
    {"name 100 after trim", F_NAME, "   ", "b", 100, "\r\n\t ", CHAT_OK, 100},
    {"name 101 after trim", F_NAME, " ", "b", 101, " ", CHAT_ERR_TOO_LONG, 0},
    {"name 100 chars, big byte count", F_NAME, "a", EMOJI, 99, "", CHAT_OK, 0},
    {"topic 100 chars", F_TOPIC, "", UMLAUT, 100, "", CHAT_OK, 0},
    {"topic 101 chars", F_TOPIC, "", UMLAUT, 101, "", CHAT_ERR_TOO_LONG, 0},
    {"topic 100 four-byte", F_TOPIC, "", EMOJI, 100, "", CHAT_OK, 0},
    {"topic 101 ASCII", F_TOPIC, "", "t", 101, "", CHAT_ERR_TOO_LONG, 0},
    {"email 254 bytes", F_EMAIL, "a@", "b", 252, "", CHAT_OK, 0},
    {"email 255 bytes", F_EMAIL, "a@", "b", 253, "", CHAT_ERR_TOO_LONG, 0},
    {"email 254 bytes of UTF-8", F_EMAIL, "a@", UMLAUT, 126, "", CHAT_OK, 0},
    {"content 4000 ASCII", F_CONTENT, "", "x", 4000, "", CHAT_OK, 0},
    {"content 4001 ASCII", F_CONTENT, "", "x", 4001, "", CHAT_ERR_TOO_LONG, 0},
    {"content 4000 four-byte", F_CONTENT, "", EMOJI, 4000, "", CHAT_OK, 0},
    {"content 4001 four-byte", F_CONTENT, "", EMOJI, 4001, "",
     CHAT_ERR_TOO_LONG, 0},
    {"content 4000 two-byte", F_CONTENT, "", UMLAUT, 4000, "", CHAT_OK, 0},
    {"content 4001 two-byte", F_CONTENT, "", UMLAUT, 4001, "",
     CHAT_ERR_TOO_LONG, 0},
    /* "a\r\n" is 2 characters once normalized; the last break is trimmed. */
    {"content 2000 CRLF lines", F_CONTENT, "", "a\r\n", 2000, "", CHAT_OK,
     3999},
    {"content 4000 after CRLF", F_CONTENT, "c", "a\r\n", 1999, "b", CHAT_OK,
     4000},
    {"content 4001 after CRLF", F_CONTENT, "cc", "a\r\n", 1999, "b",
     CHAT_ERR_TOO_LONG, 0},
    {"content 4000 lone CR", F_CONTENT, "c", "a\r", 1999, "b", CHAT_OK, 4000},
    {"content 4001 lone CR", F_CONTENT, "cc", "a\r", 1999, "b",
     CHAT_ERR_TOO_LONG, 0},
    {"content 4000 then much white", F_CONTENT, "", "x", 4000,
     "                                                                   "
     "\r\n\r\n\t\t\t                                                      ",
     CHAT_OK, 4000},
    {"content 4000 indented", F_CONTENT, "    ", "y", 3996, "", CHAT_OK, 0},
    /* The byte caps themselves, at N and N+1: what a field can hold. */
    {"name 400 bytes", F_NAME, "", EMOJI, 100, "", CHAT_OK, 0},
    {"name 401 bytes", F_NAME, "a", EMOJI, 100, "", CHAT_ERR_TOO_LONG, 0},
    {"topic 401 bytes", F_TOPIC, "a", EMOJI, 100, "", CHAT_ERR_TOO_LONG, 0},
    {"content 16000 bytes", F_CONTENT, "", EMOJI, 4000, "", CHAT_OK, 0},
    {"content 16001 bytes", F_CONTENT, "a", EMOJI, 4000, "", CHAT_ERR_TOO_LONG,
     0},
    {"content 16001 ASCII bytes", F_CONTENT, "", "x",
     CHAT_CONTENT_MAX_BYTES + 1, "", CHAT_ERR_TOO_LONG, 0},
};

static char *build(const struct gen *g, size_t *len)
{
    size_t pl = strlen(g->prefix), ul = strlen(g->unit), sl = strlen(g->suffix);
    char *buf;

    *len = pl + ul * g->count + sl;
    buf = malloc(*len ? *len : 1);
    if (!buf)
        abort();
    memcpy(buf, g->prefix, pl);
    for (size_t i = 0; i < g->count; i++)
        memcpy(buf + pl + i * ul, g->unit, ul);
    memcpy(buf + pl + ul * g->count, g->suffix, sl);
    return buf;
}

static void test_limits(void)
{
    for (size_t r = 0; r < sizeof(gens) / sizeof(gens[0]); r++) {
        const struct gen *g = &gens[r];
        struct chat_fields f = valid_fields();
        size_t len;
        char *buf = build(g, &len);
        struct chat_span want = {buf, len};

        *slot(&f, g->field) = (struct chat_span){buf, len};
        if (g->want_len) {
            /* Only the length is given: check it, not the bytes. */
            static struct chat_msg m;
            struct chat_error err;
            enum chat_err got = chat_msg_parse(&f, &received, &m, &err);

            CHECK_MSG(got == g->code, "%s: code %d", g->what, got);
            CHECK_MSG(got != CHAT_OK || stored(&m, g->field).len == g->want_len,
                      "%s: stored %zu bytes, want %zu", g->what,
                      stored(&m, g->field).len, g->want_len);
        } else {
            run_fields(g->what, &f, g->field, g->code, want);
        }
        free(buf);
    }
}

/* Several bad fields at once: the first in protocol order is reported. */
static void test_order(void)
{
    struct chat_fields bad = {S(""), S("x"),     S("\x01"),
                              S(""), S("maybe"), S("no way")};
    struct chat_fields f;

    for (enum field i = F_NAME; i <= F_IDEM; i++) {
        f = valid_fields();
        for (enum field j = i; j <= F_IDEM; j++)
            *slot(&f, j) = *slot(&bad, j);
        {
            static struct chat_msg m;
            struct chat_error err;
            enum chat_err got = chat_msg_parse(&f, &received, &m, &err);

            CHECK(got != CHAT_OK);
            CHECK_STR(err.field, field_names[i]);
        }
    }
}

struct message_row {
    enum field field;
    struct chat_span value;
    const char *message;
};

/* The sentences a person reads in the 400 answer. */
static const struct message_row messages[] = {
    {F_NAME, ABSENT, "name is required"},
    {F_NAME, S(" "), "name must not be empty"},
    {F_NAME, S("a\tb"), "name must not contain control characters"},
    {F_NAME, S("\xC0\xAF"), "name must be valid UTF-8"},
    {F_EMAIL, S("ab"), "email must be at least 3 bytes"},
    {F_EMAIL, S("a b@c"), "email must not contain spaces"},
    {F_EMAIL, S("abc"),
     "email must have exactly one @ with text on both "
     "sides"},
    {F_TOPIC, S("\x7F"), "topic must not contain control characters"},
    {F_CONTENT, ABSENT, "content is required"},
    {F_EPHEMERAL, S("yes"),
     "ephemeral must be one of on, true, 1, off, false, 0 or empty"},
    {F_IDEM, S("a b"),
     "idem must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -"},
    {F_IDEM, S(IDEM_64 "x"),
     "idem must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -"},
};

static void test_messages(void)
{
    static char long_name[102];
    static struct chat_msg m;
    struct chat_fields f;
    struct chat_error err;

    for (size_t r = 0; r < sizeof(messages) / sizeof(messages[0]); r++) {
        f = valid_fields();
        *slot(&f, messages[r].field) = messages[r].value;
        CHECK(chat_msg_parse(&f, &received, &m, &err) != CHAT_OK);
        CHECK_STR(err.message, messages[r].message);
    }
    memset(long_name, 'n', 101);
    f = valid_fields();
    f.name = (struct chat_span){long_name, 101};
    CHECK_INT(chat_msg_parse(&f, &received, &m, &err), CHAT_ERR_TOO_LONG);
    CHECK_STR(err.message, "name must be at most 100 characters");
}

struct date_row {
    long long sec;
    long nsec;
    enum chat_err code;
    const char *want;
};

static const struct date_row dates[] = {
    {1795845683, 456789999, CHAT_OK, "2026-11-28T06:01:23.456Z"},
    {0, 0, CHAT_OK, "1970-01-01T00:00:00.000Z"},
    {0, 999999999, CHAT_OK, "1970-01-01T00:00:00.999Z"},
    {0, 1000000, CHAT_OK, "1970-01-01T00:00:00.001Z"},
    {0, 999999, CHAT_OK, "1970-01-01T00:00:00.000Z"},
    {951782400, 0, CHAT_OK, "2000-02-29T00:00:00.000Z"},
    {253402300799, 999000000, CHAT_OK, "9999-12-31T23:59:59.999Z"},
    {253402300800, 0, CHAT_ERR_TOO_LONG, NULL},
    {-62167219200, 0, CHAT_OK, "0000-01-01T00:00:00.000Z"},
    {-62167219201, 0, CHAT_ERR_TOO_LONG, NULL},
    {-1, 0, CHAT_OK, "1969-12-31T23:59:59.000Z"},
    {0, -1, CHAT_ERR_TOO_LONG, NULL},
    {0, 1000000000, CHAT_ERR_TOO_LONG, NULL},
};

static void test_dates(void)
{
    for (size_t r = 0; r < sizeof(dates) / sizeof(dates[0]); r++) {
        struct timespec t;
        char out[CHAT_DATE_SIZE];
        enum chat_err got;

        t.tv_sec = (time_t)dates[r].sec;
        t.tv_nsec = dates[r].nsec;
        got = chat_msg_format_date(&t, out);
        CHECK_MSG(got == dates[r].code, "date %lld.%ld: code %d", dates[r].sec,
                  dates[r].nsec, got);
        if (got == CHAT_OK) {
            const char *text = out;
            CHECK_STR(text, dates[r].want);
        }
    }
}

/* A date the protocol cannot write fails the message, naming "date". */
static void test_date_in_parse(void)
{
    static const struct timespec far = {253402300800, 0};
    static struct chat_msg m;
    struct chat_fields f = valid_fields();
    struct chat_error err;

    CHECK_INT(chat_msg_parse(&f, &far, &m, &err), CHAT_ERR_TOO_LONG);
    CHECK_STR(err.field, "date");
}

struct encode_row {
    struct chat_fields in;
    const char *want;
};

#define DATE_JSON "\"date\":\"2026-11-28T06:01:23.456Z\""

static const struct encode_row encodes[] = {
    {{S("Alice"), S("alice@example.org"), ABSENT, S("hello"), ABSENT},
     "{\"name\":\"Alice\",\"email\":\"alice@example.org\",\"topic\":"
     "\"general\",\"content\":\"hello\"," DATE_JSON ",\"ephemeral\":false}"},
    {{S(" Bob "), S("b@c"), S("t/u"), S("say \"hi\" \\ o/"), S("on")},
     "{\"name\":\"Bob\",\"email\":\"b@c\",\"topic\":\"t/u\",\"content\":"
     "\"say \\\"hi\\\" \\\\ o/\"," DATE_JSON ",\"ephemeral\":true}"},
    {{S("x"), S("x@y"), S(""), S("<b>&amp;</b> </script>"), S("0")},
     "{\"name\":\"x\",\"email\":\"x@y\",\"topic\":\"general\",\"content\":"
     "\"<b>&amp;</b> </script>\"," DATE_JSON ",\"ephemeral\":false}"},
    {{S("x"), S("x@y"), S("z"), S("line1\r\n\tline2\rend\x7F"), S("1")},
     "{\"name\":\"x\",\"email\":\"x@y\",\"topic\":\"z\",\"content\":"
     "\"line1\\n\\tline2\\nend\x7F\"," DATE_JSON ",\"ephemeral\":true}"},
    {{S("J\xC3\xBCrgen \xF0\x9F\x8E\x89"), S("j@\xC3\xBC.de"),
      S("\xE2\x82\xAC"),
      S("\xC3\xBCn\xC3\xAF \xF0\x9F\x8E\x89 \xE2\x80\xA8 \xC2\x85"), S("")},
     "{\"name\":\"J\xC3\xBCrgen \xF0\x9F\x8E\x89\",\"email\":\"j@\xC3\xBC.de\","
     "\"topic\":\"\xE2\x82\xAC\",\"content\":\"\xC3\xBCn\xC3\xAF "
     "\xF0\x9F\x8E\x89 \xE2\x80\xA8 \xC2\x85\"," DATE_JSON
     ",\"ephemeral\":false}"},
};

static void test_encode(void)
{
    static struct chat_msg m;

    for (size_t r = 0; r < sizeof(encodes) / sizeof(encodes[0]); r++) {
        struct chat_error err;
        char *text;

        CHECK_INT(chat_msg_parse(&encodes[r].in, &received, &m, &err), CHAT_OK);
        text = chat_msg_encode(&m);
        CHECK_STR(text, encodes[r].want);
        free(text);
    }
}

/*
 * jansson's allocator, counted: allocations made, still live, and a
 * budget after which every allocation fails (-1: never fail).
 */
/* More bytes than any field can take. */
static char long_text[CHAT_CONTENT_MAX_BYTES + 1];

static long allocs_made;
static long allocs_live;
static long allocs_budget = -1;

static void *counting_malloc(size_t n)
{
    void *p;

    if (allocs_budget == 0)
        return NULL;
    if (allocs_budget > 0)
        allocs_budget--;
    p = malloc(n);
    if (p) {
        allocs_made++;
        allocs_live++;
    }
    return p;
}

static void counting_free(void *p)
{
    if (p)
        allocs_live--;
    free(p);
}

static void count_allocs(long budget)
{
    json_set_alloc_funcs(counting_malloc, counting_free);
    allocs_made = 0;
    allocs_live = 0;
    allocs_budget = budget;
}

/* Nothing survives a parse, accepted or refused. */
static void test_no_leftover_allocations(void)
{
    static struct chat_msg m;

    count_allocs(-1);
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        struct chat_fields f = valid_fields();
        struct chat_error err;

        *slot(&f, rows[r].field) = rows[r].value;
        CHECK_INT(chat_msg_parse(&f, &received, &m, &err), rows[r].code);
        CHECK_MSG(allocs_live == 0, "%s: %ld allocations left", rows[r].what,
                  allocs_live);
    }
    json_set_alloc_funcs(malloc, free);
}

/*
 * Bad UTF-8 is told apart from exhausted memory by one probe allocation,
 * freed at once; with no memory at all the answer is "no memory".
 */
static void test_bad_utf8_versus_no_memory(void)
{
    static struct chat_msg m;
    struct chat_fields f = valid_fields();
    struct chat_error err;

    f.name = (struct chat_span)S("\xED\xA0\x80");
    count_allocs(-1);
    CHECK_INT(chat_msg_parse(&f, &received, &m, &err), CHAT_ERR_UTF8);
    CHECK_STR(err.field, "name");
    CHECK(allocs_made > 0); /* the probe */
    CHECK_INT(allocs_live, 0);
    count_allocs(0);
    CHECK_INT(chat_msg_parse(&f, &received, &m, &err), CHAT_ERR_NOMEM);
    CHECK(err.field == NULL);
    /* A byte-cap error is found before any allocation. */
    f = valid_fields();
    f.name = (struct chat_span){long_text, sizeof(long_text)};
    count_allocs(0);
    CHECK_INT(chat_msg_parse(&f, &received, &m, &err), CHAT_ERR_TOO_LONG);
    CHECK_STR(err.field, "name");
    json_set_alloc_funcs(malloc, free);
}

/* Out of memory is its own answer, never mistaken for bad input. */
static void test_out_of_memory(void)
{
    static struct chat_msg m;
    struct chat_fields f = valid_fields();
    struct chat_error err;

    count_allocs(0);
    CHECK_INT(chat_msg_parse(&f, &received, &m, &err), CHAT_ERR_NOMEM);
    CHECK(err.field == NULL && err.code == CHAT_ERR_NOMEM);
    CHECK_STR(err.message, "out of memory");
    json_set_alloc_funcs(malloc, free);
    CHECK_INT(chat_msg_parse(&f, &received, &m, &err), CHAT_OK);
    /* Fail the encoder at every allocation in turn: NULL, and no leak. */
    for (long budget = 0; budget < 64; budget++) {
        char *text;

        count_allocs(budget);
        text = chat_msg_encode(&m);
        CHECK_MSG(text || allocs_live == 0, "budget %ld: leak", budget);
        if (text) {
            counting_free(text);
            CHECK_MSG(allocs_live == 0, "budget %ld: leak", budget);
            json_set_alloc_funcs(malloc, free);
            CHECK_MSG(budget > 0, "encoded with no allocation");
            break;
        }
        json_set_alloc_funcs(malloc, free);
    }
}

static void test_err_str(void)
{
    CHECK_STR(chat_err_str(CHAT_OK), "ok");
    for (int e = CHAT_ERR_MISSING; e <= CHAT_ERR_NOMEM; e++) {
        const char *s = chat_err_str((enum chat_err)e);
        CHECK_MSG(s && s[0] && strcmp(s, "ok") != 0, "chat_err_str(%d)", e);
    }
    CHECK_STR(chat_err_str((enum chat_err)999), "unknown error");
}

int main(void)
{
    test_rows();
    test_limits();
    test_order();
    test_messages();
    test_dates();
    test_date_in_parse();
    test_encode();
    test_err_str();
    test_no_leftover_allocations();
    test_bad_utf8_versus_no_memory();
    test_out_of_memory();
    return check_summary();
}
