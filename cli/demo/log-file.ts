// An append-only log file that rotates by rename at a size cap, as logrotate does (file → file.1,
// one old generation kept), so a long demo never fills the disk. The agent's logs source follows
// the renamed file by its inode for rotate_wait and picks up the new one from its glob.

import { closeSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';
import type { Logger } from '../../core/logger.ts';

export class LogFile {
  #fd: number | undefined;
  #size = 0;
  #failed = false;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly logger?: Logger,
  ) {}

  /** Appends whole lines in one write; a write that fails is reported once and dropped. */
  append(lines: readonly string[]): void {
    if (lines.length === 0) return;
    const data = Buffer.from(`${lines.join('\n')}\n`);
    try {
      if (this.#fd !== undefined && this.#size > 0 && this.#size + data.length > this.maxBytes) {
        this.#rotate();
      }
      if (this.#fd === undefined) {
        this.#fd = openSync(this.path, 'a');
        this.#size = fstatSync(this.#fd).size;
      }
      let written = 0;
      while (written < data.length) written += writeSync(this.#fd, data, written);
      this.#size += data.length;
      this.#failed = false;
    } catch (err) {
      if (!this.#failed) this.logger?.warn({ err, path: this.path }, 'demo log write failed');
      this.#failed = true;
    }
  }

  close(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }

  #rotate(): void {
    this.close();
    renameSync(this.path, `${this.path}.1`);
    this.#size = 0;
  }
}
