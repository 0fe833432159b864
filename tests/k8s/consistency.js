'use strict';
/*
 * The manifests against the code: fails when an image name, port, probe
 * path or environment variable named on one side is missing on the other.
 *   node consistency.js [MANIFEST] [REPO] [--hpa FILE]... [--scrape FILE]
 * Reads MANIFEST (manifests/chatapp.yaml), the Dockerfiles and
 * docker/redis.conf, conf/ (lighttpd), and the C sources of fcgi/,
 * gateway/ and common/; the autoscalers (--hpa, by default
 * manifests/autoscaling.yaml and manifests/autoscaling-connections.yaml)
 * and the Prometheus scrape config (--scrape, by default
 * manifests/monitoring/prometheus.yml) against them. Ends with
 * "N passed, N failed".
 */
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

const args = process.argv.slice(2);
const opt = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));
const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
const REPO = path.resolve(positional[1] || path.join(__dirname, '..', '..'));
const MANIFEST = path.resolve(positional[0] || path.join(REPO, 'manifests', 'chatapp.yaml'));
const HPA_FILES = (opt('--hpa').length ? opt('--hpa')
    : ['manifests/autoscaling.yaml', 'manifests/autoscaling-connections.yaml'].map((f) => path.join(REPO, f)))
    .map((f) => path.resolve(f));
const SCRAPE = path.resolve(opt('--scrape')[0] || path.join(REPO, 'manifests', 'monitoring', 'prometheus.yml'));
const ADAPTER = path.join(REPO, 'manifests', 'monitoring', 'prometheus-adapter-values.yaml');

const read = (rel) => fs.readFileSync(path.join(REPO, rel), 'utf8');
const exists = (rel) => fs.existsSync(path.join(REPO, rel));

const docs = YAML.parseAllDocuments(fs.readFileSync(MANIFEST, 'utf8'))
    .map((d) => d.toJS()).filter(Boolean);
const find = (kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name);

/* The three images we build, and where each one's behaviour comes from. */
const PARTS = {
    'chat-send': {
        dockerfile: 'docker/send.Dockerfile',
        code: () => cSources(['fcgi', 'common']),
        bindVar: 'SEND_BIND',
    },
    'chat-gateway': {
        dockerfile: 'docker/gateway.Dockerfile',
        code: () => cSources(['gateway', 'common']),
        bindVar: 'GW_BIND',
    },
    'chat-frontend': {
        dockerfile: 'docker/frontend.Dockerfile',
        code: () => ['conf/lighttpd.conf', 'conf/runtime.sh',
            ...fs.readdirSync(path.join(REPO, 'conf')).filter((f) => f.endsWith('.lua')).map((f) => `conf/${f}`)]
            .map(read).join('\n'),
        bindVar: 'CHAT_HTTP_BIND',
    },
};

function cSources(dirs) {
    let text = '';
    for (const d of dirs) {
        if (!exists(d)) continue;
        for (const f of fs.readdirSync(path.join(REPO, d))) {
            if (/\.[ch]$/.test(f)) text += read(path.join(d, f)) + '\n';
        }
    }
    return text;
}

