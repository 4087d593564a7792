/**
 * Contract suites for plugin authors: run them in a test against your real connector or source to check it
 * keeps the promises the runtime relies on (see docs/architecture.md, "Writing your own connector").
 */
export { ContractViolation } from './contract-support';
export { checkConnectorContract, type ConnectorContractOptions, type ConnectorScenario } from './connector-contract';
export { checkSourceContract, type SourceContractHarness } from './source-contract';
