// The provider HTTP client's hook for tracing. Nothing here loads OpenTelemetry: tracing.ts installs the real span
// when OTEL_EXPORTER_OTLP_ENDPOINT is set; until then every call runs as it is.

export interface ProviderSpanInfo {
  provider: string;
  method: string;
  /** The host only: paths and queries can carry keys. */
  host: string;
}

export interface ProviderSpanResult {
  status: number;
}

type Wrap = <T extends ProviderSpanResult>(info: ProviderSpanInfo, fn: () => Promise<T>) => Promise<T>;

let wrap: Wrap | null = null;

/** Runs one provider HTTP call inside a client span when tracing is on. */
export function inProviderSpan<T extends ProviderSpanResult>(info: ProviderSpanInfo, fn: () => Promise<T>): Promise<T> {
  return wrap ? wrap(info, fn) : fn();
}

export function installProviderSpans(w: Wrap): void {
  wrap = w;
}
