'use strict';
/*
 * What a drill prints: checks ("ok" / "FAIL" lines; one failure fails the
 * drill) and aligned figure tables.
 */

class Verdict {
    constructor(name) {
        this.name = name;
        this.passed = 0;
        this.failed = 0;
        this.failures = [];
    }

    /* Record one assertion; returns cond so a drill can branch on it. */
    check(cond, what, detail) {
        if (cond) {
            this.passed++;
            console.log(`  ok   ${what}`);
        } else {
            this.failed++;
            this.failures.push(what);
            console.log(`  FAIL ${what}${detail ? `\n         ${detail}` : ''}`);
        }
        return cond;
    }

    ok() {
        return this.failed === 0;
    }
}

/* rows: arrays of cells (anything); the first row is the header. */
function table(rows, indent = '  ') {
    const text = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
    const widths = [];
    for (const r of text) r.forEach((c, i) => { widths[i] = Math.max(widths[i] || 0, c.length); });
    return text.map((r) => indent + r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

function seconds(ms) {
    return ms === null || ms === undefined ? '-' : `${(ms / 1000).toFixed(2)} s`;
}

module.exports = { Verdict, table, seconds };
