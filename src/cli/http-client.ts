/**
 * How the CLI reaches the HTTP API: a base URL and either the function key (locally: `--key` or
 * `ENTRA_SYNC_KEY`) or an Entra token for `--scope` (in Azure: DefaultAzureCredential, so `az login`,
 * a managed identity or environment credentials). Neither the key nor the token is ever printed.
 */
export interface ClientOptions {
  readonly url: string;
  readonly key?: string | undefined;
  readonly scope?: string | undefined;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(describeRefusal(status, body));
    this.name = 'ApiError';
  }
}

/** `400 invalid body: full: expected boolean` — the API's error and each issue's field path. */
export function describeRefusal(status: number, body: unknown): string {
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const error = typeof record.error === 'string' ? record.error : typeof body === 'string' ? body : '';
  const issues = Array.isArray(record.issues)
    ? record.issues.map((issue) => {
        const { path, message } = (issue ?? {}) as { path?: unknown; message?: unknown };
        return `${typeof path === 'string' && path !== '' ? path : '(body)'}: ${typeof message === 'string' ? message : ''}`;
      })
    : [];
  return [`HTTP ${status}${error ? ` ${error}` : ''}`, ...issues.map((line) => `  ${line}`)].join('\n');
}

export class ApiClient {
  #token: Promise<string> | undefined;

  constructor(private readonly options: ClientOptions) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiAnswer> {
    const url = `${this.options.url.replace(/\/+$/, '')}/api/${path}`;
    const response = await fetch(url, {
      method,
      // A redirect is the answer itself (GET /api/connect's consent URL), never followed with the key.
      redirect: 'manual',
      headers: {
        ...(await this.#auth()),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      // not JSON: kept as text
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }

  /** Like `call`, but a status outside 2xx is an ApiError naming the API's error and field paths. */
  async json<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T> {
    const answer = await this.call(method, path, body, headers);
    if (answer.status < 200 || answer.status > 299) throw new ApiError(answer.status, answer.body);
    return answer.body as T;
  }

  async #auth(): Promise<Record<string, string>> {
    if (this.options.key) return { 'x-functions-key': this.options.key };
    if (!this.options.scope) return {};
    const scope = this.options.scope;
    // Loaded only when signing in: the local, key-based path starts faster without it.
    this.#token ??= import('@azure/identity')
      .then(({ DefaultAzureCredential }) => new DefaultAzureCredential().getToken(scope))
      .then((token) => {
        if (!token) throw new Error(`no Entra token for ${scope}`);
        return token.token;
      });
    return { authorization: `Bearer ${await this.#token}` };
  }
}
