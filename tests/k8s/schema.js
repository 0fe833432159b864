'use strict';
/*
 * Offline validation of Kubernetes manifests against the API schema.
 *   node schema.js models FILE   kubernetes-models: required fields, types,
 *                                enums, formats (does NOT see unknown fields)
 *   node schema.js types FILE    kubernetes-types + tsc --strict: unknown
 *                                fields and wrong types, via TypeScript's
 *                                excess-property checks on object literals
 * Prints one line per document and exits non-zero if any is rejected.
 */
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const YAML = require('yaml');

const TESTS = path.resolve(__dirname, '..');

function documents(file) {
    const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'));
    const out = [];
    for (const d of docs) {
        if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
        const obj = d.toJS();
        if (obj !== null && obj !== undefined) out.push(obj);
    }
    if (out.length === 0) throw new Error(`${file}: no documents`);
    return out;
}

function label(obj) {
    return `${obj.kind}/${obj.metadata && obj.metadata.name}`;
}

/* "apps/v1" -> ["apps", "v1"]; "v1" -> ["", "v1"] (the core group). */
function groupVersion(apiVersion) {
    const i = String(apiVersion).lastIndexOf('/');
    return i < 0 ? ['', apiVersion] : [apiVersion.slice(0, i), apiVersion.slice(i + 1)];
}

function checkModels(file) {
    let bad = 0;
    for (const obj of documents(file)) {
        const [group, version] = groupVersion(obj.apiVersion);
        const mod = `kubernetes-models/${group ? group + '/' : ''}${version}/${obj.kind}`;
        let Model;
        try {
            Model = require(mod)[obj.kind];
        } catch (e) {
            console.log(`INVALID ${label(obj)}: unknown kind (${mod})`);
            bad++;
            continue;
        }
        try {
            new Model(obj).validate();
            console.log(`ok ${label(obj)}`);
        } catch (e) {
            console.log(`INVALID ${label(obj)}: ${e.message.replace(/\s+/g, ' ')}`);
            bad++;
        }
    }
    return bad;
}

function checkTypes(file) {
    const docs = documents(file);
    const imports = new Map();
    const decls = [];
    docs.forEach((obj, i) => {
        const [group, version] = groupVersion(obj.apiVersion);
        const g = group ? group.replace(/\.k8s\.io$/, '') : 'core';
        const mod = `kubernetes-types/${g}/${version}`;
        if (!fs.existsSync(path.join(TESTS, 'node_modules', `${mod}.d.ts`))) {
            throw new Error(`${label(obj)}: no types for ${obj.apiVersion}`);
        }
        if (!imports.has(mod)) imports.set(mod, new Set());
        imports.get(mod).add(obj.kind);
        const alias = `${obj.kind}_${g.replace(/\W/g, '_')}_${version}`;
        decls.push(`// ${label(obj)}\nexport const doc${i}: ${alias} = ${JSON.stringify(obj, null, 2)};\n`);
    });
    const head = [];
    for (const [mod, kinds] of imports) {
        const g = mod.split('/')[1].replace(/\W/g, '_');
        const v = mod.split('/')[2];
        head.push(`import type { ${[...kinds].map((k) => `${k} as ${k}_${g}_${v}`).join(', ')} } from '${mod}';`);
    }
    /* Inside tests/ so that 'kubernetes-types' resolves to tests/node_modules. */
    const dir = fs.mkdtempSync(path.join(TESTS, 'out', 'k8s-tsc-'));
    try {
        const ts = path.join(dir, 'manifests.ts');
        fs.writeFileSync(ts, head.join('\n') + '\n\n' + decls.join('\n'));
        const tsc = path.join(TESTS, 'node_modules', 'typescript', 'bin', 'tsc');
        /* --skipLibCheck: the library's own declarations are not ours to
         * check; the documents are still checked in full against them,
         * and each run takes a third of the time. */
        const r = spawnSync(process.execPath, [tsc, '--strict', '--noEmit', '--skipLibCheck',
            '--target', 'es2020', '--module', 'commonjs', '--moduleResolution', 'node',
            '--pretty', 'false', ts], { encoding: 'utf8' });
        const out = (r.stdout + r.stderr).replace(/\S*manifests\.ts/g, path.basename(file) + '.ts');
        if (r.error || r.status !== 0) {
            /* Any non-zero tsc exit rejects, even one without diagnostics. */
            console.log(out.trim() || `tsc failed: ${r.error || 'exit ' + r.status}`);
            console.log(`INVALID ${docs.length} documents (tsc exit ${r.status})`);
            return 1;
        }
        for (const obj of docs) console.log(`ok ${label(obj)}`);
        return 0;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function main() {
    const [mode, file] = process.argv.slice(2);
    fs.mkdirSync(path.join(TESTS, 'out'), { recursive: true });
    if (!file || !['models', 'types'].includes(mode)) {
        console.error('usage: node schema.js models|types FILE');
        process.exit(2);
    }
    let bad;
    try {
        bad = mode === 'models' ? checkModels(file) : checkTypes(file);
    } catch (e) {
        console.log(`INVALID ${e.message}`);
        bad = 1;
    }
    process.exit(bad ? 1 : 0);
}

main();
