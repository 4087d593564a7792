export { main } from './main';
export { loadConfigFile, ConfigFile, ConfigFileError, type LoadedConfig } from './config-file';
export { composeFromConfig } from './compose';
export { ExitCode } from './exit-codes';
