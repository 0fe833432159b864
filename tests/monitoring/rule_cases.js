'use strict';
/*
 * Every alert of a rule file has promtool unit test cases where it fires
 * and where it stays quiet, and the tests name no alert the rules lack.
 *
 *   node tests/monitoring/rule_cases.js RULES_FILE TEST_FILE
 *
 * One "ok"/"FAIL" line per alert; ends with "N passed, N failed".
 */
const fs = require('node:fs');
const YAML = require('yaml');

function alertsOf(rulesFile) {
    const doc = YAML.parse(fs.readFileSync(rulesFile, 'utf8'));
    const names = [];
    for (const g of doc.groups || []) {
        for (const r of g.rules || []) if (r.alert) names.push(r.alert);
    }
    return names;
}

/* alertname -> { firing: n, quiet: n } over every alert_rule_test. */
function casesOf(testFile) {
    const doc = YAML.parse(fs.readFileSync(testFile, 'utf8'));
    const cases = new Map();
    for (const t of doc.tests || []) {
        for (const a of t.alert_rule_test || []) {
            const c = cases.get(a.alertname) || { firing: 0, quiet: 0 };
            if ((a.exp_alerts || []).length) c.firing++;
            else c.quiet++;
            cases.set(a.alertname, c);
        }
    }
    return cases;
}

function main() {
    const [rulesFile, testFile] = process.argv.slice(2);
    if (!rulesFile || !testFile) {
        console.error('usage: node rule_cases.js RULES_FILE TEST_FILE');
        process.exit(2);
    }
    const alerts = alertsOf(rulesFile);
    const cases = casesOf(testFile);
    let passed = 0;
    let failed = 0;
    const verdict = (good, line) => {
        if (good) passed++;
        else failed++;
        console.log(`${good ? 'ok  ' : 'FAIL'} ${line}`);
    };
    verdict(alerts.length > 0, `${rulesFile} has alerts (${alerts.length})`);
    for (const name of alerts) {
        const c = cases.get(name) || { firing: 0, quiet: 0 };
        verdict(c.firing > 0 && c.quiet > 0,
            `${name}: ${c.firing} firing and ${c.quiet} quiet cases`);
    }
    for (const name of cases.keys()) {
        if (!alerts.includes(name)) verdict(false, `${testFile} tests ${name}, which ${rulesFile} does not have`);
    }
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
}

main();
