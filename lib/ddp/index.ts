/**
 * Data-parallel training on torch.distributed's c10d: process groups (Gloo on CPU, NCCL on CUDA)
 * from torchrun-style environment variables, gradient all-reduce in flat buckets, parameter
 * broadcast, rank sharding and the `ext5 launch` process launcher. See docs/distributed.md.
 */

export { type Shard, shardFor } from '../data/sources/shard';
export {
  allReduceGradients,
  broadcastParameters,
  checkSameConfig,
  checkSameWorldSize,
  type GradientAllReduceOptions,
} from './data_parallel';
export { type DistEnv, readDistEnv } from './env';
export {
  type AllReduceOptions,
  type BroadcastOptions,
  type CollectiveOptions,
  DEFAULT_BUCKET_BYTES,
  DEFAULT_TIMEOUT_MS,
  type InitFromEnvOptions,
  initFromEnv,
  ProcessGroup,
  type ProcessGroupOptions,
} from './process_group';
