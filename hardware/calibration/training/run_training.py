#!/usr/bin/env python3
"""Run the training-validation configurations and record the results.

    python3 hardware/calibration/training/run_training.py --out DIR [--gpus N]
        [--tag h200-x4] [--only name1,name2] [--quick] [--serial]

Every configuration runs in its own process group (python3 for 1 GPU, torchrun
for more) with a timeout; a failure or timeout is recorded and the driver moves
on.  Unless --serial is given, jobs that fit on disjoint GPUs run at the same
time (1-GPU jobs on separate GPUs, 2-GPU jobs on GPU pairs (0,1) and (2,3));
each record lists the jobs that overlapped it in time (`overlapping_jobs`).
Output: DIR/<tag>-training.json, rewritten after every job.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "bench"))

from common import (SCHEMA_VERSION, child_env, log, machine_tag, system_info,  # noqa: E402
                    write_json)
import configs as C  # noqa: E402


def pick_gpus(n, free, total):
    for start in range(0, total, n):
        blk = list(range(start, start + n))
        if all(g in free for g in blk):
            return blk
    if len(free) >= n:
        return sorted(free)[:n]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--gpus", type=int, default=None)
    ap.add_argument("--tag", default=None)
    ap.add_argument("--only", default=None)
    ap.add_argument("--quick", action="store_true", help="shrunken smoke-test subset")
    ap.add_argument("--serial", action="store_true", help="never run two jobs at once")
    ap.add_argument("--max-n-gpus", type=int, default=None, help="skip configs needing more GPUs")
    ap.add_argument("--min-n-gpus", type=int, default=1, help="skip configs needing fewer GPUs")
    ap.add_argument("--append", action="store_true", help="add to an existing DIR/<tag>-training.json")
    ap.add_argument("--note", default=None, help="free-text note stored with this driver invocation")
    ap.add_argument("--deadline-s", type=float, default=None,
                    help="start no new job after this many seconds (remaining ones are recorded as not run)")
    args = ap.parse_args()

    import torch
    total = min(args.gpus or torch.cuda.device_count(), torch.cuda.device_count())
    tag = args.tag or machine_tag()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{tag}-training{'-quick' if args.quick else ''}.json")

    cfgs = C.CONFIGS
    if args.quick:
        cfgs = [C.shrink(c) for c in cfgs if c["name"] in C.SMOKE]
    if args.only:
        names = set(args.only.split(","))
        cfgs = [c for c in cfgs if c["name"] in names]
    limit = min(total, args.max_n_gpus or total)
    skipped = [c for c in cfgs if c["n_gpus"] > limit]
    cfgs = [c for c in cfgs if args.min_n_gpus <= c["n_gpus"] <= limit]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    phys = visible.split(",") if visible else [str(i) for i in range(total)]

    doc = {
        "schema_version": SCHEMA_VERSION,
        "kind": "dtsim-training-validation",
        "machine_tag": tag,
        "quick": args.quick,
        "system": system_info(),
        "driver_invocations": [],
        "runs": [],
        "not_run": [],
    }
    if args.append and os.path.exists(path):
        with open(path) as f:
            doc = json.load(f)
    doc["driver_invocations"].append({
        "gpus": total, "physical_gpu_ids": phys, "serial": args.serial, "argv": sys.argv[1:],
        "note": args.note, "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "system": system_info(),
        "env": {k: os.environ.get(k) for k in ("PYTORCH_CUDA_ALLOC_CONF",)},
        "launch": "one process per GPU; 1-GPU jobs run as plain python3, others via torchrun"})
    doc["not_run"] += [{"name": c["name"], "reason": f"needs {c['n_gpus']} GPUs, have {limit}"} for c in skipped]
    write_json(path, doc)
    tmp = tempfile.mkdtemp(prefix="dtsim_train_")
    pending = list(cfgs)
    running = []  # dicts
    free = set(range(total))
    port = 29700
    t_begin = time.time()
    finished = list(doc["runs"])

    def launch(cfg, gpus):
        nonlocal port
        port += 3
        res = os.path.join(tmp, f"{cfg['name']}.json")
        logp = os.path.join(tmp, f"{cfg['name']}.log")
        cj = json.dumps(cfg)
        train = os.path.join(HERE, "train.py")
        if cfg["n_gpus"] == 1:
            cmd = [sys.executable, train, "--config-json", cj, "--result", res]
        else:
            cmd = ["torchrun", "--nnodes", "1", "--nproc_per_node", str(cfg["n_gpus"]),
                   "--master_addr", "127.0.0.1", "--master_port", str(port), train,
                   "--config-json", cj, "--result", res]
        env = child_env({"CUDA_VISIBLE_DEVICES": ",".join(phys[g] for g in gpus), "OMP_NUM_THREADS": "4"})
        lf = open(logp, "w")
        p = subprocess.Popen(cmd, env=env, stdout=lf, stderr=subprocess.STDOUT, start_new_session=True)
        log(f"start {cfg['name']} on GPUs {gpus}")
        return {"cfg": cfg, "gpus": gpus, "proc": p, "t0": time.time(), "res": res, "log": logp, "lf": lf}

    def collect(job, timed_out):
        job["lf"].close()
        cfg = job["cfg"]
        rec = None
        if os.path.exists(job["res"]):
            with open(job["res"]) as f:
                rec = json.load(f)
        if rec is None:
            rec = {"status": "timeout" if timed_out else "failed", "config": cfg}
        if rec.get("status") != "ok" or timed_out or job["proc"].returncode != 0:
            if rec.get("status") == "ok":
                rec["teardown_note"] = ("result written, but the job then " +
                                        ("timed out" if timed_out else "exited non-zero"))
            # errors from other ranks
            for r in range(1, cfg["n_gpus"]):
                pr = f"{job['res']}.rank{r}"
                if os.path.exists(pr):
                    with open(pr) as f:
                        rec.setdefault("other_rank_errors", []).append(json.load(f).get("error", "")[-1500:])
            with open(job["log"], errors="replace") as f:
                txt = f.read()
            rec["log_tail"] = txt[-4000:]
            rec["returncode"] = job["proc"].returncode
        rec["gpu_ids"] = [int(phys[g]) if phys[g].isdigit() else phys[g] for g in job["gpus"]]
        rec["job_start_unix_s"] = job["t0"]
        rec["job_end_unix_s"] = time.time()
        rec["job_wall_s"] = rec["job_end_unix_s"] - rec["job_start_unix_s"]
        rec["driver_note"] = args.note
        finished.append(rec)
        # overlapping jobs (recomputed for all, since later jobs may overlap earlier ones)
        for a in finished:
            a["overlapping_jobs"] = [b["config"]["name"] for b in finished if b is not a and
                                     b["job_start_unix_s"] < a["job_end_unix_s"] and
                                     a["job_start_unix_s"] < b["job_end_unix_s"]]
        doc["runs"] = finished
        write_json(path, doc)
        st = rec["status"]
        msg = f"{rec.get('step_time_s', float('nan')) * 1e3:.1f} ms" if st == "ok" else rec.get("error", "")[-300:]
        log(f"done {cfg['name']}: {st} {msg}")

    while pending or running:
        if args.deadline_s and time.time() - t_begin > args.deadline_s and pending:
            for c in pending:
                doc["not_run"].append({"name": c["name"], "reason": "driver deadline reached"})
            pending = []
        progressed = True
        while progressed and pending:
            progressed = False
            for cfg in list(pending):
                if args.serial and running:
                    break
                g = pick_gpus(cfg["n_gpus"], free, total)
                if g is not None:
                    running.append(launch(cfg, g))
                    free -= set(g)
                    pending.remove(cfg)
                    progressed = True
                    break
                if args.serial:
                    break
        time.sleep(0.3)
        for job in list(running):
            rc = job["proc"].poll()
            timed_out = False
            if rc is None and time.time() - job["t0"] > job["cfg"]["timeout_s"]:
                try:
                    os.killpg(job["proc"].pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                job["proc"].wait()
                timed_out = True
            elif rc is None:
                continue
            running.remove(job)
            free |= set(job["gpus"])
            collect(job, timed_out)
    ran = {r["config"]["name"] for r in finished}
    doc["not_run"] = [x for x in doc["not_run"] if x["name"] not in ran]
    write_json(path, doc)
    ok = [r for r in finished if r["status"] == "ok"]
    log(f"wrote {path}: {len(ok)}/{len(finished)} ok, {len(doc['not_run'])} not run")
    for r in finished:
        if r["status"] == "ok":
            log(f"  {r['config']['name']:34s} {r['step_time_s'] * 1e3:9.1f} ms  "
                f"peak {r['peak_alloc_steady_bytes_max_over_ranks'] / 2**30:6.2f} GiB")
        else:
            err = (r.get("error") or r.get("log_tail") or "")
            lines = [ln for ln in err.strip().splitlines() if ln.strip()]
            log(f"  {r['config']['name']:34s} {r['status']}: {lines[-1][:150] if lines else ''}")


if __name__ == "__main__":
    main()
