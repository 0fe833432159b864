'use strict';
/*
 * Builds the bed once, checks that its own instruments work (the bed
 * self-test), runs the drills one after another on it (each after a
 * reset that heals every fault and restarts what died), then removes
 * everything. Each drill, the self-test and the teardown count as one
 * test; the last line is "N passed, N failed".
 *
 *   node tests/netbed/main.js BUILD_DIR OUT_DIR [DRILL...]
 *
 * DRILL is a number or a part of a name (1, presence, 4-resolver); none
 * runs all. NETBED_HOLD=S pauses S seconds after each drill, faults
 * healed, with every part still running, so a person can look around.
 * SIGINT and SIGTERM remove everything before exiting.
 */
const path = require('node:path');
const { Bed, sleep } = require('./bed');
const { Verdict } = require('./report');
const selftest = require('./selftest');

const DRILLS = [
    require('./drills/1-presence'),
    require('./drills/2-gateway-redis-cut'),
    require('./drills/3-send-redis-cut'),
    require('./drills/4-resolver-hang'),
    require('./drills/5-lossy-link'),
    require('./drills/6-frontend-killed'),
    require('./drills/7-gateway-isolated'),
    /* Redis with replicas and Sentinel (issue 13): they add nodes, so last. */
    require('./drills/8-primary-killed'),
    require('./drills/9-primary-isolated'),
    require('./drills/10-two-failovers'),
    require('./drills/11-five-failovers'),
    require('./drills/12-all-restarted'),
];
const DRILL_TIMEOUT_MS = 90000;

const [buildDir, outDir, ...wanted] = process.argv.slice(2);
if (!buildDir || !outDir) {
    console.error('usage: node main.js BUILD_DIR OUT_DIR [DRILL...]');
    process.exit(2);
}

function selected() {
    if (!wanted.length) return DRILLS;
    /* A number picks that drill alone ("1" is not 10, 11, 12). */
    return DRILLS.filter((d) => wanted.some((w) => d.name === w || d.name.startsWith(`${w}-`) ||
        (!/^\d+$/.test(w) && d.name.includes(w))));
}

let passed = 0;
let failed = 0;
const bed = new Bed({ buildDir: path.resolve(buildDir), outDir: path.resolve(outDir) });

function onSignal(sig) {
    console.log(`\n${sig}: removing the bed`);
    const left = bed.downSync();
    if (left.length) console.log(`could not remove: ${left.join('; ')}`);
    console.log(`${passed} passed, ${failed + 1} failed`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

function count(ok) {
    if (ok) passed++;
    else failed++;
}

async function withTimeout(p, ms, what) {
    let timer;
    const t = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms); });
    try {
        return await Promise.race([p, t]);
    } finally {
        clearTimeout(timer);
    }
}

async function runDrill(d, gwEnv) {
    const v = new Verdict(d.name);
    const began = Date.now();
    console.log(`\n=== drill ${d.name}: ${d.title}`);
    try {
        const env = JSON.stringify(d.gatewayEnv || {});
        if (env !== gwEnv.current) {
            await bed.restartGateways(d.gatewayEnv || {});
            gwEnv.current = env;
        }
        await bed.reset();
        await withTimeout(d.run(bed, v), d.timeoutMs || DRILL_TIMEOUT_MS, `drill ${d.name}`);
    } catch (e) {
        v.check(false, `drill ran to its end`, e.stack);
    }
    if (process.env.NETBED_HOLD) {
        console.log(`  holding the bed for ${process.env.NETBED_HOLD} s (faults still in place)`);
        await sleep(Number(process.env.NETBED_HOLD) * 1000);
    }
    const secs = ((Date.now() - began) / 1000).toFixed(1);
    console.log(`=== drill ${d.name}: ${v.ok() ? 'PASS' : `FAIL (${v.failures.length} checks failed)`} in ${secs} s`);
    count(v.ok());
}

async function main() {
    const began = Date.now();
    const drills = selected();
    if (wanted.length && !drills.length) throw new Error(`no drill matches ${wanted.join(' ')}`);
    try {
        console.log('=== bed: building');
        await bed.up();
        await bed.startSystem();
        console.log(`=== bed: up in ${((Date.now() - began) / 1000).toFixed(1)} s`);
        const v = new Verdict('selftest');
        await selftest.run(bed, v);
        count(v.ok());
        const gwEnv = { current: '{}' };
        for (const d of drills) await runDrill(d, gwEnv);
    } catch (e) {
        console.log(`FAIL bed: ${e.stack}`);
        failed++;
    } finally {
        const left = await bed.down();
        if (left.length) console.log(`FAIL teardown left: ${left.join('; ')}`);
        else console.log('ok   teardown: no namespace, link, resolver folder or process left');
        count(left.length === 0);
    }
    console.log(`netbed: ${((Date.now() - began) / 1000).toFixed(1)} s in all`);
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
}

main();
