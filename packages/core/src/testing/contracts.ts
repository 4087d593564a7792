/**
 * Contract suites for plugin authors: run them in a test against your real sink or source to check it
 * keeps the promises the runtime relies on (see docs/architecture.md, "Writing your own sink").
 */
export { ContractViolation } from './contract-support';
export { checkSinkContract, type SinkContractOptions, type SinkScenario } from './sink-contract';
export { checkSourceContract, type SourceContractHarness } from './source-contract';
