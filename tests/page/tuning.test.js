'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { DEFAULTS, make } = require('../../htdocs/core/tuning.js');

test('tuning: defaults, and only positive whole numbers override them', () => {
    assert.deepEqual(make(undefined), DEFAULTS);
    assert.deepEqual(make(null), DEFAULTS);
    assert.deepEqual(make('fast'), DEFAULTS);
    const rows = [
        [{ heartbeatIdleMs: 300 }, 300],
        [{ heartbeatIdleMs: 1 }, 1],
        [{ heartbeatIdleMs: 0 }, DEFAULTS.heartbeatIdleMs],
        [{ heartbeatIdleMs: -5 }, DEFAULTS.heartbeatIdleMs],
        [{ heartbeatIdleMs: 2.5 }, DEFAULTS.heartbeatIdleMs],
        [{ heartbeatIdleMs: '300' }, DEFAULTS.heartbeatIdleMs],
        [{ heartbeatIdleMs: Infinity }, DEFAULTS.heartbeatIdleMs],
    ];
    for (const [over, want] of rows) {
        assert.equal(make(over).heartbeatIdleMs, want, JSON.stringify(over));
    }
    assert.equal(make({ noSuchKnob: 5 }).noSuchKnob, undefined, 'unknown keys are not taken');
    assert.ok(Object.isFrozen(make({})));
});
