'use strict';
/*
 * A real Prometheus scrapes every send handler and gateway of a real
 * system (two of each, lighttpd, Redis) once a second and runs the shipped
 * alert rules. A drill then does what the dashboard and the alerts are
 * about, and what Prometheus saw is compared with what the clients
 * measured:
 *   - messages sent (200s by kind) and every other answer by status;
 *   - live messages each gateway's clients received;
 *   - connections open and opened, per gateway;
 *   - a client that stops reading, closed for it (a slow-client close);
 *   - Redis killed and started again: every part sees it down, counts its
 *     reconnects, the Redis alerts go pending; history requests during the
 *     outage are refused (per-client cap, full queue) or time out, each
 *     under its status.
 * Every chat_* label must have a few values the code fixes (no client
 * addresses or tags). Every expression of the rules and the dashboard
 * must parse, evaluate and match series the parts really export (and the
 * checker must catch a misspelled metric or label), and the
 * prometheus-adapter query for the connections autoscaler must give each
 * gateway pod its connections.
 *
 * Figures are compared once all clients agree and after a scrape that
 * started later, so each comparison is exact.
 */
const test = require('node:test');
const assert = require('node:assert');
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');
const fs = require('node:fs');
const YAML = require('yaml');
const { startSystem, waitFor, sleep, ROOT } = require('../lib/system');
const { connect, postUrlencoded } = require('../lib/client');
const { startPrometheus } = require('./prometheus');
const { ruleExpressions, dashboardExpressions } = require('./promql');
const { usageProblems } = require('./usage');

const RULES = path.join(ROOT, 'manifests', 'monitoring', 'chat-alerts.yml');
const DASHBOARD = path.join(ROOT, 'manifests', 'monitoring', 'chat-dashboard.json');
const ADAPTER = path.join(ROOT, 'manifests', 'monitoring', 'prometheus-adapter-values.yaml');
const SLOW_CLIENT = path.join(__dirname, 'slow_client.py');
const NAMESPACE = 'chatapp';
/* Per gateway: three links to Redis (subscription, commands, history).
 * Per send handler: one per worker (SEND_THREADS=1) and the probe's. */
const GW_LINKS = 3;
const SEND_LINKS = 2;
/* ~16 KB of JSON each: a paused reader's socket buffers fill in some
 * hundreds of kilobytes to a few megabytes. */
const BIG = '\u{1F600}'.repeat(3990);
const SLOW_STEP = 25;
const SLOW_MAX = 600;
const HISTORY_TIMEOUT_MS = 3000;

const podOf = (kind, i) => `${kind}-${i}`;

async function post(sys, tally, fields) {
    const r = await postUrlencoded(sys.sendUrl, {
        name: 'Monitor', email: 'monitor@example.com', topic: 'monitoring', ...fields,
    });
    tally.status[r.status] = (tally.status[r.status] || 0) + 1;
    if (r.status === 200) {
        const m = JSON.parse(r.body);
        tally.acked.push(m);
    }
    return r;
}

/* A fetch of every part's /metrics text. */
async function metricsText(url) {
    return (await fetch(url)).text();
}

