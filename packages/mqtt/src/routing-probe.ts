/** The part of Aedes's message emitter (mqemitter) that routes a publish to the subscriptions matching its topic. */
export interface MessageEmitter {
  on(topic: string, listener: Listener, done?: () => void): unknown;
  removeListener(topic: string, listener: Listener, done?: () => void): unknown;
  emit(message: { readonly topic: string }, done?: (error?: Error) => void): unknown;
}
type Listener = (message: { readonly topic: string }, done: () => void) => void;

/**
 * Tells whether a publish reached any online subscription, for `message.dropped` (reason `no_subscribers`).
 * Aedes reports no routing outcome, so the emitter's listeners (one per subscription) are wrapped to mark the
 * message they are handed, and the publish's completion callback reads the mark. Installed before the
 * broker subscribes anything (Aedes's own $SYS listeners included). While inactive (no rule selects the
 * event) a listener does nothing more than before, and no callback is wrapped.
 */
export class RoutingProbe {
  active = false;
  private readonly routed = new WeakSet<object>();
  private readonly wrapped = new WeakMap<Listener, Listener>();

  constructor(private readonly onUnrouted: (message: { readonly topic: string }) => void) {}

  install(emitter: MessageEmitter): void {
    const on = emitter.on.bind(emitter);
    const removeListener = emitter.removeListener.bind(emitter);
    const emit = emitter.emit.bind(emitter);
    emitter.on = (topic, listener, done) => on(topic, this.wrap(topic, listener), done);
    emitter.removeListener = (topic, listener, done) => removeListener(topic, this.wrapped.get(listener) ?? listener, done);
    emitter.emit = (message, done) => {
      if (!this.active) return emit(message, done);
      return emit(message, (error) => {
        if (!this.routed.has(message)) this.onUnrouted(message);
        done?.(error);
      });
    };
  }

  private wrap(topic: string, listener: Listener): Listener {
    let wrapped = this.wrapped.get(listener);
    if (wrapped !== undefined) return wrapped;
    // A filter starting with a wildcard never receives `$` topics (Aedes drops them in the listener).
    const skipsDollar = topic.startsWith('+') || topic.startsWith('#');
    wrapped = (message, done) => {
      if (this.active && !(skipsDollar && message.topic.startsWith('$'))) this.routed.add(message);
      listener(message, done);
    };
    this.wrapped.set(listener, wrapped);
    return wrapped;
  }
}
