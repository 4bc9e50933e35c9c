/**
 * `ext5 doctor`: what ext5 runs on here. Node and N-API, where the native addons came from,
 * libtorch's version and location, the BLAS library actually mapped into the process, threads,
 * CUDA devices, and warnings with fixes for the known traps (reference BLAS, forced core type).
 */
import type { CommandModule } from 'yargs';

export interface DoctorArgs {
  json: boolean;
}

export const doctorCommand: CommandModule<object, DoctorArgs> = {
  command: 'doctor',
  describe: 'Check the installation: Node, native addons, libtorch, BLAS, threads, CUDA',
  builder: (y) =>
    y
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' })
      .example('$0 doctor', 'Human-readable report')
      .example('$0 doctor --json', 'Machine-readable report'),
  // The command's one lazy point: the native loader and the checks.
  handler: async (args) => {
    const { doctorReport, formatDoctor } = await import('./doctor_run');
    const report = doctorReport();
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
    if (!report.torch) process.exitCode = 1;
  },
};
