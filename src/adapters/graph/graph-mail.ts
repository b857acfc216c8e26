import type { TokenCredential } from '@azure/identity';
import { Client, type ClientOptions, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';

import type { ResolvedCloud } from '../../domain/cloud.js';
import type { RunMail, RunMailer } from '../../ports/run-notification-senders.js';
import { PermanentError } from '../../shared/errors.js';
import { classifyGraphError } from './graph-directory-source.js';

export interface GraphMailOptions {
  readonly cloud: ResolvedCloud;
  /** The connection's credential: its token must carry the Mail.Send application permission. */
  readonly credential: TokenCredential;
  readonly maxRetries: number;
}

/**
 * Graph `POST /users/{mailbox}/sendMail` through `@microsoft/microsoft-graph-client` (as the directory
 * reads are: the cloud's endpoint, the client's retry handler for 429/503/504), plain text, not saved
 * to Sent Items. Failures are the pipeline's errors: a refused permission, an unknown mailbox or a
 * recipient Graph will not take is permanent; throttling and outages are transient.
 */
export class GraphMailer implements RunMailer {
  readonly #client: Client;
  readonly #endpoint: string;
  readonly #retry: RetryHandlerOptions;

  constructor(options: GraphMailOptions) {
    this.#endpoint = options.cloud.graphEndpoint;
    const scope = `${this.#endpoint}/.default`;
    const clientOptions: ClientOptions = {
      authProvider: {
        getAccessToken: async () => {
          const token = await options.credential.getToken(scope);
          if (!token) throw new PermanentError('no access token for Microsoft Graph', 'permission-denied');
          return token.token;
        },
      },
      baseUrl: `${this.#endpoint}/`,
      customHosts: new Set([new URL(this.#endpoint).hostname]),
      fetchOptions: {},
    };
    this.#client = Client.initWithMiddleware(clientOptions);
    this.#retry = new RetryHandlerOptions(1, options.maxRetries);
  }

  async send(mail: RunMail): Promise<void> {
    const url = `${this.#endpoint}/v1.0/users/${encodeURIComponent(mail.from)}/sendMail`;
    const body = {
      message: {
        subject: mail.subject,
        body: { contentType: 'Text', content: mail.text },
        toRecipients: mail.to.map((address) => ({ emailAddress: { address } })),
      },
      saveToSentItems: false,
    };
    try {
      await this.#client.api(url).middlewareOptions([this.#retry]).post(body);
    } catch (error) {
      throw classifyGraphError(error);
    }
  }
}
