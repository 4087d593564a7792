import { type ActionContext, ConfigError, type ConfigIssue, type Message, type RuleOutput, type Connector, type Action, ActionWriteError } from '@sluice/core';

/**
 * A connector of your own, without decorators or container code: every rule output is POSTed to a URL.
 * Each action may set `path` (appended to the base URL) and `body` (a template; the whole output as
 * JSON by default). A 5xx answer is retriable (the MQTT message stays with the broker and comes back);
 * a 4xx is not (counted as failed, the message is acknowledged so the stream keeps flowing).
 */
export class WebhookConnector implements Connector {
  constructor(readonly id: string, private readonly baseUrl: string) {}

  createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): Action {
    const { path = '', body: bodyTemplate = '${.}' } = settings;
    // Refuse wrong settings here, with the setting's name, rather than POSTing to ".../[object Object]".
    const issues: ConfigIssue[] = [];
    if (typeof path !== 'string') issues.push({ path: 'path', message: `must be a string appended to ${this.baseUrl}, e.g. "/alerts"` });
    if (typeof bodyTemplate !== 'string') issues.push({ path: 'body', message: 'must be a template string, e.g. "{\\"temp\\": ${temp}}"' });
    if (issues.length > 0) throw new ConfigError(`webhook action "${context.id}"`, issues);
    let url: string;
    try {
      url = new URL(path as string, this.baseUrl).toString();
    } catch {
      throw new ConfigError(`webhook action "${context.id}"`, [{ path: 'path', message: `"${String(path)}" does not make a URL with ${this.baseUrl}` }]);
    }
    const body = context.templates.compileTemplate(bodyTemplate as string);
    return {
      id: context.id,
      send: async (output: RuleOutput, _message: Message): Promise<void> => {
        let response: Response;
        try {
          response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body.render(output) });
        } catch (error) {
          throw new ActionWriteError(this.id, `POST ${url} failed: ${(error as Error).message}`, { retriable: true, cause: error });
        }
        if (!response.ok) throw new ActionWriteError(this.id, `POST ${url} answered HTTP ${response.status}`, { retriable: response.status >= 500 });
      },
    };
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}
