/**
 * torchrun's environment contract (pytorch/pytorch torch/distributed/run.py and
 * torch/distributed/elastic/agent/server/api.py), read and checked: RANK, WORLD_SIZE,
 * LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT. `ext5 launch` sets exactly these, so
 * workers started by torchrun, by `ext5 launch`, or by hand behave the same. Pure TypeScript.
 */
import { Ext5Error } from '../util/errors';

/** Where this process sits in a distributed job. */
export interface DistEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  masterAddr: string;
  masterPort: number;
  /** Collective deadline in ms from EXT5_DIST_TIMEOUT (seconds), when set. */
  timeoutMs?: number;
  /** GLOO_SOCKET_IFNAME, when set. */
  ifname?: string;
}

const HINT =
  'start workers with `ext5 launch --nproc N -- <command>` (or torchrun), which sets RANK, WORLD_SIZE, ' +
  'LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT';

function intVar(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\s*\d+\s*$/.test(raw)) {
    throw new Ext5Error('EXT5_DIST_ENV', `${name}='${raw}' is not a non-negative integer`, HINT);
  }
  const n = Number(raw.trim());
  if (n < min || n > max) {
    throw new Ext5Error('EXT5_DIST_ENV', `${name}=${n} is out of range: expected ${min}..${max}`, HINT);
  }
  return n;
}

function required(name: string, why: string): never {
  throw new Ext5Error('EXT5_DIST_ENV', `${name} is not set, but ${why}`, HINT);
}

/**
 * Reads torchrun's variables. Returns null when WORLD_SIZE is unset or 1 (a single-process run:
 * no process group is needed); otherwise every variable a rank needs must be present and
 * consistent, or an Ext5Error (code EXT5_DIST_ENV) names the variable and the fix.
 *
 * LOCAL_RANK defaults to RANK and LOCAL_WORLD_SIZE to WORLD_SIZE (one machine); MASTER_ADDR and
 * MASTER_PORT have no default, because a guessed rendezvous address only ever times out.
 *
 * @example
 * readDistEnv({ RANK: '1', WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '29500' })
 * // -> { rank: 1, worldSize: 2, localRank: 1, localWorldSize: 2, masterAddr: '127.0.0.1', masterPort: 29500 }
 */
export function readDistEnv(env: NodeJS.ProcessEnv = process.env): DistEnv | null {
  const worldSize = intVar(env, 'WORLD_SIZE', 1, 65536);
  if (worldSize === undefined || worldSize === 1) return null;
  const why = `WORLD_SIZE=${worldSize} asks for a distributed run`;
  const rank = intVar(env, 'RANK', 0, worldSize - 1) ?? required('RANK', why);
  const localWorldSize = intVar(env, 'LOCAL_WORLD_SIZE', 1, worldSize) ?? worldSize;
  const localRank =
    intVar(env, 'LOCAL_RANK', 0, localWorldSize - 1) ?? (localWorldSize === worldSize ? rank : undefined);
  if (localRank === undefined) required('LOCAL_RANK', `LOCAL_WORLD_SIZE=${localWorldSize} < WORLD_SIZE`);
  const masterAddr = (env.MASTER_ADDR ?? '').trim();
  if (masterAddr === '') required('MASTER_ADDR', why);
  const masterPort = intVar(env, 'MASTER_PORT', 1, 65535) ?? required('MASTER_PORT', why);
  const out: DistEnv = { rank, worldSize, localRank, localWorldSize, masterAddr, masterPort };
  const timeoutS = env.EXT5_DIST_TIMEOUT;
  if (timeoutS !== undefined && timeoutS !== '') {
    const s = Number(timeoutS);
    if (!Number.isFinite(s) || s <= 0) {
      throw new Ext5Error(
        'EXT5_DIST_ENV',
        `EXT5_DIST_TIMEOUT='${timeoutS}' is not a positive number of seconds`,
        'set it to e.g. 300, or unset it for the default',
      );
    }
    out.timeoutMs = Math.round(s * 1000);
  }
  const ifname = env.GLOO_SOCKET_IFNAME?.trim();
  if (ifname) out.ifname = ifname;
  return out;
}
