import { type ActionContext, type Message, type RuleOutput, type Sink, type SinkAction, SinkWriteError } from '@sluice/core';

/**
 * A sink of your own, without decorators or container code: every rule output is POSTed to a URL.
 * Each action may set `path` (appended to the base URL) and `body` (a template; the whole output as
 * JSON by default). A 5xx answer is retriable (the MQTT message stays with the broker and comes back);
 * a 4xx is not (counted as failed, the message is acknowledged so the stream keeps flowing).
 */
export class WebhookSink implements Sink {
  constructor(readonly id: string, private readonly baseUrl: string) {}

  createAction(settings: Readonly<Record<string, unknown>>, context: ActionContext): SinkAction {
    const url = new URL(String(settings['path'] ?? ''), this.baseUrl).toString();
    const body = context.templates.compileTemplate(String(settings['body'] ?? '${.}'));
    return {
      id: context.id,
      send: async (output: RuleOutput, _message: Message): Promise<void> => {
        let response: Response;
        try {
          response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body.render(output) });
        } catch (error) {
          throw new SinkWriteError(this.id, `POST ${url} failed: ${(error as Error).message}`, { retriable: true, cause: error });
        }
        if (!response.ok) throw new SinkWriteError(this.id, `POST ${url} answered HTTP ${response.status}`, { retriable: response.status >= 500 });
      },
    };
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}
}
