import { envAssignment, shellQuote } from './quote';
import { renderWords, type Word } from './shellWords';

/**
 * `run.sh`, the wrapper every backend starts. It
 * - runs from the working folder (two levels above itself), so every path in the bundle is relative;
 * - records its pid, the trainer's process group and a `status.json` (state, exit code, times) that
 *   is written atomically and survives the ssh session, so a client re-attaching later reads the
 *   true outcome;
 * - tees everything to `train.log`;
 * - starts the trainer in its own process group (`set -m`) and turns TERM/INT into TERM to that
 *   whole group, then KILL after a grace period, and still writes the final status.
 *
 * Everything variable is quoted by `quote.ts`; the only unquoted text is this template.
 */

export interface RunScriptInput {
  runId: string;
  /** `runs/<id>` relative to the working folder. */
  runDir: string;
  steps: { label: string; words: Word[] }[];
  env: Record<string, string>;
  /** Python module to look for when picking the interpreter (`TK_PY`). */
  pythonModule?: string;
  /** Remote folder whose bin/ goes first on PATH. */
  pythonEnv?: string;
  /** Extra lines the backend needs before the steps (e.g. the rendezvous head on Slurm). Template text only. */
  prelude?: string[];
  /** Write the trainer's progress lines to the log with a prefix (for backends read through their logs). */
  echoProgress?: string;
  /** Seconds between TERM and KILL of the trainer's process group. */
  graceSeconds?: number;
}

export const STATUS_FILE = 'status.json';
export const LOG_FILE = 'train.log';
export const PID_FILE = 'pid';
export const TRAINER_PGID_FILE = 'trainer.pgid';
export const PROGRESS_PREFIX = '[tunekit-progress] ';

