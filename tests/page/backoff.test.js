'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { jittered } = require('../../htdocs/core/backoff.js');

/* [attempt, base, cap, random, expected]: half of the ceiling at random 0,
 * all of it just below 1, the cap where the doubling passes it. */
const ROWS = [
    [0, 500, 15000, 0, 250],
    [0, 500, 15000, 0.999999, 500],
    [0, 500, 15000, 0.5, 375],
    [1, 500, 15000, 0, 500],
    [3, 500, 15000, 0, 2000],
    [4, 500, 15000, 0.999999, 8000],
    [5, 500, 15000, 0, 7500], /* 16000 is over the cap */
    [5, 500, 15000, 0.999999, 15000],
    [16, 500, 15000, 0, 7500],
    [5000, 500, 15000, 0.5, 11250], /* never Infinity */
    [-1, 500, 15000, 0, 250], /* a negative attempt is the first */
];

test('jittered backoff: half to all of min(cap, base * 2^attempt)', () => {
    for (const [attempt, base, cap, r, want] of ROWS) {
        assert.equal(jittered(attempt, base, cap, () => r), want, `attempt ${attempt}, random ${r}`);
    }
});
