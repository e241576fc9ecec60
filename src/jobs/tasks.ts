// Entry point of the background pool's threads: each export is a task piscina can run by name.
import { verifyStore, type VerifyInput, type VerifyReport } from './verify';

export function verify(input: VerifyInput): VerifyReport {
  return verifyStore(input);
}
