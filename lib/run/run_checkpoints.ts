/**
 * Training checkpoints as a run directory holds them: `<run>/checkpoints/step-00000100/` holds a
 * Hugging Face checkpoint (config.json + model.safetensors, loadable by transformers),
 * optimizer.safetensors and trainer_state.json (step, data-pipeline position, RNG, counters). This
 * module names and lists them, read-only; lib/train/checkpoint_save.ts writes, prunes and repairs
 * them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_FILE } from '../model/hf_format';

export const TRAINER_STATE_FILE = 'trainer_state.json';

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/**
 * Complete checkpoints of a run, oldest first. Read-only: a save interrupted there (a
 * `.step-….tmp-…` or `.old-…` sibling) is left as it is for repairInterruptedSaves
 * (lib/train/checkpoint_save.ts), which only the run that owns the directory calls, under its lock.
 */
export function listCheckpoints(checkpointsDir: string): { step: number; dir: string }[] {
  if (!fs.existsSync(checkpointsDir)) return [];
  const out: { step: number; dir: string }[] = [];
  for (const name of fs.readdirSync(checkpointsDir)) {
    const m = /^step-(\d{8})$/.exec(name);
    if (!m) continue;
    const dir = path.join(checkpointsDir, name);
    if (fs.existsSync(path.join(dir, TRAINER_STATE_FILE)) && fs.existsSync(path.join(dir, CONFIG_FILE))) {
      out.push({ step: Number(m[1]), dir });
    }
  }
  return out.sort((a, b) => a.step - b.step);
}

/** True when `dir` holds model weights (model.safetensors or a sharded index). */
export function isCheckpointDir(dir: string): boolean {
  return (
    fs.existsSync(path.join(dir, 'model.safetensors')) ||
    fs.existsSync(path.join(dir, 'model.safetensors.index.json'))
  );
}
