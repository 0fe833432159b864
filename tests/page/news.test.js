'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { isOwn, topicOf, announcements, pillText } = require('../../htdocs/core/news.js');

const msg = (id, over = {}) => ({ id, name: 'Bob', email: 'bob@example.com', topic: 'lunch', content: `m${id}`, ...over });

test('news: own messages by email, topics, what a screen reader hears, the pill', () => {
    const own = [
        [msg(1), 'bob@example.com', true],
        [msg(1), '  BOB@example.com ', true],
        [msg(1, { email: 'Bob@Example.com' }), 'bob@example.com', true],
        [msg(1), 'alice@example.com', false],
        [msg(1), '', false],
        [msg(1, { email: '' }), '', false],
    ];
    for (const [m, mine, want] of own) assert.equal(isOwn(m, mine), want, `${m.email} vs ${mine}`);

    assert.equal(topicOf(msg(1, { topic: '' })), 'general');
    assert.equal(topicOf(msg(1, { topic: undefined })), 'general');
    assert.equal(topicOf(msg(1)), 'lunch');

    const rows = [
        [[msg(1)], 'alice@example.com', ['Bob in lunch: m1']],
        [[msg(1)], 'bob@example.com', []],
        [[msg(1), msg(2), msg(3)], '', ['Bob in lunch: m1', 'Bob in lunch: m2', 'Bob in lunch: m3']],
        [[msg(1), msg(2), msg(3), msg(4)], '', ['4 new messages']],
        /* four in all, three of them someone else's: each is read */
        [[msg(1), msg(2), msg(3), msg(4, { email: 'me@x.org' })], 'me@x.org', ['Bob in lunch: m1', 'Bob in lunch: m2', 'Bob in lunch: m3']],
        [[msg(1, { content: 'x'.repeat(200) })], '', [`Bob in lunch: ${'x'.repeat(200)}`]],
        [[msg(1, { content: 'x'.repeat(201) })], '', [`Bob in lunch: ${'x'.repeat(200)}…`]],
    ];
    for (const [msgs, mine, want] of rows) assert.deepEqual(announcements(msgs, mine), want);

    assert.equal(pillText(1), '1 new message ↓');
    assert.equal(pillText(2), '2 new messages ↓');
});
