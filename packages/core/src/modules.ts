import { ContainerModule } from 'inversify';
import { Sink } from './sink';
import { Source } from './source';

/** Binds a sink object the application built itself (a custom sink): no decorators, no container code. */
export function sinkModule(sink: Sink): ContainerModule {
  return new ContainerModule((options) => {
    options.bind<Sink>(Sink).toConstantValue(sink);
  });
}

/** Binds a source object the application built itself. */
export function sourceModule(source: Source): ContainerModule {
  return new ContainerModule((options) => {
    options.bind<Source>(Source).toConstantValue(source);
  });
}
