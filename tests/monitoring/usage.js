'use strict';
/*
 * Do the alert rules and the dashboard read only what the code exports?
 * Each expression is parsed (Prometheus' grammar), evaluated by a real
 * Prometheus that scraped a running system, and each of its selectors must
 * have matched series there (so a metric name, or a label value, the code
 * does not export is found); each label it groups or matches by must be on
 * those series.
 *
 * Metrics listed in pending-metrics.txt are used before the code exports
 * them (each line names the issue that adds it): their selectors are
 * skipped while no series exists, and reported as a problem once one does,
 * so the line is removed and the check becomes strict.
 */
const fs = require('node:fs');
const path = require('node:path');
const { analyse, grafanaExpand } = require('./promql');

const PENDING_FILE = path.join(__dirname, 'pending-metrics.txt');

/* metric name -> why it is pending. */
function pendingMetrics(file = PENDING_FILE) {
    const out = new Map();
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        const m = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(.+?)\s*$/.exec(line.replace(/#.*/, ''));
        if (m) out.set(m[1], m[2]);
    }
    return out;
}

/*
 * problems: [string], one per thing wrong; skipped: [string], pending
 * selectors not checked. exprs: [{ where, expr }]; start: unix seconds
 * from which series count.
 */
async function usageProblems(prom, exprs, { start, pending = pendingMetrics() }) {
    const problems = [];
    const skipped = [];
    for (const { where, expr: raw } of exprs) {
        const { expr, unknown } = grafanaExpand(raw);
        if (unknown.length) problems.push(`${where}: unknown variables ${unknown.join(', ')}`);
        const a = analyse(expr);
        if (a.errors.length) {
            problems.push(`${where}: does not parse (at ${a.errors.join(', ')}): ${expr}`);
            continue;
        }
        try {
            await prom.query(expr);
        } catch (e) {
            problems.push(`${where}: Prometheus refuses it: ${e.message}`);
        }
        const labels = new Set();
        for (const sel of a.selectors) {
            if (!sel.metric) {
                problems.push(`${where}: selector ${sel.text} names no metric`);
                continue;
            }
            const found = await prom.series(sel.text, start);
            if (pending.has(sel.metric)) {
                const any = await prom.series(sel.metric, start);
                if (any.length) problems.push(`${where}: ${sel.metric} is exported now: remove it from pending-metrics.txt`);
                else skipped.push(`${where}: ${sel.metric} (${pending.get(sel.metric)})`);
                continue;
            }
            if (!found.length) {
                const byName = await prom.series(sel.metric, start);
                problems.push(byName.length
                    ? `${where}: ${sel.text} matches none of the ${byName.length} ${sel.metric} series (label values: ${describeLabels(byName)})`
                    : `${where}: ${sel.metric} is not exported by any scraped part`);
            }
            for (const s of found) for (const l of Object.keys(s)) labels.add(l);
        }
        const checkable = a.selectors.some((s) => s.metric && !pending.has(s.metric));
        for (const l of a.grouping) {
            if (checkable && !labels.has(l)) problems.push(`${where}: groups or matches by "${l}", which none of its series has`);
        }
    }
    return { problems, skipped };
}

function describeLabels(series) {
    const values = {};
    for (const s of series) {
        for (const [k, v] of Object.entries(s)) {
            if (['__name__', 'job', 'instance', 'namespace', 'pod'].includes(k)) continue;
            (values[k] = values[k] || new Set()).add(v);
        }
    }
    return Object.entries(values).map(([k, v]) => `${k}=${[...v].join('|')}`).join(' ') || 'none';
}

module.exports = { usageProblems, pendingMetrics };