/* ENV and EXPOSE of a Dockerfile's final stage. */
function dockerfile(rel) {
    const text = read(rel).replace(/\\\n/g, ' ');
    const stages = text.split(/^FROM\s/m);
    const last = stages[stages.length - 1];
    const env = {};
    for (const m of last.matchAll(/^ENV\s+(.*)$/gm)) {
        for (const kv of m[1].matchAll(/([A-Z_][A-Z0-9_]*)=("[^"]*"|\S+)/g)) {
            env[kv[1]] = kv[2].replace(/^"|"$/g, '');
        }
    }
    const expose = [];
    for (const m of last.matchAll(/^EXPOSE\s+(.*)$/gm)) {
        expose.push(...m[1].trim().split(/\s+/).map((p) => Number(p.split('/')[0])));
    }
    return { text, env, expose };
}

/* Environment a container gets from the manifest (env + envFrom ConfigMaps). */
function manifestEnv(container) {
    const env = {};
    for (const ef of container.envFrom || []) {
        const cm = ef.configMapRef && find('ConfigMap', ef.configMapRef.name);
        if (!cm) throw new Error(`envFrom names a missing ConfigMap ${JSON.stringify(ef)}`);
        Object.assign(env, cm.data);
    }
    for (const e of container.env || []) env[e.name] = e.value !== undefined ? e.value : '(from field)';
    return env;
}

/* Does the code read NAME? C: a "NAME" string literal; lighttpd: env.NAME or ${NAME}. */
function codeReads(code, name) {
    return code.includes(`"${name}"`) || code.includes(`env.${name}`) || code.includes(`\${${name}`);
}

let passed = 0;
let failed = 0;
function check(name, fn) {
    const problems = [];
    try {
        fn((cond, msg) => { if (!cond) problems.push(msg); });
    } catch (e) {
        problems.push(`threw: ${e.message}`);
    }
    if (problems.length) {
        failed++;
        console.log(`FAIL ${name}`);
        for (const p of problems) console.log(`    ${p}`);
    } else {
        passed++;
        console.log(`ok   ${name}`);
    }
}

function imageName(image) {
    const noTag = image.replace(/:[^/:]+$/, '');
    return noTag.slice(noTag.lastIndexOf('/') + 1);
}
function imageTag(image) {
    const m = /:([^/:]+)$/.exec(image);
    return m ? m[1] : 'latest';
}

function portNumber(container, port) {
    if (typeof port === 'number') return port;
    const p = (container.ports || []).find((x) => x.name === port);
    return p ? p.containerPort : undefined;
}

const workloads = docs.filter((d) => ['Deployment', 'StatefulSet'].includes(d.kind));
const containers = [];
for (const w of workloads) {
    for (const c of w.spec.template.spec.containers) containers.push({ w, c });
}

check('every image we build is deployed, every deployed image is built', (ok) => {
    const defTag = (/tag=\$\{2:-([^}]+)\}/.exec(read('docker/images.sh')) || [])[1];
    ok(defTag, 'docker/images.sh has no default tag');
    for (const { w, c } of containers) {
        const n = imageName(c.image);
        if (n === 'redis') {
            ok(c.image === 'redis:7', `${w.metadata.name}: Redis must be the official redis:7, not ${c.image}`);
            continue;
        }
        ok(PARTS[n], `${w.metadata.name}: image ${c.image} is not one we build`);
        ok(PARTS[n] && exists(PARTS[n].dockerfile), `${c.image}: ${PARTS[n] && PARTS[n].dockerfile} missing`);
        ok(imageTag(c.image) === defTag, `${c.image}: tag differs from docker/images.sh default ${defTag}`);
    }
    for (const n of Object.keys(PARTS)) {
        ok(containers.some(({ c }) => imageName(c.image) === n), `${n} is built but no workload runs it`);
        ok(find('Deployment', n), `no Deployment named ${n}`);
        ok(find('Service', n), `no Service named ${n}`);
    }
    const sa = read('docker/images.sh');
    for (const n of Object.keys(PARTS)) {
        ok(sa.includes('for img in') && sa.includes(PARTS[n].dockerfile.replace(/^docker\/|\.Dockerfile$/g, '')),
            `docker/images.sh does not build ${n}`);
    }
});

