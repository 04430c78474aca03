#!/usr/bin/env python3
"""Self cost of a callgrind profile, grouped: `callgrind_groups.py FILE [N]`.

Each function's own instructions (not its callees') go to the group of the crate its
demangled name starts with (`<&mut serde_json::... as serde::...>` is serde_json's,
`core::ptr::drop_in_place<mongodb::...>` the driver's), so the groups add up to the
total. With N (the logins the profile holds) the figures are per login. Written for
scripts/callgrind-login.sh; see docs/benchmarks.md.
"""
import collections
import re
import sys

GROUPS = [
    ("libc memset/memcpy (rep stos/movs: callgrind counts every byte)",
     lambda c, f: f.startswith("__mem")),
    ("allocation (mimalloc, Vec/String growth)",
     lambda c, f: f.startswith(("mi_", "_mi_", "alloc::raw_vec"))),
    ("MongoDB driver and BSON", lambda c, f: c in ("mongodb", "bson")),
    ("access token: jsonwebtoken, HMAC/SHA-256, base64, hex, randomness",
     lambda c, f: c in ("jsonwebtoken", "sha2", "hmac", "digest", "base64", "hex",
                        "block_buffer", "getrandom", "ed25519_dalek", "p256")),
    ("JSON (serde_json)", lambda c, f: c == "serde_json"),
    ("actix (http, web, server, service, cors, router), httparse",
     lambda c, f: c.startswith("actix") or c in ("httparse", "tracing_actix_web")),
    ("WorkOS call: reqwest, hyper, hyper-util, tower, url, http",
     lambda c, f: c in ("reqwest", "hyper", "hyper_util", "tower", "url", "idna", "http",
                        "http_body", "http_body_util", "want", "h2", "percent_encoding",
                        "form_urlencoded", "hyper_rustls")),
    ("tokio, tokio-util, mio, futures",
     lambda c, f: c in ("tokio", "tokio_util", "mio", "futures_util", "futures_core",
                        "futures_channel", "parking_lot", "parking_lot_core")),
    ("tracing, metrics", lambda c, f: c.startswith(("tracing", "metrics"))),
    ("tether-auth's own crates", lambda c, f: c.startswith("tether")),
    ("hash maps and hashing (indexmap, hashbrown, SipHash)",
     lambda c, f: c in ("indexmap", "hashbrown", "ahash", "rapidhash", "foldhash")
     or f.startswith("core::hash") or "sip::Hasher" in f),
    ("core/alloc/std not inlined (UTF-8 checks, fmt, iterators)",
     lambda c, f: c in ("core", "alloc", "std", "serde_core", "serde", "bytes", "smallvec")),
]


def crate_of(function):
    m = re.match(r"core::ptr::drop_in_place<(.*)>$", function)
    if m:
        function = m.group(1)
    function = function.lstrip("<&").replace("mut ", "").replace("dyn ", "")
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", function)
    return m.group(1) if m else function


def main():
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    names, own = {}, collections.Counter()
    current, skip, total = "?", False, 0

    def name(spec):
        m = re.match(r"\((\d+)\)(?: (.*))?$", spec.strip())
        if not m:
            return spec.strip()
        if m.group(2) is not None:
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), "?")

    with open(path, errors="replace") as profile:
        for line in profile:
            if not line.strip():
                continue
            if line[0].isdigit() or line[0] in "+-*":
                if skip:  # the cost line after calls= is the callee's, inclusive
                    skip = False
                    continue
                fields = line.split()
                if len(fields) >= 2:
                    total += int(fields[1])
                    own[current] += int(fields[1])
            elif line.startswith("fn="):
                current = name(line[3:])
            elif line.startswith("cfn="):
                name(line[4:])
            elif line.startswith("calls="):
                skip = True
    groups, other = collections.Counter(), collections.Counter()
    for function, cost in own.items():
        crate = crate_of(function)
        for group, test in GROUPS:
            if test(crate, function):
                groups[group] += cost
                break
        else:
            groups["other"] += cost
            other[crate] += cost
    print(f"{total:,} instructions; {total / n:,.0f} per login ({n})")
    for group, cost in groups.most_common():
        print(f"{cost / n:10,.0f} {100 * cost / total:5.1f} %  {group}")
    print("other: " + ", ".join(f"{c} {v / n:,.0f}" for c, v in other.most_common(8)))
    print("\nfunctions, own instructions:")
    for function, cost in own.most_common(25):
        print(f"{cost / n:10,.0f} {100 * cost / total:5.1f} %  {function[:140]}")


if __name__ == "__main__":
    main()
