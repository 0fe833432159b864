'use strict';
/*
 * What a PromQL expression reads, found with Prometheus' own grammar
 * (@prometheus-io/lezer-promql 0.42.0, the grammar of the Prometheus 2.42
 * the tests run), and where an expression comes from: the alert rules and
 * the Grafana dashboard.
 *
 *   analyse(expr) -> { errors: [offset...], selectors: [{ text, metric,
 *                      matchers: [{ label, op, value }] }], grouping: [label...] }
 *   grafanaExpand(expr) -> { expr, unknown: [variable...] }
 *   ruleExpressions(file), dashboardExpressions(file) -> [{ where, expr }]
 */
const fs = require('node:fs');
const YAML = require('yaml');
const { parser } = require('@prometheus-io/lezer-promql');

/* The text of a StringLiteral: "..." and '...' with escapes, `...` raw. */
function unquote(lit) {
    const q = lit[0];
    const body = lit.slice(1, -1);
    if (q === '`') return body;
    if (q === '"') return JSON.parse(lit);
    return JSON.parse(`"${body.replace(/\\'/g, "'").replace(/"/g, '\\"')}"`);
}

function childrenOf(node) {
    const out = [];
    for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
}

function selectorOf(node, src) {
    const sel = { text: src.slice(node.from, node.to), metric: null, matchers: [] };
    for (const c of childrenOf(node)) {
        if (c.name === 'Identifier') sel.metric = src.slice(c.from, c.to);
        if (c.name !== 'LabelMatchers') continue;
        for (const m of childrenOf(c)) {
            if (m.name !== 'LabelMatcher') continue;
            const parts = Object.fromEntries(childrenOf(m).map((p) => [p.name, src.slice(p.from, p.to)]));
            const matcher = { label: parts.LabelName, op: parts.MatchOp, value: unquote(parts.StringLiteral) };
            if (matcher.label === '__name__' && matcher.op === '=') sel.metric = matcher.value;
            sel.matchers.push(matcher);
        }
    }
    return sel;
}

function analyse(expr) {
    const tree = parser.parse(expr);
    const out = { errors: [], selectors: [], grouping: [] };
    tree.iterate({
        enter(n) {
            if (n.type.isError) out.errors.push(n.from);
            if (n.name === 'VectorSelector') out.selectors.push(selectorOf(n.node, expr));
            if (n.name === 'GroupingLabels') {
                for (const c of childrenOf(n.node)) {
                    if (c.name === 'LabelName') out.grouping.push(expr.slice(c.from, c.to));
                }
            }
        },
    });
    out.grouping = [...new Set(out.grouping)];
    return out;
}

/*
 * Grafana's own interval variables, with values that fit a Prometheus
 * scraping once a second; any other $variable is reported as unknown.
 */
const GRAFANA_VARS = { __rate_interval: '1m', __interval: '15s', __range: '5m' };
function grafanaExpand(expr) {
    const unknown = [];
    const out = expr.replace(/\$\{?(\w+)\}?/g, (whole, name) => {
        if (name in GRAFANA_VARS) return GRAFANA_VARS[name];
        unknown.push(whole);
        return whole;
    });
    return { expr: out, unknown };
}

function ruleExpressions(file) {
    const doc = YAML.parse(fs.readFileSync(file, 'utf8'));
    const out = [];
    for (const g of doc.groups || []) {
        for (const r of g.rules || []) {
            out.push({ where: `${file}: ${r.alert || r.record}`, expr: String(r.expr) });
        }
    }
    return out;
}

/* Every panel target, rows' nested panels included. */
function dashboardExpressions(file) {
    const dash = JSON.parse(fs.readFileSync(file, 'utf8'));
    const out = [];
    const walk = (panels) => {
        for (const p of panels || []) {
            for (const t of p.targets || []) {
                if (t.expr !== undefined) out.push({ where: `${file}: panel "${p.title}" ${t.refId}`, expr: t.expr });
            }
            walk(p.panels);
        }
    };
    walk(dash.panels);
    return out;
}

module.exports = { analyse, grafanaExpand, ruleExpressions, dashboardExpressions };
