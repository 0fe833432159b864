'use strict';
/*
 * A Content-Security-Policy header as { directive: [sources...] }, or null
 * when there is none. Directive names are lower-cased; a repeated
 * directive is an error (browsers ignore all but the first, so a policy
 * that repeats one does not say what it seems to).
 */
function cspOf(header) {
    if (!header) return null;
    const out = {};
    for (const part of header.split(';')) {
        const words = part.trim().split(/\s+/).filter(Boolean);
        if (!words.length) continue;
        const name = words[0].toLowerCase();
        if (name in out) throw new Error(`directive ${name} given twice in "${header}"`);
        out[name] = words.slice(1);
    }
    return out;
}

module.exports = { cspOf };
