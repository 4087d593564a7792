import { parseConfig } from '@sluice/core';
import { z } from 'zod';

export const AedesSourceConfig = z.strictObject({
  id: z.string().min(1).regex(/^[A-Za-z0-9._:-]+$/, 'use letters, digits and . _ : - only').describe('Unique source id, e.g. `devices`.'),
  host: z.string().min(1).default('127.0.0.1').describe('Interface to listen on; 0.0.0.0 to accept devices from other machines.'),
  // In code, AedesSource#address gives the port that 0 picked.
  port: z.number().int().min(0).max(65535).default(1883).describe('TCP port for MQTT; 0 picks a free port.'),
  users: z
    .array(z.strictObject({
      username: z.string().min(1).describe('Username a device connects with.'),
      password: z.string().describe('Its password; use `${env:NAME}` or `${file:/path}`.'),
    }))
    .min(1)
    .optional()
    .describe('When given, a device must connect with one of these username/password pairs.'),
  maxEventsInFlight: z.number().int().min(1).max(1_000_000).default(1000).describe('Client and session events (`$events/…` rules) handed to the rules and not yet stored; past this, new events are dropped and counted. Events are at-most-once.'),
  delivery: z.enum(['at-least-once', 'at-most-once']).default('at-least-once').describe('`at-least-once`: PUBACK to the device only once every action stored the message. `at-most-once`: at once.'),
}).describe('Embedded broker mode: devices connect to Sluice itself (Aedes); each message is acknowledged to the device once stored.');

export type AedesSourceOptions = z.input<typeof AedesSourceConfig>;
export type AedesSourceConfig = z.output<typeof AedesSourceConfig>;

export const parseAedesSourceConfig = (input: AedesSourceOptions): AedesSourceConfig => parseConfig('mqtt-broker', AedesSourceConfig, input);
