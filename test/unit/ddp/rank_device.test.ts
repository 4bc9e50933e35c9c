// The device a data-parallel rank trains on: with NCCL, plain 'cuda' is the rank's own GPU
// (cuda:<LOCAL_RANK>, the group's device), as under torchrun; an explicit device, Gloo, or no
// group leave it as given.
import { rankDevice } from '../../../lib/ddp/data_parallel';
import type { ProcessGroup } from '../../../lib/ddp/process_group';

const group = (backend: 'nccl' | 'gloo', localRank: number) =>
  ({
    backend,
    localRank,
    device: backend === 'nccl' ? `cuda:${localRank}` : 'cpu',
  }) as unknown as ProcessGroup;

test("with NCCL, 'cuda' is the rank's GPU", () => {
  expect(rankDevice('cuda', group('nccl', 3))).toBe('cuda:3');
  expect(rankDevice('cuda', group('nccl', 0))).toBe('cuda:0');
});

test('an explicit device, Gloo or a single process keep the device as given', () => {
  expect(rankDevice('cuda:1', group('nccl', 3))).toBe('cuda:1');
  expect(rankDevice('cpu', group('gloo', 1))).toBe('cpu');
  expect(rankDevice('cuda', group('gloo', 1))).toBe('cuda');
  expect(rankDevice('cuda', null)).toBe('cuda');
});
