'use strict';
/*
 * Offline checks of the monitoring files that need no running system:
 *   node lint.js dashboard FILE   the Grafana dashboard's shape (unique
 *                                 panel ids, grid positions, one datasource
 *                                 variable every target uses) and every
 *                                 expression parses with only Grafana's
 *                                 own interval variables
 *   node lint.js config FILE OUT  a copy of a Prometheus config with each
 *                                 kubernetes_sd_configs replaced by a
 *                                 file_sd_configs, for promtool check
 *                                 config: Debian's Prometheus is built
 *                                 without Kubernetes discovery. The
 *                                 Kubernetes part is checked here instead,
 *                                 and rule_files are made absolute.
 * Prints one line per problem; exits non-zero if there is any.
 */
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');
const { analyse, grafanaExpand, dashboardExpressions } = require('./promql');

const PANEL_TYPES = new Set(['timeseries', 'stat', 'gauge', 'bargauge', 'table', 'text', 'row']);

function lintDashboard(file) {
    const problems = [];
    const dash = JSON.parse(fs.readFileSync(file, 'utf8'));
    for (const k of ['title', 'uid', 'schemaVersion', 'panels', 'templating']) {
        if (dash[k] === undefined) problems.push(`no "${k}"`);
    }
    const vars = (dash.templating && dash.templating.list) || [];
    const ds = vars.find((v) => v.type === 'datasource' && v.query === 'prometheus');
    if (!ds) problems.push('no datasource variable of type prometheus');
    const dsRef = ds ? `\${${ds.name}}` : null;
    const ids = new Set();
    const panels = [];
    const walk = (list) => {
        for (const p of list || []) {
            panels.push(p);
            walk(p.panels);
        }
    };
    walk(dash.panels);
    for (const p of panels) {
        const who = `panel ${p.id} "${p.title}"`;
        if (!Number.isInteger(p.id) || ids.has(p.id)) problems.push(`${who}: id missing or repeated`);
        ids.add(p.id);
        if (!PANEL_TYPES.has(p.type)) problems.push(`${who}: unknown type ${p.type}`);
        const g = p.gridPos || {};
        if (!['x', 'y', 'w', 'h'].every((k) => Number.isInteger(g[k])) || g.x + g.w > 24) {
            problems.push(`${who}: bad gridPos ${JSON.stringify(p.gridPos)}`);
        }
        if (p.type === 'row' || p.type === 'text') continue;
        if (!p.description) problems.push(`${who}: no description`);
        if (!(p.targets || []).length) problems.push(`${who}: no targets`);
        for (const t of p.targets || []) {
            for (const ref of [p.datasource, t.datasource]) {
                if (!ref || ref.type !== 'prometheus' || ref.uid !== dsRef) {
                    problems.push(`${who} ${t.refId}: datasource ${JSON.stringify(ref)} is not ${dsRef}`);
                }
            }
        }
    }
    const exprs = dashboardExpressions(file);
    if (!exprs.length) problems.push('no expressions');
    for (const { where, expr } of exprs) {
        const x = grafanaExpand(expr);
        if (x.unknown.length) problems.push(`${where}: unknown variables ${x.unknown.join(', ')}`);
        const a = analyse(x.expr);
        if (a.errors.length) problems.push(`${where}: does not parse: ${expr}`);
        if (!a.selectors.length) problems.push(`${where}: reads no metric`);
    }
    return problems;
}

function offlineConfig(file, out) {
    const problems = [];
    const conf = YAML.parse(fs.readFileSync(file, 'utf8'));
    for (const job of conf.scrape_configs || []) {
        const sd = job.kubernetes_sd_configs;
        if (!sd) continue;
        for (const s of sd) {
            if (!['pod', 'endpoints', 'endpointslice', 'service', 'node', 'ingress'].includes(s.role)) {
                problems.push(`${job.job_name}: kubernetes_sd_configs role ${s.role}`);
            }
            const names = s.namespaces && s.namespaces.names;
            if (names !== undefined && !(Array.isArray(names) && names.every((n) => typeof n === 'string'))) {
                problems.push(`${job.job_name}: namespaces.names must be a list of names`);
            }
        }
        delete job.kubernetes_sd_configs;
        job.file_sd_configs = [{ files: ['/nonexistent/kubernetes-pods-*.json'] }];
    }
    /* Rule files are relative to the config's own folder. */
    conf.rule_files = (conf.rule_files || []).map((r) => path.resolve(path.dirname(file), r));
    fs.writeFileSync(out, YAML.stringify(conf));
    return problems;
}

function main() {
    const [mode, file, out] = process.argv.slice(2);
    let problems;
    if (mode === 'dashboard' && file) problems = lintDashboard(file);
    else if (mode === 'config' && file && out) problems = offlineConfig(file, out);
    else {
        console.error('usage: node lint.js dashboard FILE | config FILE OUT');
        process.exit(2);
    }
    for (const p of problems) console.log(`${file}: ${p}`);
    process.exit(problems.length ? 1 : 0);
}

main();
