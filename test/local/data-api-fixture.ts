import { RDSDataClient, type RDSDataClientConfig } from '@aws-sdk/client-rds-data';
import { type DataApiServer, type DataApiServerOptions, startDataApiServer } from '../../src/local/data-api/index.js';
import { LOCAL_ARNS } from '../../src/local/local-command.js';
import { freshDatabase } from '../support/database.js';

export { LOCAL_ARNS };

/** An SDK client for a local server, configured as a user would: endpoint, region, any credentials. */
export function localClient(server: DataApiServer, config: RDSDataClientConfig = {}): RDSDataClient {
  return new RDSDataClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...config,
  });
}

export interface LocalDataApi {
  readonly server: DataApiServer;
  readonly client: RDSDataClient;
  /** The database behind the server, for checks that bypass the Data API. */
  readonly mysqlUrl: string;
  readonly database: string;
  close(): Promise<void>;
}

/** A fresh database with a local Data API server and a client in front of it. */
export async function startLocalDataApi(
  prefix: string,
  options: Omit<DataApiServerOptions, 'mysqlUrl'> = {},
  config: RDSDataClientConfig = {},
): Promise<LocalDataApi> {
  const mysqlUrl = await freshDatabase(prefix);
  const server = await startDataApiServer({ mysqlUrl, ...options });
  const client = localClient(server, config);
  return {
    server,
    client,
    mysqlUrl,
    database: new URL(mysqlUrl).pathname.slice(1),
    async close() {
      client.destroy();
      await server.close();
    },
  };
}
