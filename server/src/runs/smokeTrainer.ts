/**
 * The smoke recipe's trainer: a real PyTorch training loop (a tiny byte-level GRU language model)
 * that runs for a few steps on the uploaded, converted records and writes `trainer_log.jsonl` in
 * LLaMA-Factory's format, checkpoints, and an "adapter" file. It needs only python3 and torch
 * (Debian's `python3-torch` is enough; CUDA is used when present), so users can check a backend
 * end to end in a minute before spending GPU hours, and the tests run it for real.
 *
 * Kept as a string so it ships inside the bundled CLI and extension; test/unit/runsSmoke.test.ts
 * runs it with python3.
 */
export const SMOKE_TRAINER_PY = String.raw`#!/usr/bin/env python3
"""Tunekit smoke trainer: a few real optimisation steps of a tiny model on your data."""
import argparse
import json
import math
import os
import random
import sys
import time
from datetime import timedelta


def read_texts(paths):
    texts = []
    for path in paths:
        with open(path, "r", encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                parts = []
                for m in record.get("messages", []):
                    if isinstance(m, dict) and isinstance(m.get("content"), str):
                        parts.append("%s: %s" % (m.get("role", ""), m["content"]))
                if parts:
                    texts.append("\n".join(parts))
    return texts


def fmt(seconds):
    return str(timedelta(seconds=int(max(0, seconds))))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", action="append", required=True)
    p.add_argument("--output-dir", required=True)
    p.add_argument("--max-steps", type=int, default=30)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--cutoff", type=int, default=128)
    p.add_argument("--logging-steps", type=int, default=1)
    p.add_argument("--save-steps", type=int, default=0)
    p.add_argument("--resume-from-checkpoint", default=None)
    args = p.parse_args()

    import torch
    import torch.nn as nn

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device("cuda:%d" % local_rank if cuda else "cpu")
    if world > 1:
        import torch.distributed as dist
        dist.init_process_group("nccl" if cuda else "gloo")
    delay = float(os.environ.get("TUNEKIT_SMOKE_STEP_SECONDS", "0") or 0)

    texts = read_texts(args.data)
    if not texts:
        print("tunekit-smoke: no trainable records in %s" % ", ".join(args.data), file=sys.stderr)
        return 2
    data = [t.encode("utf-8")[: args.cutoff + 1] for t in texts]
    data = [d for d in data if len(d) >= 2] or [b"ab"]

    torch.manual_seed(1234 + rank)
    random.seed(1234 + rank)

    class TinyLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(256, 32)
            self.rnn = nn.GRU(32, 64, batch_first=True)
            self.out = nn.Linear(64, 256)

        def forward(self, x):
            h, _ = self.rnn(self.emb(x))
            return self.out(h)

    model = TinyLM().to(device)
    train_model = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel
        train_model = DistributedDataParallel(model, device_ids=[local_rank] if cuda else None)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    start_step = 0
    if args.resume_from_checkpoint:
        state = torch.load(os.path.join(args.resume_from_checkpoint, "trainer_state.pt"), map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start_step = int(state["step"])
        print("tunekit-smoke: resumed from %s at step %d" % (args.resume_from_checkpoint, start_step), flush=True)

    os.makedirs(args.output_dir, exist_ok=True)
    log_path = os.path.join(args.output_dir, "trainer_log.jsonl")
    total = max(args.max_steps, start_step)
    steps_per_epoch = max(1, math.ceil(len(data) / (args.batch_size * world)))
    if rank == 0:
        print("tunekit-smoke: %d records, device %s, world size %d, steps %d..%d" % (len(data), device, world, start_step + 1, total), flush=True)
    began = time.time()
    loss_value = float("nan")

    def save_checkpoint(step):
        ckpt = os.path.join(args.output_dir, "checkpoint-%d" % step)
        os.makedirs(ckpt, exist_ok=True)
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step}, os.path.join(ckpt, "trainer_state.pt"))

    for step in range(start_step + 1, total + 1):
        batch = [random.choice(data) for _ in range(args.batch_size)]
        width = max(len(b) for b in batch)
        x = torch.zeros((len(batch), width - 1), dtype=torch.long)
        y = torch.full((len(batch), width - 1), -100, dtype=torch.long)
        for i, b in enumerate(batch):
            t = torch.tensor(list(b), dtype=torch.long)
            x[i, : len(b) - 1] = t[:-1]
            y[i, : len(b) - 1] = t[1:]
        x, y = x.to(device), y.to(device)
        logits = train_model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, 256), y.reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_value = float(loss.item())
        if delay > 0:
            time.sleep(delay)
        if rank == 0 and (step % args.logging_steps == 0 or step == total):
            elapsed = time.time() - began
            done = step - start_step
            remaining = elapsed / done * (total - step) if done else 0
            entry = {
                "current_steps": step,
                "total_steps": total,
                "loss": round(loss_value, 4),
                "lr": args.lr,
                "epoch": round(step / steps_per_epoch, 2),
                "percentage": round(step / total * 100, 2),
                "elapsed_time": fmt(elapsed),
                "remaining_time": fmt(remaining),
            }
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
            print({"loss": entry["loss"], "learning_rate": args.lr, "epoch": entry["epoch"]}, flush=True)
        if rank == 0 and args.save_steps and step % args.save_steps == 0:
            save_checkpoint(step)

    if rank == 0:
        save_checkpoint(total)
        torch.save(model.state_dict(), os.path.join(args.output_dir, "adapter_model.bin"))
        with open(os.path.join(args.output_dir, "adapter_config.json"), "w", encoding="utf-8") as f:
            json.dump({"tunekit_smoke": True, "base_model": "tiny-byte-gru", "parameters": sum(p.numel() for p in model.parameters())}, f)
        with open(os.path.join(args.output_dir, "train_results.json"), "w", encoding="utf-8") as f:
            json.dump({"train_loss": loss_value, "global_step": total, "train_runtime": round(time.time() - began, 3), "device": str(device)}, f)
        print("tunekit-smoke: done, final loss %.4f" % loss_value, flush=True)
    if world > 1:
        import torch.distributed as dist
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
`;
