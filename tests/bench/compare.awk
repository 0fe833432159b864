# The table of compare.sh, from its data file: one line per generator run,
# "round=R system=S step=STEP key=value ..." (STEP is "idle" or a rate).
# Variables: rounds, systems, table_rates, all_rates, conns, idle.
# Each cell lists the rounds' values, "round1/round2/..."; a ratio column
# divides each system's value by nchan's of the same round.

function get(r, s, st, k) {
    return V[r, s, st, k]
}

function num(v, k) {
    if (v == "")
        return "?"
    v += 0 # text from the data file would compare as text
    if (k == "dps")
        return v >= 10000 ? sprintf("%.0fk", v / 1000) : sprintf("%.0f", v)
    if (k ~ /_ms$/)
        return v >= 100 ? sprintf("%.0f", v) : sprintf("%.1f", v)
    if (k == "held" || k == "lost" || k == "unsent" || k == "rate")
        return sprintf("%d", v)
    return v >= 100 ? sprintf("%.0f", v) : sprintf("%.2f", v)
}

# The value of one row for one round and system.
function value(r, s, st, k,    f) {
    if (k == "rate")
        return best_rate(r, s)
    if (k == "mpf") {
        f = get(r, s, st, "frames")
        return f + 0 > 0 ? get(r, s, st, "received") / f : ""
    }
    return get(r, s, st, k)
}

function cell(s, st, k,    r, out) {
    out = ""
    for (r = 1; r <= rounds; r++)
        out = out (r > 1 ? "/" : "") num(value(r, s, st, k), k)
    return out
}

function ratio(s, st, k,    r, a, b, out) {
    if (k == "lost" || k == "unsent")
        return "-" # counts, often 0: a ratio says nothing
    out = ""
    for (r = 1; r <= rounds; r++) {
        a = value(r, s, st, k)
        b = value(r, "nchan", st, k)
        out = out (r > 1 ? "/" : "") \
              ((a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b))
    }
    return out
}

# The highest rate of the sweep up to which every step kept p99 <= 100 ms
# and lost nothing.
function best_rate(r, s,    i, best, p) {
    best = 0
    for (i = 1; i <= nrates; i++) {
        p = get(r, s, RATE[i], "p99_ms")
        if (p == "" || p + 0 > 100 || get(r, s, RATE[i], "lost") + 0 > 0 ||
            get(r, s, RATE[i], "unsent") + 0 > 0 ||
            get(r, s, RATE[i], "received") + 0 == 0)
            break
        best = RATE[i]
    }
    return best
}

function row(label, st, k,    i, line) {
    line = sprintf("%-42s", label)
    for (i = 1; i <= nsys; i++)
        line = line sprintf(" %-19s", cell(SYS[i], st, k))
    if (have_nchan)
        for (i = 1; i <= nsys; i++)
            if (SYS[i] != "nchan")
                line = line sprintf(" %-17s", ratio(SYS[i], st, k))
    print line
}

# Per process: CPU seconds per million deliveries (a rate step) or KiB
# per connection (idle), round by round.
function split_lines(st, key,    i, r, n, j, parts, kv, per, name, out, recv,
                     order, norder, v) {
    for (i = 1; i <= nsys; i++) {
        delete per
        delete order
        norder = 0
        for (r = 1; r <= rounds; r++) {
            n = split(get(r, SYS[i], st, key), parts, ",")
            recv = get(r, SYS[i], st, "received")
            for (j = 1; j <= n; j++) {
                split(parts[j], kv, ":")
                name = kv[1]
                if (key == "cpu_split")
                    v = recv > 0 ? sprintf("%.2f", kv[2] * 1e6 / recv) : "?"
                else
                    v = sprintf("%.2f", kv[2])
                if (name in per) {
                    per[name] = per[name] "/" v
                } else {
                    order[++norder] = name
                    per[name] = v
                }
            }
        }
        out = ""
        for (j = 1; j <= norder; j++)
            out = out sprintf("  %s %s", order[j], per[order[j]])
        printf "  %-9s%s\n", SYS[i], out
    }
}

{
    delete F
    for (i = 1; i <= NF; i++) {
        eq = index($i, "=")
        F[substr($i, 1, eq - 1)] = substr($i, eq + 1)
    }
    for (k in F)
        V[F["round"], F["system"], F["step"], k] = F[k]
}

END {
    nsys = split(systems, SYS, " ")
    ntab = split(table_rates, TAB, " ")
    nrates = split(all_rates, RATE, " ")
    have_nchan = 0
    for (i = 1; i <= nsys; i++)
        have_nchan = have_nchan || SYS[i] == "nchan"
    head = sprintf("%-42s", "(each cell: round 1/round 2/...)")
    for (i = 1; i <= nsys; i++)
        head = head sprintf(" %-19s", SYS[i])
    if (have_nchan)
        for (i = 1; i <= nsys; i++)
            if (SYS[i] != "nchan")
                head = head sprintf(" %-17s", SYS[i] "/nchan")
    print ""
    print head
    for (t = 1; t <= ntab; t++) {
        rt = TAB[t]
        p = sprintf("%d cl x %d msg/s: ", conns, rt)
        row(p "p50 ms", rt, "p50_ms")
        row(p "p99 ms", rt, "p99_ms")
        row(p "deliveries/s", rt, "dps")
        row(p "lost (not in 5 s)", rt, "lost")
        row(p "posts unsent (not taken)", rt, "unsent")
        row(p "messages per frame", rt, "mpf")
        row(p "server CPU s/M deliv", rt, "cpu_per_M_s")
    }
    row(sprintf("%d idle: connections held", idle), "idle", "held")
    row(sprintf("%d idle: RSS KiB/conn (all)", idle), "idle", "rss_kb_per_conn")
    row(sprintf("%d idle: server CPU us/new conn", idle), "idle", "cpu_conn_us")
    row("max rate with p99<=100 ms, 0 lost", "", "rate")
    row(sprintf("generator CPU s/M deliv @%d/s", TAB[1]), TAB[1],
        "gen_cpu_per_M_s")
    for (t = 1; t <= ntab; t++) {
        printf "\nserver CPU s per million deliveries at %d msg/s, by process:\n",
            TAB[t]
        split_lines(TAB[t], "cpu_split")
    }
    printf "\nRSS KiB per idle connection, by process:\n"
    split_lines("idle", "rss_split")
}