export function runScript(input: RunScriptInput): string {
  const q = shellQuote;
  const grace = Math.max(1, Math.round(input.graceSeconds ?? 10));
  // sed program that prefixes each progress line, so a log reader can pick them out.
  const prefixSed = q(`s/^/${PROGRESS_PREFIX.replace(/[[\]]/g, '\\$&')}/`);
  const lines: string[] = [
    '#!/usr/bin/env bash',
    `# Tunekit run wrapper for run ${input.runId} (generated; do not edit).`,
    'set -u',
    'cd "$(dirname "$0")/../.." || exit 97',
    `RUN_DIR=${q(input.runDir)}`,
    'export TUNEKIT_WORKDIR="$PWD"',
    `export TUNEKIT_RUN_ID=${q(input.runId)}`,
    'export TUNEKIT_RUN_DIR="$PWD/$RUN_DIR"',
    'export TUNEKIT_OUTPUT_DIR="$PWD/$RUN_DIR/output"',
  ];
  if (input.pythonEnv) {
    const p = input.pythonEnv;
    const quoted = p.startsWith('~/') ? `"$HOME"/${q(p.slice(2))}` : q(p);
    lines.push(`export PATH=${quoted}/bin:"$PATH"`);
  }
  for (const [k, v] of Object.entries(input.env)) lines.push(`export ${envAssignment(k, v)}`);
  lines.push(
    'STARTED=$(date +%s)',
    'HOST=$(hostname 2>/dev/null | tr -cd "A-Za-z0-9._-")',
    'TRAINER=""',
    'TK_KILLER=""',
    'CANCELLED=0',
    'tk_status() {',
    '  local ended=null',
    '  case "$1" in running|cancelling) ;; *) ended=$(date +%s) ;; esac',
    `  printf '{"state":"%s","exitCode":%s,"pid":%s,"trainerPgid":%s,"host":"%s","startedAt":%s,"endedAt":%s,"slurmJobId":%s}\\n' "$1" "$2" "$$" "\${TRAINER:-null}" "$HOST" "$STARTED" "$ended" "\${SLURM_JOB_ID:-null}" > "$RUN_DIR/${STATUS_FILE}.tmp" && mv -f "$RUN_DIR/${STATUS_FILE}.tmp" "$RUN_DIR/${STATUS_FILE}"`,
    '}',
    'tk_cancel() {',
    "  trap '' TERM INT",
    '  CANCELLED=1',
    '  tk_status cancelling null',
    '  if [ -n "$TRAINER" ]; then',
    '    kill -TERM -- "-$TRAINER" 2>/dev/null',
    // The main loop keeps waiting for the trainer; this timer escalates if TERM is not enough.
    `    ( sleep ${grace}; kill -KILL -- "-$TRAINER" 2>/dev/null ) >/dev/null 2>&1 &`,
    '    TK_KILLER=$!',
    '  fi',
    '}',
    // Live members of a process group; zombies do not count (some containers never reap them).
    'tk_alive() {',
    '  if command -v ps >/dev/null 2>&1; then ps -e -o pgid=,stat= 2>/dev/null | awk -v g="$1" \'$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }\'',
    '  else kill -0 -- "-$1" 2>/dev/null; fi',
    '}',
    'trap tk_cancel TERM INT',
    "trap '' HUP",
    'mkdir -p "$RUN_DIR/output"',
    `echo "$$" > "$RUN_DIR/${PID_FILE}"`,
    `exec > >(tee -a "$RUN_DIR/${LOG_FILE}") 2>&1`,
    // tee runs on its own: the final status waits until it has written the last lines (a stray
    // process still holding the log's pipe bounds that wait to a few seconds).
    'TK_TEE=$!',
    'tk_finish() {',
    '  exec >/dev/null 2>&1',
    '  for _ in $(seq 1 50); do kill -0 "$TK_TEE" 2>/dev/null || break; sleep 0.1; done',
    '  tk_status "$@"',
    '}',
    'tk_status running null',
    'echo "tunekit: run $TUNEKIT_RUN_ID on $HOST in $PWD"',
  );
  lines.push(
    'TK_PY=""',
    `for tk_c in "\${TUNEKIT_PYTHON:-}" python3 python /usr/bin/python3; do`,
    '  [ -n "$tk_c" ] || continue',
    input.pythonModule
      ? `  if command -v "$tk_c" >/dev/null 2>&1 && "$tk_c" -c ${q(`import importlib.util, sys; sys.exit(importlib.util.find_spec(${JSON.stringify(input.pythonModule)}) is None)`)} >/dev/null 2>&1; then TK_PY="$tk_c"; break; fi`
      : '  if command -v "$tk_c" >/dev/null 2>&1; then TK_PY="$tk_c"; break; fi',
    'done',
    '[ -n "$TK_PY" ] || TK_PY=python3',
    'export TK_PY',
  );
  for (const l of input.prelude ?? []) lines.push(l);
  lines.push('if [ "$CANCELLED" = 1 ]; then echo "tunekit: cancelled before the trainer started"; tk_finish cancelled null; exit 143; fi');
  // The trainer runs as a job of its own (set -m): its own process group, which cancel kills whole.
  lines.push('set -m', '(');
  if (input.echoProgress) {
    lines.push(`  ( tail -n +1 -F ${q(input.echoProgress)} 2>/dev/null | sed -u ${prefixSed} ) &`);
  }
  input.steps.forEach((s, i) => {
    lines.push(`  echo ${q(`tunekit: step ${i + 1}/${input.steps.length}: ${s.label}`)}`);
    lines.push(`  ${renderWords(s.words)} || exit $?`);
  });
  lines.push(
    ') &',
    'TRAINER=$!',
    'set +m',
    // A TERM that arrived while the trainer was being started still reaches it.
    '[ "$CANCELLED" = 1 ] && kill -TERM -- "-$TRAINER" 2>/dev/null',
    `echo "$TRAINER" > "$RUN_DIR/${TRAINER_PGID_FILE}"`,
    '[ "$CANCELLED" = 1 ] || tk_status running null',
    'wait "$TRAINER"; CODE=$?',
    'while kill -0 "$TRAINER" 2>/dev/null; do wait "$TRAINER"; CODE=$?; done',
    // After a trap interrupted `wait`, ask once more for the job's own exit status.
    'wait "$TRAINER" 2>/dev/null; tk_w=$?; [ "$tk_w" = 127 ] || CODE=$tk_w',
    ...(input.echoProgress
      ? [
          // The follower may not have caught the last lines before the trainer ended: repeat the last one.
          `tail -n 1 ${q(input.echoProgress)} 2>/dev/null | sed ${prefixSed}`,
        ]
      : []),
    // Helpers left in the trainer's group (log followers, stray workers) go with it.
    'if [ "$CANCELLED" = 1 ]; then',
    `  for _ in $(seq 1 ${grace * 5}); do tk_alive "$TRAINER" || break; sleep 0.2; done`,
    '  kill -KILL -- "-$TRAINER" 2>/dev/null',
    'else kill -TERM -- "-$TRAINER" 2>/dev/null; fi',
    'if [ -n "$TK_KILLER" ]; then kill -KILL "$TK_KILLER" 2>/dev/null; wait "$TK_KILLER" 2>/dev/null; fi',
    // The last log line first, so a client that sees the final status.json already has it.
    'if [ "$CANCELLED" = 1 ]; then echo "tunekit: cancelled (exit $CODE)"; tk_finish cancelled "$CODE"',
    'elif [ "$CODE" = 0 ]; then echo "tunekit: completed"; tk_finish completed 0',
    'else echo "tunekit: failed with exit code $CODE"; tk_finish failed "$CODE"; fi',
    'exit "$CODE"',
    '',
  );
  return lines.join('\n');
}
