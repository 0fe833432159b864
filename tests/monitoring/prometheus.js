'use strict';
/*
 * A real Prometheus (Debian's, 2.42) for a test: its own free port, its own
 * data folder in a temporary directory, a config written from the targets
 * given, stopped by stop().
 *
 *   const prom = await startPrometheus({ jobs: [{ name, targets: [{ address, labels }] }],
 *       ruleFiles: [...], intervalS: 1, tag });
 *   await prom.query('sum(chat_gw_connections)')   // the API's data.result
 *   await prom.stop();
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const YAML = require('yaml');
const { freePort, waitFor, OUT_DIR } = require('../lib/system');

const live = new Set();
process.on('exit', () => {
    for (const p of live) {
        try { p.kill('SIGKILL'); } catch { /* already gone */ }
    }
});

class Prometheus {
    constructor(opts) {
        this.opts = opts;
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-prom-'));
        this.proc = null;
    }

    config() {
        const interval = `${this.opts.intervalS || 1}s`;
        return {
            global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
            rule_files: this.opts.ruleFiles || [],
            scrape_configs: this.opts.jobs.map((j) => ({
                job_name: j.name,
                static_configs: j.targets.map((t) => ({ targets: [t.address], labels: t.labels || {} })),
            })),
        };
    }

    async start() {
        this.port = await freePort();
        this.url = `http://127.0.0.1:${this.port}`;
        const conf = path.join(this.dir, 'prometheus.yml');
        fs.writeFileSync(conf, YAML.stringify(this.config()));
        fs.mkdirSync(OUT_DIR, { recursive: true });
        this.logPath = path.join(OUT_DIR, `${this.opts.tag || 'monitoring'}-prometheus.log`);
        const log = fs.openSync(this.logPath, 'a');
        this.proc = spawn('prometheus', [
            `--config.file=${conf}`,
            `--storage.tsdb.path=${path.join(this.dir, 'data')}`,
            `--web.listen-address=127.0.0.1:${this.port}`,
            '--storage.tsdb.retention.time=1h',
            /* Alerts are only looked at through the API here. */
            '--rules.alert.resend-delay=1s',
        ], { stdio: ['ignore', log, log] });
        fs.closeSync(log);
        live.add(this.proc);
        this.exited = new Promise((resolve) => this.proc.on('exit', () => {
            live.delete(this.proc);
            resolve();
        }));
        await waitFor('prometheus ready', async () => {
            try {
                return (await fetch(`${this.url}/-/ready`)).status === 200;
            } catch {
                return false;
            }
        }, 60000);
    }

    async api(pathAndQuery) {
        const r = await fetch(`${this.url}${pathAndQuery}`);
        const body = await r.json();
        if (body.status !== 'success') throw new Error(`${pathAndQuery}: ${body.errorType}: ${body.error}`);
        return body.data;
    }

    /* An instant query's result vector (or scalar), evaluated now. */
    async query(expr) {
        return (await this.api(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result;
    }

    /* The one value of a query that must give a single sample (NaN if none). */
    async value(expr) {
        const res = await this.query(expr);
        if (!Array.isArray(res)) return Number(res[1]);
        if (res.length > 1) throw new Error(`${expr}: ${res.length} samples, expected one`);
        return res.length ? Number(res[0].value[1]) : NaN;
    }

    /* Series a selector matched between start (unix s) and now. */
    async series(selector, start) {
        return this.api(`/api/v1/series?match[]=${encodeURIComponent(selector)}&start=${start}`);
    }

    async targets() {
        return (await this.api('/api/v1/targets?state=active')).activeTargets;
    }

    async rules() {
        return (await this.api('/api/v1/rules')).groups.flatMap((g) => g.rules);
    }

    async stop() {
        if (this.proc && this.proc.exitCode === null) {
            this.proc.kill('SIGTERM');
            const t = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
            await this.exited;
            clearTimeout(t);
        }
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

async function startPrometheus(opts) {
    const p = new Prometheus(opts);
    try {
        await p.start();
    } catch (e) {
        await p.stop();
        throw e;
    }
    return p;
}

module.exports = { startPrometheus };
