import 'reflect-metadata';

export { ContainerModule, inject, injectable } from 'inversify';
export * from './errors';
export * from './message';
export * from './source';
export * from './sink';
export * from './rule-engine';
export * from './logger';
export * from './config';
export * from './modules';
export * from './topic-router';
export * from './metrics';
export { RateMeter } from './rate-meter';
export { messageColumns } from './message-columns';
export * from './integration-config';
export * from './integration';
export { SINGLE_PLACEHOLDER, TopicTemplate, splitPlaceholders } from './topic-template';
export { ThrottledLog } from './throttled-log';
