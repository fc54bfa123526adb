#!/usr/bin/env python3
"""SPU's time on the WAN model (400 Mbit/s, 40 ms RTT) from its benchmark JSON files: each
send action one round trip, plus its busiest party's bytes at the bandwidth.

    python3 scripts/spu_wan.py DIR     # every DIR/*.json that spu_bert_bench.py wrote
"""
import glob
import json
import sys

for path in sorted(glob.glob(sys.argv[1] + "/*.json")):
    r = json.load(open(path))
    for run in r["runs"]:
        links = run["link_per_party"]
        sends = max(l["send_actions"] for l in links)
        busiest = max(l["send_bytes"] for l in links)
        t = sends * 0.040 + busiest * 8 / 400e6
        print(f"SPU on the WAN model: {sends} sends x 40 ms + {busiest / 1e9:.3f} GB at 400 Mbit/s = {t:.1f} s")
