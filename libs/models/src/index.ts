export { expand, literal, MACROS, NULL_SENTINEL, type Dialect, type Vars, type VarValue } from './macros';
export { MODELS, DIMENSIONS, SQL_DIR, renderModel, type ModelDefinition, type ModelName } from './models';
export { checkContract, normaliseType, type ModelContract, type ContractLocation, type ContractOptions, type ContractQueryEngine, type ContractResult } from './contract';
export { gridSettings, gridVars, type GridSettings } from './settings';
