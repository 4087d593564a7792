import { parseConfig } from '@sluice/core';
import { z } from 'zod';

export const AedesSourceConfig = z.strictObject({
  /** Unique source id, e.g. 'devices'. */
  id: z.string().min(1).regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits and . _ : - only'),
  /** Interface to listen on; 0.0.0.0 to accept devices from other machines. */
  host: z.string().min(1).default('127.0.0.1'),
  /** TCP port for MQTT; 0 picks a free port (read it back from AedesSource#address). */
  port: z.number().int().min(0).max(65535).default(1883),
  /** When given, a device must connect with one of these username/password pairs. */
  users: z
    .array(z.strictObject({ username: z.string().min(1), password: z.string() }))
    .min(1)
    .optional(),
  delivery: z.enum(['at-least-once', 'at-most-once']).default('at-least-once'),
});

export type AedesSourceOptions = z.input<typeof AedesSourceConfig>;
export type AedesSourceConfig = z.output<typeof AedesSourceConfig>;

export const parseAedesSourceConfig = (input: AedesSourceOptions): AedesSourceConfig => parseConfig('mqtt-broker', AedesSourceConfig, input);
