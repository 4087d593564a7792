import { decodeSparkplug, encodeSparkplug } from '../schemas/sparkplug-b';
import { type FunctionDef, bytes, fnError, text } from './args';
import { limitsOf } from './state';

/**
 * EMQX's built-in Sparkplug B codec, no schema to declare:
 *   sparkplug_decode(Bytes [, MessageName])  → the payload as a map (field names as in the .proto:
 *     timestamp, seq, metrics with name, alias, timestamp, datatype and the value under its own key,
 *     int_value, long_value, float_value, double_value, boolean_value, string_value, bytes_value, ...)
 *   sparkplug_encode(Map [, MessageName])    → the binary payload
 * MessageName defaults to 'Payload' (the top-level message); nested ones are named 'Payload.Metric'.
 */
export const SPARKPLUG_FUNCTIONS: readonly FunctionDef[] = [
  [
    'sparkplug_decode',
    1,
    2,
    (args, ctx) => {
      const data = bytes('sparkplug_decode', 1, args[0]);
      const messageName = args[1] === undefined ? undefined : text('sparkplug_decode', 2, args[1]);
      try {
        return decodeSparkplug(data, messageName, limitsOf(ctx).maxListLength);
      } catch (error) {
        throw fnError('sparkplug_decode', (error as Error).message);
      }
    },
  ],
  [
    'sparkplug_encode',
    1,
    2,
    (args) => {
      const messageName = args[1] === undefined ? undefined : text('sparkplug_encode', 2, args[1]);
      try {
        return encodeSparkplug(args[0], messageName);
      } catch (error) {
        throw fnError('sparkplug_encode', (error as Error).message);
      }
    },
  ],
];
