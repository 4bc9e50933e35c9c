/**
 * `ext5 presets [name]`: the run presets (`--preset` of pretrain / finetune) and the model presets
 * (`--model`, model.config), or what one preset sets. Reads the tables the config loader uses
 * (lib/run/run_presets.ts, lib/model/t5_presets.ts); never loads libtorch.
 */
import type { CommandModule } from 'yargs';
import { preset, presetNames } from '../model/t5_presets';
import { RUN_PRESETS, runPresetNames } from '../run/run_presets';
import { didYouMean, Ext5Error } from '../util/errors';

interface PresetsArgs {
  name?: string;
  json: boolean;
}

/** One model preset's size, in the words of a T5 config. */
function modelSummary(name: string): Record<string, unknown> {
  const c = preset(name);
  return {
    d_model: c.d_model,
    num_layers: c.num_layers,
    num_heads: c.num_heads,
    d_ff: c.d_ff,
    feed_forward_proj: c.feed_forward_proj,
    vocab_size: c.vocab_size,
  };
}

/** What `ext5 presets` prints: every preset, or one. */
export function renderPresets(args: PresetsArgs): string {
  const models = presetNames();
  if (args.name !== undefined) {
    const name = args.name;
    if (Object.hasOwn(RUN_PRESETS, name)) {
      const p = RUN_PRESETS[name]!;
      if (args.json) return `${JSON.stringify({ name, kind: 'run', ...p }, null, 2)}\n`;
      const keys = Object.entries(p.values).map(([k, v]) => `  ${k} = ${JSON.stringify(v)}`);
      return `run preset ${name}: ${p.description}\n${keys.join('\n')}\n(use: ext5 pretrain|finetune --preset ${name}; see the whole config with --print-config)\n`;
    }
    if (models.includes(name)) {
      const m = modelSummary(name);
      if (args.json) return `${JSON.stringify({ name, kind: 'model', config: preset(name) }, null, 2)}\n`;
      return `model preset ${name}: ${Object.entries(m)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}\n(use: --model ${name}, or --set model.config=${name})\n`;
    }
    throw new Ext5Error(
      'EXT5_UNKNOWN_PRESET',
      `no run or model preset named '${name}'${didYouMean(name, [...runPresetNames(), ...models])}`,
      'list them with `ext5 presets`',
    );
  }
  if (args.json) {
    return `${JSON.stringify(
      {
        run: runPresetNames().map((n) => ({ name: n, ...RUN_PRESETS[n]! })),
        model: models.map((n) => ({ name: n, ...modelSummary(n) })),
      },
      null,
      2,
    )}\n`;
  }
  const w = Math.max(...runPresetNames().map((n) => n.length), ...models.map((n) => n.length));
  const lines = ['Run presets (ext5 pretrain|finetune --preset NAME):'];
  for (const n of runPresetNames()) lines.push(`  ${n.padEnd(w)}  ${RUN_PRESETS[n]!.description}`);
  lines.push('', 'Model presets (--model NAME, model.config):');
  for (const n of models) {
    const m = modelSummary(n);
    lines.push(
      `  ${n.padEnd(w)}  d_model ${m.d_model}, ${m.num_layers} layers, ${m.num_heads} heads, d_ff ${m.d_ff}, ${m.feed_forward_proj}`,
    );
  }
  lines.push('', '`ext5 presets NAME` shows what one sets; docs/configuration.md has the table.');
  return `${lines.join('\n')}\n`;
}

export const presetsCommand: CommandModule<object, PresetsArgs> = {
  command: 'presets [name]',
  describe: 'List the run and model presets, or show what one sets',
  builder: (y) =>
    y
      .positional('name', { type: 'string', describe: 'a run or model preset' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' })
      .example('$0 presets', 'every preset')
      .example('$0 presets tiny-demo', 'the keys tiny-demo sets'),
  handler: (args) => {
    process.stdout.write(renderPresets(args));
  },
};
