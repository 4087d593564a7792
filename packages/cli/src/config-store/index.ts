export {
  ConfigConflictError, ConfigEntryNotFoundError, ConfigStoreError,
  type ConfigChange, type ConfigDocument, type ConfigEdit, type ConfigSnapshot, type ConfigStore, type PluginEntry,
} from './config-store';
export { FileConfigStore, type FileConfigStoreOptions } from './file-config-store';
