// One connection for one command: connect to the node, run the command, close, and turn any
// failure into its printed error and exit code 1.

import { connect, type Client, type ClientOptions } from '../client';
import { ExitCode, println, type ExitCodeValue, type Io } from './args';
import { formatError } from './format';
import { loginOptions } from './login';

export async function withClient(
  host: string, io: Io, run: (client: Client) => Promise<ExitCodeValue>, options: Partial<ClientOptions> = {},
): Promise<ExitCodeValue> {
  let client: Client;
  try {
    client = await connect({ hosts: host, reconnect: false, maxRetries: 0, ...(await loginOptions(io)), ...options });
  } catch (error) {
    println(io.stderr, formatError(error));
    return ExitCode.FAILURE;
  }
  try {
    return await run(client);
  } catch (error) {
    println(io.stderr, formatError(error));
    return ExitCode.FAILURE;
  } finally {
    await client.close();
  }
}
