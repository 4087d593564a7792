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
