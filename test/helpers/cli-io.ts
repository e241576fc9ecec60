// An Io for running `aerie` commands inside a test: what they print is captured, stdin is given.

import { PassThrough, Readable } from 'node:stream';
import type { Io } from '../../src/cli/args';

export function captureIo(stdinText = ''): { io: Io; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  return { io: { stdout, stderr, stdin: Readable.from(stdinText === '' ? [] : [stdinText]) }, out: () => out, err: () => err };
}
