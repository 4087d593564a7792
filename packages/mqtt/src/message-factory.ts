import type { Message, MessageProperties } from '@sluice/core';
import type { IPublishPacket } from 'mqtt';
import { type IdentityReader, type UserProperties, identityReader } from './identity';
import type { MqttSourceConfig } from './mqtt-source-config';

type PacketProperties = NonNullable<IPublishPacket['properties']>;

/**
 * Turns PUBLISH packets into Messages. Built once per source; everything that depends on the config
 * (identity readers, compiled topic patterns) is prepared here so the per-message path only reads.
 */
export class MessageFactory {
  private readonly readClientId: IdentityReader;
  private readonly readUsername: IdentityReader;

  constructor(private readonly sourceId: string, identity: MqttSourceConfig['identity']) {
    this.readClientId = identityReader(identity.clientid, 'clientid');
    this.readUsername = identityReader(identity.username, 'username');
  }

  create(packet: IPublishPacket, receivedAt: number): Message {
    const topic = packet.topic;
    const properties = packet.properties === undefined ? undefined : toMessageProperties(packet.properties);
    const userProperties = properties?.userProperties;
    return {
      sourceId: this.sourceId,
      topic,
      payload: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
      qos: packet.qos,
      retain: packet.retain,
      dup: packet.dup,
      clientId: this.readClientId(topic, userProperties),
      username: this.readUsername(topic, userProperties),
      peerHost: undefined,
      receivedAt,
      properties,
    };
  }
}

/**
 * Keeps the MQTT 5 properties a rule may read; transport details (topic alias, subscription
 * identifier) stay behind. mqtt-packet already turns a repeated user property key into an array.
 */
export function toMessageProperties(props: PacketProperties): MessageProperties | undefined {
  const result: { -readonly [K in keyof MessageProperties]: MessageProperties[K] } = {};
  let any = false;
  if (props.userProperties !== undefined) {
    result.userProperties = props.userProperties as UserProperties;
    any = true;
  }
  if (props.contentType !== undefined) {
    result.contentType = props.contentType;
    any = true;
  }
  if (props.responseTopic !== undefined) {
    result.responseTopic = props.responseTopic;
    any = true;
  }
  if (props.correlationData !== undefined) {
    result.correlationData = props.correlationData;
    any = true;
  }
  if (props.messageExpiryInterval !== undefined) {
    result.messageExpiryInterval = props.messageExpiryInterval;
    any = true;
  }
  if (props.payloadFormatIndicator !== undefined) {
    result.payloadFormatIndicator = props.payloadFormatIndicator;
    any = true;
  }
  return any ? result : undefined;
}