function promtoolCheckMetrics(text) {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

/* The slow client: a Python process that reads nothing until told to. */
function startSlowClient(port) {
    const proc = spawn('python3', [SLOW_CLIENT, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const events = [];
    readline.createInterface({ input: proc.stdout }).on('line', (l) => events.push(JSON.parse(l)));
    const next = (name) => waitFor(`slow client ${name}`, async () => events.some((e) => e.event === name), 20000)
        .then(() => events.find((e) => e.event === name));
    return { proc, events, next };
}

/* Wait until every target was scraped (successfully) after the moment given. */
async function scrapedAfter(prom, ms) {
    await waitFor('a fresh scrape of every target', async () => {
        const ts = await prom.targets();
        return ts.length > 0 && ts.every((t) => t.health === 'up' && Date.parse(t.lastScrape) > ms);
    }, 20000);
}

/* pod -> value for an instant query whose samples carry a pod label. */
async function byPod(prom, expr) {
    const out = {};
    for (const s of await prom.query(expr)) out[s.metric.pod] = Number(s.value[1]);
    return out;
}

async function byLabel(prom, expr, label) {
    const out = {};
    for (const s of await prom.query(expr)) out[s.metric[label]] = Number(s.value[1]);
    return out;
}

function nonZero(obj) {
    return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== 0));
}

/* The adapter's Go template fields, filled the way it fills them for an HPA. */
function adapterQuery(rule, pods) {
    const series = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(rule.seriesQuery)[1];
    return rule.metricsQuery
        .replace(/<<\.Series>>/g, series)
        .replace(/<<\.LabelMatchers>>/g, `namespace="${NAMESPACE}",pod=~"${pods.join('|')}"`)
        .replace(/<<\.GroupBy>>/g, 'pod');
}

test('Prometheus sees what the clients measured; rules and dashboard read only exported metrics', { timeout: 300000 }, async (t) => {
    const startS = Math.floor(Date.now() / 1000) - 1;
    const sys = await startSystem({
        gateways: 2, sendHandlers: 2, tag: 'monitoring',
        sendEnv: { SEND_THREADS: '1' },
        gatewayEnv: {
            GW_QUEUE_MAX_BYTES: String(256 * 1024),
            GW_SLOW_CLOSE_GRACE_MS: '500',
            GW_SESSION_MAX_PENDING: '2',
            GW_HISTORY_QUEUE_MAX: '2',
            GW_HISTORY_TIMEOUT_MS: String(HISTORY_TIMEOUT_MS),
            GW_REDIS_BACKOFF_MAX_MS: '500',
        },
    });
    const clients = [];
    let prom;
    let slow;
    try {
        prom = await startPrometheus({
            tag: 'monitoring',
            intervalS: 1,
            ruleFiles: [RULES],
            jobs: [
                {
                    name: 'chat-send',
                    targets: sys.sendHandlers.map((h, i) => ({
                        address: `127.0.0.1:${h.healthPort}`, labels: { namespace: NAMESPACE, pod: podOf('chat-send', i) },
                    })),
                },
                {
                    name: 'chat-gateway',
                    targets: sys.gateways.map((g, i) => ({
                        address: `127.0.0.1:${g.port}`, labels: { namespace: NAMESPACE, pod: podOf('chat-gateway', i) },
                    })),
                },
            ],
        });
        const sendPods = sys.sendHandlers.map((_, i) => podOf('chat-send', i));
        const gwPods = sys.gateways.map((_, i) => podOf('chat-gateway', i));
        await scrapedAfter(prom, Date.now());

        await t.test('every part\'s /metrics passes promtool check metrics', async () => {
            const parts = [
                ['send handler', `http://127.0.0.1:${sys.sendHandlers[0].healthPort}/metrics`],
                ['gateway', `${sys.gateways[0].httpUrl}/metrics`],
            ];
            const failures = [];
            for (const [name, url] of parts) {
                const r = promtoolCheckMetrics(await metricsText(url));
                if (r.status !== 0) failures.push(`${name} (${url}), promtool exit ${r.status}:\n${r.output}`);
            }
            assert.deepStrictEqual(failures, [], failures.join('\n'));
        });

        await t.test('Prometheus scrapes every send handler and gateway', async () => {
            const ts = await prom.targets();
            const seen = ts.map((x) => `${x.labels.job}/${x.labels.pod}:${x.health}`).sort();
            assert.deepStrictEqual(seen, [...sendPods.map((p) => `chat-send/${p}:up`), ...gwPods.map((p) => `chat-gateway/${p}:up`)].sort());
        });

        const reconnectsBefore = {
            send: await byPod(prom, 'chat_send_redis_reconnects_total'),
            gw: await byPod(prom, 'chat_gw_redis_reconnects_total'),
        };

        /* ---- the drill ---------------------------------------------- */
        const tally = { status: {}, acked: [] };
        const opened = Object.fromEntries(gwPods.map((p) => [p, 0]));
        const perGw = Object.fromEntries(gwPods.map((p) => [p, []]));
        const open = async (i) => {
            const c = await connect(sys.gateways[i].url);
            clients.push(c);
            perGw[gwPods[i]].push(c);
            opened[gwPods[i]]++;
            return c;
        };
        const watchers = [];
        for (let i = 0; i < sys.gateways.length; i++) {
            for (let k = 0; k < 2; k++) watchers.push(await open(i));
        }
        const allDelivered = (what) => waitFor(what, async () =>
            watchers.every((w) => tally.acked.every((m) => w.has(m.id))), 60000);

        /* Plain traffic: stored and ephemeral messages, two bad fields. */
        for (let i = 0; i < 20; i++) {
            await post(sys, tally, { content: `plain ${i}`, ...(i % 4 === 3 ? { ephemeral: 'on' } : {}) });
        }
        for (let i = 0; i < 2; i++) await post(sys, tally, { email: 'no-at-sign', content: 'bad' });
        await allDelivered('the plain messages');

        /* A client on gateway 0 that stops reading, then large messages,
         * one at a time (the watchers keep up) until gateway 0 gives up
         * on it. /metrics only paces the sending; the client itself says
         * whether it was closed. Ephemeral, so that Redis has next to
         * nothing to load when it restarts. */
        slow = startSlowClient(sys.gateways[0].port);
        await slow.next('open');
        opened[gwPods[0]]++;
        let bigSent = 0;
        while (bigSent < SLOW_MAX) {
            for (let k = 0; k < SLOW_STEP; k++, bigSent++) {
                await post(sys, tally, { content: `big ${bigSent} ${BIG}`, ephemeral: 'on' });
            }
            const m = await metricsText(`${sys.gateways[0].httpUrl}/metrics`);
            if (/^chat_gw_slow_client_closes_total [1-9]/m.test(m)) break;
        }
        slow.proc.stdin.write('read\n');
        const slowEnd = await slow.next('end');
        await allDelivered('the large messages');

        /* Redis goes away. */
        await sys.stopRedis('SIGKILL');
        const outageFrom = Date.now();
        const outage = { sendDown: {}, gwDown: {}, alerts: new Set() };
        const watchOutage = (async () => {
            const end = Date.now() + 15000;
            while (Date.now() < end && !outage.stop) {
                Object.assign(outage.sendDown, nonZero(await byPod(prom, '1 - chat_send_redis_up')));
                Object.assign(outage.gwDown, nonZero(await byPod(prom, '1 - chat_gw_redis_up')));
                for (const a of (await prom.api('/api/v1/alerts')).alerts) {
                    if (a.labels.alertname.startsWith('Chat')) outage.alerts.add(`${a.labels.alertname}${a.labels.pod ? `/${a.labels.pod}` : ''}`);
                }
                if (Object.keys(outage.sendDown).length === sendPods.length &&
                    Object.keys(outage.gwDown).length === gwPods.length &&
                    outage.alerts.size >= sendPods.length + gwPods.length + 2) break;
                await sleep(250);
            }
        })();
        for (let i = 0; i < 4; i++) await post(sys, tally, { content: `during the outage ${i}` });
        /* History while Redis is away, on gateway 1 (GW_SESSION_MAX_PENDING
         * 2, GW_HISTORY_QUEUE_MAX 2): h1's first two wait for Redis and
         * time out, its third is over its cap; h2's one finds the queue full. */
        const h1 = await open(1);
        for (let k = 0; k < 3; k++) h1.send({ after_id: 0, req: `h1-${k}` });
        await h1.until(() => h1.statuses.some((s) => s.req === 'h1-2'), 10000, 'h1-2 refused');
        const h2 = await open(1);
        h2.send({ after_id: 0, req: 'h2-0' });
        const answered = (c, n) => c.statuses.filter((s) => s.req).length >= n;
        await h2.until(() => answered(h2, 1), 10000, 'h2 answered');
        await h1.until(() => answered(h1, 3), HISTORY_TIMEOUT_MS + 10000, 'h1 answered');
        await watchOutage;
        outage.stop = true;
        const historyAnswers = {};
        for (const s of [...h1.statuses, ...h2.statuses].filter((x) => x.req)) {
            const kind = s.type === 'reply' ? 'ok'
                : /in flight/.test(s.error) ? 'refused'
                    : /from your address/.test(s.error) ? 'limited'
                        : /busy/.test(s.error) ? 'busy' : 'error';
            historyAnswers[kind] = (historyAnswers[kind] || 0) + 1;
        }

        /* Redis is back (same data); readiness is what brings traffic back. */
        await sys.startRedis();
        const outageS = (Date.now() - outageFrom) / 1000;
        await sys.waitReady();
        for (let i = 0; i < 10; i++) await post(sys, tally, { content: `after the outage ${i}` });
        await allDelivered('the messages after the outage');
        const clearedBy = Date.now();
        await waitFor('the Redis alerts to clear', async () =>
            (await prom.api('/api/v1/alerts')).alerts.filter((a) => /Redis|Ready/.test(a.labels.alertname)).length === 0, 20000)
            .catch(() => { /* judged below */ });
        const stillActive = (await prom.api('/api/v1/alerts')).alerts.map((a) => a.labels.alertname);
        await scrapedAfter(prom, Date.now());

        t.diagnostic(`sent ${Object.values(tally.status).reduce((a, b) => a + b, 0)} (${JSON.stringify(tally.status)}), ` +
            `${bigSent} large; slow client: ${JSON.stringify(slowEnd)}; Redis down ${outageS.toFixed(1)} s; ` +
            `history answers ${JSON.stringify(historyAnswers)}; outage seen: send ${JSON.stringify(outage.sendDown)} ` +
            `gateways ${JSON.stringify(outage.gwDown)} alerts ${[...outage.alerts].sort().join(' ')}`);

        /* ---- what Prometheus saw against what the clients measured ---- */
        await t.test('messages in: published messages by kind equal the 200s', async () => {
            const want = {
                stored: tally.acked.filter((m) => !m.ephemeral).length,
                ephemeral: tally.acked.filter((m) => m.ephemeral).length,
            };
            assert.deepStrictEqual(await byLabel(prom, 'sum by (kind) (chat_send_messages_total)', 'kind'), want);
            const perGwIn = await byPod(prom, 'chat_gw_messages_in_total');
            assert.deepStrictEqual(perGwIn, Object.fromEntries(gwPods.map((p) => [p, tally.acked.length])),
                'every gateway received every published message from Redis');
        });

        await t.test('send answers by status equal what the clients got', async () => {
            const got = nonZero(await byLabel(prom, 'sum by (status) (chat_send_requests_total)', 'status'));
            const want = Object.fromEntries(Object.entries(tally.status).map(([k, v]) => [k, v]));
            assert.deepStrictEqual(got, want);
        });

        await t.test('deliveries out: live messages per gateway equal what its clients received', async () => {
            const want = {};
            for (const p of gwPods) want[p] = perGw[p].reduce((n, c) => n + c.messages.length, 0);
            want[gwPods[0]] += slowEnd.messages;
            assert.deepStrictEqual(await byPod(prom, 'chat_gw_messages_out_total'), want);
        });

        await t.test('connections: open and opened per gateway', async () => {
            const openNow = {};
            for (const p of gwPods) openNow[p] = perGw[p].filter((c) => c.closed === null).length;
            assert.deepStrictEqual(await byPod(prom, 'chat_gw_connections'), openNow, 'open now');
            assert.deepStrictEqual(await byPod(prom, 'chat_gw_connections_total'), opened, 'opened since start');
        });

        await t.test('slow-client closes: the client that stopped reading, on its gateway only', async () => {
            assert.strictEqual(slowEnd.closed_by_server, true, `the slow client was not closed (${bigSent} large messages sent)`);
            assert.deepStrictEqual(await byPod(prom, 'chat_gw_slow_client_closes_total'),
                { [gwPods[0]]: 1, [gwPods[1]]: 0 });
        });

        await t.test('Redis down: every part showed it while it lasted', async () => {
            assert.deepStrictEqual(Object.keys(outage.gwDown).sort(), gwPods, 'gateways with chat_gw_redis_up 0');
            assert.deepStrictEqual(Object.keys(outage.sendDown).sort(), sendPods, 'send handlers with chat_send_redis_up 0');
        });

        await t.test('Redis reconnects: one per connection made again after the restart, none before', async () => {
            const zero = (pods) => Object.fromEntries(pods.map((p) => [p, 0]));
            assert.deepStrictEqual(reconnectsBefore.gw, zero(gwPods), 'gateways, before the outage');
            assert.deepStrictEqual(reconnectsBefore.send, zero(sendPods), 'send handlers, before the outage');
            /* A link dropped for not answering comes back too: none should
             * have been, but if one was, the figure says so. */
            const timeouts = await byPod(prom, 'sum by (pod) (chat_gw_redis_timeouts_total)');
            assert.deepStrictEqual(await byPod(prom, 'chat_gw_redis_reconnects_total'),
                Object.fromEntries(gwPods.map((p) => [p, GW_LINKS])), `gateways, after one restart (link timeouts ${JSON.stringify(timeouts)})`);
            assert.deepStrictEqual(await byPod(prom, 'chat_send_redis_reconnects_total'),
                Object.fromEntries(sendPods.map((p) => [p, SEND_LINKS])), 'send handlers, after one restart');
        });

        await t.test('history requests by status equal the answers the clients got', async () => {
            assert.deepStrictEqual(historyAnswers, { error: 2, refused: 1, busy: 1 }, 'the clients\' answers');
            const got = {};
            for (const s of await prom.query('chat_gw_history_requests_total')) {
                if (Number(s.value[1])) got[`${s.metric.pod} ${s.metric.status}`] = Number(s.value[1]);
            }
            const want = {};
            for (const [k, v] of Object.entries(historyAnswers)) want[`${gwPods[1]} ${k}`] = v;
            assert.deepStrictEqual(got, want);
        });

        await t.test('the Redis alerts went pending during the outage and cleared after it', async () => {
            const want = [
                'ChatNoGatewayReady', 'ChatNoSendHandlerReady',
                ...[...sendPods, ...gwPods].map((p) => `ChatRedisUnreachable/${p}`),
            ].sort();
            assert.deepStrictEqual([...outage.alerts].sort(), want);
            assert.deepStrictEqual(stillActive, [], `still active ${(Date.now() - clearedBy) / 1000} s after recovery`);
        });

        await t.test('every rule is loaded and evaluates without error', async () => {
            const rules = await prom.rules();
            const file = YAML.parse(fs.readFileSync(RULES, 'utf8')).groups.flatMap((g) => g.rules);
            assert.deepStrictEqual(rules.map((r) => r.name).sort(), file.map((r) => r.alert || r.record).sort());
            const bad = rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError}`);
            assert.deepStrictEqual(bad, []);
        });

        await t.test('chat metrics carry only labels with a few fixed values', async () => {
            /* Target labels aside, a label's values must come from the code
             * (statuses, kinds, links, reasons, buckets), never from a
             * client (an address, a tag), or the series would grow with
             * the users. */
            const allowed = { status: 16, kind: 4, link: 4, reason: 4, le: 20 };
            const values = {};
            for (const s of await prom.series('{__name__=~"chat_.*"}', startS)) {
                for (const [k, v] of Object.entries(s)) {
                    if (['__name__', 'job', 'instance', 'namespace', 'pod'].includes(k)) continue;
                    const key = `${s.__name__} ${k}`;
                    (values[key] = values[key] || new Set()).add(v);
                }
            }
            const bad = Object.entries(values).filter(([key, v]) => {
                const label = key.split(' ')[1];
                return !(label in allowed) || v.size > allowed[label];
            }).map(([key, v]) => `${key}: ${v.size} values (${[...v].slice(0, 5).join(', ')}...)`);
            assert.deepStrictEqual(bad, []);
            assert.ok(values['chat_send_requests_total status'] && values['chat_send_request_duration_seconds_bucket le'],
                'the status and le labels were seen');
        });

        const exprs = [...ruleExpressions(RULES), ...dashboardExpressions(DASHBOARD)];
        await t.test('the rules and the dashboard read only metrics and labels the parts export', async () => {
            const { problems, skipped } = await usageProblems(prom, exprs, { start: startS });
            for (const s of skipped) t.diagnostic(`pending, not checked: ${s}`);
            assert.ok(exprs.length > 20, `only ${exprs.length} expressions found`);
            assert.deepStrictEqual(problems, []);
        });

        await t.test('the usage check catches a wrong metric, label value or grouping label', async () => {
            const mutants = [
                ['sum(rate(chat_gw_mesages_out_total[1m]))', /chat_gw_mesages_out_total is not exported/],
                ['sum(rate(chat_send_requests_total{status="5O3"}[1m]))', /matches none of the .* chat_send_requests_total series/],
                ['sum by (stauts) (rate(chat_send_requests_total[1m]))', /groups or matches by "stauts"/],
                ['sum(rate(chat_gw_connections[1m]) ', /does not parse/],
            ];
            for (const [expr, want] of mutants) {
                const { problems } = await usageProblems(prom, [{ where: 'mutant', expr }], { start: startS });
                assert.ok(problems.some((p) => want.test(p)), `${expr}: ${JSON.stringify(problems)}`);
            }
        });

        await t.test('the prometheus-adapter rule gives each gateway pod its connections', async () => {
            const rule = YAML.parse(fs.readFileSync(ADAPTER, 'utf8')).rules.custom
                .find((r) => r.name.as === 'chat_gw_connections');
            assert.ok(rule, 'no adapter rule exposes chat_gw_connections');
            assert.ok((await prom.series(rule.seriesQuery, startS)).length >= gwPods.length, `${rule.seriesQuery} finds the gateways`);
            const openNow = {};
            for (const p of gwPods) openNow[p] = perGw[p].filter((c) => c.closed === null).length;
            assert.deepStrictEqual(await byPod(prom, adapterQuery(rule, gwPods)), openNow);
        });
    } finally {
        if (slow && slow.proc.exitCode === null) slow.proc.kill('SIGKILL');
        for (const c of clients) c.close();
        await sleep(100);
        if (prom) await prom.stop();
        await sys.stop();
    }
});
