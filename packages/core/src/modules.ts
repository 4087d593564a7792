import { ContainerModule } from 'inversify';
import { Connector } from './connector';
import { Source } from './source';

/** Binds a connector object the application built itself (a custom connector): no decorators, no container code. */
export function connectorModule(connector: Connector): ContainerModule {
  return new ContainerModule((options) => {
    options.bind<Connector>(Connector).toConstantValue(connector);
  });
}

/** Binds a source object the application built itself. */
export function sourceModule(source: Source): ContainerModule {
  return new ContainerModule((options) => {
    options.bind<Source>(Source).toConstantValue(source);
  });
}
