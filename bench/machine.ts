// Describes the machine a bench ran on, printed with every figure.

import { cpus, totalmem, release } from 'node:os';

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  const memGiB = (totalmem() / 2 ** 30).toFixed(1);
  return `${cpus().length} × ${cpu}, ${memGiB} GiB, Linux ${release()}, node ${process.version}`;
}