check('environment variables: manifest <-> image <-> code', (ok) => {
    for (const { w, c } of containers) {
        const part = PARTS[imageName(c.image)];
        if (!part) continue;
        const code = part.code();
        const df = dockerfile(part.dockerfile);
        const env = manifestEnv(c);
        for (const name of Object.keys(env)) {
            ok(codeReads(code, name), `${w.metadata.name}: manifest sets ${name}, which the code never reads`);
        }
        for (const name of Object.keys(df.env)) {
            ok(codeReads(code, name), `${part.dockerfile}: ENV ${name} is never read by the code`);
        }
        /* Everything lighttpd's config insists on must be provided. */
        const live = code.replace(/^\s*#.*$/gm, '').replace(/\s#\s.*$/gm, '');
        for (const m of live.matchAll(/env\.([A-Z_][A-Z0-9_]*)|\$\{([A-Z_][A-Z0-9_]*):\?/g)) {
            const name = m[1] || m[2];
            ok(name in env || name in df.env, `${w.metadata.name}: config needs ${name}, set by neither manifest nor image`);
        }
        const bind = env[part.bindVar] !== undefined ? env[part.bindVar] : df.env[part.bindVar];
        ok(bind === '0.0.0.0', `${w.metadata.name}: ${part.bindVar} must be 0.0.0.0 in a pod, is ${bind}`);
        for (const [k, v] of Object.entries(df.env)) {
            if (k in env) ok(String(env[k]) === v || k.endsWith('_BACKENDS') || k === 'REDIS_HOST',
                `${w.metadata.name}: ${k}=${env[k]} in the manifest but ${v} in ${part.dockerfile}`);
        }
    }
});

check('ports: env, containerPort, EXPOSE and Service agree', (ok) => {
    const portVars = {
        'chat-send': ['SEND_PORT', 'SEND_HEALTH_PORT'], 'chat-gateway': ['GW_PORT', 'GW_METRICS_PORT'],
        'chat-frontend': ['CHAT_HTTP_PORT'],
    };
    for (const { w, c } of containers) {
        const n = imageName(c.image);
        if (!PARTS[n]) continue;
        const df = dockerfile(PARTS[n].dockerfile);
        const env = { ...df.env, ...manifestEnv(c) };
        const declared = (c.ports || []).map((p) => p.containerPort);
        for (const v of portVars[n]) {
            const p = Number(env[v]);
            ok(Number.isInteger(p) && p > 0, `${w.metadata.name}: ${v} unset`);
            ok(declared.includes(p), `${w.metadata.name}: ${v}=${p} is not a containerPort (${declared})`);
            ok(df.expose.includes(p), `${PARTS[n].dockerfile}: ${v}=${p} not EXPOSEd`);
        }
        ok(declared.length === portVars[n].length, `${w.metadata.name}: containerPorts ${declared} vs ${portVars[n]}`);
    }
    /* Every Service reaches a declared container port of the pods it selects. */
    for (const s of docs.filter((d) => d.kind === 'Service')) {
        const w = workloads.find((x) => Object.entries(s.spec.selector || {})
            .every(([k, v]) => (x.spec.template.metadata.labels || {})[k] === v));
        ok(w, `Service ${s.metadata.name} selects no workload`);
        if (!w) continue;
        /* Any container of the pod (Redis has its Sentinel beside it). */
        const cs = w.spec.template.spec.containers;
        for (const p of s.spec.ports) {
            const target = p.targetPort !== undefined ? p.targetPort : p.port;
            ok(cs.some((c) => portNumber(c, target) !== undefined),
                `Service ${s.metadata.name}: targetPort ${p.targetPort} is not a port of ${w.metadata.name}`);
        }
    }
});

check('backends named in config are Services with those ports', (ok) => {
    const resolve = (hostport, who) => {
        const [host, port] = hostport.split(':');
        const s = find('Service', host);
        ok(s, `${who}: ${hostport} names no Service`);
        ok(s && s.spec.ports.some((p) => p.port === Number(port)), `${who}: Service ${host} has no port ${port}`);
    };
    for (const { w, c } of containers) {
        const n = imageName(c.image);
        if (!PARTS[n]) continue;
        const env = { ...dockerfile(PARTS[n].dockerfile).env, ...manifestEnv(c) };
        if (n === 'chat-frontend') {
            for (const v of ['CHAT_SEND_BACKENDS', 'CHAT_GATEWAY_BACKENDS']) {
                ok(env[v], `${w.metadata.name}: ${v} unset`);
                for (const hp of String(env[v] || '').split(',')) resolve(hp, `${w.metadata.name} ${v}`);
            }
            ok(String(env.CHAT_SEND_BACKENDS).startsWith('chat-send:'), 'CHAT_SEND_BACKENDS must name chat-send');
            ok(String(env.CHAT_GATEWAY_BACKENDS).startsWith('chat-gateway:'), 'CHAT_GATEWAY_BACKENDS must name chat-gateway');
        } else {
            resolve(`${env.REDIS_HOST}:${env.REDIS_PORT}`, `${w.metadata.name} REDIS_HOST:REDIS_PORT`);
        }
    }
    const sendPort = Number(find('ConfigMap', 'chat-frontend').data.CHAT_SEND_BACKENDS.split(':')[1]);
    const send = find('Deployment', 'chat-send');
    ok(send && send.spec.template.spec.containers[0].env.some((e) => e.name === 'SEND_PORT' && Number(e.value) === sendPort),
        `frontend sends to port ${sendPort} but chat-send's SEND_PORT differs`);
    const gwPort = Number(find('ConfigMap', 'chat-frontend').data.CHAT_GATEWAY_BACKENDS.split(':')[1]);
    const gw = find('Deployment', 'chat-gateway');
    ok(gw && gw.spec.template.spec.containers[0].env.some((e) => e.name === 'GW_PORT' && Number(e.value) === gwPort),
        `frontend proxies to port ${gwPort} but chat-gateway's GW_PORT differs`);
});

check('probe paths are served by the code, on the right port', (ok) => {
    for (const { w, c } of containers) {
        const n = imageName(c.image);
        if (!PARTS[n]) continue;
        const df = dockerfile(PARTS[n].dockerfile);
        const env = { ...df.env, ...manifestEnv(c) };
        const want = { readinessProbe: '/readyz', livenessProbe: '/healthz' };
        for (const [probe, p] of Object.entries(want)) {
            const g = c[probe] && c[probe].httpGet;
            ok(g && g.path === p, `${w.metadata.name}: ${probe} must be GET ${p}`);
            if (!g) continue;
            const port = portNumber(c, g.port);
            if (n === 'chat-frontend') {
                ok(df.text.includes(`htdocs${g.path}`) || exists(`htdocs${g.path}`),
                    `${w.metadata.name}: ${g.path} is not a file the frontend image serves`);
                ok(port === Number(env.CHAT_HTTP_PORT), `${w.metadata.name}: ${probe} port ${port} is not CHAT_HTTP_PORT`);
            } else {
                ok(PARTS[n].code().includes(`"${g.path}"`), `${w.metadata.name}: the code never answers ${g.path}`);
                const hp = n === 'chat-send' ? Number(env.SEND_HEALTH_PORT) : Number(env.GW_PORT);
                ok(port === hp, `${w.metadata.name}: ${probe} on port ${port}, health is served on ${hp}`);
            }
        }
    }
});

check('network policies let every connection the parts make through, and keep Redis to its users', (ok) => {
    const policies = docs.filter((d) => d.kind === 'NetworkPolicy');
    const matches = (sel, labels) => Object.entries((sel && sel.matchLabels) || {})
        .every(([k, v]) => labels[k] === v);
    const podLabels = (name) => {
        const w = workloads.find((x) => x.metadata.name === name);
        return w ? w.spec.template.metadata.labels : {};
    };
    /* Would a connection from pods of `from` to Service svc:port pass? */
    const admitted = (from, svc, port) => {
        const s = find('Service', svc);
        const sp = s && s.spec.ports.find((p) => p.port === port);
        const w = s && workloads.find((x) => matches({ matchLabels: s.spec.selector }, x.spec.template.metadata.labels));
        if (!sp || !w) return false;
        const c = w.spec.template.spec.containers[0];
        const target = portNumber(c, sp.targetPort !== undefined ? sp.targetPort : sp.port);
        const applying = policies.filter((p) => matches(p.spec.podSelector, w.spec.template.metadata.labels));
        if (!applying.length) return true;
        return applying.some((p) => (p.spec.ingress || []).some((rule) =>
            (!rule.from || rule.from.some((f) => f.podSelector && matches(f.podSelector, podLabels(from)))) &&
            (!rule.ports || rule.ports.some((pp) => portNumber(c, pp.port) === target))));
    };
    for (const p of policies) {
        ok(workloads.some((w) => matches(p.spec.podSelector, w.spec.template.metadata.labels)),
            `NetworkPolicy ${p.metadata.name} selects no pods`);
    }
    const cm = find('ConfigMap', 'chat-frontend').data;
    for (const hp of [cm.CHAT_SEND_BACKENDS, cm.CHAT_GATEWAY_BACKENDS]) {
        const [host, port] = hp.split(':');
        ok(admitted('chat-frontend', host, Number(port)), `chat-frontend -> ${hp} is blocked by a NetworkPolicy`);
    }
    for (const n of ['chat-send', 'chat-gateway']) {
        const env = manifestEnv(find('Deployment', n).spec.template.spec.containers[0]);
        ok(admitted(n, env.REDIS_HOST, Number(env.REDIS_PORT)), `${n} -> Redis is blocked by a NetworkPolicy`);
    }
    ok(!admitted('chat-frontend', 'chat-redis', 6379), 'the front end can reach Redis: no NetworkPolicy keeps it out');
});

check('Redis: config from ConfigMap equals docker/redis.conf, AOF on the volume', (ok) => {
    const cm = find('ConfigMap', 'chat-redis');
    const conf = read('docker/redis.conf');
    ok(cm && cm.data['redis.conf'] === conf, 'ConfigMap chat-redis redis.conf differs from docker/redis.conf');
    ok(/^appendonly yes$/m.test(conf), 'redis.conf: appendonly is not yes');
    const dir = (/^dir (\S+)$/m.exec(conf) || [])[1];
    const port = Number((/^port (\d+)$/m.exec(conf) || [])[1]);
    const ss = find('StatefulSet', 'chat-redis');
    ok(ss, 'no StatefulSet chat-redis');
    if (!ss) return;
    const c = ss.spec.template.spec.containers[0];
    const data = (c.volumeMounts || []).find((m) => m.mountPath === dir);
    ok(data && (ss.spec.volumeClaimTemplates || []).some((t) => t.metadata.name === data.name),
        `redis.conf dir ${dir} is not on a PersistentVolumeClaim`);
    const cfgMount = (c.volumeMounts || []).find((m) => (ss.spec.template.spec.volumes || [])
        .some((v) => v.name === m.name && v.configMap && v.configMap.name === 'chat-redis'));
    /* Started with the file itself, or by a start script of the same
     * ConfigMap that execs redis-server with it (issue 13: the role). */
    const cmd = [...(c.command || []), ...(c.args || [])];
    const script = cfgMount && cmd.map((a) => a.startsWith(`${cfgMount.mountPath}/`) && cm.data[a.slice(cfgMount.mountPath.length + 1)])
        .find((x) => typeof x === 'string');
    ok(cfgMount && (cmd.includes(`${cfgMount.mountPath}/redis.conf`) ||
        (script && script.includes(`exec redis-server ${cfgMount.mountPath}/redis.conf`))),
        'redis-server is not started with the ConfigMap redis.conf');
    ok(c.ports.some((p) => p.containerPort === port), `redis.conf port ${port} is not a containerPort`);
    ok(find('Service', 'chat-redis') && find('Service', 'chat-redis').spec.clusterIP === 'None', 'chat-redis Service is not headless');
    ok(ss.spec.serviceName === 'chat-redis', 'StatefulSet serviceName is not chat-redis');
});

check('each Deployment scales alone: labels, probes, limits, security, no pod state', (ok) => {
    for (const w of workloads) {
        const n = w.metadata.name;
        const t = w.spec.template;
        for (const k of ['app.kubernetes.io/name', 'app.kubernetes.io/part-of', 'app.kubernetes.io/component']) {
            ok(t.metadata.labels[k] && w.metadata.labels[k], `${n}: label ${k} missing`);
        }
        ok(t.metadata.labels['app.kubernetes.io/name'] === n, `${n}: app.kubernetes.io/name differs from the name`);
        ok(t.spec.securityContext && t.spec.securityContext.runAsNonRoot === true, `${n}: runAsNonRoot`);
        ok(t.spec.terminationGracePeriodSeconds >= 15, `${n}: terminationGracePeriodSeconds too short to drain`);
        for (const c of t.spec.containers) {
            const sc = c.securityContext || {};
            ok(sc.readOnlyRootFilesystem === true, `${n}/${c.name}: readOnlyRootFilesystem`);
            ok(sc.allowPrivilegeEscalation === false, `${n}/${c.name}: allowPrivilegeEscalation`);
            ok(c.resources && c.resources.requests && c.resources.limits, `${n}/${c.name}: requests and limits`);
            ok(c.readinessProbe && c.livenessProbe, `${n}/${c.name}: probes`);
        }
        if (w.kind === 'Deployment') {
            for (const v of t.spec.volumes || []) {
                ok(v.emptyDir || v.configMap, `${n}: volume ${v.name} would be pod state outside Redis`);
            }
            const pdb = find('PodDisruptionBudget', n);
            ok(pdb && JSON.stringify(pdb.spec.selector.matchLabels) === JSON.stringify(w.spec.selector.matchLabels),
                `${n}: no PodDisruptionBudget selecting its pods`);
            const svc = find('Service', n);
            ok(svc, `${n}: no Service`);
            if (svc) {
                const exposed = ['chat-frontend', 'chat-gateway'].includes(n);
                ok(svc.spec.type === (exposed ? 'NodePort' : 'ClusterIP'), `${n}: Service type ${svc.spec.type}`);
            }
        }
    }
    const fe = find('Service', 'chat-frontend');
    ok(fe && fe.spec.ports.some((p) => p.nodePort === 30222), 'frontend is not on node port 30222');
});

check('the page reaches the gateways directly, from its own origin, with client addresses kept', (ok) => {
    const fe = find('Service', 'chat-frontend');
    const gwSvc = find('Service', 'chat-gateway');
    const cm = find('ConfigMap', 'chat-frontend').data;
    const pagePort = fe && (fe.spec.ports.find((p) => p.nodePort) || {}).nodePort;
    const gwPort = gwSvc && (gwSvc.spec.ports.find((p) => p.nodePort) || {}).nodePort;
    ok(gwPort, 'the gateway Service has no node port');
    const m = /^\/\/\{host\}:(\d+)(\/.*)$/.exec(cm.CHAT_WEBSOCKET_URL || '');
    ok(m, `CHAT_WEBSOCKET_URL is not //{host}:PORT/PATH: ${cm.CHAT_WEBSOCKET_URL}`);
    if (m) {
        ok(Number(m[1]) === gwPort, `CHAT_WEBSOCKET_URL names port ${m[1]}, the gateway's node port is ${gwPort}`);
        ok(m[2] === '/chatapp/websocket', `CHAT_WEBSOCKET_URL path ${m[2]} is not /chatapp/websocket`);
    }
    const gw = find('Deployment', 'chat-gateway');
    const env = manifestEnv(gw.spec.template.spec.containers[0]);
    const origins = String(env.GW_ALLOWED_ORIGINS || '').split(',').map((o) => o.trim());
    ok(origins.includes(`http://*:${pagePort}`),
        `GW_ALLOWED_ORIGINS (${env.GW_ALLOWED_ORIGINS}) does not admit the page's origin http://*:${pagePort}`);
    ok(!origins.includes('*'), 'GW_ALLOWED_ORIGINS admits every origin');
    for (const svc of [fe, gwSvc]) {
        ok(svc && svc.spec.externalTrafficPolicy === 'Local',
            `Service ${svc && svc.metadata.name}: externalTrafficPolicy ${svc && svc.spec.externalTrafficPolicy} replaces client addresses`);
    }
    /* The gateway's NetworkPolicy must let browsers (no pod selector) in. */
    const pol = find('NetworkPolicy', 'chat-gateway');
    const c = gw.spec.template.spec.containers[0];
    const target = portNumber(c, gwSvc.spec.ports[0].targetPort);
    ok(!pol || (pol.spec.ingress || []).some((rule) => !rule.from &&
        (!rule.ports || rule.ports.some((p) => portNumber(c, p.port) === target))),
    'NetworkPolicy chat-gateway keeps browsers off the WebSocket port');
});

/* ---- autoscaling ---------------------------------------------------- */

/* "600m" -> 0.6, "1" -> 1, "10000" -> 10000 (CPU and plain quantities). */
function quantity(q) {
    const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(String(q));
    if (!m) throw new Error(`quantity ${q} not understood`);
    return Number(m[1]) / (m[2] ? 1000 : 1);
}

/* The default of a setting in a part's config.c: INT_ITEM("NAME", x, "D", ...). */
function codeDefault(dir, name) {
    const m = new RegExp(`"${name}",\\s*\\w+,\\s*"([^"]*)"`).exec(read(`${dir}/config.c`));
    return m ? m[1] : undefined;
}

const hpaDocs = HPA_FILES.map((f) => ({
    file: path.relative(REPO, f),
    docs: YAML.parseAllDocuments(fs.readFileSync(f, 'utf8')).map((d) => d.toJS()).filter(Boolean),
}));

check('autoscalers scale the send handlers and gateways on metrics their pods have', (ok) => {
    const scaled = new Set();
    for (const { file, docs: hdocs } of hpaDocs) {
        for (const h of hdocs) {
            const who = `${file} ${h.kind}/${h.metadata.name}`;
            ok(h.kind === 'HorizontalPodAutoscaler' && h.apiVersion === 'autoscaling/v2', `${who}: not an autoscaling/v2 HPA`);
            const ref = h.spec.scaleTargetRef;
            const d = find('Deployment', ref.name);
            ok(ref.kind === 'Deployment' && ref.apiVersion === 'apps/v1' && d, `${who}: scales ${ref.kind}/${ref.name}, not a Deployment of the manifest`);
            ok(['chat-send', 'chat-gateway'].includes(ref.name), `${who}: ${ref.name} is not the send handler or the gateway`);
            ok(h.metadata.name === ref.name, `${who}: named unlike its Deployment ${ref.name} (the two files replace each other by name)`);
            if (!d) continue;
            scaled.add(ref.name);
            const c = d.spec.template.spec.containers[0];
            const env = manifestEnv(c);
            ok(h.spec.minReplicas >= 2, `${who}: minReplicas ${h.spec.minReplicas}: one pod is no pod during a drain`);
            ok(h.spec.minReplicas >= d.spec.replicas, `${who}: minReplicas ${h.spec.minReplicas} below the manifest's ${d.spec.replicas}`);
            ok(h.spec.maxReplicas > h.spec.minReplicas, `${who}: maxReplicas ${h.spec.maxReplicas} leaves nothing to scale`);
            ok(find('PodDisruptionBudget', ref.name), `${who}: no PodDisruptionBudget for ${ref.name}`);
            for (const m of h.spec.metrics || []) {
                if (m.type === 'Resource') {
                    ok(m.resource.name === 'cpu', `${who}: resource ${m.resource.name}`);
                    const lim = c.resources && c.resources.limits && c.resources.limits.cpu;
                    const req = c.resources && c.resources.requests && c.resources.requests.cpu;
                    ok(req, `${who}: ${c.name} has no CPU request`);
                    if (m.resource.target.type === 'AverageValue') {
                        ok(lim && quantity(m.resource.target.averageValue) < quantity(lim),
                            `${who}: CPU target ${m.resource.target.averageValue} is not below the ${lim} limit, so it is never reached`);
                    } else {
                        ok(m.resource.target.type === 'Utilization' && req, `${who}: CPU target ${m.resource.target.type}`);
                    }
                } else if (m.type === 'Pods') {
                    const name = m.pods.metric.name;
                    const code = PARTS[ref.name].code();
                    ok(code.includes(`"${name} `) || code.includes(`"${name}"`) || code.includes(`"${name}{`),
                        `${who}: ${name} is not a metric the ${ref.name} code exports`);
                    const adapter = YAML.parse(read(path.relative(REPO, ADAPTER)));
                    ok(((adapter.rules && adapter.rules.custom) || []).some((r) => r.name && r.name.as === name),
                        `${who}: no rule in ${path.relative(REPO, ADAPTER)} serves ${name}`);
                    if (name === 'chat_gw_connections') {
                        const max = Number(env.GW_MAX_CONNECTIONS || codeDefault('gateway', 'GW_MAX_CONNECTIONS'));
                        ok(quantity(m.pods.target.averageValue) < max,
                            `${who}: ${m.pods.target.averageValue} connections per pod, GW_MAX_CONNECTIONS is ${max}`);
                    }
                } else {
                    ok(false, `${who}: metric type ${m.type}`);
                }
            }
            /* A removed pod leaves its Service (preStop) and drains before
             * it is killed: scale-down is lossless only if both fit. */
            const pre = Number(((c.lifecycle && c.lifecycle.preStop && c.lifecycle.preStop.exec.command) || []).slice(-1)[0] || 0);
            const drainS = ref.name === 'chat-gateway'
                ? Number(env.GW_SHUTDOWN_GRACE_MS || codeDefault('gateway', 'GW_SHUTDOWN_GRACE_MS')) / 1000 : 5;
            ok(d.spec.template.spec.terminationGracePeriodSeconds > pre + drainS,
                `${who}: terminationGracePeriodSeconds ${d.spec.template.spec.terminationGracePeriodSeconds} <= preStop ${pre} s + drain ${drainS} s`);
            if (ref.name === 'chat-gateway') {
                const down = (h.spec.behavior && h.spec.behavior.scaleDown) || {};
                ok((down.policies || []).length && down.policies.every((p) => p.type === 'Pods' && p.value === 1 && p.periodSeconds >= 60) &&
                    down.selectPolicy === 'Min', `${who}: scale-down may remove more than one gateway a minute (all their clients reconnect at once)`);
            }
        }
    }
    for (const n of ['chat-send', 'chat-gateway']) ok(scaled.has(n), `no HorizontalPodAutoscaler scales ${n}`);
});

/* ---- the Prometheus scrape config ------------------------------------- */

/* Prometheus' relabelling (keep, drop, replace, labelmap), enough for ours. */
function relabel(labels, rules) {
    let out = { ...labels };
    for (const r of rules || []) {
        const action = r.action || 'replace';
        const re = new RegExp(`^(?:${r.regex === undefined ? '(.*)' : r.regex})$`);
        const value = (r.source_labels || []).map((l) => out[l] || '').join(r.separator || ';');
        const m = re.exec(value);
        if (action === 'keep' && !m) return null;
        if (action === 'drop' && m) return null;
        if (action === 'replace' && m) {
            const v = (r.replacement === undefined ? '$1' : r.replacement).replace(/\$\{?(\d+)\}?/g, (_, i) => m[Number(i)] || '');
            if (v === '') delete out[r.target_label];
            else out[r.target_label] = v;
        }
        if (action === 'labelmap') {
            const next = { ...out };
            for (const [k, v] of Object.entries(out)) {
                const lm = re.exec(k);
                if (lm) next[(r.replacement || '$1').replace(/\$\{?(\d+)\}?/g, (_, i) => lm[Number(i)] || '')] = v;
            }
            out = next;
        }
        if (!['keep', 'drop', 'replace', 'labelmap'].includes(action)) throw new Error(`relabel action ${action}`);
    }
    if (!out.instance) out.instance = out.__address__;
    return Object.fromEntries(Object.entries(out).filter(([k]) => !k.startsWith('__')));
}

/* What Kubernetes pod discovery offers for each container port of each workload. */
function podTargets(namespace) {
    const out = [];
    for (const w of workloads) {
        const t = w.spec.template;
        const meta = { __meta_kubernetes_namespace: namespace, __meta_kubernetes_pod_name: `${w.metadata.name}-0` };
        for (const [k, v] of Object.entries(t.metadata.labels || {})) {
            meta[`__meta_kubernetes_pod_label_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`] = v;
        }
        for (const c of t.spec.containers) {
            for (const p of c.ports || []) {
                out.push({
                    workload: w.metadata.name, port: p.containerPort,
                    labels: {
                        ...meta, __address__: `10.0.0.1:${p.containerPort}`,
                        __meta_kubernetes_pod_container_name: c.name,
                        __meta_kubernetes_pod_container_port_name: p.name || '',
                        __meta_kubernetes_pod_container_port_number: String(p.containerPort),
                    },
                });
            }
        }
    }
    return out;
}

/*
 * The container port each part answers /metrics on: the send handler's
 * SEND_HEALTH_PORT; the gateway's GW_METRICS_PORT, or GW_PORT when that
 * is 0 or unset.
 */
function metricsPorts() {
    const envOf = (name) => ({
        ...dockerfile(PARTS[name].dockerfile).env,
        ...manifestEnv(find('Deployment', name).spec.template.spec.containers[0]),
    });
    const gw = envOf('chat-gateway');
    return {
        'chat-send': Number(envOf('chat-send').SEND_HEALTH_PORT),
        'chat-gateway': Number(gw.GW_METRICS_PORT || 0) || Number(gw.GW_PORT),
    };
}

check('no node port publishes a /metrics', (ok) => {
    const ports = metricsPorts();
    for (const s of docs.filter((d) => d.kind === 'Service' && d.spec.type === 'NodePort')) {
        const w = workloads.find((x) => Object.entries(s.spec.selector || {})
            .every(([k, v]) => (x.spec.template.metadata.labels || {})[k] === v));
        if (!w || !(w.metadata.name in ports)) continue;
        const c = w.spec.template.spec.containers[0];
        for (const p of s.spec.ports) {
            const target = portNumber(c, p.targetPort !== undefined ? p.targetPort : p.port);
            ok(target !== ports[w.metadata.name],
                `Service ${s.metadata.name}: node port ${p.nodePort} reaches ${w.metadata.name}'s /metrics (port ${target})`);
        }
    }
});

check('the scrape config reaches every send handler\'s and gateway\'s /metrics and nothing else', (ok) => {
    const conf = YAML.parse(fs.readFileSync(SCRAPE, 'utf8'));
    const metricsPort = metricsPorts();
    const kept = [];
    for (const job of conf.scrape_configs || []) {
        const sds = job.kubernetes_sd_configs || [];
        ok(sds.length && sds.every((s) => s.role === 'pod'), `${job.job_name}: not Kubernetes pod discovery`);
        for (const sd of sds) {
            const ns = (sd.namespaces && sd.namespaces.names) || ['chatapp'];
            ok(ns.includes('chatapp'), `${job.job_name}: does not look in the namespace chatapp`);
            for (const t of podTargets('chatapp')) {
                const labels = relabel(t.labels, job.relabel_configs);
                if (labels) kept.push({ job: job.job_name, workload: t.workload, port: t.port, labels });
            }
        }
        ok((job.metrics_path || '/metrics') === '/metrics', `${job.job_name}: metrics_path ${job.metrics_path}`);
    }
    const got = kept.map((k) => `${k.job} ${k.workload}:${k.port}`).sort();
    const want = Object.entries(metricsPort).map(([w, p]) => `${w} ${w}:${p}`).sort();
    ok(JSON.stringify(got) === JSON.stringify(want), `targets ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    const adapter = YAML.parse(read(path.relative(REPO, ADAPTER)));
    const needed = new Set(((adapter.rules && adapter.rules.custom) || [])
        .flatMap((r) => Object.keys((r.resources && r.resources.overrides) || {})));
    for (const k of kept) {
        for (const l of needed) ok(k.labels[l], `${k.job}: targets have no ${l} label, which the adapter maps to a resource`);
    }
    /* Prometheus runs elsewhere: the port must be open to any pod. */
    for (const [w, port] of Object.entries(metricsPort)) {
        const d = find('Deployment', w);
        const c = d.spec.template.spec.containers[0];
        const pols = docs.filter((p) => p.kind === 'NetworkPolicy' &&
            Object.entries(p.spec.podSelector.matchLabels || {}).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
        ok(!pols.length || pols.some((p) => (p.spec.ingress || []).some((rule) => !rule.from &&
            (!rule.ports || rule.ports.some((pp) => portNumber(c, pp.port) === port)))),
        `${w}: a NetworkPolicy keeps Prometheus off port ${port}`);
    }
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
