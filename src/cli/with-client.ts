// One connection for one command: connect to the node, run the command, close, and turn any
// failure into its printed error and exit code 1 (with --json, the error as one JSON document
// on stdout, so a script reads exactly one document whatever happened).

import { connect, type Client, type ClientOptions } from '../client';
import { ExitCode, println, type ExitCodeValue, type Io } from './args';
import { errorJson, formatError, toJson } from './format';
import { loginOptions, tlsOptions } from './login';

export async function withClient(host: string, io: Io, run: (client: Client) => Promise<ExitCodeValue>, options: Partial<ClientOptions> = {}, json = false): Promise<ExitCodeValue> {
  const fail = (error: unknown) => {
    if (json) println(io.stdout, toJson(errorJson(error)));
    else println(io.stderr, formatError(error));
    return ExitCode.FAILURE;
  };
  let client: Client;
  try {
    // Through the front port only: one command needs no connection to every worker's endpoint.
    client = await connect({ hosts: host, reconnect: false, maxRetries: 0, routing: 'front', ...tlsOptions(), ...(await loginOptions(io)), ...options });
  } catch (error) {
    return fail(error);
  }
  try {
    return await run(client);
  } catch (error) {
    return fail(error);
  } finally {
    await client.close();
  }
}
