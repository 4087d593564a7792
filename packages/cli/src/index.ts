export { main } from './main';
export { loadConfigFile, ConfigFile, ConfigFileError, type LoadedConfig } from './config-file';
export { composeFromConfig } from './compose';
export { ExitCode } from './exit-codes';
export {
  FileConfigStore, ConfigConflictError, ConfigEntryNotFoundError, ConfigStoreError,
  type ConfigStore, type ConfigChange, type ConfigSnapshot, type ConfigDocument, type ConfigEdit, type PluginEntry, type FileConfigStoreOptions,
} from './config-store';
export { ConfigReloader, type ReloadOutcome, type ComponentChanges } from './reload';
export { sluiceApi, type SluiceApiOptions, sluiceConsole, type SluiceConsoleOptions } from './http-server';
