'use strict';
/*
 * What every drill does around its fault: watchers on client nodes,
 * senders posting through the front ends, the standard figure table and
 * the checks that hold in every drill (a 200 is stored under its id,
 * nothing is stored twice).
 */
const topo = require('../topology');
const fig = require('../figures');
const { table, seconds } = require('../report');
const { sleep } = require('../bed');

/*
 * The longest a healthy watcher may wait for a message while a fault
 * hits another part: normal delivery takes a few ms plus the gateway's
 * batch window (30 ms), so anything near a second is the fault leaking
 * through (a blocked loop, a shared link), not load.
 */
const HEALTHY_STALL_MS = 1000;
/* Watchers use their own liveness timer (HELPERS contract 5): a little
 * over the gateway's ping interval (2 s on the bed). */
const LIVENESS_MS = 4000;

/* A node's own Service name (chat-gateway-2 for gw2). */
function podName(bed, node) {
    return bed.node(node).services.find((s) => /-\d+$/.test(s));
}

class DrillRun {
    constructor(bed, verdict, name) {
        this.bed = bed;
        this.v = verdict;
        this.tag = `${name}r${process.pid}t${Date.now() % 100000}`;
        this.watchers = new Map(); /* id -> { node, via } */
        this.senders = new Map();  /* id -> node */
        this.t0 = Date.now();
    }

    gatewayUrl(node) {
        return `ws://${topo.fqdn(podName(this.bed, node))}:${topo.PORTS.gateway}/chatapp/websocket`;
    }

    frontendWsUrl(node) {
        return `ws://${topo.fqdn(podName(this.bed, node))}:${topo.PORTS.http}/chatapp/websocket`;
    }

    sendUrl(node) {
        return `http://${topo.fqdn(podName(this.bed, node))}:${topo.PORTS.http}/chatapp/send`;
    }

    /* Where senders run: a node of their own, so their load never delays a watcher. */
    senderNode() {
        return this.bed.nodesWith('sender')[0];
    }

    /* Every front end's send URL: a Service with one endpoint per node. */
    sendUrls() {
        return this.bed.nodesWith('frontend').map((n) => this.sendUrl(n));
    }

    /*
     * Open watchers together. Each spec: { id, node (a client node),
     * urls, via (a label for the table), livenessMs, heartbeatMs,
     * reconnect }. They start after the newest id, so a drill sees only
     * its own messages.
     */
    async watch(specs) {
        const afterId = this.bed.lastId();
        await Promise.all(specs.map(async (s) => {
            const { node, via, ...opts } = s;
            await this.bed.agent(node).call('open', { afterId, ...opts });
            this.watchers.set(s.id, { node, via });
        }));
    }

    async closeWatcher(id) {
        await this.bed.agent(this.watchers.get(id).node).call('close', { id });
    }

    async send(id, node, opts) {
        await this.bed.agent(node).call('send', { id, tag: this.tag, ...opts });
        this.senders.set(id, node);
    }

    /* Stop every sender; their results, once each message has its last answer. */
    async stopSenders() {
        const results = await Promise.all([...this.senders].map(([id, node]) =>
            this.bed.agent(node).call('sendStop', { id }, 60000)));
        this.senders.clear();
        return fig.sendFigures(results);
    }

    async report(id) {
        return this.bed.agent(this.watchers.get(id).node).call('report', { id, tag: this.tag });
    }

    async reports(ids = [...this.watchers.keys()]) {
        return Promise.all(ids.map((id) => this.report(id)));
    }

    /* Wait until every listed watcher has every id; false at the deadline. */
    async delivered(ids, msgIds, timeoutMs) {
        const end = Date.now() + timeoutMs;
        for (;;) {
            const missing = await Promise.all(ids.map((id) =>
                this.bed.agent(this.watchers.get(id).node).call('missing', { id, ids: msgIds })));
            if (missing.every((n) => n === 0)) return true;
            if (Date.now() > end) return false;
            await sleep(200);
        }
    }

    /* The standard figure table. extraCols: { header: (figures, report) => cell }. */
    printFigures(title, sendF, storeF, clients, extraCols = {}) {
        console.log(`  ${title}`);
        console.log(`  messages sent ${sendF.sent} (${sendF.rate}/s), acknowledged (200) ${sendF.acked.length}, stored ` +
            `${storeF.stored}; final answers ${JSON.stringify(sendF.statuses)}; POSTs ${sendF.posts} ` +
            `(answers ${JSON.stringify(sendF.tryStatuses)}, slowest ${seconds(sendF.slowestMs)})` +
            (sendF.skipped ? `; ${sendF.skipped} not sent (senders saturated)` : ''));
        const head = ['watcher', 'node', 'via', 'delivered', 'lost', 'dup shown', 'repeats',
            'order breaks', 'longest stall', 'connections', ...Object.keys(extraCols)];
        const rows = clients.map(({ f, r }) => [f.id, f.node, this.watchers.get(f.id).via, f.delivered,
            f.lost.length, f.dupShown, f.repeats, `${f.breaks[0]}/${f.breaks[1]}`, seconds(f.stallMs),
            f.connections, ...Object.values(extraCols).map((fn) => fn(f, r))]);
        console.log(table([head, ...rows]));
    }

    /* Figures for every watcher: [{ f, r }]. */
    async clientFigures(sendF, window) {
        const reps = await this.reports();
        return reps.map((r) => ({ r, f: fig.clientFigures(r, sendF, this.tag, window) }));
    }

    /* The promises every drill keeps. */
    checkStore(sendF, storeF) {
        this.v.check(storeF.ackedNotStored.length === 0,
            `every 200 is stored under its id (${storeF.ackedNotStored.length} of ${sendF.acked.length} are not)`,
            storeF.ackedNotStored.slice(0, 5).map((m) => m.content).join(', '));
        this.v.check(storeF.storedTwice.length === 0,
            `no message stored twice (${storeF.storedTwice.length} were)`,
            storeF.storedTwice.slice(0, 5).map((es) => es.map((e) => e.id).join('+')).join(', '));
    }

    checkClients(clients, what, { lost = true, dup = true } = {}) {
        for (const { f } of clients) {
            if (lost) {
                this.v.check(f.lost.length === 0, `${f.id} (${what}) lost nothing acknowledged (${f.lost.length} lost)`,
                    f.lost.slice(0, 10).join(' '));
            }
            if (dup) this.v.check(f.dupShown === 0, `${f.id} (${what}) was shown no message twice (${f.dupShown})`);
        }
    }

    elapsed() {
        return Date.now() - this.t0;
    }
}

module.exports = { DrillRun, podName, HEALTHY_STALL_MS, LIVENESS_MS };
