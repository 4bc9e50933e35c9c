// The planner's activation model (lib/model/memory_plan.ts) against measured peaks: for three
// small configurations (gated-GELU T5.1.1 with wide attention, ReLU T5 v1.0 with long inputs, and a
// vocabulary-heavy one where the loss dominates), with and without checkpointing, the predicted
// activations + workspace are within 15% of the peak a training step adds to the resident set.
// Each measurement runs in its own process (helpers/checkpoint_memory.ts) with the float32
// gradients already allocated (as in a micro-batch of gradient accumulation), so the peak added is
// activations and transients only, and with a fixed glibc mmap threshold, so the resident set
// follows the bytes of live tensors rather than what the heap keeps after frees.
import { planMemory } from '../../lib/model/memory_plan';
import { validateConfig } from '../../lib/model/t5_config';
import { preset } from '../../lib/model/t5_presets';
import { type CheckpointModelSpec, measureCheckpointMemory, wideTinySpec } from './helpers/checkpoint_memory';

jest.setTimeout(300_000);

const CONFIGS: Record<string, CheckpointModelSpec> = {
  'gated T5.1.1, d_model 128, 4 + 4 blocks, 16 x 128/64': wideTinySpec(),
  'relu T5 v1.0, d_model 128, 3 + 3 blocks, 8 x 192/48': {
    config: {
      ...preset('t5-tiny'),
      vocab_size: 2048,
      d_model: 128,
      d_kv: 16,
      num_heads: 8,
      d_ff: 512,
      num_layers: 3,
      num_decoder_layers: 3,
      dropout_rate: 0.1,
    },
    batch: 8,
    inputsLength: 192,
    targetsLength: 48,
  },
  'vocabulary 8192, d_model 64, 2 + 2 blocks, 8 x 64/64': {
    config: {
      ...preset('t5-v1_1-tiny'),
      vocab_size: 8192,
      d_model: 64,
      d_kv: 16,
      num_heads: 4,
      d_ff: 256,
      num_layers: 2,
      num_decoder_layers: 2,
      dropout_rate: 0.1,
    },
    batch: 8,
    inputsLength: 64,
    targetsLength: 64,
  },
};

const MiB = 2 ** 20;

describe.each(Object.entries(CONFIGS))('%s', (_name, spec) => {
  test.each([false, true])(
    'checkpointing %s: activations + workspace within 15%% of the measured peak',
    (on) => {
      const measured = measureCheckpointMemory({
        ...spec,
        checkpointing: on,
        steps: 1,
        threads: 1,
        gradientsAllocated: true,
        mallocMmapThreshold: 128 * 1024,
      });
      const p = planMemory(validateConfig(spec.config), {
        rows: spec.batch,
        inputsLength: spec.inputsLength,
        targetsLength: spec.targetsLength,
        computeDtype: 'float32',
        gradientCheckpointing: on,
        dropout: Number(spec.config.dropout_rate),
        optimizer: {},
      });
      const predicted = (p.perRank.activations + p.perRank.workspace) / MiB;
      console.log(
        `${_name}, checkpointing ${on}: predicted ${predicted.toFixed(1)} MiB, measured ${measured.peakAddedMiB.toFixed(1)} MiB`,
      );
      expect(measured.peakAddedMiB).toBeGreaterThan(20); // a real step, not noise
      expect(predicted / measured.peakAddedMiB).toBeGreaterThan(0.85);
      expect(predicted / measured.peakAddedMiB).toBeLessThan(1.15);
    },
  );
});
