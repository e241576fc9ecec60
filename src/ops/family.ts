// A metric family whose values are computed when it is scraped, in the shape prom-client's
// Registry formats (its `get()` contract): the node's figures already live in shared memory and
// INFO, so nothing is counted twice into prom-client's own objects on the request path.

export type MetricType = 'counter' | 'gauge' | 'histogram';
export type Labels = Record<string, string | number>;

export interface Sample {
  labels: Labels;
  value: number;
  /** For a histogram's `_bucket`, `_sum` and `_count` lines. */
  metricName?: string;
}

export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: MetricType; aggregator: 'sum'; values: Sample[] }>;
}

/** A family whose samples `read` returns at each scrape. */
export function family(name: string, help: string, type: MetricType, read: () => Sample[]): Family {
  return {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: read() }),
  };
}
