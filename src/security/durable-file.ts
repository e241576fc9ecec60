// Writes a small file so that after a crash (kill -9, power loss) it holds either the old
// contents or the new, never a mix: a temp file, fdatasync, rename over, fsync of the directory.
// Asynchronous, so the primary's event loop serves requests while the disk syncs.

import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

export async function writeFileDurably(file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await fsp.open(tmp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await fsp.rename(tmp, file);
  const dir = await fsp.open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
